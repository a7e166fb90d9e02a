"""zCR: both terms against the formulas on a tiny GAN's update, their gradients, Δz."""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import regularizers
from compare_gan2 import stateless_random
from compare_gan2.gans import components
from compare_gan2.regularizers import zcr
from tests.regularizers import base_test as helpers
from tests.regularizers import cr_test

SEED = cr_test.SEED


def update(regularizer):
  """A tiny GAN with `regularizer`, a sub-batch, the G(z) of it and G as a function."""
  gan = cr_test.gan_with(regularizer)
  kernel = gan.generator.fc_noise.kernel  # a G that Δz visibly moves
  kernel.assign(np.random.RandomState(0).normal(0, 3, kernel.shape))
  sub_batch = gan.split_batch({"images": helpers.batch()[0]}, SEED)[0]
  return gan, sub_batch, lambda z: gan.generator(z).numpy()


def perturbed_latents(sub_batch, sigma=0.05):
  """z + Δz as the first component of a GAN draws it on the update of SEED."""
  seed = stateless_random.fold_in(components.component_seed(SEED, 0), 0)
  return sub_batch.z.numpy() + zcr.latent_noise(sub_batch.z, sigma, seed).numpy()


def test_d_term_is_the_squared_change_of_d_under_the_latent_noise():
  gan, sub_batch, generate = update(regularizers.ZCR(sigma=0.5, d_weight=20.0))
  _, _, logit = helpers.d_update(gan, helpers.batch())
  fake = generate(sub_batch.z)
  values = gan.discriminator_losses(sub_batch, tf.constant(fake), SEED)
  want = np.mean((logit(fake) - logit(generate(perturbed_latents(sub_batch, 0.5)))) ** 2)
  assert want > 1e-4
  np.testing.assert_allclose(float(values["zcr_d_loss"]), want, rtol=1e-4)
  np.testing.assert_allclose(float(values["d_loss"]), helpers.hinge(logit(sub_batch.images.numpy()),
                                                                    logit(fake)) + 20.0 * want,
                             rtol=1e-5)


@pytest.mark.parametrize("reduction", zcr.REDUCTIONS)
def test_g_term_subtracts_the_weighted_change_of_g(reduction):
  gan, sub_batch, generate = update(regularizers.ZCR(g_weight=0.5, image_reduction=reduction))
  _, _, logit = helpers.d_update(gan, helpers.batch())
  fake = generate(sub_batch.z)
  values = gan.generator_losses(sub_batch, tf.constant(fake), SEED)
  squares = (fake - generate(perturbed_latents(sub_batch))) ** 2
  want = squares.mean() if reduction == "mean" else squares.sum(axis=(1, 2, 3)).mean()
  assert want > 1e-4
  np.testing.assert_allclose(float(values["zcr_g_loss"]), want, rtol=1e-4)
  np.testing.assert_allclose(float(values["g_loss"]), -np.mean(logit(fake)) - 0.5 * want,
                             rtol=1e-5)


def test_d_term_reaches_d_only_and_g_term_pushes_g_to_vary():
  gan, sub_batch, _ = update(regularizers.ZCR())
  generator = gan.generator.trainable_variables
  with tf.GradientTape(persistent=True) as tape:
    fake = gan.generator(sub_batch.z, training=True)
    d_term = gan.discriminator_losses(sub_batch, tf.stop_gradient(fake), SEED)["zcr_d_loss"]
    g_term = gan.generator_losses(sub_batch, fake, SEED)["zcr_g_loss"]
  assert np.abs(tape.gradient(d_term, gan.discriminator.final_fc.kernel).numpy()).sum() > 0
  assert all(g is None for g in tape.gradient(d_term, generator))
  for variable, gradient in zip(generator, tape.gradient(g_term, generator), strict=True):
    variable.assign_add(0.5 * gradient)  # a descent step on G's loss term, −λ‖G(z) − G(z + Δz)‖²
  after = gan.generator_losses(sub_batch, gan.generator(sub_batch.z), SEED)["zcr_g_loss"]
  assert float(after) > float(g_term)


def test_latent_noise_has_standard_deviation_sigma():
  noise = zcr.latent_noise(tf.zeros([4000, 8]), 0.05, SEED).numpy()
  assert abs(noise.std() - 0.05) < 0.002 and abs(noise.mean()) < 0.002


def test_bad_image_reduction_is_named():
  with pytest.raises(ValueError, match="image_reduction"):
    regularizers.ZCR(image_reduction="max")
