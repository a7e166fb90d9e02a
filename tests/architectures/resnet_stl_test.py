"""Tests for compare_gan2.architectures.resnet_stl (SNGAN Table 5, compare_gan resnet_stl.py).

Parameter counts come from a counter written here from compare_gan's
resnet_stl.py and arch_ops.py, independently of the port's tables.
"""

import functools
import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import testing
from compare_gan2.architectures import base
from compare_gan2.architectures import resnet_stl
from compare_gan2.ops import normalization

NORMS = {None: None, "bn": normalization.BatchNorm, "cbn": normalization.ConditionalBatchNorm,
         "smbn": normalization.SelfModulatedBatchNorm}
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
  """resnet_stl.py:47-66: fc_noise 6·6·512, magic [(8, 4), (4, 2), (2, 1)], final norm."""
  total = linear(z_dim, 6 * 6 * 8 * ch)
  total += sum(block(ch * a, ch * b, kind, z_dim, classes) for a, b in [(8, 4), (4, 2), (2, 1)])
  return total + norm_params(kind, ch, z_dim, classes) + conv(ch, colors)


def discriminator_count(ch=64, colors=3, kind=None, classes=10, ln=False):
  """resnet_stl.py:88-108: B0 colours -> ch, magic [(1, 2), (2, 4), (4, 8), (8, 16)]."""
  total = block(colors, ch, kind, 0, classes, ln)
  total += sum(block(ch * a, ch * b, kind, 0, classes, ln)
               for a, b in [(1, 2), (2, 4), (4, 8), (8, 16)])
  return total + linear(16 * ch, 1)


# --- Counts. ---

@pytest.mark.parametrize("kind,pinned", [(None, 6_251_523), ("bn", 6_254_339),
                                         ("cbn", 6_279_683), ("smbn", 6_373_347)])
def test_full_size_generator_counts(kind, pinned):
  """docs/design.md §10 (None, BatchNorm); 10 classes for CBN."""
  g = resnet_stl.Generator(num_classes=10, batch_norm=NORMS[kind], kernel_initializer=ZEROS)
  g.build_variables()
  assert testing.trainable_count(g) == generator_count(kind) == pinned


@pytest.mark.parametrize("layer_norm,pinned", [(False, 25_114_817), (True, 25_120_711)])
def test_full_size_discriminator_counts(layer_norm, pinned):
  d = resnet_stl.Discriminator(layer_norm=layer_norm, spectral_norm=True,
                               kernel_initializer=ZEROS)
  d.build_variables()
  assert testing.trainable_count(d) == discriminator_count(ln=layer_norm) == pinned


@pytest.mark.parametrize("kind", list(NORMS))
def test_generator_count_matches_counter(kind):
  g = resnet_stl.Generator(ch=2, z_dim=8, num_classes=3, image_shape=(48, 48, 1),
                           batch_norm=NORMS[kind])
  g.build_variables()
  assert testing.trainable_count(g) == generator_count(kind, ch=2, z_dim=8, classes=3, colors=1)


@pytest.mark.parametrize("kind,layer_norm", [(None, True), ("bn", False), ("cbn", True)])
def test_discriminator_count_matches_counter(kind, layer_norm):
  d = resnet_stl.Discriminator(ch=2, num_classes=3, image_shape=(48, 48, 1),
                               batch_norm=NORMS[kind], layer_norm=layer_norm)
  d.build_variables()
  assert testing.trainable_count(d) == discriminator_count(2, 1, kind, 3, layer_norm)


# --- Structure, names and spectral-norm coverage. ---

def _names(model):
  names = base.compare_gan_names(model)
  return {names[v.path]: tuple(v.shape) for v in model.variables}


@pytest.mark.parametrize("kind,final_variable", [
    ("bn", "generator/batch_norm/gamma"),
    ("cbn", "generator/batch_norm/condition/gamma/kernel"),
    ("smbn", "generator/batch_norm/sbn/hidden/kernel")])
