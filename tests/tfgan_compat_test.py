"""Tests for compare_gan2.tfgan_compat: TF-GAN's metrics and losses on TF 2.21.

FID, KID and the Inception Score from activations/logits are compared with
independent numpy/scipy references, eagerly and inside tf.function; the
tensor losses are checked on values with known results.
"""

import logging
import os
import sys

import numpy as np
import pytest
import scipy.linalg
import tensorflow as tf

from compare_gan2.tfgan_compat import tfgan

RNG = np.random.RandomState(0)
ACT_A = RNG.randn(200, 6)
ACT_B = RNG.randn(200, 6) @ RNG.uniform(0.5, 1.5, (6, 6)) + 0.3


def _fid(a, b):
  mu_a, mu_b = a.mean(0), b.mean(0)
  cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
  covmean = scipy.linalg.sqrtm(cov_a @ cov_b).real
  return np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2 * covmean)


def _kid(a, b):
  """Unbiased MMD² with the cubic polynomial kernel (Bińkowski et al. 2018, eq. 4)."""
  d = a.shape[1]
  kernel = lambda x, y: (x @ y.T / d + 1) ** 3
  k_aa, k_bb, k_ab = kernel(a, a), kernel(b, b), kernel(a, b)
  m, n = len(a), len(b)
  return ((k_aa.sum() - np.trace(k_aa)) / (m * (m - 1))
          + (k_bb.sum() - np.trace(k_bb)) / (n * (n - 1)) - 2 * k_ab.mean())


def _inception_score(logits):
  p = np.exp(logits - logits.max(1, keepdims=True))
  p /= p.sum(1, keepdims=True)
  marginal = p.mean(0)
  return np.exp(np.mean(np.sum(p * (np.log(p) - np.log(marginal)), axis=1)))


def test_fid_from_activations_matches_scipy():
  value = tfgan.eval.frechet_classifier_distance_from_activations(
      tf.constant(ACT_A), tf.constant(ACT_B))
  np.testing.assert_allclose(float(value), _fid(ACT_A, ACT_B), rtol=1e-6)
  assert float(tfgan.eval.frechet_classifier_distance_from_activations(
      tf.constant(ACT_A), tf.constant(ACT_A))) == pytest.approx(0.0, abs=1e-8)


def test_fid_inside_tf_function():
  traced = tf.function(tfgan.eval.frechet_classifier_distance_from_activations)
  np.testing.assert_allclose(float(traced(tf.constant(ACT_A), tf.constant(ACT_B))),
                             _fid(ACT_A, ACT_B), rtol=1e-6)


def test_kid_from_activations_matches_numpy():
  value = tfgan.eval.kernel_classifier_distance_from_activations(
      tf.constant(ACT_A, tf.float32), tf.constant(ACT_B, tf.float32))
  # TF-GAN averages over blocks of 1000 examples; with 200 there is one block.
  np.testing.assert_allclose(float(value), _kid(ACT_A, ACT_B), rtol=1e-4)


def test_inception_score_from_logits_matches_numpy():
  logits = RNG.randn(64, 10).astype(np.float32) * 3
  value = tfgan.eval.classifier_score_from_logits(tf.constant(logits))
  np.testing.assert_allclose(float(value), _inception_score(logits.astype(np.float64)), rtol=1e-5)
  uniform = tfgan.eval.classifier_score_from_logits(tf.zeros([8, 10]))
  assert float(uniform) == pytest.approx(1.0)


def test_tensor_losses_work():
  real, fake = tf.constant([[0.5], [1.5]]), tf.constant([[0.25], [-0.75]])
  hinge = tfgan.losses.wargs.wasserstein_hinge_discriminator_loss(real, fake)
  # mean(relu(1 - r)) + mean(relu(1 + f)) = (0.5 + 0) / 2 + (1.25 + 0.25) / 2
  assert float(hinge) == pytest.approx(1.0)
  assert float(tfgan.losses.wargs.wasserstein_generator_loss(fake)) == pytest.approx(0.25)


def test_tensorflow_is_not_patched_and_the_module_is_shared():
  assert not hasattr(tf, "estimator")
  import tensorflow_gan  # pylint: disable=g-import-not-at-top
  assert tensorflow_gan is tfgan is sys.modules["tensorflow_gan"]
  assert tensorflow_gan.eval is tfgan.eval


class _Recorder(logging.Handler):
  def __init__(self):
    super().__init__()
    self.messages = []

  def emit(self, record):
    self.messages.append(record.getMessage())


@pytest.mark.parametrize("verbose", ["", "1"])
def test_deprecation_notices_about_tfgans_code_are_dropped(monkeypatch, verbose):
  """TF's notice for a call inside TF-GAN is dropped (kept with --verbose); others are kept."""
  monkeypatch.setenv("COMPARE_GAN2_VERBOSE", verbose)
  tfgan_call = (f"From {os.path.dirname(tfgan.eval.__file__)}/classifier_metrics.py:1157: calling "
                "map_fn_v2 (from tensorflow.python.ops.map_fn) with back_prop=False is deprecated "
                "and will be removed in a future version.\nInstructions for updating:\n...")
  our_call = tfgan_call.replace(os.path.dirname(tfgan.eval.__file__), "/src/compare_gan2/metrics")
  logger, recorder = logging.getLogger("tensorflow"), _Recorder()
  logger.addHandler(recorder)
  try:
    for message in (tfgan_call, our_call, "Some other warning"):
      logger.warning(message)
  finally:
    logger.removeHandler(recorder)
  expected = [our_call, "Some other warning"]
  assert recorder.messages == ([tfgan_call, *expected] if verbose else expected)
