"""Tests of compare_gan2.architectures.dcgan against compare_gan's dcgan.py.

Parameter counts come from a formula written here from compare_gan's layer
listing (dcgan.py:59-127), independent of the module's
tables, plus literal totals (docs/design.md §10). Forward passes are checked
against a reference written with raw TF ops from the same listing.
"""

import functools
import math

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import testing
from compare_gan2.architectures import base
from compare_gan2.architectures import dcgan
from compare_gan2.ops import normalization

NORMS = {"none": None, "bn": normalization.BatchNorm,
         "cbn": normalization.ConditionalBatchNorm,
         "smbn": normalization.SelfModulatedBatchNorm}
SHAPES = [(28, 28, 1), (32, 32, 3), (64, 64, 3), (128, 128, 3)]
Z_DIM, CLASSES = 128, 10
ZEROS = keras.initializers.Zeros()  # Cheap to create; counts do not depend on values.


# compare_gan's counting rules, shared in compare_gan2.testing.
linear_params = testing.linear_params
conv_params = testing.conv_params
norm_params = functools.partial(testing.norm_params, z_dim=Z_DIM, y_dim=CLASSES)


def expected_generator(shape, norm):
  """dcgan.py:59-80: g_fc1 to s16·s16·512, then [g_bn_i, g_dc_i 5x5] x 4."""
  height, width, colors = shape
  cells = math.ceil(height / 16) * math.ceil(width / 16)
  total = linear_params(Z_DIM, 512 * cells)
  for c_in, c_out in [(512, 256), (256, 128), (128, 64), (64, colors)]:
    total += norm_params(norm, c_in) + conv_params(5, c_in, c_out)
  return total


def expected_discriminator(shape, norm):
  """dcgan.py:107-127: d_conv1 (no norm), [d_conv_i, d_bn_i] x 3, d_fc4."""
  height, width, colors = shape
  total = conv_params(5, colors, 64)
  for c_in, c_out in [(64, 128), (128, 256), (256, 512)]:
    total += conv_params(5, c_in, c_out) + norm_params(norm, c_out)
  return total + linear_params(512 * math.ceil(height / 16) * math.ceil(width / 16), 1)


def built(cls, **kwargs):
  kwargs.setdefault("num_classes", CLASSES)
  model = cls(**kwargs)
  model.build_variables()
  return model


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("norm", list(NORMS))
def test_generator_parameter_count(shape, norm):
  model = built(dcgan.Generator, image_shape=shape, batch_norm=NORMS[norm],
                spectral_norm=True, kernel_initializer=ZEROS)
  assert testing.trainable_count(model) == expected_generator(shape, norm)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("norm", ["none", "bn", "cbn"])
@pytest.mark.parametrize("spectral_norm", [False, True])
def test_discriminator_parameter_count(shape, norm, spectral_norm):
  model = built(dcgan.Discriminator, image_shape=shape, batch_norm=NORMS[norm],
                spectral_norm=spectral_norm, kernel_initializer=ZEROS)
  assert testing.trainable_count(model) == expected_discriminator(shape, norm)


@pytest.mark.parametrize("shape,norm,generator,discriminator", [
    ((32, 32, 3), "none", 4_570_243, 4_308_609),  # docs/design.md §10
    ((32, 32, 3), "bn", 4_572_163, 4_310_401),  # G: docs/design.md §10; D: + 2·(128+256+512)
    ((64, 64, 3), "none", 5_362_819, 4_314_753),  # design.md §10
    ((64, 64, 3), "bn", 5_364_739, 4_316_545),  # G: design.md §10
    ((32, 32, 3), "cbn", 4_589_443, 4_326_529),  # + 2·10·channels of the norms
])
def test_pinned_totals(shape, norm, generator, discriminator):
  kwargs = dict(image_shape=shape, batch_norm=NORMS[norm], kernel_initializer=ZEROS)
  assert testing.trainable_count(built(dcgan.Generator, **kwargs)) == generator
  assert testing.trainable_count(built(dcgan.Discriminator, **kwargs)) == discriminator


