"""Tests for compare_gan2.architectures.resnet30 (compare_gan resnet30.py).

Parameter counts come from a counter written here from compare_gan's
resnet30.py and arch_ops.py, independently of the port's tables. The models
have 35 blocks each, so most tests build narrow ones (variable creation
dominates their run time).
"""

import functools
import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import testing
from compare_gan2.architectures import base
from compare_gan2.architectures import resnet30
from compare_gan2.ops import normalization

ZEROS = keras.initializers.Zeros()  # Fast to allocate; counts do not depend on values.


# --- An independent counter (compare_gan's arch_ops: conv2d and linear have biases). ---

# compare_gan's counting rules, shared in compare_gan2.testing.
conv = functools.partial(testing.conv_params, 3)  # every ResNet conv here is 3x3
linear = testing.linear_params
norm_params = testing.norm_params


def block(cin, cout, kind=None, z_dim=0, y_dim=0, ln=False):
  """resnet_ops.py:150-182: 3x3 shortcut, bn1, conv1, bn2, conv2 (+ ln1, ln2)."""
  norms = norm_params(kind, cin, z_dim, y_dim) + norm_params(kind, cout, z_dim, y_dim)
  return 2 * conv(cin, cout) + conv(cout, cout) + norms + (2 * (cin + cout) if ln else 0)


