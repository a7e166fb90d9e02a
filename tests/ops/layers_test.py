"""Tests of compare_gan2.ops.layers: Linear, Conv2D, Deconv2D and Embedding.

Outputs against numpy references (TF "SAME" padding, including the asymmetric
cases and the transposed conv's explicit output size 4 -> 7), kernel layouts,
biases, compute_output_shape, variable paths, Embedding == bias-free Linear on
one-hot labels (also with SN), eager == tf.function == 2 replicas, config round
trips and input-rank errors (compare_gan arch_ops.py:538-592).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import testing
from compare_gan2.ops import layers
from compare_gan2.ops import spectral_norm as sn


def _random(shape, seed):
  return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _same_pads(size, kernel, stride):
  """TF "SAME": output ceil(size/stride), the odd padding pixel at the end."""
  total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
  return total // 2, total - total // 2


def np_conv2d(x, w, stride):
  height, width = x.shape[1:3]
  kh, kw = w.shape[:2]
  pads = (_same_pads(height, kh, stride), _same_pads(width, kw, stride))
  xp = np.pad(x.astype(np.float64), ((0, 0), *pads, (0, 0)))
  out = np.zeros((x.shape[0], -(-height // stride), -(-width // stride), w.shape[3]))
  for i in range(out.shape[1]):
    for j in range(out.shape[2]):
      patch = xp[:, i * stride:i * stride + kh, j * stride:j * stride + kw]
      out[:, i, j] = np.einsum("bhwc,hwco->bo", patch, w)
  return out


def np_deconv2d(x, w, strides, out_hw):
  """Scatters each input pixel times the (KH, KW, Cout, Cin) kernel, then crops
  the padding that the matching SAME conv from out_hw to x's size would add."""
  (height, width), (kh, kw), (sh, sw) = x.shape[1:3], w.shape[:2], strides
  top = max((height - 1) * sh + kh - out_hw[0], 0) // 2
  left = max((width - 1) * sw + kw - out_hw[1], 0) // 2
  full = np.zeros((x.shape[0], max((height - 1) * sh + kh, top + out_hw[0]),
                   max((width - 1) * sw + kw, left + out_hw[1]), w.shape[2]))
  for i in range(height):
    for j in range(width):
      full[:, i * sh:i * sh + kh, j * sw:j * sw + kw] += np.einsum(
          "bc,hwoc->bhwo", x[:, i, j], w)
  return full[:, top:top + out_hw[0], left:left + out_hw[1]]


def _with_bias(layer):
  """Sets a non-zero bias so the references check that it is added."""
  layer.bias.assign(_random(layer.bias.shape, 99))
  return layer.bias.numpy()


@pytest.mark.parametrize("input_shape", [(3, 5), (2, 3, 5)])
def test_linear_matches_numpy(input_shape):
  keras.utils.set_random_seed(0)
  layer, x = layers.Linear(4), _random(input_shape, 1)
  layer.build(x.shape)
  assert layer.kernel.shape == (5, 4)
  np.testing.assert_array_equal(layer.bias.numpy(), np.zeros(4))
  bias = _with_bias(layer)
  np.testing.assert_allclose(layer(x), x @ layer.kernel.numpy() + bias, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kernel,stride,size", [
    (3, 1, 5), (3, 2, 5), (3, 2, 6), (4, 2, 5), (4, 2, 6), (1, 1, 4), (1, 2, 5)])
def test_conv2d_matches_numpy_same_padding(kernel, stride, size):
  keras.utils.set_random_seed(2)
  layer, x = layers.Conv2D(3, kernel, stride), _random((2, size, size + 1, 2), 3)
  layer.build(x.shape)
  assert layer.kernel.shape == (kernel, kernel, 2, 3)  # [kh, kw, cin, cout]
  np.testing.assert_array_equal(layer.bias.numpy(), np.zeros(3))
  bias = _with_bias(layer)
  want = np_conv2d(x, layer.kernel.numpy(), stride) + bias
  out = layer(x)
  assert out.shape == want.shape == layer.compute_output_shape(x.shape)
  np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kernel,size,strides,output_size,want_hw", [
    (4, 3, 2, None, (6, 6)), (5, 4, 2, None, (8, 8)), (3, 4, 2, 7, (7, 7)),
    (5, 4, 2, (7, 7), (7, 7)), (4, 4, 2, (7, 8), (7, 8)), (3, 3, (2, 1), None, (6, 3))])
