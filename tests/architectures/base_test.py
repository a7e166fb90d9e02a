"""Tests for compare_gan2.architectures.base: the G/D contract and name map."""

from typing import Any

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import configurables  # noqa: F401  (registers the ops.* bindings below)
from compare_gan2.architectures import base
from compare_gan2.architectures import families
from compare_gan2.ops import layer_norm
from compare_gan2.ops import layers
from compare_gan2.ops import normalization
from compare_gan2.ops import spectral_norm as sn


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


# Every setting of the norms and of spectral norm, bound away from its default.
BN_SETTINGS = {"decay": 0.5, "epsilon": 2e-5, "use_moving_averages": False,
               "cross_replica": False, "standing_variance": "pooled"}
LN_EPSILON = 3e-6
SN_SETTINGS = sn.SpectralNormConfig(singular_value="auto", epsilon=1e-10, power_iterations=2,
                                    update_in_inference=True)
FAMILIES = families.all_families()


def _bind_every_setting() -> None:
  lines = [f"ops.{cls}.{key} = {value!r}" for cls in
           ("BatchNorm", "ConditionalBatchNorm", "SelfModulatedBatchNorm")
           for key, value in BN_SETTINGS.items()]
  lines += [f"ops.LayerNorm.epsilon = {LN_EPSILON}"]
  lines += [f"ops.SpectralNormConfig.{field} = {getattr(SN_SETTINGS, field)!r}"
            for field in ("singular_value", "epsilon", "power_iterations", "update_in_inference")]
  gin.parse_config("\n".join(lines))


def _assert_every_norm_and_sn_configured(model: keras.Model) -> tuple[int, int]:
  """Checks every sublayer; returns (norm layers seen, SN kernel layers seen)."""
  norms = kernels = 0
  for layer in model._flatten_layers(include_self=True, recursive=True):  # pylint: disable=protected-access
    if isinstance(layer, normalization.BatchNorm):
      norms += 1
      assert {k: getattr(layer, k) for k in BN_SETTINGS} == BN_SETTINGS, layer.path
    if isinstance(layer, layer_norm.LayerNorm):
      norms += 1
      assert layer.epsilon == LN_EPSILON, layer.path
    if getattr(layer, "spectral_norm", None):
      assert layer.spectral_norm == SN_SETTINGS, layer.path
      kernels += isinstance(layer, layers.KernelLayer)
  return norms, kernels


@pytest.mark.parametrize("family", sorted(FAMILIES))
# No norm class (only a family's fixed norms), a modulated one with SN
# projections, and D's plain one next to layer norm.
@pytest.mark.parametrize("net,norm_class", [
    ("Generator", None), ("Generator", normalization.ConditionalBatchNorm),
    ("Discriminator", normalization.BatchNorm)],
    ids=lambda v: getattr(v, "__name__", str(v)))
def test_gin_settings_reach_every_norm_and_spectral_norm(family, net, norm_class):
  """ops.BatchNorm / ConditionalBatchNorm / SelfModulatedBatchNorm / LayerNorm /
  SpectralNormConfig bindings reach every layer, including the norms a family
  fixes (InfoGAN G's g_bn*, BigGAN's final_norm) and `spectral_norm=True`."""
  _bind_every_setting()
  declared = FAMILIES[family]
  cls = declared.generator if net == "Generator" else declared.discriminator
  kwargs = dict(declared.tiny_kwargs(cls, min(declared.resolutions)), num_classes=3,
                batch_norm=norm_class, spectral_norm=True)
  if net == "Discriminator":
    kwargs["layer_norm"] = declared.d_layer_norm
  model = cls(**kwargs)
  model.build_variables(batch_size=2)
  norms, kernels = _assert_every_norm_and_sn_configured(model)
  if net == "Discriminator":
    assert kernels > 0  # G of some families never take SN, as compare_gan's
    assert norms > 0 or not declared.d_batch_norm
  else:
    assert norms > 0 or not (declared.fixed_g_norms
                             or (norm_class is not None and declared.g_batch_norm))
