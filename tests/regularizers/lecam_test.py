"""LeCam: the anchors' EMA step by step, the term, gradients, replicas, checkpoints."""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import regularizers
from compare_gan2 import testing

RNG = np.random.default_rng(1)
# Five D updates of 4 examples each; replica halves get different means on purpose.
REAL = [RNG.normal(1.0 + t, 1.0, size=(4, 1)).astype(np.float32) for t in range(5)]
FAKE = [RNG.normal(-1.0 - t, 1.0, size=(4, 1)).astype(np.float32) for t in range(5)]


def numpy_lecam(start_step, decay, weight, one_sided):
  """The authors' ema_losses + lecam_reg, one D update per step."""
  alpha_real = alpha_fake = 0.0
  anchors, terms = [], []
  for step, (real, fake) in enumerate(zip(REAL, FAKE)):
    d = 0.0 if step < start_step else decay
    alpha_real = d * alpha_real + (1 - d) * real.mean()
    alpha_fake = d * alpha_fake + (1 - d) * fake.mean()
    clip = (lambda v: np.maximum(v, 0.0)) if one_sided else (lambda v: v)
    penalty = np.mean(clip(real - alpha_fake) ** 2) + np.mean(clip(alpha_real - fake) ** 2)
    anchors.append((alpha_real, alpha_fake))
    terms.append(weight * penalty if step > start_step else 0.0)
  return np.array(anchors), np.array(terms)


def _context(real, fake, step):
  return regularizers.Context(None, None, real, fake, None, None, None, None,
                              tf.constant(step, tf.int64))


def run_steps(lecam, steps=range(5)):
  anchors, terms = [], []
  for step in steps:
    terms.append(lecam.d_terms(_context(REAL[step], FAKE[step], step))["lecam"])
    anchors.append((lecam.alpha_real.numpy(), lecam.alpha_fake.numpy()))
  return np.array(anchors), np.array(terms)


@pytest.mark.parametrize("one_sided", [True, False])
def test_anchor_sequence_and_term_match_the_authors_schedule(one_sided):
  anchors, terms = run_steps(regularizers.LeCam(weight=0.3, decay=0.9, start_step=2,
                                                one_sided=one_sided))
  want_anchors, want_terms = numpy_lecam(2, 0.9, 0.3, one_sided)
  np.testing.assert_allclose(anchors, want_anchors, rtol=1e-5)
  np.testing.assert_allclose(terms, want_terms, rtol=1e-5, atol=1e-7)
  assert terms[:3].tolist() == [0.0, 0.0, 0.0] and (terms[3:] > 0).all()
  # Steps 0 and 1 copy the batch means; step 2 on averages.
  np.testing.assert_allclose(anchors[1], [REAL[1].mean(), FAKE[1].mean()], rtol=1e-6)
  assert not np.allclose(anchors[2], [REAL[2].mean(), FAKE[2].mean()])


def test_one_sided_form_ignores_reals_below_the_fake_anchor():
  lecam = regularizers.LeCam(start_step=0)
  lecam.alpha_real.assign(1.0)
  lecam.alpha_fake.assign(-1.0)
  below = tf.constant([[-2.0]])  # a real under α_F, a fake over α_R: no cost
  assert lecam.penalty(below, tf.constant([[2.0]])).numpy() == 0.0
  assert lecam.penalty(tf.constant([[0.0]]), tf.constant([[0.0]])).numpy() == pytest.approx(2.0)


def test_gradient_reaches_d_and_not_the_anchors():
  scale = tf.Variable(1.0)
  lecam = regularizers.LeCam(start_step=0)
  lecam.update(REAL[0], FAKE[0], tf.constant(0))
  with tf.GradientTape() as tape:
    term = lecam.d_terms(_context(scale * REAL[1], scale * FAKE[1], 1))["lecam"]
  grad_scale, grad_anchor = tape.gradient(term, [scale, lecam.alpha_real])
  assert grad_scale.numpy() != 0 and grad_anchor is None


def test_traced_steps_equal_eager_steps():
  eager = run_steps(regularizers.LeCam(decay=0.9, start_step=2))
  lecam = regularizers.LeCam(decay=0.9, start_step=2)
  step_fn = tf.function(lambda r, f, s: lecam.d_terms(_context(r, f, s))["lecam"])
  terms = [step_fn(REAL[t], FAKE[t], t).numpy() for t in range(5)]
  np.testing.assert_allclose(terms, eager[1], rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose([lecam.alpha_real.numpy(), lecam.alpha_fake.numpy()], eager[0][-1],
                             rtol=1e-5)


def test_two_replicas_keep_the_global_batch_anchors(two_replicas):
  """Each replica's half has another mean; the anchors follow the global one."""
  want_anchors, want_terms = numpy_lecam(2, 0.9, 0.3, True)
  with two_replicas.scope():
    lecam = regularizers.LeCam(decay=0.9, start_step=2)
  step_fn = tf.function(lambda r, f, s: two_replicas.run(
      lambda a, b: lecam.d_terms(_context(a, b, s))["lecam"], args=(r, f)))
  for step in range(5):
    terms = step_fn(*testing.split_batch(two_replicas, [REAL[step], FAKE[step]]), step)
    local = [t.numpy() for t in two_replicas.experimental_local_results(terms)]
    np.testing.assert_allclose(np.mean(local), want_terms[step], rtol=1e-5, atol=1e-7)
    for anchor in (lecam.alpha_real, lecam.alpha_fake):
      values = [v.numpy() for v in two_replicas.experimental_local_results(anchor)]
      assert values[0] == values[1]
    np.testing.assert_allclose([lecam.alpha_real.numpy(), lecam.alpha_fake.numpy()],
                               want_anchors[step], rtol=1e-5)


def test_anchors_restore_from_a_checkpoint_and_the_run_continues_alike(tmp_path):
  lecam = regularizers.LeCam(decay=0.9, start_step=1)
  run_steps(lecam, range(3))
  path = tf.train.Checkpoint(lecam=lecam).save(str(tmp_path / "ckpt"))
  uninterrupted = run_steps(lecam, range(3, 5))
  resumed = regularizers.LeCam(decay=0.9, start_step=1)
  tf.train.Checkpoint(lecam=resumed).restore(path).assert_consumed()
  for got, want in zip(run_steps(resumed, range(3, 5)), uninterrupted):
    np.testing.assert_array_equal(got, want)
  fresh = run_steps(regularizers.LeCam(decay=0.9, start_step=1), range(3, 5))
  assert not np.allclose(fresh[0], uninterrupted[0])  # without the anchors the run differs


def test_metrics_report_the_anchors():
  lecam = regularizers.LeCam()
  lecam.update(REAL[0], FAKE[0], tf.constant(0))
  metrics = lecam.metrics()
  np.testing.assert_allclose([metrics["lecam_alpha_real"], metrics["lecam_alpha_fake"]],
                             [REAL[0].mean(), FAKE[0].mean()], rtol=1e-6)


def test_bad_decay_is_named():
  with pytest.raises(ValueError, match="LeCam.decay"):
    regularizers.LeCam(decay=1.5)
