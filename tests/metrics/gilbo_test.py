"""Tests of compare_gan2.metrics.gilbo: the Beta posterior against SciPy, compare_gan's
learning-rate schedule on hand-worked sequences, and GILBO itself on generators whose
mutual information I(z; G(z)) is known to be infinite (invertible) or zero (constant)."""

import numpy as np
import pytest
import scipy.integrate
import scipy.stats
import tensorflow as tf

from compare_gan2.metrics import base
from compare_gan2.metrics import gilbo

# Two short cycles on small batches: enough for the encoder to learn an invertible G.
_QUICK = dict(batch_size=16, learning_rate=1e-3, max_train_cycles=2, train_steps_per_cycle=100,
              eval_steps=5, consistency_batches=2)


def _uniform_z(shape, seed):
  return tf.random.stateless_uniform(shape, seed, -1.0, 1.0)


def _model(generate, z_dim=2, num_classes=0, sample_z=_uniform_z) -> base.ModelAccess:
  return base.ModelAccess(generate=generate, sample_z=sample_z, z_dim=z_dim,
                          num_classes=num_classes, seed=3)


def _constant_generator(z, y):
  return tf.fill([tf.shape(z)[0], 10, 10, 1], 0.5)


def test_posterior_log_density_matches_scipy_beta():
  """log e(z|x) = Σ_d [log Beta((z_d+1)/2; a_d, b_d) − log 2], as scipy.stats.beta, also at
  the clipped ends z = ±(1 − epsneg)."""
  rng = np.random.RandomState(0)
  a, b = rng.uniform(0.5, 6.0, (2, 5, 3))
  z = rng.uniform(-0.999, 0.999, (5, 3))
  z[0] = [-(1 - gilbo.EPSNEG), 1 - gilbo.EPSNEG, 0.0]
  z = z.astype(np.float32)
  want = np.sum(scipy.stats.beta.logpdf((z.astype(np.float64) + 1) / 2, a, b) - np.log(2), -1)
  got = gilbo.beta_affine_log_prob(z, a.astype(np.float32), b.astype(np.float32))
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


def test_beta_kl_matches_numerical_integration():
  """KL(Beta(a1,b1) ‖ Beta(a2,b2)) in closed form equals ∫ p log(p/q) by quadrature, and
  sums over independent dimensions."""
  params = np.array([[1.5, 2.0, 3.0, 1.2], [4.0, 1.1, 1.0, 1.0], [2.0, 2.0, 2.0, 2.0]])
  want = []
  for a1, b1, a2, b2 in params:
    p, q = scipy.stats.beta(a1, b1), scipy.stats.beta(a2, b2)
    want.append(scipy.integrate.quad(lambda u: p.pdf(u) * (p.logpdf(u) - q.logpdf(u)), 0, 1)[0])
  got = gilbo.beta_kl(*(params[:, i:i + 1] for i in range(4)))
  np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
  np.testing.assert_allclose(gilbo.beta_kl(*(params[None, :, i] for i in range(4))), [sum(want)],
                             rtol=1e-6)


def test_schedule_halves_lr_on_slow_progress_and_stops_on_nan():
  """Cycle GILBOs 1.0, 1.2, 1.1, 1.6, NaN from lr 1 (worked by hand from gilbo.py:241-267):
  min_ai −2 → 1.5 (step capped at 0.5) → 1.5 (1.2 < 1.5 halves lr) → 1.5 (1.1 halves
  again) → 1.6 + 0.75·0.5 = 1.975; NaN then stops with lr 0.25."""
  state = gilbo.ScheduleState(learning_rate=1.0)
  expected = [(1.0, 1.5), (0.5, 1.5), (0.25, 1.5), (0.25, 1.975)]
  for ai, (lr, min_ai) in zip([1.0, 1.2, 1.1, 1.6], expected, strict=True):
    state = gilbo.update_schedule(state, ai)
    assert (state.learning_rate, state.stop, state.previous_ai) == (lr, False, ai)
    assert state.min_ai == pytest.approx(min_ai)
  state = gilbo.update_schedule(state, float("nan"))
  assert state.stop and state.learning_rate == 0.25