def test_deconv2d_matches_numpy(kernel, size, strides, output_size, want_hw):
  keras.utils.set_random_seed(4)
  layer = layers.Deconv2D(3, kernel, strides=strides, output_size=output_size)
  x = _random((2, size, size, 5), 5)
  layer.build(x.shape)
  assert layer.kernel.shape == (kernel, kernel, 3, 5)  # [kh, kw, cout, cin]
  np.testing.assert_array_equal(layer.bias.numpy(), np.zeros(3))
  bias = _with_bias(layer)
  want = np_deconv2d(x, layer.kernel.numpy(), np.broadcast_to(strides, 2), want_hw) + bias
  out = layer(x)
  assert out.shape == (2, *want_hw, 3) == layer.compute_output_shape(x.shape)
  np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)


def test_bias_switches():
  deconv = layers.Deconv2D(3, 4)  # compare_gan's deconv2d always has a bias.
  deconv.build((1, 2, 2, 4))
  assert deconv.bias is not None and deconv.bias.shape == (3,)
  no_bias = layers.Deconv2D(3, 4, use_bias=False)
  no_bias.build((1, 2, 2, 4))
  conv = layers.Conv2D(3, 1, use_bias=False)
  conv.build((1, 2, 2, 4))
  embedding = layers.Embedding(5, 3)
  embedding.build((2,))
  for layer in (no_bias, conv, embedding):
    assert layer.bias is None and [w.name for w in layer.weights] == ["kernel"]


LAYER_CASES = {
    "linear": (lambda **kw: layers.Linear(3, **kw), (4, 5)),
    "conv": (lambda **kw: layers.Conv2D(3, 3, 2, **kw), (4, 5, 5, 2)),
    "conv1x1": (lambda **kw: layers.Conv2D(3, 1, **kw), (4, 3, 3, 2)),
    "deconv": (lambda **kw: layers.Deconv2D(3, 4, **kw), (4, 2, 3, 2)),
    "deconv_4_to_7": (lambda **kw: layers.Deconv2D(3, 3, output_size=7, **kw), (4, 4, 4, 2)),
    "embedding": (lambda **kw: layers.Embedding(6, 3, **kw), (4,)),
}


def _inputs(name, seed=6):
  shape = LAYER_CASES[name][1]
  if name == "embedding":
    return np.array([5, 0, 3, 3], np.int32)
  return _random(shape, seed)


@pytest.mark.parametrize("name", LAYER_CASES)
def test_compute_output_shape_and_variable_paths(name, monkeypatch):
  created = []  # Creation order, which `layer.weights` (trainable first) hides.
  add_weight = keras.layers.Layer.add_weight
  monkeypatch.setattr(keras.layers.Layer, "add_weight", lambda self, *a, **kw: (
      created.append(kw["name"]), add_weight(self, *a, **kw))[1])
  x = _inputs(name)
  layer = LAYER_CASES[name][0](spectral_norm=True, name="my_layer")
  out = layer(x, training=True)
  assert tuple(out.shape) == tuple(layer.compute_output_shape(x.shape))
  partial = (None, *x.shape[1:])  # An unknown batch size stays unknown.
  assert tuple(layer.compute_output_shape(partial)) == (None, *out.shape[1:])
  expected = ["kernel", "u_var"] + ([] if name == "embedding" else ["bias"])
  assert created == expected  # compare_gan: kernel, kernel/u_var, bias.
  assert sorted(w.path for w in layer.weights) == sorted(f"my_layer/{n}" for n in expected)
  # compare_gan's `<scope>/kernel/u_var` shape for the default ("left") mode.
  assert layer.u_var.shape == (int(np.prod(layer.kernel.shape[:-1])), 1)


@pytest.mark.parametrize("spectral_norm", [False, True, {"singular_value": "right"}])
def test_embedding_equals_bias_free_linear_on_one_hot(spectral_norm):
  ids = np.array([[0, 4], [2, 2], [4, 1]], np.int32)
  keras.utils.set_random_seed(7)
  embedding = layers.Embedding(5, 3, spectral_norm=spectral_norm)
  linear = layers.Linear(3, use_bias=False, spectral_norm=spectral_norm)
  embedding.build(ids.shape)
  linear.build((None, 5))
  assert embedding.kernel.shape == (5, 3)  # [num_classes, dim]
  linear.kernel.assign(embedding.kernel)
  if spectral_norm:
    linear.u_var.assign(embedding.u_var)
  out = embedding(ids, training=True)
  want = linear(np.eye(5, dtype=np.float32)[ids], training=True)
  assert out.shape == (3, 2, 3) == embedding.compute_output_shape(ids.shape)
  np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-7)
  if spectral_norm:
    np.testing.assert_allclose(embedding.u_var.numpy(), linear.u_var.numpy(), atol=1e-7)
  else:  # Without SN the rows are the raw kernel's rows.
    np.testing.assert_array_equal(out, embedding.kernel.numpy()[ids])