def generator_count(kind, ch=64, z_dim=128, classes=10, colors=3):
  """resnet30.py:56-89, replayed loop for loop (no final norm)."""
  total = linear(z_dim, 4 * 4 * 8 * ch)
  in_channels, out_channels = 8 * ch, 4 * ch
  for superblock in range(6):
    total += 5 * block(in_channels, in_channels, kind, z_dim, classes)
    if superblock < 5:
      total += block(in_channels, out_channels, kind, z_dim, classes)
    in_channels, out_channels = in_channels // 2, out_channels // 2
  return total + conv(ch // 4, colors)


def discriminator_count(ch=64, colors=3, kind=None, classes=10, ln=False):
  """resnet30.py:117-143: color_conv, the 35 blocks, disc_final_fc on 4·4·8ch."""
  total = conv(colors, ch // 4)
  in_channels, out_channels = ch // 4, ch // 2
  for superblock in range(6):
    total += 5 * block(in_channels, in_channels, kind, 0, classes, ln)
    if superblock < 5:
      total += block(in_channels, out_channels, kind, 0, classes, ln)
    in_channels, out_channels = in_channels * 2, out_channels * 2
  return total + linear(4 * 4 * 8 * ch, 1)


# --- Counts, names, spectral-norm coverage (one build serves several checks). ---

def test_full_size_counts():
  """docs/design.md §10: G 52,176,531 and D 53,486,449 at z_dim 128, 3 colours."""
  g = resnet30.Generator(kernel_initializer=ZEROS)
  d = resnet30.Discriminator(spectral_norm=True, kernel_initializer=ZEROS)
  g.build_variables()
  d.build_variables()
  assert testing.trainable_count(g) == generator_count(None) == 52_176_531
  assert testing.trainable_count(d) == discriminator_count() == 53_486_449


def _names(model):
  names = base.compare_gan_names(model)
  return {names[v.path]: tuple(v.shape) for v in model.variables}


def test_generator_structure_names_and_forward():
  """BatchNorm in all 70 block norms and no final norm; SN on the blocks only."""
  g = resnet30.Generator(ch=4, z_dim=4, image_shape=(128, 128, 1), spectral_norm=True,
                         batch_norm=normalization.BatchNorm,
                         kernel_initializer=keras.initializers.RandomNormal(stddev=0.3))
  g.build_variables()
  assert testing.trainable_count(g) == generator_count("bn", ch=4, z_dim=4, colors=1)
  names = _names(g)
  assert names["generator/fc_noise/kernel"] == (4, 16 * 32)
  assert names["generator/B_0_4/same_conv1/kernel"] == (3, 3, 32, 32)
  assert names["generator/B_4_up/up_conv1/kernel"] == (3, 3, 2, 1)
  assert names["generator/B_5_4/bn2/gamma"] == (1,)
  assert names["generator/final_conv/kernel"] == (3, 3, 1, 1)
  assert "generator/B_5_up/up_conv1/kernel" not in names  # Five up blocks only.
  assert {n.split("/")[1] for n in names if n.endswith("u_var")} == {b.name for b in g.blocks}
  assert len(g.blocks) == 35
  images = g(np.random.RandomState(0).randn(2, 4).astype(np.float32), training=True).numpy()
  assert images.shape == (2, 128, 128, 1)
  assert images.min() >= 0.0 and images.max() <= 1.0 and images.std() > 1e-3


def test_conditional_generator_count_matches_counter():
  g = resnet30.Generator(ch=4, z_dim=4, num_classes=2, image_shape=(128, 128, 3),
                         batch_norm=normalization.ConditionalBatchNorm)
  g.build_variables()
  assert testing.trainable_count(g) == generator_count("cbn", ch=4, z_dim=4, classes=2)


def test_discriminator_structure_names_and_counts():
  """D's down blocks keep compare_gan's "B_s_up" name; color_conv has no SN."""
  d = resnet30.Discriminator(ch=4, image_shape=(128, 128, 3), spectral_norm=True,
                             layer_norm=True, batch_norm=normalization.BatchNorm)
  d.build_variables()
  assert testing.trainable_count(d) == discriminator_count(4, 3, "bn", 0, ln=True)
  names = _names(d)
  assert names["discriminator/color_conv/kernel"] == (3, 3, 3, 1)
  assert names["discriminator/B_0_up/down_conv2/kernel"] == (3, 3, 2, 2)
  assert names["discriminator/B_3_2/ln1/gamma"] == (8,)
  assert names["discriminator/disc_final_fc/kernel"] == (4 * 4 * 32, 1)
  assert {n.split("/")[1] for n in names if n.endswith("u_var")} == (
      {b.name for b in d.blocks} | {"disc_final_fc"})


# --- Forward passes, options and errors. ---

def test_discriminator_features_are_the_flattened_last_block():
  """No ReLU, no pooling (eager, tf.function and 2 replicas: families_test)."""
  images = np.random.RandomState(1).rand(2, 128, 128, 3).astype(np.float32)
  keras.utils.set_random_seed(4)
  d = resnet30.Discriminator(ch=4, kernel_initializer=keras.initializers.VarianceScaling())
  probabilities, logits, features = d(images, training=False)
  assert logits.shape == (2, 1) and features.shape == (2, 4 * 4 * 32)
  np.testing.assert_allclose(probabilities, tf.sigmoid(logits), rtol=1e-6)
  x = d.color_conv(images)
  for block in d.blocks:
    x = block(x)
  np.testing.assert_allclose(features, np.reshape(x, (2, -1)), rtol=1e-5)


def test_config_round_trip():
  g = resnet30.Generator(ch=8, z_dim=8, batch_norm=normalization.BatchNorm, spectral_norm=True)
  restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(g))
  assert isinstance(restored, resnet30.Generator) and restored.get_config() == g.get_config()
  assert restored.batch_norm is normalization.BatchNorm and restored.ch == 8
  # D shares the base class's from_config; check that it is registered too.
  assert keras.saving.get_registered_object(
      "compare_gan2.resnet30>Discriminator") is resnet30.Discriminator


def test_errors_are_clear():
  with pytest.raises(ValueError, match="supports square images of 128 px; got 64x64"):
    resnet30.Generator(image_shape=(64, 64, 3))
  with pytest.raises(ValueError, match="supports square images of 128 px; got 32x32"):
    resnet30.Discriminator(image_shape=(32, 32, 3))
  with pytest.raises(ValueError, match="ch must be a multiple of 4"):
    resnet30.Generator(ch=6, image_shape=(128, 128, 3))
  with pytest.raises(ValueError, match="color channels must be 1 or 3, got 4"):
    resnet30.Discriminator(image_shape=(128, 128, 4))
