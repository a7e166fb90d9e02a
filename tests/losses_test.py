"""Tests for compare_gan2.losses: compare_gan's formulas, TF-GAN reuse, shapes.

Every registered loss is checked against the independent NumPy reference it
declares beside it in losses.py, for generic GAN-loss invariants, eagerly,
under tf.function and per replica under a 2-replica MirroredStrategy (no hidden
1/replicas scaling). A new loss needs no edit here (docs/extending.md).
"""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import losses

REAL = np.array([[1.5], [-0.3], [0.2], [2.0]], np.float32)
FAKE = np.array([[-1.2], [0.4], [-0.1], [0.8]], np.float32)


def _values(result: losses.GanLosses):
  return [float(t) for t in (result.d_loss, result.g_loss, result.d_loss_real, result.d_loss_fake)]


@pytest.mark.parametrize("loss_fn", losses.LOSSES, ids=lambda f: f.__name__)
def test_loss_equals_its_declared_numpy_reference(loss_fn):
  """On several logits, including saturated ones (|l| = 30) where a naive log(σ) fails."""
  reference = losses.reference(loss_fn)
  for real, fake in ((REAL, FAKE), (FAKE, REAL), (REAL * 20, FAKE * 25)):
    np.testing.assert_allclose(_values(loss_fn(tf.constant(real), tf.constant(fake))),
                               reference(real, fake), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("loss_fn", losses.LOSSES, ids=lambda f: f.__name__)
def test_tfgan_total_relates_to_the_parts_as_in_the_reference(loss_fn):
  """TF-GAN computes d_loss, the parts are ours: d_loss / (real + fake) must match."""
  result = loss_fn(tf.constant(REAL), tf.constant(FAKE))
  d_loss, _, real, fake = losses.reference(loss_fn)(REAL, FAKE)
  np.testing.assert_allclose(float(result.d_loss),
                             d_loss / (real + fake) * (float(result.d_loss_real)
                                                       + float(result.d_loss_fake)), rtol=1e-6)


def test_only_registered_losses_have_a_reference():
  assert losses.reference(losses.hinge) is losses.reference(losses.hinge)
  with pytest.raises(KeyError, match="not a registered loss.*hinge"):
    losses.reference(losses.check_dimensions)


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
    np.testing.assert_allclose(local, losses.reference(loss_fn)(real, fake), rtol=1e-5,
                               atol=1e-6)


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
