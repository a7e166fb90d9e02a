"""Tests for compare_gan2.precision: the policy switch and mixed-precision GAN training."""

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import configurables
from compare_gan2 import losses
from compare_gan2 import precision
from compare_gan2 import testing
from compare_gan2.gans import modular_gan

STEPS = 3
LR = 0.5
# 2^8, not Keras' 2^15: with 2^15 the float16 gradients of this tiny GAN
# overflow, and LossScaleOptimizer skips the first D steps (halving the scale),
# as designed, which would make the run no longer step-for-step comparable.
SCALE = 2.0**8
# Per-step loss tolerance against float32 on the tiny GAN below. One rounding
# of an operand costs up to 2^-9 relative in bfloat16 (8-bit significand) and
# 2^-12 in float16 (11-bit); G's 16 pixels and D's logit each sum 8 or 16 such
# products, and the losses (0.8-1.5) compound them over the steps: measured
# 1e-3 (bfloat16) and 2e-4 (float16). The bounds are ~10x that and at most a
# fifth of what training moves the losses (asserted), so a gradient that is
# not unscaled (x 2^8) or was never scaled (/ 2^8) cannot pass.
TOLERANCE = {"mixed_bfloat16": 1e-2, "mixed_float16": 2e-3}


@pytest.fixture(autouse=True)
def float32_after():
  """The global dtype policy is float32 again after every test."""
  yield
  keras.mixed_precision.set_global_policy("float32")


def test_unknown_policy_is_a_value_error_naming_it():
  """A misspelt policy fails with the accepted names, before anything is built."""
  with pytest.raises(ValueError, match="mixed_bfloat16.*got 'bfloat16'"):
    precision.set_precision("bfloat16")
  assert precision.current_policy() == "float32"


def test_gin_binding_sets_the_policy_of_layers_built_afterwards():
  """`precision.set_precision.policy` in gin selects the compute dtype; variables stay float32."""
  gin.parse_config("precision.set_precision.policy = 'mixed_bfloat16'")
  assert gin.get_configurable(precision.set_precision)() == "mixed_bfloat16"
  layer = keras.layers.Dense(2)
  layer.build((None, 3))
  assert layer.compute_dtype == "bfloat16" and layer.kernel.dtype == "float32"


def test_only_float16_gets_a_loss_scale_optimizer():
  """LossScaleOptimizer wraps under mixed_float16 only, and never twice."""
  for policy in ("float32", "mixed_bfloat16"):
    with precision.precision_policy(policy):
      optimizer = keras.optimizers.SGD()
      assert precision.loss_scale_optimizer(optimizer) is optimizer
  with precision.precision_policy("mixed_float16"):
    wrapped = precision.loss_scale_optimizer(keras.optimizers.SGD())
    assert isinstance(wrapped, keras.optimizers.LossScaleOptimizer)
    assert precision.loss_scale_optimizer(wrapped) is wrapped
  assert precision.current_policy() == "float32"


def _losses_per_step(policy: str) -> tuple[np.ndarray, modular_gan.ModularGAN]:
  """d_loss and g_loss after each of STEPS steps of a tiny SN GAN trained with SGD."""
  with precision.precision_policy(policy):
    keras.utils.set_random_seed(0)
    gan = modular_gan.ModularGAN(
        testing.TinyGenerator(z_dim=8),
        testing.TinyDiscriminator(spectral_norm=True), loss_fn=losses.non_saturating)
    # SGD, not Adam: Adam would hide a wrongly scaled gradient (it is scale-invariant).
    gan.compile(d_optimizer=precision.loss_scale_optimizer(keras.optimizers.SGD(LR), SCALE),
                g_optimizer=precision.loss_scale_optimizer(keras.optimizers.SGD(LR), SCALE))
    gan.build_networks()
    step = tf.function(gan.train_step)
    images = np.random.RandomState(0).uniform(size=(8, 4, 4, 1)).astype(np.float32)
    values = []
    for _ in range(STEPS):
      for tracker in gan.trackers.values():
        tracker.reset_state()
      logs = step({"images": images})
      values.append([float(logs["d_loss"]), float(logs["g_loss"])])
  return np.array(values), gan


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_training_tracks_float32(policy):
  """A tiny GAN computes in the low dtype, keeps float32 weights, and its losses
  stay finite and within TOLERANCE of float32 training (loss scaling undone)."""
  reference, _ = _losses_per_step("float32")
  assert np.abs(np.diff(reference, axis=0)).max() > 5 * TOLERANCE[policy]  # training moves
  got, gan = _losses_per_step(policy)
  compute = policy.removeprefix("mixed_")
  assert gan.generator.compute_dtype == compute and gan.discriminator.compute_dtype == compute
  assert all(v.dtype == "float32" for v in gan.generator.variables + gan.discriminator.variables)
  if policy == "mixed_float16":  # scaled, and no step was skipped
    assert float(gan.d_optimizer.dynamic_scale) == float(gan.g_optimizer.dynamic_scale) == SCALE
  assert np.all(np.isfinite(got))
  np.testing.assert_allclose(got, reference, atol=TOLERANCE[policy])


def test_gin_switch_sets_the_policy_and_wraps_the_optimizers():
  """`precision.set_precision.policy` in a gin config applies when the config is parsed;
  ModularGAN.compile then wraps both optimizers in a LossScaleOptimizer under float16."""
  try:
    configurables.parse_gin([], ['precision.set_precision.policy = "mixed_float16"'],
                            finalize=False)
    assert precision.current_policy() == "mixed_float16"
    gan = modular_gan.ModularGAN(testing.TinyGenerator((4, 4, 1)),
                                 testing.TinyDiscriminator((4, 4, 1)))
    gan.compile(d_optimizer=keras.optimizers.Adam(), g_optimizer=keras.optimizers.Adam())
    assert isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
  finally:
    keras.mixed_precision.set_global_policy("float32")