@pytest.mark.parametrize("spectral_norm", [False, True])
@pytest.mark.parametrize("name", LAYER_CASES)
def test_eager_function_and_two_replicas_agree(name, spectral_norm, two_replicas):
  x = _inputs(name)

  def build():
    keras.utils.set_random_seed(8)
    layer = LAYER_CASES[name][0](spectral_norm=spectral_norm)
    layer.build(x.shape)
    if layer.bias is not None:
      layer.bias.assign(_random(layer.bias.shape, 9))
    return layer

  results = testing.run_three_ways(
      build, lambda layer, x: layer(x, training=True), [x], two_replicas)
  eager, eager_layer = results["eager"]
  assert eager.shape[0] == 4 and np.abs(eager).max() > 0
  for mode in ("function", "mirrored"):
    np.testing.assert_allclose(results[mode][0], eager, rtol=1e-5, atol=1e-6)
    if spectral_norm:
      np.testing.assert_allclose(results[mode][1].u_var.numpy(),
                                 eager_layer.u_var.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", LAYER_CASES)
def test_config_round_trip(name):
  config_in = sn.SpectralNormConfig(singular_value="auto", power_iterations=2)
  layer = LAYER_CASES[name][0](
      spectral_norm=config_in, name="layer",
      kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.3))
  x = _inputs(name)
  layer.build(x.shape)
  config = layer.get_config()
  assert config["spectral_norm"] == config_in.to_dict()
  for clone in (type(layer).from_config(config),
                keras.layers.deserialize(keras.layers.serialize(layer))):
    assert type(clone) is type(layer)
    assert clone.get_config() == config
    assert clone.spectral_norm == config_in
    assert isinstance(clone.kernel_initializer, keras.initializers.TruncatedNormal)
    assert clone.kernel_initializer.stddev == 0.3
    if not clone.built:  # deserialize() rebuilds from the stored build config.
      clone.build(x.shape)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(x), layer(x), rtol=1e-6)


def test_config_round_trip_without_spectral_norm():
  layer = layers.Deconv2D(4, 3, strides=(2, 1), output_size=(7, 5), use_bias=False)
  config = layer.get_config()
  assert config["spectral_norm"] is False and config["output_size"] == (7, 5)
  clone = layers.Deconv2D.from_config(config)
  assert clone.spectral_norm is None and clone.strides == (2, 1) and not clone.use_bias
  clone.build((1, 4, 5, 2))
  assert clone.u_var is None and clone.bias is None


@pytest.mark.parametrize("make", [lambda: layers.Conv2D(3, 3), lambda: layers.Deconv2D(3, 3)])
@pytest.mark.parametrize("shape", [(2, 4, 4), (2, 4), (1, 2, 4, 4, 3)])
def test_conv_wrong_rank_input_raises(make, shape):
  with pytest.raises(ValueError, match="expected NHWC input"):
    make()(np.zeros(shape, np.float32))


def test_linear_unknown_last_axis_raises():
  with pytest.raises(ValueError, match="last input axis must be known"):
    layers.Linear(3).build((2, None))


@pytest.mark.parametrize("leak", [0.1, 0.2, 1.5])
def test_lrelu_is_max_of_x_and_leak_x_with_its_gradient(leak):
  """compare_gan's max(x, leak·x): values, and gradients away from x == 0 (leaky_relu inside)."""
  x = tf.constant(_random((3, 5, 7), 0))
  for fn in (layers.lrelu, tf.function(layers.lrelu)):
    with tf.GradientTape() as tape:
      tape.watch(x)
      y = fn(x, leak)
    np.testing.assert_array_equal(y, np.maximum(x, leak * x))
    expected = np.where(x.numpy() >= leak * x.numpy(), 1.0, leak)
    np.testing.assert_allclose(tape.gradient(y, x), expected, rtol=1e-6)


@pytest.mark.parametrize("leak", [0.1, 0.2])
def test_lrelu_gradient_at_exactly_zero_is_the_leak(leak):
  """The one documented difference (docs/MIGRATION.md): compare_gan's max passed 1 at x == 0."""
  x = tf.constant([-1.0, 0.0, 1.0])
  with tf.GradientTape() as tape:
    tape.watch(x)
    y = layers.lrelu(x, leak)
  np.testing.assert_allclose(tape.gradient(y, x), [leak, leak, 1.0], rtol=1e-6)