def test_schedule_stops_when_lr_falls_below_min_lr():
  """From lr 1 with min_lr 0.3: GILBO −3 (< −2) halves lr to 0.5 and leaves min_ai at −2
  (the step is clamped at 0); −2.5 halves it to 0.25 < 0.3, which stops training."""
  state = gilbo.update_schedule(gilbo.ScheduleState(1.0), -3.0, min_lr=0.3)
  assert state == gilbo.ScheduleState(0.5, -2.0, -3.0, False)
  state = gilbo.update_schedule(state, -2.5, min_lr=0.3)
  assert state.stop and state.learning_rate == 0.25


def test_gilbo_separates_invertible_from_constant_generator():
  """A conditional G that maps z ∈ (−1,1)² invertibly (an orthogonal linear map plus a class
  offset) has I(z; x) = ∞, so a briefly trained encoder already reaches > 1 nat; a constant
  G carries no information: GILBO ≈ 0 and the self-consistency KL is exactly 0 (every
  image, hence every posterior, is the same)."""
  q = np.linalg.qr(np.random.RandomState(0).normal(size=(100, 2)))[0].T.astype(np.float32)
  offsets = np.float32([[0.0], [0.05], [-0.05]])

  def invertible(z, y):
    assert y.shape == (16, 3)  # one-hot labels, one per sample
    return tf.reshape(0.5 + 0.4 * tf.matmul(z, q) + tf.matmul(y, offsets), [-1, 10, 10, 1])

  informative = gilbo.GILBO(**_QUICK)(_model(invertible, num_classes=3), base.EvalSet())
  constant = gilbo.GILBO(**_QUICK)(_model(_constant_generator), base.EvalSet())
  assert informative["gilbo"] > 1.0
  assert abs(constant["gilbo"]) < 0.05
  assert constant["gilbo_self_consistency"] == 0.0
  assert np.isfinite(informative["gilbo_self_consistency"])
  assert informative["gilbo_self_consistency"] > 0.0


def test_nan_batches_stop_training_and_count_as_zero(monkeypatch):
  """A G that emits NaN makes every batch GILBO NaN: training stops after its first cycle (of
  3 allowed) and the reported GILBO is mean(nan_to_num(NaN, ...)) = 0 (gilbo.py:312)."""
  cycles = []
  update = gilbo.update_schedule
  monkeypatch.setattr(gilbo, "update_schedule", lambda s, ai, *a: cycles.append(ai) or update(
      s, ai, *a))
  nan_images = lambda z, y: tf.fill([tf.shape(z)[0], 10, 10, 1], np.float32("nan"))
  metric = gilbo.GILBO(batch_size=4, max_train_cycles=3, train_steps_per_cycle=2, eval_steps=2,
                       consistency_batches=0)
  assert metric(_model(nan_images), base.EvalSet()) == {"gilbo": 0.0}
  assert len(cycles) == 1 and np.isnan(cycles[0])


def test_rejects_latents_outside_the_uniform_prior():
  """GILBO's prior is U(−1, 1)^d; a model with N(0, 1) latents is a ValueError."""
  normal = lambda shape, seed: tf.random.stateless_normal(shape, seed)
  with pytest.raises(ValueError, match=r"U\(-1, 1\)"):
    gilbo.GILBO(**_QUICK)(_model(_constant_generator, sample_z=normal), base.EvalSet())


def test_rejects_images_too_small_for_the_encoder():
  """Two 4×4 stride-2 VALID convolutions need images of at least 10×10."""
  small = lambda z, y: tf.zeros([tf.shape(z)[0], 8, 8, 3])
  with pytest.raises(ValueError, match="H, W >= 10"):
    gilbo.GILBO(**_QUICK)(_model(small), base.EvalSet())


def test_rejects_non_positive_counts():
  """Counts that make no sense fail at construction, naming the field."""
  with pytest.raises(ValueError, match="eval_steps"):
    gilbo.GILBO(eval_steps=0)
  with pytest.raises(ValueError, match="max_train_cycles"):
    gilbo.GILBO(max_train_cycles=-1)
