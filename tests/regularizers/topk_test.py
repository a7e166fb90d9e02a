"""Top-k: the k schedule, the global selection, G's loss and gradient in the GAN, replicas."""

import math

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import losses
from compare_gan2 import regularizers
from compare_gan2 import testing
from compare_gan2.regularizers import topk
from tests.regularizers import base_test as helpers
from tests.regularizers import cr_test

# Replica 0 (the first half) holds the five best fakes: a per-replica top-k
# would pick another set than the global one.
LOGITS = np.array([[9.0], [8.0], [7.0], [6.0], [5.0], [-1.0], [0.5], [-2.0], [1.5], [0.0]],
                  np.float32)


def test_schedule_is_the_papers_formula_per_epoch():
  for step in [0, 9, 10, 250, 699, 700, 5000]:
    epoch = step // 10
    want = math.floor(max(0.99 ** epoch * 64, 0.5 * 64))
    assert topk.schedule(tf.constant(step), 64, 10, 0.99, 0.5).numpy() == want, step
  assert topk.schedule(tf.constant(10**6), 3, 10, 0.5, 0.1).numpy() == 1  # never below one


def test_schedule_equals_studiogans_per_epoch_decay():
  """StudioGAN keeps a float k, k ← max(k·γ, ⌊ν·B⌋) at each epoch end."""
  k = 50.0
  for epoch in range(200):
    assert topk.schedule(tf.constant(epoch * 7), 50, 7, 0.99, 0.75).numpy() == int(k), epoch
    k = max(k * 0.99, int(50 * 0.75))


def test_g_loss_reads_the_k_best_fakes_and_only_they_get_gradient():
  """Step 1 of γ = 0.5 per step: k = 4 of the sub-batch's 8 fakes; hinge G loss −mean(top 4)."""
  gan = cr_test.gan_with(regularizers.TopK(steps_per_epoch=1, gamma=0.5))
  gan.g_optimizer.iterations.assign(1)
  sub_batch = gan.split_batch({"images": helpers.batch()[0]}, cr_test.SEED)[-1]
  _, _, logit = helpers.d_update(gan, helpers.batch())
  fake = tf.constant(np.random.RandomState(0).uniform(size=(8, *helpers.SHAPE)), tf.float32)
  with tf.GradientTape() as tape:
    tape.watch(fake)
    values = gan.generator_losses(sub_batch, fake, cr_test.SEED)
  scores = logit(fake.numpy())[:, 0]
  best = np.argsort(scores)[::-1][:4]
  np.testing.assert_allclose(float(values["g_loss"]), -np.mean(scores[best]), rtol=1e-5)
  assert float(values["topk_k"]) == 4.0
  rows = np.abs(tape.gradient(values["g_loss"], fake).numpy()).sum(axis=(1, 2, 3))
  assert sorted(np.flatnonzero(rows)) == sorted(best)


def test_train_step_logs_k():
  gan = cr_test.gan_with(regularizers.TopK(steps_per_epoch=1, gamma=0.5))
  for step, k in enumerate([8.0, 4.0]):  # the G update's sub-batch holds 8 fakes
    gan.reset_metrics()
    images, labels = helpers.batch(seed=step)
    assert float(gan.train_step({"images": images, "labels": labels})["topk_k"]) == k


@pytest.mark.parametrize("loss", losses.LOSSES, ids=lambda f: f.__name__)
def test_every_g_loss_reads_the_fake_logits_only(loss):
  """Why TopK may give (top, top) as the real and fake logits of G's loss."""
  fake = tf.constant(LOGITS[:4])
  a, b = loss(tf.constant(LOGITS[4:8]), fake).g_loss, loss(tf.constant(LOGITS[:4] * 3), fake).g_loss
  assert a.numpy() == b.numpy()


def test_two_replicas_select_over_the_global_batch(two_replicas):
  """Same selection, loss and gradient as one device on the whole batch."""
  k = tf.constant(5)  # all five from replica 0
  with tf.GradientTape() as tape:
    weight = tf.Variable(2.0)
    one_device_loss = losses.hinge(*[topk.global_top_k(weight * LOGITS, k)] * 2).g_loss
  one_device_grad = tape.gradient(one_device_loss, weight).numpy()
  with two_replicas.scope():
    mirrored_weight = tf.Variable(2.0)

  def replica_step(logits):
    with tf.GradientTape() as tape:
      chosen = topk.global_top_k(mirrored_weight * logits, k)
      g_loss = losses.hinge(chosen, chosen).g_loss
      scaled = g_loss / two_replicas.num_replicas_in_sync  # as the GAN scales it
    return chosen, g_loss, tape.gradient(scaled, mirrored_weight)

  run = tf.function(lambda x: two_replicas.run(replica_step, args=(x,)))
  chosen, g_loss, grads = run(*testing.split_batch(two_replicas, [LOGITS]))
  local = lambda v: [t.numpy() for t in two_replicas.experimental_local_results(v)]
  for values in local(chosen):
    np.testing.assert_array_equal(values, 2.0 * np.sort(LOGITS, axis=0)[::-1][:5])
  np.testing.assert_allclose(local(g_loss), [one_device_loss.numpy()] * 2, rtol=1e-6)
  np.testing.assert_allclose(np.sum(local(grads)), one_device_grad, rtol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    ({"steps_per_epoch": 0}, "steps_per_epoch"),
    ({"steps_per_epoch": 5, "nu": 0.0}, "gamma and nu"),
    ({"steps_per_epoch": 5, "gamma": float("nan")}, "gamma and nu")])
def test_bad_settings_are_named(kwargs, match):
  with pytest.raises(ValueError, match=match):
    regularizers.TopK(**kwargs)


def test_logits_of_the_wrong_shape_are_named():
  with pytest.raises(ValueError, match=r"\[n, 1\]"):
    topk.global_top_k(tf.constant([1.0, 2.0]), tf.constant(1))
