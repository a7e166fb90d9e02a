"""Tests of compare_gan2.ops.dense_conv: tiny-map SAME convolutions as matrix products.

The dense forms must equal `tf.nn.conv2d` / `tf.nn.conv2d_transpose` with
"SAME" padding (values and both gradients), including strides 1 and 2,
odd and even sizes, non-square kernels and maps, the transposed conv's explicit
output size (4 -> 7), eager and under tf.function; the layers must take the
dense path exactly where `applies` says and give the same outputs either way,
also under a 2-replica MirroredStrategy.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import testing
from compare_gan2.ops import dense_conv
from compare_gan2.ops import layers


def _random(shape, seed):
  return tf.constant(np.random.default_rng(seed).normal(size=shape).astype(np.float32))


def _values_and_grads(fn, x, kernel, seed):
  """(fn(x, kernel), d<r, fn>/dx, d<r, fn>/dkernel) for a fixed random r."""
  with tf.GradientTape(persistent=True) as tape:
    tape.watch([x, kernel])
    out = fn(x, kernel)
    loss = tf.reduce_sum(out * _random(out.shape, seed))
  return [out, *tape.gradient(loss, [x, kernel])]


def _assert_same(want, got):
  for a, b in zip(want, got):
    assert a.shape == b.shape
    np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-4 * float(tf.reduce_max(tf.abs(a))))


# (input H, W), (KH, KW), strides: DCGAN-32's d_conv4 first.
CONV_CASES = [((4, 4), (5, 5), (2, 2)), ((3, 3), (5, 5), (2, 2)), ((2, 3), (3, 3), (1, 1)),
              ((4, 2), (5, 3), (2, 1)), ((5, 5), (5, 5), (2, 2)), ((4, 4), (4, 4), (2, 2))]


@pytest.mark.parametrize("in_hw,kernel_hw,strides", CONV_CASES)
@pytest.mark.parametrize("traced", [False, True])
def test_conv2d_equals_tf_conv2d_values_and_gradients(in_hw, kernel_hw, strides, traced):
  x, kernel = _random((3, *in_hw, 4), 0), _random((*kernel_hw, 4, 6), 1)

  def reference(x, kernel):
    return tf.nn.conv2d(x, kernel, strides=(1, *strides, 1), padding="SAME")

  def dense(x, kernel):
    return dense_conv.conv2d(x, kernel, strides)

  run = tf.function(_values_and_grads) if traced else _values_and_grads
  _assert_same(run(reference, x, kernel, 2), run(dense, x, kernel, 2))


# (input H, W), output (H, W), (KH, KW), strides: DCGAN-32's g_dc1 first, then
# the 28x28 architectures' explicit 4 -> 7.
DECONV_CASES = [((2, 2), (4, 4), (5, 5), (2, 2)), ((2, 2), (3, 3), (5, 5), (2, 2)),
                ((4, 4), (7, 7), (5, 5), (2, 2)), ((2, 3), (2, 3), (3, 3), (1, 1)),
                ((2, 2), (4, 2), (5, 3), (2, 1))]


@pytest.mark.parametrize("in_hw,out_hw,kernel_hw,strides", DECONV_CASES)
@pytest.mark.parametrize("traced", [False, True])
def test_conv2d_transpose_equals_tf_values_and_gradients(in_hw, out_hw, kernel_hw, strides,
                                                        traced):
  x, kernel = _random((3, *in_hw, 6), 3), _random((*kernel_hw, 4, 6), 4)

  def reference(x, kernel):
    return tf.nn.conv2d_transpose(x, kernel, [3, *out_hw, 4], strides=(1, *strides, 1),
                                  padding="SAME")

  def dense(x, kernel):
    return dense_conv.conv2d_transpose(x, kernel, strides, out_hw)

  run = tf.function(_values_and_grads) if traced else _values_and_grads
  _assert_same(run(reference, x, kernel, 5), run(dense, x, kernel, 5))


def test_tap_matrix_rows_count_the_taps_that_land_on_the_map():
  # 4x4 -> 2x2, 5x5 kernel, stride 2: TF pads 1 before and 2 after, so output
  # row 0 reads input rows 0-3 (4 taps) and output row 1 rows 1-3 (3 taps).
  taps = dense_conv.tap_matrix((4, 4), (2, 2), (5, 5), (2, 2)).reshape(2, 2, 4, 4, 25)
  assert set(np.unique(taps)) == {0.0, 1.0}
  np.testing.assert_array_equal(taps.sum(axis=(2, 3, 4)), [[16, 12], [12, 9]])
  assert taps.sum(axis=-1).max() == 1  # a (q, p) pair meets at most one tap
  assert dense_conv.same_offset(4, 2, 5, 2) == 1 and dense_conv.same_offset(8, 8, 3, 1) == 1


@pytest.mark.parametrize("big_hw,small_hw,kernel_hw,batch,want", [
    ((4, 4), (2, 2), (5, 5), 128, True),     # DCGAN-32 d_conv4 / g_dc1
    ((4, 4), (2, 2), (5, 5), None, True),    # unknown batch: a training batch
    ((4, 4), (2, 2), (4, 4), 64, True),      # as many pixels as taps
    ((8, 8), (4, 4), (5, 5), 128, False),    # DCGAN-32 d_conv3: more pixels than taps
    ((4, 4), (4, 4), (3, 3), 128, False),    # ResNet-CIFAR's 4x4 3x3 convs
    ((4, 4), (2, 2), (5, 5), 8, False),      # too small a batch
    ((None, 4), (2, 2), (5, 5), 128, False),  # unknown size
    ((4, 4), (tf.constant(2), 2), (5, 5), 128, False)])
def test_applies(big_hw, small_hw, kernel_hw, batch, want):
  assert dense_conv.applies(big_hw, small_hw, kernel_hw, batch) is want


def test_unknown_sizes_are_a_clear_error():
  kernel = _random((5, 5, 4, 6), 11)
  traced = tf.function(lambda x: dense_conv.conv2d(x, kernel, (2, 2)),
                       input_signature=[tf.TensorSpec([None, None, 4, 4])])
  with pytest.raises(ValueError, match=r"dense_conv.conv2d needs static H, W and C"):
    traced.get_concrete_function()
  deconv = tf.function(lambda x: dense_conv.conv2d_transpose(x, kernel, (2, 2), (4, 4)),
                       input_signature=[tf.TensorSpec([None, 2, None, 6])])
  with pytest.raises(ValueError, match=r"conv2d_transpose needs static H, W and C"):
    deconv.get_concrete_function()


def _record_applies(monkeypatch):
  """The list that each later `dense_conv.applies` decision is appended to."""
  calls = []
  real = dense_conv.applies
  monkeypatch.setattr(dense_conv, "applies", lambda *a: calls.append(real(*a)) or calls[-1])
  return calls


def _layer_pair(make, shape, dense_taken, monkeypatch):
  """Outputs of one layer with the dense path allowed and forbidden; checks which ran."""
  keras.utils.set_random_seed(7)
  layer, x = make(), _random(shape, 8)
  calls = _record_applies(monkeypatch)
  # training=False: SN's power iteration must not move u between the calls.
  fast = layer(x, training=False)
  assert calls == [dense_taken]
  monkeypatch.setattr(dense_conv, "applies", lambda *a: False)
  return fast, layer(x, training=False)


@pytest.mark.parametrize("make,shape,dense_taken", [
    (lambda: layers.Conv2D(8, 5, 2, spectral_norm=True), (16, 4, 4, 3), True),
    (lambda: layers.Conv2D(8, 5, 2), (16, 8, 8, 3), False),
    (lambda: layers.Deconv2D(3, 5, 2), (16, 2, 2, 8), True),
    (lambda: layers.Deconv2D(3, 5, 2, output_size=7), (16, 4, 4, 8), False),
    (lambda: layers.Deconv2D(3, 5, 2), (4, 2, 2, 8), False)])
def test_layers_take_the_dense_path_where_it_applies(make, shape, dense_taken, monkeypatch):
  fast, reference = _layer_pair(make, shape, dense_taken, monkeypatch)
  np.testing.assert_allclose(fast, reference, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("make,shape", [
    (lambda: layers.Conv2D(8, 5, 2, spectral_norm=True), (32, 4, 4, 3)),
    (lambda: layers.Deconv2D(3, 5, 2), (32, 2, 2, 8))])
def test_dense_layers_eager_function_and_two_replicas_agree(make, shape, two_replicas,
                                                           monkeypatch):
  x = _random(shape, 9).numpy()
  taken = _record_applies(monkeypatch)

  def build():
    keras.utils.set_random_seed(10)
    layer = make()
    layer.build(x.shape)
    return layer

  results = testing.run_three_ways(build, lambda layer, x: layer(x, training=True), [x],
                                   two_replicas)
  assert len(taken) >= 4 and all(taken)  # 16 images per replica: dense in every mode
  testing.assert_three_ways_agree(results, atol=1e-5)
