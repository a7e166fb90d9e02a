"""CR: its T, its term in a real train step against the hand formula, its gradient."""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import global_batch
from compare_gan2 import regularizers
from compare_gan2 import stateless_random
from compare_gan2.gans import modular_gan
from tests.regularizers import base_test as helpers

SEED = tf.constant([3, 7], tf.int64)


def test_flip_and_translate_is_flip_then_reflect_padded_shift():
  images = np.arange(4 * 8 * 8 * 2, dtype=np.float32).reshape(4, 8, 8, 2)
  got = regularizers.flip_and_translate(tf.constant(images), SEED).numpy()
  flips = global_batch.uniform([4], stateless_random.fold_in(SEED, 0)).numpy() < 0.5
  shifts = [stateless_random.integers([4], stateless_random.fold_in(SEED, k), -1, 2).numpy()
            for k in (1, 2)]
  for i in range(4):
    image = images[i, :, ::-1] if flips[i] else images[i]
    padded = np.pad(image, [(1, 1), (1, 1), (0, 0)], mode="reflect")
    want = padded[1 + shifts[0][i]:9 + shifts[0][i], 1 + shifts[1][i]:9 + shifts[1][i]]
    np.testing.assert_array_equal(got[i], want)
  assert flips.any() and not flips.all() and np.abs(shifts).sum() > 0  # the draws vary


def gan_with(regularizer, **kwargs):
  make = lambda g, d, **kw: modular_gan.ModularGAN(g, d, regularizers=[regularizer], **kw, **kwargs)
  return helpers.build(make, spectral_norm=False)


@pytest.mark.parametrize("gan_augments", [False, True], ids=["own T", "the GAN's augmentation"])
def test_train_step_logs_the_term_and_adds_weight_times_it_to_d_loss(gan_augments):
  """cr_loss = E‖D(x) − D(T(x))‖² on the D update's reals, d_loss = hinge + 10·cr_loss.

  With augment=None, T is the GAN's own augmentation, applied to the reals D saw:
  here both are upside_down, so D saw T(x) and CR compares it with T(T(x)) = x.
  """
  if gan_augments:
    gan = gan_with(regularizers.CR(augment=None), augment=helpers.upside_down)
  else:
    gan = gan_with(regularizers.CR(augment=helpers.upside_down))
  data = helpers.batch()
  real, fake, logit = helpers.d_update(gan, data)
  seen = real[:, ::-1] if gan_augments else real
  logs = gan.train_step({"images": data[0], "labels": data[1]})
  cr = np.mean((logit(seen) - logit(seen[:, ::-1])) ** 2)
  assert cr > 1e-3
  np.testing.assert_allclose(float(logs["cr_loss"]), cr, rtol=1e-5)
  fakes_seen = fake[:, ::-1] if gan_augments else fake
  np.testing.assert_allclose(float(logs["d_loss"]), helpers.hinge(logit(seen), logit(fakes_seen))
                             + 10.0 * cr, rtol=1e-5)


def test_gradient_reaches_d():
  gan = gan_with(regularizers.CR())
  sub_batch = gan.split_batch({"images": helpers.batch()[0]}, SEED)[0]
  fake = gan.generator(sub_batch.z)
  with tf.GradientTape() as tape:
    term = gan.discriminator_losses(sub_batch, fake, SEED)["cr_loss"]
  gradient = tape.gradient(term, gan.discriminator.final_fc.kernel)
  assert float(term) > 0 and np.abs(gradient.numpy()).sum() > 0


def test_gan_augmentation_as_t_needs_an_augmentation():
  gan = gan_with(regularizers.CR(augment=None))
  with pytest.raises(ValueError, match="CR.augment=None .* the GAN has none"):
    gan.train_step({"images": helpers.batch()[0], "labels": helpers.batch()[1]})
