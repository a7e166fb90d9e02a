"""Tests of compare_gan2.architectures.sndcgan against compare_gan's sndcgan.py.

Parameter counts come from a formula written here from compare_gan's layer
listing (sndcgan.py:53-125), independent of the module's
tables, plus literal totals (docs/design.md §10). Forward passes are checked
against a reference written with raw TF ops from the same listing.
"""

import functools
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import testing
from compare_gan2.architectures import base
from compare_gan2.architectures import sndcgan
from compare_gan2.ops import normalization

NORMS = {"none": None, "bn": normalization.BatchNorm,
         "cbn": normalization.ConditionalBatchNorm,
         "smbn": normalization.SelfModulatedBatchNorm}
SHAPES = [(28, 28, 1), (32, 32, 3), (64, 64, 3), (128, 128, 3)]
Z_DIM, CLASSES = 128, 10
ZEROS = keras.initializers.Zeros()  # Cheap to create; counts do not depend on values.
# D convolutions (sndcgan.py:109-121): (kernel, stride, channels), lrelu 0.1 after each.
D_CONVS = [(3, 1, 64), (4, 2, 128), (3, 1, 128), (4, 2, 256), (3, 1, 256), (4, 2, 512),
           (3, 1, 512)]


# compare_gan's counting rules, shared in compare_gan2.testing.
linear_params = testing.linear_params
conv_params = testing.conv_params
norm_params = functools.partial(testing.norm_params, z_dim=Z_DIM, y_dim=CLASSES)


def expected_generator(shape, norm):
  """sndcgan.py:59-73: g_fc1 + g_bn1 on s8·s8·512 features, 3 deconvs + norms, g_dc5."""
  height, width, colors = shape
  flat = 512 * math.ceil(height / 8) * math.ceil(width / 8)
  total = linear_params(Z_DIM, flat) + norm_params(norm, flat)
  for c_in, c_out in [(512, 256), (256, 128), (128, 64)]:
    total += conv_params(4, c_in, c_out) + norm_params(norm, c_out)
  return total + conv_params(3, 64, colors)


def expected_discriminator(shape):
  """sndcgan.py:109-125: seven convs and d_fc1; no norm whatever is configured."""
  height, width, colors = shape
  total, c_in = 0, colors
  for kernel, _, c_out in D_CONVS:
    total, c_in = total + conv_params(kernel, c_in, c_out), c_out
  return total + linear_params(512 * math.ceil(height / 8) * math.ceil(width / 8), 1)


def built(cls, **kwargs):
  kwargs.setdefault("num_classes", CLASSES)
  model = cls(**kwargs)
  model.build_variables()
  return model


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("norm", list(NORMS))
def test_generator_parameter_count(shape, norm):
  model = built(sndcgan.Generator, image_shape=shape, batch_norm=NORMS[norm],
                spectral_norm=True, kernel_initializer=ZEROS)
  assert testing.trainable_count(model) == expected_generator(shape, norm)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("norm", ["none", "bn", "cbn"])
def test_discriminator_parameter_count_ignores_batch_norm(shape, norm):
  model = built(sndcgan.Discriminator, image_shape=shape, batch_norm=NORMS[norm],
                layer_norm=True, spectral_norm=True, kernel_initializer=ZEROS)
  assert testing.trainable_count(model) == expected_discriminator(shape)
  assert all(v.path.endswith("u_var") for v in model.non_trainable_variables)


@pytest.mark.parametrize("shape,norm,generator,discriminator", [
    ((32, 32, 3), "none", 3_811_459, 5_860_865),  # docs/design.md §10
    ((32, 32, 3), "bn", 3_828_739, 5_860_865),  # design.md §10
    ((128, 128, 3), "none", 19_662_979, 5_983_745),  # design.md §10
    ((128, 128, 3), "bn", 19_926_019, 5_983_745),  # design.md §10
    ((32, 32, 3), "cbn", 3_984_259, 5_860_865),  # G: + 2·10·(8192 + 256 + 128 + 64)
])
def test_pinned_totals(shape, norm, generator, discriminator):
  kwargs = dict(image_shape=shape, batch_norm=NORMS[norm], kernel_initializer=ZEROS)
  assert testing.trainable_count(built(sndcgan.Generator, **kwargs)) == generator
  assert testing.trainable_count(built(sndcgan.Discriminator, **kwargs)) == discriminator


