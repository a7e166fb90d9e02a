"""Top-k: the k schedule, the selection, its gradient, and 1 vs 2 replicas."""

import math

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import losses
from compare_gan2 import regularizers
from compare_gan2 import testing
from compare_gan2.regularizers import topk

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


def test_selects_the_k_highest_logits():
  top = regularizers.TopK(steps_per_epoch=1, gamma=0.5, nu=0.1)
  # step 1: epoch 1, k = ⌊0.5·10⌋ = 5
  selected = top.generator_logits(tf.constant(LOGITS), tf.constant(1)).numpy()
  np.testing.assert_array_equal(selected[:, 0], np.sort(LOGITS[:, 0])[::-1][:5])
  assert top.metrics()["topk_k"].numpy() == 5


def _g_loss_gradient(top, logits, step, scale=None):
  scale = scale if scale is not None else tf.Variable(np.ones(LOGITS.shape, np.float32))
  with tf.GradientTape() as tape:
    selected = top.generator_logits(scale * logits, step)
    g_loss = losses.non_saturating(selected, selected).g_loss
  return g_loss, tape.gradient(g_loss, scale)


def test_only_the_selected_fakes_get_gradient():
  top = regularizers.TopK(steps_per_epoch=1, gamma=0.5, nu=0.1)
  _, grad = _g_loss_gradient(top, tf.constant(LOGITS), tf.constant(2))  # k = ⌊0.25·10⌋ = 2
  assert np.flatnonzero(grad.numpy()[:, 0]).tolist() == [0, 1]


@pytest.mark.parametrize("loss", losses.LOSSES, ids=lambda f: f.__name__)
def test_every_g_loss_reads_the_fake_logits_only(loss):
  """Why `loss_fn(top, top).g_loss` is G's top-k loss whatever the real logits."""
  fake = tf.constant(LOGITS[:4])
  a, b = loss(tf.constant(LOGITS[4:8]), fake).g_loss, loss(tf.constant(LOGITS[:4] * 3), fake).g_loss
  assert a.numpy() == b.numpy()


def test_traced_equals_eager():
  top = regularizers.TopK(steps_per_epoch=1, gamma=0.7, nu=0.2)
  scale = tf.Variable(np.ones(LOGITS.shape, np.float32))
  eager = _g_loss_gradient(top, tf.constant(LOGITS), tf.constant(1), scale)
  traced = tf.function(lambda s: _g_loss_gradient(top, tf.constant(LOGITS), s, scale))(
      tf.constant(1))
  for got, want in zip(traced, eager):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-7)  # fused softplus kernels


def test_two_replicas_select_over_the_global_batch(two_replicas):
  """Same selection, loss and G gradient as one device on the whole batch."""
  top = regularizers.TopK(steps_per_epoch=1, gamma=0.5, nu=0.1)
  step = tf.constant(1)  # k = 5: all five from replica 0
  selected = top.generator_logits(tf.constant(LOGITS), step).numpy()
  with tf.GradientTape() as tape:
    weight = tf.Variable(2.0)
    one_device_loss = losses.hinge(*[top.generator_logits(weight * LOGITS, step)] * 2).g_loss
  one_device_grad = tape.gradient(one_device_loss, weight).numpy()
  with two_replicas.scope():
    mirrored = regularizers.TopK(steps_per_epoch=1, gamma=0.5, nu=0.1)
    mirrored_weight = tf.Variable(2.0)

  def replica_step(logits):
    with tf.GradientTape() as tape:
      chosen = mirrored.generator_logits(mirrored_weight * logits, step)
      g_loss = losses.hinge(chosen, chosen).g_loss
      scaled = g_loss / two_replicas.num_replicas_in_sync  # as the GAN scales it
    return chosen, g_loss, tape.gradient(scaled, mirrored_weight)

  run = tf.function(lambda x: two_replicas.run(replica_step, args=(x,)))
  chosen, g_loss, grads = run(*testing.split_batch(two_replicas, [LOGITS]))
  local = lambda v: [t.numpy() for t in two_replicas.experimental_local_results(v)]
  for values in local(chosen):
    np.testing.assert_array_equal(values, 2.0 * selected)
  np.testing.assert_allclose(local(g_loss), [one_device_loss.numpy()] * 2, rtol=1e-6)
  np.testing.assert_allclose(np.sum(local(grads)), one_device_grad, rtol=1e-6)
  assert mirrored.metrics()["topk_k"].numpy() == 5


@pytest.mark.parametrize("kwargs, match", [
    ({"steps_per_epoch": 0}, "steps_per_epoch"),
    ({"steps_per_epoch": 5, "nu": 0.0}, "gamma and nu"),
    ({"steps_per_epoch": 5, "gamma": float("nan")}, "gamma and nu")])
def test_bad_settings_are_named(kwargs, match):
  with pytest.raises(ValueError, match=match):
    regularizers.TopK(**kwargs)


def test_logits_of_the_wrong_shape_are_named():
  with pytest.raises(ValueError, match=r"\[n, 1\]"):
    regularizers.TopK(steps_per_epoch=1).generator_logits(tf.constant([1.0, 2.0]), tf.constant(0))