def test_variable_paths_and_compare_gan_names():
  generator = built(dcgan.Generator, image_shape=(32, 32, 3), kernel_initializer=ZEROS,
                    batch_norm=normalization.ConditionalBatchNorm, spectral_norm=True)
  discriminator = built(dcgan.Discriminator, image_shape=(32, 32, 3), spectral_norm=True,
                        batch_norm=normalization.BatchNorm, kernel_initializer=ZEROS)
  shapes = {v.path: tuple(v.shape) for m in (generator, discriminator) for v in m.variables}
  assert shapes["generator/g_fc1/kernel"] == (Z_DIM, 2 * 2 * 512)
  assert shapes["generator/g_dc1/kernel"] == (5, 5, 256, 512)  # (KH, KW, out, in)
  assert shapes["generator/g_dc4/kernel"] == (5, 5, 3, 64)
  assert shapes["generator/g_bn4/gamma/kernel"] == (CLASSES, 64)
  assert shapes["discriminator/d_conv1/kernel"] == (5, 5, 3, 64)
  assert shapes["discriminator/d_fc4/kernel"] == (2 * 2 * 512, 1)
  names = {**base.compare_gan_names(generator), **base.compare_gan_names(discriminator)}
  assert names["generator/g_bn1/gamma/kernel"] == "generator/g_bn1/condition/gamma/kernel"
  assert names["generator/g_bn1/beta/u_var"] == "generator/g_bn1/condition/beta/kernel/u_var"
  assert names["discriminator/d_conv4/u_var"] == "discriminator/d_conv4/kernel/u_var"
  assert names["discriminator/d_bn3/moving_mean"] == "discriminator/d_bn3/moving_mean"
  assert [v.path for v in generator.trainable_variables][:3] == [
      "generator/g_fc1/kernel", "generator/g_fc1/bias", "generator/g_bn1/gamma/kernel"]


def test_spectral_norm_coverage():
  """D: every conv and d_fc4; G: never its own layers (dcgan.py:67-80, 109-127)."""
  discriminator = built(dcgan.Discriminator, image_shape=(32, 32, 3), spectral_norm=True,
                        batch_norm=normalization.BatchNorm, kernel_initializer=ZEROS)
  assert sorted(v.path.split("/")[1] for v in discriminator.variables
                if v.path.endswith("u_var")) == ["d_conv1", "d_conv2", "d_conv3", "d_conv4",
                                                  "d_fc4"]
  generator = built(dcgan.Generator, image_shape=(32, 32, 3), spectral_norm=True,
                    batch_norm=normalization.BatchNorm, kernel_initializer=ZEROS)
  assert not [v for v in generator.variables if v.path.endswith("u_var")]
  plain = built(dcgan.Generator, image_shape=(32, 32, 3), kernel_initializer=ZEROS)
  assert not plain.non_trainable_variables  # no norm at all without batch_norm


def _kernel_and_bias(model, name):
  layer = model.get_layer(name)
  return tf.convert_to_tensor(layer.kernel), tf.convert_to_tensor(layer.bias)


def reference_generator(model, z, shape):
  """dcgan.py:59-81 with no norm, written with raw TF ops."""
  height, width, colors = shape
  kernel, bias = _kernel_and_bias(model, "g_fc1")
  net = tf.reshape(z @ kernel + bias, [-1, math.ceil(height / 16), math.ceil(width / 16), 512])
  for i, (k, channels) in enumerate([(8, 256), (4, 128), (2, 64), (1, colors)]):
    kernel, bias = _kernel_and_bias(model, f"g_dc{i + 1}")
    out = [z.shape[0], math.ceil(height / k), math.ceil(width / k), channels]
    net = tf.nn.conv2d_transpose(tf.nn.relu(net), kernel, out, 2, "SAME") + bias
  return 0.5 * tf.tanh(net) + 0.5


def reference_discriminator(model, images):
  """dcgan.py:107-128 with no norm and no SN: lrelu 0.2, flatten, d_fc4."""
  net = images
  for i in range(4):
    kernel, bias = _kernel_and_bias(model, f"d_conv{i + 1}")
    net = tf.nn.conv2d(net, kernel, 2, "SAME") + bias
    net = tf.maximum(net, 0.2 * net)
  kernel, bias = _kernel_and_bias(model, "d_fc4")
  return tf.reshape(net, [images.shape[0], -1]) @ kernel + bias, net


