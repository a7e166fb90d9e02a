"""Tests for compare_gan2.architectures.resnet_block (compare_gan resnet_ops.py:35-219).

A NumPy re-implementation of compare_gan's ResNetBlock.apply (resnet_ops.py:
150-182) checks the placement of unpool / average pooling, the always-present
3x3 shortcut, the ReLU on the raw input, and the norms' conditioning.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2.architectures import resnet_block
from compare_gan2.ops import normalization

INIT = keras.initializers.RandomNormal(stddev=0.5)  # Large enough for visible effects.


def np_conv(x, conv):
  """SAME 3x3 convolution with bias, stride 1."""
  kernel, bias = conv.kernel.numpy(), conv.bias.numpy()
  size = kernel.shape[0]
  pad = size // 2
  batch, height, width, _ = x.shape
  padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
  out = np.zeros((batch, height, width, kernel.shape[-1]))
  for i in range(size):
    for j in range(size):
      out += padded[:, i:i + height, j:j + width, :] @ kernel[i, j]
  return out + bias


def np_unpool(x):
  """Zero insertion: pixel (i, j) -> (2i, 2j) (resnet_ops.py:35-56)."""
  batch, height, width, channels = x.shape
  out = np.zeros((batch, 2 * height, 2 * width, channels))
  out[:, ::2, ::2] = x
  return out


def np_pool(x):
  batch, height, width, channels = x.shape
  return x.reshape(batch, height // 2, 2, width // 2, 2, channels).mean(axis=(2, 4))


def np_cbn(x, norm, y):
  """Batch statistics (biased variance), gamma = y·W_γ, beta = y·W_β (arch_ops.py:423-445)."""
  standardized = (x - x.mean((0, 1, 2))) / np.sqrt(x.var((0, 1, 2)) + norm.epsilon)
  gamma = y @ norm.gamma_projection.kernel.numpy()
  beta = y @ norm.beta_projection.kernel.numpy()
  return standardized * gamma[:, None, None, :] + beta[:, None, None, :]


def np_ln(x, norm):
  """Per example over H, W, C; per-channel beta and gamma (arch_ops.py:448-450)."""
  mean = x.mean((1, 2, 3), keepdims=True)
  var = x.var((1, 2, 3), keepdims=True)
  return (x - mean) / np.sqrt(var + 1e-12) * norm.gamma.numpy() + norm.beta.numpy()


def relu(x):
  return np.maximum(x, 0.0)


def _random(shape, seed):
  return np.random.RandomState(seed).randn(*shape).astype(np.float32)


def test_generator_block_matches_numpy_reference():
  """G: shortcut = conv(unpool(x)); conv1 after unpool; conv2 at the new size."""
  keras.utils.set_random_seed(0)
  block = resnet_block.ResNetBlock(2, 3, "up", is_gen_block=True, kernel_initializer=INIT,
                                   batch_norm=normalization.ConditionalBatchNorm, name="B1")
  x, y = _random((2, 4, 4, 2), 1), np.eye(3, dtype=np.float32)[[0, 2]]
  out = block(x, None, y, training=True).numpy()
  shortcut = np_conv(np_unpool(x), block.conv_shortcut)
  h = np_conv(np_unpool(relu(np_cbn(x, block.bn1, y))), block.conv1)
  h = np_conv(relu(np_cbn(h, block.bn2, y)), block.conv2)
  assert out.shape == (2, 8, 8, 3)
  np.testing.assert_allclose(out, h + shortcut, rtol=1e-4, atol=1e-4)


def test_discriminator_block_matches_numpy_reference():
  """D: shortcut = pool(conv(x)); ReLU on the raw input; pool after conv2."""
  keras.utils.set_random_seed(1)
  block = resnet_block.ResNetBlock(3, 4, "down", is_gen_block=False, layer_norm=True,
                                   kernel_initializer=INIT, name="B0")
  x = _random((2, 6, 6, 3), 2)  # Negative values: the first ReLU is not the identity.
  out = block(x).numpy()
  shortcut = np_pool(np_conv(x, block.conv_shortcut))
  h = np_conv(relu(np_ln(x, block.ln1)), block.conv1)
  h = np_pool(np_conv(relu(np_ln(h, block.ln2)), block.conv2))
  assert out.shape == (2, 3, 3, 4)
  np.testing.assert_allclose(out, h + shortcut, rtol=1e-4, atol=1e-4)


def test_identity_shaped_block_still_has_a_learned_shortcut():
  keras.utils.set_random_seed(2)
  block = resnet_block.ResNetBlock(3, 3, "none", is_gen_block=True, kernel_initializer=INIT)
  x = _random((1, 4, 4, 3), 3)
  out = block(x).numpy()
  h = np_conv(relu(np_conv(relu(x), block.conv1)), block.conv2)
  np.testing.assert_allclose(out, h + np_conv(x, block.conv_shortcut), rtol=1e-4, atol=1e-4)
  assert not np.allclose(out, h + x, atol=1e-2)  # Not an identity skip.


@pytest.mark.parametrize("scale,is_gen,names,size", [
    ("up", True, ("up_conv_shortcut", "up_conv1", "same_conv2"), 8),
    ("none", True, ("same_conv_shortcut", "same_conv1", "same_conv2"), 4),
    ("down", False, ("down_conv_shortcut", "same_conv1", "down_conv2"), 2),
    ("none", False, ("same_conv_shortcut", "same_conv1", "same_conv2"), 4),
])
def test_resampling_placement_names_and_shapes(scale, is_gen, names, size):
  """resnet_ops.py:99-104: G resamples in conv1, D in conv2; scopes as compare_gan."""
  block = resnet_block.ResNetBlock(2, 5, scale, is_gen_block=is_gen)
  assert (block.conv_shortcut.name, block.conv1.name, block.conv2.name) == names
  assert block.compute_output_shape((2, 4, 4, 2)) == (2, size, size, 5)
  assert block(tf.zeros([2, 4, 4, 2])).shape == (2, size, size, 5)



def test_weights_are_created_from_shapes_in_compare_gan_order(created):
  """shortcut, bn1, ln1, conv1, bn2, ln2, conv2 (resnet_norm_test.py:43-60)."""
  block = resnet_block.ResNetBlock(4, 8, "down", is_gen_block=False, layer_norm=True,
                                   batch_norm=normalization.BatchNorm, name="B1")
  block.build((2, 8, 8, 4))
  assert block.built
  variables = [r.variable for r in created]
  assert [v.path for v in variables if v.trainable] == [
      "B1/down_conv_shortcut/kernel", "B1/down_conv_shortcut/bias", "B1/bn1/gamma",
      "B1/bn1/beta", "B1/ln1/beta", "B1/ln1/gamma", "B1/same_conv1/kernel",
      "B1/same_conv1/bias", "B1/bn2/gamma", "B1/bn2/beta", "B1/ln2/beta", "B1/ln2/gamma",
      "B1/down_conv2/kernel", "B1/down_conv2/bias"]
  assert [v.path for v in block.trainable_variables] == [v.path for v in variables if v.trainable]
  assert [tuple(v.shape) for v in variables if "conv1/kernel" in v.path] == [(3, 3, 4, 8)]


def test_self_modulated_norms_are_built_from_z():
  block = resnet_block.ResNetBlock(4, 6, "up", is_gen_block=True, spectral_norm=True,
                                   batch_norm=normalization.SelfModulatedBatchNorm)
  block.build((2, 4, 4, 4), z_shape=(2, 10))
  assert block.bn1.hidden.kernel.shape == (10, 32)
  assert block.bn2.gamma_projection.kernel.shape == (32, 6)
  assert block.bn2.gamma_projection.u_var is not None  # The block's SN reaches the norm.
  assert block.conv1.u_var.shape == (3 * 3 * 4, 1)  # compare_gan's "left" u.


def test_errors_are_clear():
  with pytest.raises(ValueError, match="generator block scales by one of"):
    resnet_block.ResNetBlock(2, 2, "down", is_gen_block=True)
  with pytest.raises(ValueError, match="discriminator block scales by one of"):
    resnet_block.ResNetBlock(2, 2, "up", is_gen_block=False)
  with pytest.raises(ValueError, match=r"expected \[B, H, W, 3\] inputs"):
    resnet_block.ResNetBlock(3, 2, "none", is_gen_block=True, name="B1").build((1, 4, 4, 2))
  cbn = resnet_block.ResNetBlock(2, 2, "up", is_gen_block=True,
                                 batch_norm=normalization.ConditionalBatchNorm)
  with pytest.raises(ValueError, match="needs y"):
    cbn.build((1, 4, 4, 2))


def test_config_round_trip():
  block = resnet_block.ResNetBlock(
      2, 3, "down", is_gen_block=False, layer_norm=True, spectral_norm=True,
      batch_norm=normalization.ConditionalBatchNorm, kernel_initializer="orthogonal", name="B4")
  config = block.get_config()
  assert config["batch_norm"] == "compare_gan2>ConditionalBatchNorm"
  clone = resnet_block.ResNetBlock.from_config(config)
  assert clone.get_config() == config
  assert clone.batch_norm is normalization.ConditionalBatchNorm
  restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(block))
  assert restored.get_config() == config
  assert isinstance(restored.conv1.kernel_initializer, keras.initializers.Orthogonal)
