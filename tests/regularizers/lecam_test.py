"""LeCam through real train steps: the anchors' EMA, the term, gradients, checkpoints."""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import checkpoints
from compare_gan2 import regularizers
from tests.regularizers import base_test as helpers
from tests.regularizers import cr_test


def lecam_gan(**kwargs):
  return cr_test.gan_with(regularizers.LeCam(**kwargs))


@pytest.mark.parametrize("one_sided", [True, False])
def test_train_steps_follow_the_authors_schedule(one_sided):
  """The authors' ema_losses + lecam_reg on D's logits of each step's D update.

  Steps 0 and 1 (< start_step 2) copy the batch means; from step 2 they average;
  the term counts from step 3 (> start_step); R_LC is logged at every step.
  """
  gan = lecam_gan(weight=0.3, decay=0.9, start_step=2, one_sided=one_sided)
  clip = (lambda v: np.maximum(v, 0.0)) if one_sided else (lambda v: v)
  alpha_real = alpha_fake = 0.0
  for step in range(5):
    data = helpers.batch(seed=step)
    real, fake, logit = helpers.d_update(gan, data)
    real_logits, fake_logits = logit(real), logit(fake)
    d = 0.0 if step < 2 else 0.9
    alpha_real = d * alpha_real + (1 - d) * real_logits.mean()
    alpha_fake = d * alpha_fake + (1 - d) * fake_logits.mean()
    r_lc = (np.mean(clip(real_logits - alpha_fake) ** 2)
            + np.mean(clip(alpha_real - fake_logits) ** 2))
    gan.reset_metrics()  # logs are means since the last reset
    logs = gan.train_step({"images": data[0], "labels": data[1]})
    np.testing.assert_allclose([float(logs["lecam_anchor_real"]), float(logs["lecam_anchor_fake"])],
                               [alpha_real, alpha_fake], rtol=1e-5, err_msg=step)
    lecam = gan.regularizers[0]
    np.testing.assert_allclose([float(lecam.alpha_real), float(lecam.alpha_fake)],
                               [alpha_real, alpha_fake], rtol=1e-5, err_msg=step)
    np.testing.assert_allclose(float(logs["lecam_loss"]), r_lc, rtol=1e-5, err_msg=step)
    weighted = 0.3 * r_lc if step > 2 else 0.0
    np.testing.assert_allclose(float(logs["d_loss"]),
                               helpers.hinge(real_logits, fake_logits) + weighted, rtol=1e-5)
    assert r_lc > 1e-4


def test_one_sided_form_ignores_reals_below_the_fake_anchor():
  lecam = regularizers.LeCam()
  below = tf.constant([[-2.0]])  # a real under α_F, a fake over α_R: no cost
  assert lecam.penalty(below, tf.constant([[2.0]]), 1.0, -1.0).numpy() == 0.0
  assert lecam.penalty(tf.constant([[0.0]]), tf.constant([[0.0]]), 1.0, -1.0).numpy() == 2.0


def test_gradient_reaches_d_and_not_the_anchors():
  gan = lecam_gan(start_step=0, one_sided=False)
  lecam = gan.regularizers[0]
  gan.g_optimizer.iterations.assign(1)  # step 1 > start_step: the term counts
  sub_batch = gan.split_batch({"images": helpers.batch()[0]}, cr_test.SEED)[0]
  fake = gan.generator(sub_batch.z)
  with tf.GradientTape(persistent=True) as tape:
    values = gan.discriminator_losses(sub_batch, fake, cr_test.SEED)
  assert np.abs(tape.gradient(values["lecam_loss"], gan.discriminator.final_fc.kernel)).sum() > 0
  assert tape.gradient(values["d_loss"], lecam.alpha_real) is None
  assert not lecam.trainable_variables


def test_anchors_are_in_the_training_checkpoint_and_a_resumed_run_continues_alike(tmp_path):
  def steps(gan, seeds):
    gan.reset_metrics()
    for seed in seeds:
      images, labels = helpers.batch(seed=seed)
      logs = gan.train_step({"images": images, "labels": labels})
    return {k: float(v) for k, v in logs.items()}, [v.numpy() for v in gan.variables]

  gan = lecam_gan(decay=0.9, start_step=1)
  steps(gan, range(2))
  path = checkpoints.make_checkpoint(gan).write(str(tmp_path / "ckpt"))
  names = [name for name, _ in tf.train.list_variables(path)]
  assert {"components/lecam.Salpha_real/.ATTRIBUTES/VARIABLE_VALUE",
          "components/lecam.Salpha_fake/.ATTRIBUTES/VARIABLE_VALUE"} <= set(names)
  uninterrupted = steps(gan, range(2, 4))
  resumed = lecam_gan(decay=0.9, start_step=1)
  checkpoints.make_checkpoint(resumed).read(path).assert_consumed()
  assert float(resumed.regularizers[0].alpha_real) != 0.0
  got = steps(resumed, range(2, 4))
  assert got[0] == uninterrupted[0]
  for a, b in zip(got[1], uninterrupted[1], strict=True):
    np.testing.assert_array_equal(a, b)


def test_bad_decay_is_named():
  with pytest.raises(ValueError, match="LeCam.decay"):
    regularizers.LeCam(decay=1.5)