def test_final_norm_keeps_compare_gans_batch_norm_scope(kind, final_variable):
  """resnet_stl.py:61-62 passes `scope=`, which the norms drop: the default name wins."""
  g = resnet_stl.Generator(ch=2, z_dim=8, num_classes=3, batch_norm=NORMS[kind])
  g.build_variables()
  names = _names(g)
  assert final_variable in names
  assert not any("final_norm" in name for name in names)


def test_names_and_spectral_norm_coverage():
  g = resnet_stl.Generator(ch=2, z_dim=8, spectral_norm=True)
  d = resnet_stl.Discriminator(ch=2, spectral_norm=True)
  g.build_variables()
  d.build_variables()
  g_names, d_names = _names(g), _names(d)
  assert g_names["generator/fc_noise/kernel"] == (8, 6 * 6 * 16)
  assert g_names["generator/B1/up_conv1/kernel"] == (3, 3, 16, 8)
  assert g_names["generator/final_conv/kernel"] == (3, 3, 2, 3)
  assert d_names["discriminator/B0/down_conv_shortcut/kernel"] == (3, 3, 3, 2)
  assert d_names["discriminator/B4/same_conv2/kernel"] == (3, 3, 32, 32)
  assert d_names["discriminator/disc_final_fc/kernel"] == (32, 1)
  # No SN on fc_noise and final_conv (resnet_stl.py:52, 64-65); D everywhere.
  assert {n.split("/")[1] for n in g_names if n.endswith("u_var")} == {"B1", "B2", "B3"}
  assert {n.split("/")[1] for n in d_names if n.endswith("u_var")} == {
      "B0", "B1", "B2", "B3", "B4", "disc_final_fc"}


# --- Forward passes, options and errors. ---


def test_features_are_relu_then_mean_pooled():
  images = np.random.RandomState(3).rand(2, 48, 48, 3).astype(np.float32)
  d = resnet_stl.Discriminator(ch=2, layer_norm=True)
  out = d(images)
  x = images
  for block in d.blocks:
    x = block(x)
  assert x.shape == (2, 3, 3, 32)  # 48 -> 24 -> 12 -> 6 -> 3, then "none".
  np.testing.assert_allclose(out.features, np.mean(np.maximum(x, 0.0), axis=(1, 2)), rtol=1e-5)
  np.testing.assert_allclose(out.logits, d.disc_final_fc(out.features), rtol=1e-6)


def test_dynamic_batch_under_tf_function():
  """compare_gan reshapes with the static batch size (resnet_stl.py:50-53); we do not."""
  g = resnet_stl.Generator(ch=2, z_dim=8)
  traced = tf.function(g, input_signature=[tf.TensorSpec((None, 8))])
  assert traced(tf.zeros([3, 8])).shape == (3, 48, 48, 3)


def test_config_round_trip():
  g = resnet_stl.Generator(ch=2, z_dim=8, num_classes=3, spectral_norm=True,
                           batch_norm=normalization.ConditionalBatchNorm)
  clone = resnet_stl.Generator.from_config(g.get_config())
  assert clone.get_config() == g.get_config()
  assert clone.batch_norm is normalization.ConditionalBatchNorm
  d = resnet_stl.Discriminator(ch=2, image_shape=(48, 48, 1), layer_norm=True)
  restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(d))
  assert isinstance(restored, resnet_stl.Discriminator)
  assert restored.get_config() == d.get_config()


def test_errors_are_clear():
  with pytest.raises(ValueError, match="supports square images of 48 px; got 32x32"):
    resnet_stl.Generator(image_shape=(32, 32, 3))
  with pytest.raises(ValueError, match="supports square images of 48 px; got 64x64"):
    resnet_stl.Discriminator(image_shape=(64, 64, 3))
  with pytest.raises(ValueError, match="color channels must be 1 or 3, got 2"):
    resnet_stl.Discriminator(image_shape=(48, 48, 2))
  with pytest.raises(ValueError, match="needs y"):
    resnet_stl.Generator(ch=2, batch_norm=normalization.ConditionalBatchNorm).build_variables()