@pytest.mark.parametrize("shape", [(28, 28, 1), (20, 36, 3)])
def test_forward_matches_reference(shape):
  keras.utils.set_random_seed(1)
  z = tf.random.stateless_normal([2, Z_DIM], seed=[1, 2])
  generator = dcgan.Generator(image_shape=shape)
  images = generator(z)
  assert images.shape == (2, *shape)
  assert 0.0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 1.0
  np.testing.assert_allclose(images, reference_generator(generator, z, shape), atol=1e-6)
  discriminator = dcgan.Discriminator(image_shape=shape)
  probabilities, logits, features = discriminator(images)
  expected_logits, expected_features = reference_discriminator(discriminator, images)
  assert logits.shape == (2, 1) and features.shape == (2, *expected_features.shape[1:])
  np.testing.assert_allclose(logits, expected_logits, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(features, expected_features, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(probabilities, tf.sigmoid(logits), rtol=1e-6)


@pytest.mark.parametrize("norm", ["bn", "cbn", "smbn"])
def test_forward_with_norms_in_training(norm):
  keras.utils.set_random_seed(2)
  z, y = tf.random.stateless_normal([2, Z_DIM], seed=[3, 4]), tf.one_hot([1, 7], CLASSES)
  generator = dcgan.Generator(image_shape=(28, 28, 1), batch_norm=NORMS[norm],
                              num_classes=CLASSES)
  images = generator(z, y, training=True)
  assert images.shape == (2, 28, 28, 1)
  assert 0.0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 1.0
  d_norm = None if norm == "smbn" else NORMS[norm]  # D norms get no z
  discriminator = dcgan.Discriminator(image_shape=(28, 28, 1), batch_norm=d_norm,
                                      spectral_norm=True, num_classes=CLASSES)
  output = discriminator(images, y, training=True)
  assert output.logits.shape == (2, 1) and output.features.shape == (2, 2, 2, 512)
  np.testing.assert_allclose(output.probabilities, tf.sigmoid(output.logits), rtol=1e-6)


@pytest.mark.parametrize("cls,initializer", [(dcgan.Generator, ZEROS),
                                             (dcgan.Discriminator, "truncated")])
def test_config_round_trip(cls, initializer):
  model = built(cls, image_shape=(28, 28, 1), batch_norm=normalization.ConditionalBatchNorm,
                spectral_norm={"singular_value": "right"}, kernel_initializer=initializer,
                num_classes=5)
  for clone in (cls.from_config(model.get_config()),
                keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))):
    assert type(clone) is cls and clone.batch_norm is normalization.ConditionalBatchNorm
    if not clone.built:  # Keras deserialization rebuilds from the stored build shapes.
      clone.build_variables()
    assert [(v.path, v.shape) for v in clone.variables] == [
        (v.path, v.shape) for v in model.variables]
    assert clone.get_config() == model.get_config()


def test_gin_configured_norm_class_round_trips():
  from compare_gan2 import configurables  # noqa: F401  (registers ops.BatchNorm)
  gin.parse_config("ops.BatchNorm.decay = 0.5")
  model = built(dcgan.Generator, image_shape=(28, 28, 1), kernel_initializer=ZEROS,
                batch_norm=gin.get_configurable("ops.BatchNorm"))
  assert model.get_layer("g_bn2").decay == 0.5
  clone = dcgan.Generator.from_config(model.get_config())
  assert clone.batch_norm is normalization.BatchNorm


def test_errors_name_the_problem():
  with pytest.raises(ValueError, match=r"positive sizes; got \(0, 32, 3\)"):
    dcgan.Generator(image_shape=(0, 32, 3))
  with pytest.raises(ValueError, match="positive sizes"):
    dcgan.Discriminator(image_shape=(32, -1, 3))
  with pytest.raises(ValueError, match=r"made for \(32, 32, 3\) images"):
    dcgan.Discriminator(image_shape=(32, 32, 3)).build((2, 64, 64, 3))
  with pytest.raises(ValueError, match="z_dim is 128"):
    dcgan.Generator(image_shape=(32, 32, 3)).build((2, 100))
  with pytest.raises(ValueError, match="needs z"):
    built(dcgan.Discriminator, image_shape=(32, 32, 3),
          batch_norm=normalization.SelfModulatedBatchNorm)
