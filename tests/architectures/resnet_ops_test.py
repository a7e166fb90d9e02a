"""Tests for compare_gan2.architectures.resnet_ops: unpool, downsample, ResampledConv."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2.architectures import resnet_ops


def test_unpool_inserts_zeros_as_compare_gan():
  """compare_gan resnet_ops.py:35-56 on a 2x2 example: not nearest-neighbour."""
  x = np.array([[1, 3], [5, 7]], np.float32).reshape(1, 2, 2, 1)
  expected = [[1, 0, 3, 0], [0, 0, 0, 0], [5, 0, 7, 0], [0, 0, 0, 0]]
  np.testing.assert_array_equal(resnet_ops.unpool(x)[0, :, :, 0], expected)


def test_unpool_keeps_channels_apart():
  x = np.random.RandomState(0).randn(2, 3, 4, 5).astype(np.float32)
  out = resnet_ops.unpool(x).numpy()
  assert out.shape == (2, 6, 8, 5)
  np.testing.assert_array_equal(out[:, ::2, ::2], x)
  assert np.count_nonzero(out[:, 1::2]) == 0 and np.count_nonzero(out[:, :, 1::2]) == 0


def test_downsample_is_same_padded_average():
  x = np.arange(25, dtype=np.float32).reshape(1, 5, 5, 1)
  out = resnet_ops.downsample(x).numpy()[0, :, :, 0]
  assert out.shape == (3, 3)
  assert out[0, 0] == np.mean([0, 1, 5, 6])
  assert out[2, 2] == 24.0  # padded cells are excluded from the average


@pytest.mark.parametrize("scale,name,size", [("up", "up_conv1", 8), ("down", "down_conv1", 2),
                                             ("none", "same_conv1", 4)])
def test_resampled_conv_order_name_and_shape(scale, name, size):
  keras.utils.set_random_seed(0)
  conv = resnet_ops.ResampledConv(3, 3, scale=scale, suffix="conv1")
  x = tf.random.normal([2, 4, 4, 2])
  out = conv(x)
  assert conv.name == name and out.shape == (2, size, size, 3)
  assert conv.compute_output_shape((2, 4, 4, 2)) == (2, size, size, 3)
  plain = tf.nn.conv2d(resnet_ops.unpool(x) if scale == "up" else x, conv.kernel, 1, "SAME") + conv.bias
  expected = resnet_ops.downsample(plain) if scale == "down" else plain
  np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_resampled_conv_config_round_trip_and_bad_scale():
  conv = resnet_ops.ResampledConv(3, 1, scale="down", suffix="conv_shortcut", spectral_norm=True)
  clone = resnet_ops.ResampledConv.from_config(conv.get_config())
  assert clone.get_config() == conv.get_config() and clone.name == "down_conv_shortcut"
  with pytest.raises(ValueError, match="scale must be one of"):
    resnet_ops.ResampledConv(3, scale="sideways")


def _naive(scale: str, x: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
  """compare_gan's formulation: unpool -> stride-1 conv, or stride-1 conv -> pool."""
  if scale == "up":
    return tf.nn.conv2d(resnet_ops.unpool(x), kernel, 1, "SAME")
  return resnet_ops.downsample(tf.nn.conv2d(x, kernel, 1, "SAME"))


def _fast(scale: str, x: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
  return (resnet_ops.unpool_conv if scale == "up" else resnet_ops.conv_downsample)(x, kernel)


@pytest.mark.parametrize("scale", ["up", "down"])
@pytest.mark.parametrize("kernel_size", [1, 3, 4])
@pytest.mark.parametrize("height,width", [(4, 6), (5, 3)])
@pytest.mark.parametrize("graph", [False, True], ids=["eager", "tf_function"])
def test_fast_resampling_equals_compare_gans_order(scale, kernel_size, height, width, graph):
  """unpool_conv / conv_downsample give the values and gradients of the two-step form.

  Even and odd sizes (odd "down" falls back to the two-step form, as SAME
  pooling averages fewer border cells there), odd and even kernels.
  """
  rng = np.random.RandomState(kernel_size + height)
  x = tf.constant(rng.randn(2, height, width, 3).astype(np.float32))
  kernel = tf.constant(rng.randn(kernel_size, kernel_size, 3, 5).astype(np.float32))

  def values_and_gradients(fn):
    with tf.GradientTape() as tape:
      tape.watch([x, kernel])
      out = fn(scale, x, kernel)
      loss = tf.reduce_sum(tf.square(out))  # non-linear, so gradients depend on the values
    return [out, *tape.gradient(loss, [x, kernel])]

  run = tf.function(values_and_gradients) if graph else values_and_gradients
  for fast, naive in zip(run(_fast), run(_naive)):
    assert fast.shape == naive.shape
    np.testing.assert_allclose(fast, naive, rtol=1e-4, atol=1e-4)
