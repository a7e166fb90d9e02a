"""Tests for compare_gan2.losses: compare_gan's formulas, TF-GAN reuse, shapes.

Each loss is checked against an independent numpy reference on fixed logits,
for generic GAN-loss invariants, eagerly, under tf.function and per replica
under a 2-replica MirroredStrategy (no hidden 1/replicas scaling).
"""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import losses

REAL = np.array([[1.5], [-0.3], [0.2], [2.0]], np.float32)
FAKE = np.array([[-1.2], [0.4], [-0.1], [0.8]], np.float32)


def _softplus(x):
  return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


def _sigmoid(x):
  return 1 / (1 + np.exp(-x))


def _reference(name, lr, lf):
  """(d_loss, g_loss, d_loss_real, d_loss_fake), compare_gan loss_lib.py:67-148."""
  if name == "non_saturating":
    real, fake = np.mean(_softplus(-lr)), np.mean(_softplus(lf))
    return real + fake, np.mean(_softplus(-lf)), real, fake
  if name == "wasserstein":
    real, fake = -np.mean(lr), np.mean(lf)
    return real + fake, -np.mean(lf), real, fake
  if name == "least_squares":
    pr, pf = _sigmoid(lr), _sigmoid(lf)
    real, fake = np.mean((pr - 1) ** 2), np.mean(pf ** 2)
    return 0.5 * (real + fake), 0.5 * np.mean((pf - 1) ** 2), real, fake
  if name == "hinge":
    real, fake = np.mean(np.maximum(0, 1 - lr)), np.mean(np.maximum(0, 1 + lf))
    return real + fake, -np.mean(lf), real, fake
  raise AssertionError(name)


def _values(result: losses.GanLosses):
  return [float(t) for t in (result.d_loss, result.g_loss, result.d_loss_real, result.d_loss_fake)]


def test_registry_lists_the_four_compare_gan_losses():
  assert [fn.__name__ for fn in losses.LOSSES] == [
      "non_saturating", "wasserstein", "least_squares", "hinge"]


@pytest.mark.parametrize("loss_fn", losses.LOSSES, ids=lambda f: f.__name__)
def test_loss_equals_numpy_reference(loss_fn):
  np.testing.assert_allclose(_values(loss_fn(tf.constant(REAL), tf.constant(FAKE))),
                             _reference(loss_fn.__name__, REAL, FAKE), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("loss_fn", losses.LOSSES, ids=lambda f: f.__name__)
def test_tfgan_total_equals_sum_of_parts(loss_fn):
  """TF-GAN computes d_loss; the parts are ours: the math must be the same."""
  result = loss_fn(tf.constant(REAL), tf.constant(FAKE))
  scale = 0.5 if loss_fn is losses.least_squares else 1.0
  np.testing.assert_allclose(float(result.d_loss),
                             scale * (float(result.d_loss_real) + float(result.d_loss_fake)),
                             rtol=1e-6)


@pytest.mark.parametrize("loss_fn", losses.LOSSES, ids=lambda f: f.__name__)
def test_generic_invariants(loss_fn):
  real, fake = tf.Variable(REAL), tf.Variable(FAKE)
  with tf.GradientTape(persistent=True) as tape:
    result = loss_fn(real, fake)
  for value in (result.d_loss, result.g_loss, result.d_loss_real, result.d_loss_fake):
    assert value.shape == () and np.isfinite(float(value))
  assert np.abs(tape.gradient(result.d_loss, real)).sum() > 0
  assert np.abs(tape.gradient(result.d_loss, fake)).sum() > 0
  assert np.abs(tape.gradient(result.g_loss, fake)).sum() > 0
  assert tape.gradient(result.g_loss, real) is None  # G's loss never sees real logits.
  # A more confident D on real images has a lower D loss; G gains when D is fooled.
  better_d = loss_fn(tf.constant(REAL + 1.0), tf.constant(FAKE))
  fooled = loss_fn(tf.constant(REAL), tf.constant(FAKE + 1.0))
  assert float(better_d.d_loss) < float(result.d_loss)
  assert float(fooled.g_loss) < float(result.g_loss)


@pytest.mark.parametrize("loss_fn", losses.LOSSES, ids=lambda f: f.__name__)
def test_same_value_under_tf_function(loss_fn):
  traced = tf.function(lambda r, f: _as_list(loss_fn(r, f)))
  np.testing.assert_allclose([float(v) for v in traced(REAL, FAKE)],
                             _values(loss_fn(tf.constant(REAL), tf.constant(FAKE))), rtol=1e-6)


def _as_list(result):
  return [result.d_loss, result.g_loss, result.d_loss_real, result.d_loss_fake]


@pytest.mark.parametrize("loss_fn", losses.LOSSES, ids=lambda f: f.__name__)
def test_each_replica_gets_its_local_mean(loss_fn, two_replicas):
  """TF-GAN's tf.compat.v1 reductions must not rescale by the replica count."""
  halves = (REAL[:2], FAKE[:2]), (REAL[2:], FAKE[2:])
  inputs = two_replicas.experimental_distribute_values_from_function(
      lambda ctx: halves[ctx.replica_id_in_sync_group])
  step = tf.function(lambda args: two_replicas.run(lambda a: _as_list(loss_fn(*a)), args=(args,)))
  per_replica = step(inputs)
  for replica, (real, fake) in enumerate(halves):
    local = [float(v.values[replica]) for v in per_replica]
    np.testing.assert_allclose(local, _reference(loss_fn.__name__, real, fake), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("real_shape,fake_shape,message", [
    ((4,), (4,), "rank 2"),
    ((4, 1), (4, 2), "mismatch"),
    ((4, 1), (3, 1), "mismatch"),
])
def test_shape_checks_name_the_shapes(real_shape, fake_shape, message):
  with pytest.raises(ValueError, match=message) as error:
    losses.hinge(tf.zeros(real_shape), tf.zeros(fake_shape))
  assert str(tuple(fake_shape)[0]) in str(error.value)


def test_results_are_immutable():
  result = losses.hinge(tf.constant(REAL), tf.constant(FAKE))
  with pytest.raises(AttributeError):
    result.d_loss = tf.constant(0.0)
