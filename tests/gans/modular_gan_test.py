"""Tests for compare_gan2.gans.modular_gan: compare_gan's training semantics.

The disc_iters schedule (which sub-batch each update sees), one step for every
loss x penalty, step counters, 1 vs 2 replicas, determinism, `fit`, and the
conditional path, all on compare_gan's tiny test networks.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import losses
from compare_gan2 import penalties
from compare_gan2 import testing
from compare_gan2.gans import modular_gan

IMAGE_SHAPE = (4, 4, 3)  # 3 features: a 1x1 SN kernel would not train


def _gan(disc_iters=1, loss_fn=losses.hinge, penalty_fn=penalties.no_penalty, num_classes=0,
         conditional=False, lr=0.05, discriminator=testing.TinyDiscriminator):
  keras.utils.set_random_seed(7)
  g = testing.TinyGenerator(IMAGE_SHAPE, z_dim=3, num_classes=num_classes)
  d = discriminator(IMAGE_SHAPE, num_classes=num_classes, spectral_norm=True)
  gan = modular_gan.ModularGAN(g, d, loss_fn=loss_fn, penalty_fn=penalty_fn,
                               disc_iters=disc_iters, conditional=conditional, seed=3)
  gan.compile(d_optimizer=keras.optimizers.Adam(lr, beta_1=0.5),
              g_optimizer=keras.optimizers.Adam(lr, beta_1=0.5))
  gan.build_networks()
  return gan


def _batch(size, seed=0, num_classes=3):
  rng = np.random.RandomState(seed)
  return {"images": rng.uniform(size=(size, *IMAGE_SHAPE)).astype(np.float32),
          "labels": rng.randint(0, num_classes, size).astype(np.int32)}


@pytest.mark.parametrize("disc_iters", [1, 2, 3])
def test_each_update_sees_its_own_strided_sub_batch(disc_iters):
  gan = _gan(disc_iters)
  parts = disc_iters + 1
  images = np.arange(4 * parts, dtype=np.float32).reshape(-1, 1, 1, 1) * np.ones(IMAGE_SHAPE)
  sub_batches = gan.split_batch({"images": images.astype(np.float32)}, tf.constant([1, 2], tf.int64))
  assert len(sub_batches) == parts  # disc_iters D updates, then the G update
  seen = [sb.images[:, 0, 0, 0].numpy().tolist() for sb in sub_batches]
  assert seen == [list(range(i, 4 * parts, parts)) for i in range(parts)]
  z = np.concatenate([sb.z.numpy() for sb in sub_batches])
  assert len(np.unique(z.round(6), axis=0)) == 4 * parts  # fresh z for every example


def test_batch_not_divisible_by_disc_iters_plus_one_is_named():
  with pytest.raises(ValueError, match=r"per-replica batch \(5\).*disc_iters \+ 1 \(2\)"):
    _gan(1).split_batch(_batch(5), tf.constant([1, 2], tf.int64))


@pytest.mark.parametrize("disc_iters", [1, 2, 3])
def test_counters_count_d_and_g_updates(disc_iters):
  gan = _gan(disc_iters)
  step = tf.function(gan.train_step)
  for i in range(2):
    step(_batch(2 * (disc_iters + 1), seed=i))
  assert int(gan.g_optimizer.iterations) == 2
  assert int(gan.d_optimizer.iterations) == 2 * disc_iters


@pytest.mark.parametrize("penalty_fn", penalties.PENALTIES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("loss_fn", losses.LOSSES, ids=lambda f: f.__name__)
def test_one_step_for_every_loss_and_penalty(loss_fn, penalty_fn):
  gan = _gan(loss_fn=loss_fn, penalty_fn=penalty_fn)
  g_before = [v.numpy() for v in gan.generator.trainable_variables]
  d_before = [v.numpy() for v in gan.discriminator.trainable_variables]
  logs = tf.function(gan.train_step)(_batch(4))
  assert set(logs) == set(gan.metric_names())
  assert all(np.isfinite(float(v)) for v in logs.values())
  assert any(np.abs(a - v.numpy()).max() > 0 for a, v in zip(g_before, gan.generator.trainable_variables))
  assert any(np.abs(a - v.numpy()).max() > 0
             for a, v in zip(d_before, gan.discriminator.trainable_variables))
  if penalty_fn is penalties.no_penalty:
    assert float(logs["penalty"]) == 0.0
  else:
    assert float(logs["penalty"]) > 0.0


def test_d_loss_includes_the_weighted_penalty():
  gan = _gan(penalty_fn=penalties.l2)
  gan.penalty_weight = 10.0
  batch = gan.split_batch(_batch(4), tf.constant([1, 2], tf.int64))[0]
  fake = gan.generator(batch.z)
  values = gan.discriminator_losses(batch, fake, tf.constant([1, 2], tf.int64))
  view = gan.discriminate(batch, fake, tf.constant([1, 2], tf.int64))
  real_out, fake_out = view.real, view.fake_out
  expected = float(losses.hinge(real_out.logits, fake_out.logits).d_loss) + 10 * float(values["penalty"])
  np.testing.assert_allclose(float(values["d_loss"]), expected, rtol=1e-6)


@pytest.mark.parametrize("conditional, penalty_fn",
                         [(False, penalties.no_penalty)] + [(True, p) for p in penalties.PENALTIES],
                         ids=lambda v: v.__name__ if callable(v) else f"conditional={v}")
def test_two_replicas_train_like_one_device(conditional, penalty_fn, two_replicas):
  """Strided sub-batches + per-global-example draws of z, fake labels and
  penalty points: the replica count does not matter, for every penalty. D is
  quadratic, so a penalty evaluated at other points gives another value."""
  def run(strategy):
    with strategy.scope():
      gan = _gan(disc_iters=2, num_classes=3 if conditional else 0, conditional=conditional,
                 penalty_fn=penalty_fn, discriminator=testing.TinyQuadraticDiscriminator)
    step = tf.function(lambda images, labels: strategy.run(
        gan.train_step, args=({"images": images, "labels": labels},)))
    for i in range(3):
      data = _batch(12, seed=i)
      images, labels = testing.split_batch(strategy, [data["images"], data["labels"]]) \
          if strategy.num_replicas_in_sync > 1 else (data["images"], data["labels"])
      logs = step(images, labels)
    return gan, {k: float(strategy.reduce("MEAN", v, axis=None)) if strategy.num_replicas_in_sync > 1
                 else float(v) for k, v in logs.items()}
  single, single_logs = run(tf.distribute.get_strategy())
  mirrored, mirrored_logs = run(two_replicas)
  for a, b in zip(single.variables, mirrored.variables):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=2e-5, atol=2e-6, err_msg=a.path)
  for name in single_logs:
    np.testing.assert_allclose(single_logs[name], mirrored_logs[name], rtol=1e-5, atol=1e-6)


def test_same_seed_same_run_and_fit_matches_train_step():
  def weights(use_fit):
    gan = _gan(disc_iters=2)
    data = [_batch(6, seed=i) for i in range(3)]
    if use_fit:
      dataset = tf.data.Dataset.from_tensor_slices(
          {k: np.concatenate([d[k] for d in data]) for k in data[0]}).batch(6)
      gan.fit(dataset, epochs=1, verbose=0)
    else:
      step = tf.function(gan.train_step)
      for d in data:
        step(d)
    return [v.numpy() for v in gan.variables]
  direct, again, fitted = weights(False), weights(False), weights(True)
  for a, b, c in zip(direct, again, fitted):
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a, c, rtol=1e-6, atol=1e-7)


def test_conditional_gan_feeds_one_hot_labels_and_needs_classes():
  gan = _gan(num_classes=3, conditional=True)
  sub_batch = gan.split_batch(_batch(4), tf.constant([1, 2], tf.int64))[0]
  assert sub_batch.y.shape == (2, 3) and sub_batch.sampled_y.shape == (2, 3)
  labels = _batch(4)["labels"]
  labels[0] = -1  # unlabelled examples get an all-zero row, as compare_gan
  sub_batch = gan.split_batch({"images": _batch(4)["images"], "labels": labels},
                              tf.constant([1, 2], tf.int64))[0]
  assert float(tf.reduce_sum(sub_batch.y[0])) == 0.0
  with pytest.raises(ValueError, match="num_classes > 0"):
    modular_gan.ModularGAN(testing.TinyGenerator(IMAGE_SHAPE), testing.TinyDiscriminator(),
                           conditional=True)