def test_variable_paths_spectral_norm_and_compare_gan_names():
  generator = built(sndcgan.Generator, image_shape=(32, 32, 3), spectral_norm=True,
                    batch_norm=normalization.SelfModulatedBatchNorm, kernel_initializer=ZEROS)
  discriminator = built(sndcgan.Discriminator, image_shape=(32, 32, 3), spectral_norm=True,
                        kernel_initializer=ZEROS)
  shapes = {v.path: tuple(v.shape) for m in (generator, discriminator) for v in m.variables}
  assert shapes["generator/g_fc1/kernel"] == (Z_DIM, 4 * 4 * 512)
  assert shapes["generator/g_bn1/moving_mean"] == (4 * 4 * 512,)  # per-feature on rank 2
  assert shapes["generator/g_bn1/gamma/kernel"] == (32, 4 * 4 * 512)
  assert shapes["generator/g_dc2/kernel"] == (4, 4, 256, 512)
  assert shapes["generator/g_dc5/kernel"] == (3, 3, 3, 64)
  assert shapes["discriminator/d_conv7/kernel"] == (3, 3, 512, 512)
  assert shapes["discriminator/d_fc1/kernel"] == (4 * 4 * 512, 1)
  assert sorted(p.split("/")[1] for p in shapes
                if p.startswith("discriminator") and p.endswith("u_var")) == [
                    *(f"d_conv{i}" for i in range(1, 8)), "d_fc1"]
  # G's own layers never get SN; the self-modulation projections do (abstract_arch.py:76-83).
  assert {p.split("/")[1] for p in shapes
          if p.startswith("generator") and p.endswith("u_var")} == {"g_bn1", "g_bn2", "g_bn3",
                                                                    "g_bn4"}
  names = {**base.compare_gan_names(generator), **base.compare_gan_names(discriminator)}
  assert names["generator/g_bn1/hidden/kernel"] == "generator/g_bn1/sbn/hidden/kernel"
  assert names["discriminator/d_conv7/u_var"] == "discriminator/d_conv7/kernel/u_var"


def _kernel_and_bias(model, name):
  layer = model.get_layer(name)
  return tf.convert_to_tensor(layer.kernel), tf.convert_to_tensor(layer.bias)


def reference_generator(model, z, shape):
  """sndcgan.py:53-78 with no norm, written with raw TF ops."""
  height, width, colors = shape
  kernel, bias = _kernel_and_bias(model, "g_fc1")
  net = tf.reshape(tf.nn.relu(z @ kernel + bias),
                   [-1, math.ceil(height / 8), math.ceil(width / 8), 512])
  deconvs = [(4, 2, 4, 256), (4, 2, 2, 128), (4, 2, 1, 64), (3, 1, 1, colors)]
  for i, (_, stride, k, channels) in enumerate(deconvs):
    kernel, bias = _kernel_and_bias(model, f"g_dc{i + 2}")
    out = [z.shape[0], math.ceil(height / k), math.ceil(width / k), channels]
    net = tf.nn.conv2d_transpose(net, kernel, out, stride, "SAME") + bias
    net = tf.nn.relu(net) if i < 3 else net
  return (tf.tanh(net) + 1.0) / 2.0


def reference_discriminator(model, images):
  """sndcgan.py:108-125 without SN: x·2 − 1, convs with lrelu 0.1, flatten, d_fc1."""
  net = images * 2.0 - 1.0
  for i, (_, stride, _) in enumerate(D_CONVS):
    kernel, bias = _kernel_and_bias(model, f"d_conv{i + 1}")
    net = tf.nn.conv2d(net, kernel, stride, "SAME") + bias
    net = tf.maximum(net, 0.1 * net)
  net = tf.reshape(net, [images.shape[0], -1])
  kernel, bias = _kernel_and_bias(model, "d_fc1")
  return net @ kernel + bias, net


