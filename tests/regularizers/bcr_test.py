"""bCR: CR on the D update's reals and fakes, each weighted, in a real train step."""

import numpy as np
import tensorflow as tf

from compare_gan2 import regularizers
from tests.regularizers import base_test as helpers
from tests.regularizers import cr_test


def test_train_step_logs_both_terms_and_adds_them_weighted_to_d_loss():
  gan = cr_test.gan_with(regularizers.BCR(real_weight=10.0, fake_weight=3.0,
                                          augment=helpers.upside_down))
  kernel = gan.generator.fc_noise.kernel  # fakes with structure a flip changes
  kernel.assign(np.random.RandomState(0).normal(0, 3, kernel.shape))
  data = helpers.batch()
  real, fake, logit = helpers.d_update(gan, data)
  logs = gan.train_step({"images": data[0], "labels": data[1]})
  change = lambda x: np.mean((logit(x) - logit(x[:, ::-1])) ** 2)
  assert min(change(real), change(fake)) > 1e-3
  np.testing.assert_allclose(float(logs["bcr_real_loss"]), change(real), rtol=1e-5)
  np.testing.assert_allclose(float(logs["bcr_fake_loss"]), change(fake), rtol=1e-5)
  np.testing.assert_allclose(float(logs["d_loss"]), helpers.hinge(logit(real), logit(fake))
                             + 10.0 * change(real) + 3.0 * change(fake), rtol=1e-5)


def test_gradient_reaches_d_from_both_terms():
  gan = cr_test.gan_with(regularizers.BCR())
  sub_batch = gan.split_batch({"images": helpers.batch()[0]}, cr_test.SEED)[0]
  fake = gan.generator(sub_batch.z)
  with tf.GradientTape(persistent=True) as tape:
    values = gan.discriminator_losses(sub_batch, fake, cr_test.SEED)
  for name in ("bcr_real_loss", "bcr_fake_loss"):
    gradient = tape.gradient(values[name], gan.discriminator.final_fc.kernel)
    assert float(values[name]) > 0 and np.abs(gradient.numpy()).sum() > 0, name
