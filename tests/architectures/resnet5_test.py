"""Tests for compare_gan2.architectures.resnet5 (compare_gan resnet5.py).

Parameter counts come from a counter written here from compare_gan's resnet5.py
and arch_ops.py, independently of the port's tables.
"""

import functools
import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import testing
from compare_gan2.architectures import base
from compare_gan2.architectures import resnet5
from compare_gan2.ops import normalization

NORMS = {None: None, "bn": normalization.BatchNorm, "cbn": normalization.ConditionalBatchNorm,
         "smbn": normalization.SelfModulatedBatchNorm}
ZEROS = keras.initializers.Zeros()  # Fast to allocate; counts do not depend on values.
RESOLUTIONS = (4, 8, 16, 32, 64, 128)
G_CHANNELS, D_CHANNELS = (8, 8, 4, 4, 2, 1), (1, 2, 4, 4, 8, 8)


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
  """resnet5.py:59-93: fc_noise, B1..B5 ch·c[i] -> ch·c[i+1], final_norm, final_conv."""
  widths = [ch * c for c in G_CHANNELS]
  total = linear(z_dim, 16 * widths[0])
  total += sum(block(a, b, kind, z_dim, classes) for a, b in zip(widths, widths[1:]))
  return total + norm_params(kind, widths[-1], z_dim, classes) + conv(widths[-1], colors)


def discriminator_count(ch=64, colors=3, kind=None, classes=10, ln=False):
  """resnet5.py:124-145: B0 colours -> ch, B1..B5, disc_final_fc."""
  widths = [ch * c for c in D_CHANNELS]
  total = block(colors, ch, kind, 0, classes, ln)
  total += sum(block(a, b, kind, 0, classes, ln) for a, b in zip(widths, widths[1:]))
  return total + linear(widths[-1], 1)


# --- Counts. ---

@pytest.mark.parametrize("kind,size,pinned", [
    (None, 128, 13_780_227), ("bn", 128, 13_786_115), ("cbn", 128, 13_839_107),
    ("smbn", 128, 14_019_939), (None, 64, 13_780_227), (None, 32, 13_780_227)])
def test_full_size_generator_counts(kind, size, pinned):
  """docs/design.md §10 (None, BatchNorm at 128); 10 classes for CBN."""
  g = resnet5.Generator(image_shape=(size, size, 3), num_classes=10, batch_norm=NORMS[kind],
                        kernel_initializer=ZEROS)
  g.build_variables()
  assert testing.trainable_count(g) == generator_count(kind) == pinned


@pytest.mark.parametrize("size,layer_norm,pinned", [
    (128, False, 15_086_529), (64, False, 15_086_529), (32, False, 15_086_529),
    (128, True, 15_092_423)])
def test_full_size_discriminator_counts(size, layer_norm, pinned):
  d = resnet5.Discriminator(image_shape=(size, size, 3), layer_norm=layer_norm,
                            spectral_norm=True, kernel_initializer=ZEROS)
  d.build_variables()
  assert testing.trainable_count(d) == discriminator_count(ln=layer_norm) == pinned


# Every resolution with the cheap options, the modulated norms at the extremes
# (variable creation dominates the run time of these tests).
G_CASES = [(size, kind) for size in RESOLUTIONS for kind in (None, "bn")] + [
    (size, kind) for size in (4, 128) for kind in ("cbn", "smbn")]
D_CASES = [(size, kind, ln) for size in RESOLUTIONS for kind, ln in ((None, False), (None, True))
           ] + [(32, "bn", False), (128, "cbn", True)]


@pytest.mark.parametrize("size,kind", G_CASES)
def test_generator_count_matches_counter(size, kind):
  g = resnet5.Generator(ch=2, z_dim=8, num_classes=3, image_shape=(size, size, 1),
                        batch_norm=NORMS[kind])
  g.build_variables()
  assert testing.trainable_count(g) == generator_count(kind, ch=2, z_dim=8, classes=3, colors=1)


@pytest.mark.parametrize("size,kind,layer_norm", D_CASES)
def test_discriminator_count_matches_counter(size, kind, layer_norm):
  d = resnet5.Discriminator(ch=2, num_classes=3, image_shape=(size, size, 1),
                            batch_norm=NORMS[kind], layer_norm=layer_norm)
  d.build_variables()
  assert testing.trainable_count(d) == discriminator_count(2, 1, kind, 3, layer_norm)


# --- Structure, names and spectral-norm coverage. ---

def _names(model):
  names = base.compare_gan_names(model)
  return {names[v.path]: tuple(v.shape) for v in model.variables}


