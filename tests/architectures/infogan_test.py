"""Tests of compare_gan2.architectures.infogan against compare_gan's infogan.py.

Parameter counts come from a formula written here from compare_gan's layer
listing (infogan.py:50-98), independent of the module's
tables, plus literal totals (docs/design.md §10). Forward passes are checked
against a reference written with raw TF ops from the same listing.
"""

import functools
import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import testing
from compare_gan2.architectures import base
from compare_gan2.architectures import infogan
from compare_gan2.ops import normalization

NORMS = {"none": None, "bn": normalization.BatchNorm,
         "cbn": normalization.ConditionalBatchNorm,
         "smbn": normalization.SelfModulatedBatchNorm}
SHAPES = [(28, 28, 1), (32, 32, 3), (64, 64, 3), (128, 128, 3)]
Z_DIM, CLASSES = 128, 10
EPSILON = 1e-3  # standardize_batch's default (arch_ops.py:194)
ZEROS = keras.initializers.Zeros()  # Cheap to create; counts do not depend on values.


# compare_gan's counting rules, shared in compare_gan2.testing.
linear_params = testing.linear_params
conv_params = testing.conv_params
norm_params = functools.partial(testing.norm_params, y_dim=CLASSES)


def expected_generator(shape):
  """infogan.py:53-60; every g_bn is arch_ops.batch_norm (gamma + beta)."""
  height, width, colors = shape
  map_units = 128 * (height // 4) * (width // 4)
  return (linear_params(Z_DIM, 1024) + 2 * 1024 + linear_params(1024, map_units)
          + 2 * map_units + conv_params(4, 128, 64) + 2 * 64 + conv_params(4, 64, colors))


def expected_discriminator(shape, norm):
  """infogan.py:86-98: d_conv1, d_conv2 + d_bn2, d_fc3 + d_bn3, d_fc4."""
  height, width, colors = shape
  flat = 128 * -(-height // 4) * -(-width // 4)
  return (conv_params(4, colors, 64) + conv_params(4, 64, 128) + norm_params(norm, 128)
          + linear_params(flat, 1024) + norm_params(norm, 1024) + linear_params(1024, 1))


def built(cls, **kwargs):
  kwargs.setdefault("num_classes", CLASSES)
  model = cls(**kwargs)
  model.build_variables()
  return model


@pytest.mark.parametrize("shape", SHAPES)
def test_generator_parameter_count(shape):
  model = built(infogan.Generator, image_shape=shape, spectral_norm=True,
                kernel_initializer=ZEROS)
  assert testing.trainable_count(model) == expected_generator(shape)


@pytest.mark.parametrize("norm", list(NORMS))
def test_generator_always_has_plain_batch_norm(norm):
  """compare_gan calls arch_ops.batch_norm directly, ignoring G.batch_norm_fn."""
  model = built(infogan.Generator, image_shape=(28, 28, 1), batch_norm=NORMS[norm],
                spectral_norm=True, kernel_initializer=ZEROS)
  assert testing.trainable_count(model) == expected_generator((28, 28, 1))
  for name in ("g_bn1", "g_bn2", "g_bn3"):
    layer = model.get_layer(name)
    assert type(layer) is normalization.BatchNorm and layer.center and layer.scale
  assert not [v for v in model.variables if v.path.endswith("u_var")]  # G has no SN


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("norm", ["none", "bn", "cbn"])
def test_discriminator_parameter_count(shape, norm):
  model = built(infogan.Discriminator, image_shape=shape, batch_norm=NORMS[norm],
                spectral_norm=True, kernel_initializer=ZEROS)
  assert testing.trainable_count(model) == expected_discriminator(shape, norm)


@pytest.mark.parametrize("shape,norm,generator,discriminator", [
    ((28, 28, 1), "none", 6_707_777, 6_556_865),  # docs/design.md §10
    ((32, 32, 3), "none", 8_681_667, 8_524_993),  # design.md §10
    ((28, 28, 1), "bn", 6_707_777, 6_559_169),  # D: + 2·(128 + 1024)
    ((32, 32, 3), "cbn", 8_681_667, 8_548_033),  # D: + 2·10·(128 + 1024)
])
def test_pinned_totals(shape, norm, generator, discriminator):
  kwargs = dict(image_shape=shape, batch_norm=NORMS[norm], kernel_initializer=ZEROS)
  assert testing.trainable_count(built(infogan.Generator, **kwargs)) == generator
  assert testing.trainable_count(built(infogan.Discriminator, **kwargs)) == discriminator


def test_variable_paths_spectral_norm_and_compare_gan_names():
  generator = built(infogan.Generator, image_shape=(28, 28, 1), kernel_initializer=ZEROS)
  discriminator = built(infogan.Discriminator, image_shape=(28, 28, 1), spectral_norm=True,
                        batch_norm=normalization.BatchNorm, kernel_initializer=ZEROS)
  shapes = {v.path: tuple(v.shape) for m in (generator, discriminator) for v in m.variables}
  assert shapes["generator/g_fc1/kernel"] == (Z_DIM, 1024)
  assert shapes["generator/g_fc2/kernel"] == (1024, 128 * 7 * 7)
  assert shapes["generator/g_bn2/gamma"] == (128 * 7 * 7,)  # per-feature BN on rank 2
  assert shapes["generator/g_dc3/kernel"] == (4, 4, 64, 128)
  assert shapes["generator/g_dc4/kernel"] == (4, 4, 1, 64)
  assert shapes["discriminator/d_fc3/kernel"] == (128 * 7 * 7, 1024)
  assert shapes["discriminator/d_bn3/beta"] == (1024,)
  assert not any("d_bn1" in path for path in shapes)  # compare_gan has no d_bn1
  assert sorted(p.split("/")[1] for p in shapes if p.endswith("u_var")) == [
      "d_conv1", "d_conv2", "d_fc3", "d_fc4"]
  names = base.compare_gan_names(discriminator)
  assert names["discriminator/d_fc3/u_var"] == "discriminator/d_fc3/kernel/u_var"
  assert base.compare_gan_names(generator)["generator/g_bn3/beta"] == "generator/g_bn3/beta"


def _kernel_and_bias(model, name):
  layer = model.get_layer(name)
  return tf.convert_to_tensor(layer.kernel), tf.convert_to_tensor(layer.bias)


def _lrelu(x):
  return tf.maximum(x, 0.2 * x)


def reference_generator(model, z, shape):
  """infogan.py:53-61 in inference: BN with moving stats (0, 1), gamma 1, beta 0."""
  height, width, colors = shape
  bn = 1.0 / np.sqrt(1.0 + EPSILON)
  net = z
  for name in ("g_fc1", "g_fc2"):
    kernel, bias = _kernel_and_bias(model, name)
    net = _lrelu((net @ kernel + bias) * bn)
  net = tf.reshape(net, [-1, height // 4, width // 4, 128])
  kernel, bias = _kernel_and_bias(model, "g_dc3")
  net = tf.nn.conv2d_transpose(net, kernel, [z.shape[0], height // 2, width // 2, 64], 2,
                               "SAME") + bias
  kernel, bias = _kernel_and_bias(model, "g_dc4")
  net = tf.nn.conv2d_transpose(_lrelu(net * bn), kernel, [z.shape[0], height, width, colors],
                               2, "SAME") + bias
  return tf.sigmoid(net)


def reference_discriminator(model, images):
  """infogan.py:86-99 with no norm and no SN."""
  net = images
  for name in ("d_conv1", "d_conv2"):
    kernel, bias = _kernel_and_bias(model, name)
    net = _lrelu(tf.nn.conv2d(net, kernel, 2, "SAME") + bias)
  kernel, bias = _kernel_and_bias(model, "d_fc3")
  net = _lrelu(tf.reshape(net, [images.shape[0], -1]) @ kernel + bias)
  kernel, bias = _kernel_and_bias(model, "d_fc4")
  return net @ kernel + bias, net


@pytest.mark.parametrize("shape", [(28, 28, 1), (16, 24, 3)])
def test_forward_matches_reference(shape):
  keras.utils.set_random_seed(1)
  z = tf.random.stateless_normal([2, Z_DIM], seed=[1, 2])
  generator = infogan.Generator(image_shape=shape)
  images = generator(z)
  assert images.shape == (2, *shape)
  assert 0.0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 1.0
  np.testing.assert_allclose(images, reference_generator(generator, z, shape), atol=1e-6)
  discriminator = infogan.Discriminator(image_shape=shape)
  probabilities, logits, features = discriminator(images)
  expected_logits, expected_features = reference_discriminator(discriminator, images)
  assert logits.shape == (2, 1) and features.shape == (2, 1024)
  np.testing.assert_allclose(logits, expected_logits, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(features, expected_features, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(probabilities, tf.sigmoid(logits), rtol=1e-6)


def test_training_forward_ignores_y_in_generator():
  keras.utils.set_random_seed(2)
  z, y = tf.random.stateless_normal([2, Z_DIM], seed=[3, 4]), tf.one_hot([1, 7], CLASSES)
  generator = infogan.Generator(image_shape=(28, 28, 1), num_classes=CLASSES,
                                batch_norm=normalization.ConditionalBatchNorm)
  images = generator(z, y, training=True)
  np.testing.assert_array_equal(images, generator(z, None, training=True))
  assert 0.0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 1.0
  discriminator = infogan.Discriminator(image_shape=(28, 28, 1), spectral_norm=True,
                                        batch_norm=normalization.ConditionalBatchNorm,
                                        num_classes=CLASSES)
  output = discriminator(images, y, training=True)
  assert output.logits.shape == (2, 1) and output.features.shape == (2, 1024)
  np.testing.assert_allclose(output.probabilities, tf.sigmoid(output.logits), rtol=1e-6)


def test_gin_batch_norm_settings_reach_the_always_on_norms():
  from compare_gan2 import configurables  # noqa: F401  (registers ops.BatchNorm)
  gin.parse_config("ops.BatchNorm.decay = 0.5\nops.BatchNorm.center = False")
  model = built(infogan.Generator, image_shape=(28, 28, 1), kernel_initializer=ZEROS,
                batch_norm=gin.get_configurable("ops.BatchNorm"))
  layer = model.get_layer("g_bn1")
  assert layer.decay == 0.5 and layer.center  # center stays on, as compare_gan's batch_norm
  assert testing.trainable_count(model) == expected_generator((28, 28, 1))


@pytest.mark.parametrize("cls,kwargs", [
    (infogan.Generator, dict(kernel_initializer=ZEROS, z_dim=64, num_classes=0)),
    (infogan.Discriminator, dict(kernel_initializer="truncated", layer_norm=True)),
])
def test_config_round_trip(cls, kwargs):
  model = built(cls, image_shape=(16, 16, 3), batch_norm=normalization.BatchNorm,
                spectral_norm=True, **kwargs)
  for clone in (cls.from_config(model.get_config()),
                keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))):
    assert type(clone) is cls and clone.batch_norm is normalization.BatchNorm
    if not clone.built:  # Keras deserialization rebuilds from the stored build shapes.
      clone.build_variables()
    assert [(v.path, v.shape) for v in clone.variables] == [
        (v.path, v.shape) for v in model.variables]
    assert clone.get_config() == model.get_config()


@pytest.mark.parametrize("cls", [infogan.Generator, infogan.Discriminator])
@pytest.mark.parametrize("shape", [(30, 30, 3), (32, 30, 1), (0, 32, 3)])
def test_unsupported_resolution_is_named(cls, shape):
  with pytest.raises(ValueError, match=rf"multiples of 4.*got {shape[0]}x{shape[1]}"):
    cls(image_shape=shape)


def test_shape_mismatches_are_named():
  with pytest.raises(ValueError, match=r"made for \(32, 32, 3\) images"):
    infogan.Discriminator(image_shape=(32, 32, 3)).build((2, 28, 28, 1))
  with pytest.raises(ValueError, match="z_dim is 128"):
    infogan.Generator(image_shape=(32, 32, 3)).build((2, 64))
