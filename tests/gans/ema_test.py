"""Tests for compare_gan2.gans.ema: compare_gan's EMA of generator weights."""

import keras
import numpy as np
import tensorflow as tf

from compare_gan2 import losses
from compare_gan2 import testing
from compare_gan2.gans import ema as ema_lib
from compare_gan2.gans import modular_gan

IMAGE_SHAPE = (4, 4, 3)


def _gan(start_step, decay=0.5):
  keras.utils.set_random_seed(1)
  g = testing.TinyGenerator(IMAGE_SHAPE, z_dim=3, spectral_norm=True)
  d = testing.TinyDiscriminator(IMAGE_SHAPE)
  gan = modular_gan.ModularGAN(g, d, loss_fn=losses.hinge,
                               ema=ema_lib.EmaConfig(decay=decay, start_step=start_step))
  gan.compile(d_optimizer=keras.optimizers.SGD(0.1), g_optimizer=keras.optimizers.SGD(0.1))
  gan.build_networks()
  return gan


def _batch(seed):
  return {"images": np.random.RandomState(seed).uniform(size=(4, *IMAGE_SHAPE)).astype(np.float32)}


def test_shadow_equals_weights_before_the_start_step():
  gan = _gan(start_step=100)
  step = tf.function(gan.train_step)
  for i in range(3):
    step(_batch(i))
  for shadow, weight in zip(gan.ema.generator.variables, gan.generator.variables):
    np.testing.assert_array_equal(shadow.numpy(), weight.numpy())


def test_shadow_follows_the_decay_after_the_start_step():
  gan = _gan(start_step=2, decay=0.5)
  step = tf.function(gan.train_step)
  step(_batch(0))  # G step 1: decay 0, shadow = weights
  shadow_before = [v.numpy() for v in gan.ema.generator.trainable_variables]
  step(_batch(1))  # G step 2 >= start_step: shadow = 0.5 shadow + 0.5 w
  for shadow, old, weight in zip(gan.ema.generator.trainable_variables, shadow_before,
                                 gan.generator.trainable_variables):
    np.testing.assert_allclose(shadow.numpy(), 0.5 * old + 0.5 * weight.numpy(), rtol=1e-6)
    assert np.abs(shadow.numpy() - weight.numpy()).max() > 0
  # Non-trainable state (the SN vector here) is copied, never averaged.
  np.testing.assert_array_equal(gan.ema.generator.fc_noise.u_var.numpy(),
                                gan.generator.fc_noise.u_var.numpy())


def test_sampling_uses_the_ema_generator():
  gan = _gan(start_step=0, decay=0.9)
  tf.function(gan.train_step)(_batch(0))
  z = tf.random.stateless_normal([2, 3], seed=[1, 1])
  np.testing.assert_allclose(gan(z), gan.ema.generator(z), rtol=1e-6)
  assert np.abs(gan(z) - gan.generator(z)).max() > 0


def test_ema_under_two_replicas_matches_one_device(two_replicas):
  def run(strategy):
    with strategy.scope():
      gan = _gan(start_step=1, decay=0.5)
    step = tf.function(lambda images: strategy.run(gan.train_step, args=({"images": images},)))
    for i in range(2):
      images = _batch(i)["images"]
      step(testing.split_batch(strategy, [images])[0] if strategy.num_replicas_in_sync > 1
           else images)
    return [v.numpy() for v in gan.ema.generator.variables]
  for a, b in zip(run(tf.distribute.get_strategy()), run(two_replicas)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_twin_keeps_gin_bound_norm_settings():
  """A regression: get_config names the norm class, dropping gin's bindings on it."""
  import gin  # pylint: disable=g-import-not-at-top
  from compare_gan2 import configurables  # pylint: disable=g-import-not-at-top
  from compare_gan2.architectures import dcgan  # pylint: disable=g-import-not-at-top
  from compare_gan2.ops import normalization  # pylint: disable=g-import-not-at-top
  configurables.parse_gin(bindings=["ops.BatchNorm.use_moving_averages = False",
                                    "ops.BatchNorm.epsilon = 1e-5"], finalize=False)
  g = dcgan.Generator(image_shape=(16, 16, 1), z_dim=4,
                      batch_norm=gin.get_configurable("compare_gan2.ops.BatchNorm"))
  twin = ema_lib.GeneratorEma(g, ema_lib.EmaConfig())
  g.build_variables()
  twin.build()
  norms = [layer for layer in twin.generator._flatten_layers()  # pylint: disable=protected-access
           if isinstance(layer, normalization.BatchNorm)]
  assert norms and all(not n.use_moving_averages and n.epsilon == 1e-5 for n in norms)