def test_generator_names_scales_and_spectral_norm_coverage():
  """At 64 px B1..B4 go up and B5 does not; fc_noise and final_conv never get SN."""
  g = resnet5.Generator(ch=2, z_dim=8, image_shape=(64, 64, 3), spectral_norm=True,
                        batch_norm=normalization.BatchNorm)
  g.build_variables()
  names = _names(g)
  assert names["generator/fc_noise/kernel"] == (8, 16 * 16)
  assert names["generator/B4/up_conv1/kernel"] == (3, 3, 8, 4)
  assert names["generator/B5/same_conv_shortcut/kernel"] == (3, 3, 4, 2)
  assert names["generator/final_norm/gamma"] == (2,)
  assert names["generator/final_conv/kernel"] == (3, 3, 2, 3)
  u_vars = sorted(n.split("/")[1] for n in names if n.endswith("u_var"))
  assert u_vars == sorted(f"B{i}" for i in range(1, 6) for _ in range(3))


def test_discriminator_names_and_spectral_norm_coverage():
  d = resnet5.Discriminator(ch=2, image_shape=(32, 32, 1), spectral_norm=True)
  d.build_variables()
  names = _names(d)
  assert names["discriminator/B0/down_conv_shortcut/kernel"] == (3, 3, 1, 2)
  assert names["discriminator/B5/down_conv2/kernel"] == (3, 3, 16, 16)
  assert names["discriminator/disc_final_fc/kernel/u_var"] == (16, 1)
  assert sum(n.endswith("u_var") for n in names) == 6 * 3 + 1


# --- Forward passes, options and errors. ---

def _inputs(batch=2, z_dim=8, classes=3, seed=0):
  rng = np.random.RandomState(seed)
  z = rng.randn(batch, z_dim).astype(np.float32)
  return z, np.eye(classes, dtype=np.float32)[rng.randint(classes, size=batch)]


@pytest.mark.parametrize("size", [4, 32])
def test_output_shapes_and_ranges(size):
  """D halves six times at every size: 32 px ends at 1x1 (SAME pooling keeps 1x1)."""
  z, y = _inputs()
  g = resnet5.Generator(ch=1, z_dim=8, num_classes=3, image_shape=(size, size, 3),
                        batch_norm=normalization.ConditionalBatchNorm)
  images = g(z, y, training=True).numpy()
  assert images.shape == (2, size, size, 3) and 0.0 <= images.min() <= images.max() <= 1.0
  d = resnet5.Discriminator(ch=1, image_shape=(size, size, 3))
  out = d(images)
  assert out.logits.shape == (2, 1) and out.features.shape == (2, 8)
  np.testing.assert_allclose(out.probabilities, tf.sigmoid(out.logits), rtol=1e-6)
  x = images
  for block in d.blocks:
    x = block(x)
  assert x.shape == (2, 1, 1, 8)  # Six halvings: 32 px ends at 1x1, and so does 4 px.
  features = np.mean(np.maximum(x, 0.0), axis=(1, 2))  # ReLU then MEAN pooling.
  np.testing.assert_allclose(out.features, features, rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(out.logits, d.disc_final_fc(features), rtol=1e-5, atol=1e-7)


def test_config_round_trip():
  g = resnet5.Generator(ch=2, channels=(4, 4, 2, 2, 1, 1), z_dim=8, image_shape=(32, 32, 1),
                        batch_norm=normalization.BatchNorm, kernel_initializer="orthogonal")
  clone = resnet5.Generator.from_config(g.get_config())
  assert clone.get_config() == g.get_config() and clone.channels == (4, 4, 2, 2, 1, 1)
  d = resnet5.Discriminator(ch=2, image_shape=(64, 64, 3), layer_norm=True, spectral_norm=True)
  restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(d))
  assert isinstance(restored, resnet5.Discriminator)
  assert restored.get_config() == d.get_config()


def test_errors_are_clear():
  sizes = "supports square images of 4, 8, 16, 32, 64, 128 px"
  with pytest.raises(ValueError, match=f"{sizes}; got 256x256"):
    resnet5.Generator(image_shape=(256, 256, 3))
  with pytest.raises(ValueError, match=f"{sizes}; got 48x48"):
    resnet5.Discriminator(image_shape=(48, 48, 3))
  with pytest.raises(ValueError, match="channels needs 6 multipliers"):
    resnet5.Generator(channels=(8, 4, 2, 1))
  with pytest.raises(ValueError, match="color channels must be 1 or 3, got 2"):
    resnet5.Discriminator(image_shape=(32, 32, 2))
  d = resnet5.Discriminator(ch=1, image_shape=(32, 32, 3))
  with pytest.raises(ValueError, match=r"expected images of shape \[B, 32, 32, 3\]"):
    d(tf.zeros([1, 16, 16, 3]))
  g = resnet5.Generator(ch=1, z_dim=8, image_shape=(8, 8, 3))
  with pytest.raises(ValueError, match=r"expected z of shape \[B, 8\]"):
    g(tf.zeros([1, 6]))