@pytest.mark.parametrize("shape", [(28, 28, 1), (20, 36, 3)])
def test_forward_matches_reference(shape):
  keras.utils.set_random_seed(1)
  z = tf.random.stateless_normal([2, Z_DIM], seed=[1, 2])
  generator = sndcgan.Generator(image_shape=shape)
  images = generator(z)
  assert images.shape == (2, *shape)
  assert 0.0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 1.0
  np.testing.assert_allclose(images, reference_generator(generator, z, shape), atol=1e-6)
  discriminator = sndcgan.Discriminator(image_shape=shape)
  probabilities, logits, features = discriminator(images)
  expected_logits, expected_features = reference_discriminator(discriminator, images)
  assert logits.shape == (2, 1) and features.shape == expected_features.shape
  np.testing.assert_allclose(logits, expected_logits, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(features, expected_features, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(probabilities, tf.sigmoid(logits), rtol=1e-6)


@pytest.mark.parametrize("norm", ["cbn", "smbn"])
def test_modulated_g_bn1_on_rank_2_is_per_example(norm):
  """compare_gan's [-1, 1, 1, C] gamma reshape breaks here for batches > 1; ours must not."""
  keras.utils.set_random_seed(2)
  z, y = tf.random.stateless_normal([2, Z_DIM], seed=[3, 4]), tf.one_hot([1, 7], CLASSES)
  generator = sndcgan.Generator(image_shape=(16, 16, 3), batch_norm=NORMS[norm],
                                num_classes=CLASSES)
  generator(z, y, training=True)  # moves the statistics away from (0, 1)
  both = generator(z, y, training=False)
  assert both.shape == (2, 16, 16, 3)
  for i in range(2):
    np.testing.assert_allclose(both[i:i + 1], generator(z[i:i + 1], y[i:i + 1]), atol=1e-6)


def test_discriminator_ignores_y_and_rescales_inputs():
  keras.utils.set_random_seed(4)
  discriminator = sndcgan.Discriminator(image_shape=(16, 16, 3), spectral_norm=True,
                                        batch_norm=normalization.ConditionalBatchNorm,
                                        num_classes=CLASSES)
  images = tf.random.stateless_uniform([2, 16, 16, 3], seed=[5, 6])
  np.testing.assert_array_equal(discriminator(images).logits,
                                discriminator(images, tf.one_hot([0, 1], CLASSES)).logits)
  # 0.5 maps to 0, so with zero conv biases every feature is exactly 0.
  features = discriminator(tf.fill([1, 16, 16, 3], 0.5)).features
  assert features.shape == (1, 2 * 2 * 512) and not np.any(features)


@pytest.mark.parametrize("cls,initializer", [(sndcgan.Generator, ZEROS),
                                             (sndcgan.Discriminator, "truncated")])
def test_config_round_trip(cls, initializer):
  model = built(cls, image_shape=(16, 16, 3), batch_norm=normalization.SelfModulatedBatchNorm,
                spectral_norm=True, kernel_initializer=initializer, num_classes=0)
  for clone in (cls.from_config(model.get_config()),
                keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))):
    assert type(clone) is cls and clone.batch_norm is normalization.SelfModulatedBatchNorm
    if not clone.built:  # Keras deserialization rebuilds from the stored build shapes.
      clone.build_variables()
    assert [(v.path, v.shape) for v in clone.variables] == [
        (v.path, v.shape) for v in model.variables]
    assert clone.get_config() == model.get_config()


def test_errors_name_the_problem():
  with pytest.raises(ValueError, match=r"positive sizes; got \(28, 0, 1\)"):
    sndcgan.Generator(image_shape=(28, 0, 1))
  with pytest.raises(ValueError, match="positive sizes"):
    sndcgan.Discriminator(image_shape=(28, 28, 0))
  with pytest.raises(ValueError, match=r"made for \(32, 32, 3\) images"):
    sndcgan.Discriminator(image_shape=(32, 32, 3)).build((2, 32, 32, 1))
  with pytest.raises(ValueError, match="z_dim is 128"):
    sndcgan.Generator(image_shape=(32, 32, 3)).build((2, 120))
  with pytest.raises(ValueError, match="needs y"):
    built(sndcgan.Generator, image_shape=(32, 32, 3), num_classes=0,
          batch_norm=normalization.ConditionalBatchNorm)
