"""Tests for compare_gan2.architectures.base: the G/D contract and name map."""

from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2.architectures import base
from compare_gan2.ops import layers
from compare_gan2.ops import normalization


class ToyGenerator(base.GeneratorBase):
  """One SN linear and one norm of the configured variant."""

  RESOLUTIONS = (4,)

  def __init__(self, **kwargs: Any):
    super().__init__(**kwargs)
    self.fc = layers.Linear(8, spectral_norm=self.spectral_norm,
                            kernel_initializer=self.kernel_initializer, name="fc_noise")
    self.bn = self.norm("bn1")

  def build(self, z_shape, y_shape=None):
    self.fc.build(z_shape)
    base.build_norm(self.bn, (z_shape[0], 8), z_shape, y_shape)

  def call(self, z, y=None, training=False):
    return base.apply_norm(self.bn, self.fc(z, training=training), z, y, training)


NORMS = [None, normalization.BatchNorm, normalization.ConditionalBatchNorm,
         normalization.SelfModulatedBatchNorm]


@pytest.mark.parametrize("norm_class", NORMS, ids=lambda c: getattr(c, "__name__", "none"))
def test_norm_variants_build_from_shapes_and_run(norm_class):
  g = ToyGenerator(image_shape=(4, 4, 1), z_dim=4, num_classes=3, batch_norm=norm_class,
                   spectral_norm=True)
  g.build_variables(batch_size=2)
  assert g.built
  out = g(tf.ones([2, 4]), tf.one_hot([0, 2], 3), training=True)
  assert out.shape == (2, 8)


def test_modulated_norms_get_the_network_spectral_norm_and_initializer():
  g = ToyGenerator(image_shape=(4, 4, 1), z_dim=4, num_classes=3, spectral_norm=True,
                   batch_norm=normalization.ConditionalBatchNorm, kernel_initializer="orthogonal")
  g.build_variables()
  assert g.bn.spectral_norm and g.bn.gamma_projection.u_var is not None
  assert isinstance(g.bn.gamma_projection.kernel_initializer, keras.initializers.Orthogonal)


def test_conditional_norm_without_labels_is_a_clear_error():
  g = ToyGenerator(image_shape=(4, 4, 1), z_dim=4, batch_norm=normalization.ConditionalBatchNorm)
  with pytest.raises(ValueError, match="needs y"):
    g.build_variables(conditional=False)


@pytest.mark.parametrize("norm_class,expected", [
    (normalization.BatchNorm, {"generator/bn1/gamma": "generator/bn1/gamma"}),
    (normalization.ConditionalBatchNorm, {
        "generator/bn1/gamma/kernel": "generator/bn1/condition/gamma/kernel",
        "generator/bn1/beta/u_var": "generator/bn1/condition/beta/kernel/u_var"}),
    (normalization.SelfModulatedBatchNorm, {
        "generator/bn1/hidden/bias": "generator/bn1/sbn/hidden/bias",
        "generator/bn1/gamma/u_var": "generator/bn1/sbn/gamma/kernel/u_var"}),
])
def test_compare_gan_names_are_mechanical(norm_class, expected):
  g = ToyGenerator(image_shape=(4, 4, 1), z_dim=4, num_classes=3, batch_norm=norm_class,
                   spectral_norm=True)
  g.build_variables()
  names = base.compare_gan_names(g)
  assert names["generator/fc_noise/u_var"] == "generator/fc_noise/kernel/u_var"
  assert names["generator/fc_noise/kernel"] == "generator/fc_noise/kernel"
  for path, tf1_name in expected.items():
    assert names[path] == tf1_name
  assert len(names) == len(g.variables)


def test_standing_statistics_gain_the_accu_scope():
  bn = normalization.BatchNorm(use_moving_averages=False, name="bn")
  bn.build((2, 3))
  names = base.compare_gan_names(bn)
  assert names["bn/accu_mean"] == "bn/accu/accu_mean"
  assert names["bn/update_accus"] == "bn/accu/update_accus"


def test_unsupported_resolution_names_the_sizes():
  with pytest.raises(ValueError, match=r"supports square images of 4 px; got 8x8"):
    ToyGenerator(image_shape=(8, 8, 1))
  with pytest.raises(ValueError, match=r"image_shape must be \(H, W, C\)"):
    ToyGenerator(image_shape=(4, 4))


def test_get_config_round_trips_the_norm_class_and_initializer():
  g = ToyGenerator(image_shape=(4, 4, 1), z_dim=4, num_classes=3, spectral_norm=True,
                   batch_norm=normalization.ConditionalBatchNorm, kernel_initializer="truncated")
  config = g.get_config()
  assert config["batch_norm"] == "compare_gan2>ConditionalBatchNorm"
  assert base.deserialize_norm_class(config["batch_norm"]) is normalization.ConditionalBatchNorm
  assert config["kernel_initializer"] == "truncated" and config["z_dim"] == 4


def test_discriminator_output_and_projection():
  logits = tf.constant([[0.5], [-1.0]])
  out = base.discriminator_output(logits, tf.ones([2, 3]))
  np.testing.assert_allclose(out.probabilities, tf.sigmoid(logits))
  assert out.logits is logits and out[1] is logits  # a tuple too, as compare_gan's
  projected = base.project_labels(logits, tf.constant([[1.0, 2.0], [0.0, 1.0]]),
                                  tf.constant([[3.0, 4.0], [5.0, 6.0]]))
  np.testing.assert_allclose(projected, [[11.5], [5.0]])
