"""FID, KID and IS metrics: compare_gan's pinned numbers and NumPy/SciPy references.

The references are written here independently of TF-GAN (eigen-free SciPy
sqrtm for FID, the unbiased MMD² formula for KID, softmax/KL for IS) and must
agree to 1e-6 relative on fixed random activations and logits.
"""

import numpy as np
import pytest
import scipy.linalg

from compare_gan2.metrics import base
from compare_gan2.metrics import classifier_metrics as cm

RNG = np.random.RandomState(0)
FAKE = (RNG.randn(300, 8) @ RNG.uniform(0.5, 1.5, (8, 8)) + 0.3).astype(np.float32)
REAL = RNG.randn(300, 8).astype(np.float32)


def _fid(fake, real):
  fake, real = fake.astype(np.float64), real.astype(np.float64)
  cov_f, cov_r = np.cov(fake, rowvar=False), np.cov(real, rowvar=False)
  root = scipy.linalg.sqrtm(scipy.linalg.sqrtm(cov_r) @ cov_f @ scipy.linalg.sqrtm(cov_r)).real
  return np.sum((fake.mean(0) - real.mean(0)) ** 2) + np.trace(cov_f + cov_r - 2 * root)


def _mmd2(x, y):
  d = x.shape[1]
  k = lambda a, b: (a @ b.T / d + 1) ** 3
  kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
  m, n = len(x), len(y)
  return ((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
          - 2 * kxy.mean())


def _inception_score(logits):
  logits = logits.astype(np.float64)
  log_p = logits - scipy.special.logsumexp(logits, axis=1, keepdims=True)
  p = np.exp(log_p)
  return np.exp(np.mean(np.sum(p * (log_p - np.log(p.mean(0))), axis=1)))


def test_fid_equals_scipy_reference():
  """FID to 1e-6 relative of the Σ_r^½ Σ_g Σ_r^½ form computed with SciPy."""
  np.testing.assert_allclose(cm.frechet_distance(FAKE, REAL), _fid(FAKE, REAL), rtol=1e-6)
  assert cm.frechet_distance(REAL, REAL) == pytest.approx(0.0, abs=1e-6)


def test_fid_pinned_compare_gan_value():
  """compare_gan fid_score_test.py:30-40: 89.091 (exactly 980/11)."""
  real = np.ones((100, 2), np.float32)
  real[:50, 0] = 2
  gen = 9 * np.ones((100, 2), np.float32)
  gen[50:, 0] = 2
  assert cm.frechet_distance(gen, real) == pytest.approx(980 / 11, rel=1e-6)


def test_kid_pinned_value_and_full_sample_reference():
  """TF-GAN 2.1.0: 0.382275 (2 blocks) and 0.378849 (10 blocks); blocks = unbiased MMD²."""
  rng = np.random.RandomState(0)
  real = rng.normal(size=(2000, 16)).astype(np.float32)
  fake = (rng.normal(size=(2000, 16)) * 1.2 + 0.3).astype(np.float32)
  mean, _ = cm.kernel_distance(fake, real)
  assert mean == pytest.approx(0.382275, rel=1e-5)
  mean, stderr = cm.kernel_distance(fake, real, max_block_size=200)
  blocks = [_mmd2(real[i:i + 200].astype(np.float64), fake[i:i + 200].astype(np.float64))
            for i in range(0, 2000, 200)]
  assert mean == pytest.approx(0.378849, rel=1e-5)
  # TF-GAN's standard error uses ddof = 1 (compare_gan's own kid() used ddof = 0).
  assert stderr == pytest.approx(np.std(blocks, ddof=1) / np.sqrt(10), rel=1e-5)
  one_block, _ = cm.kernel_distance(FAKE, REAL, max_block_size=300)
  np.testing.assert_allclose(one_block, _mmd2(REAL.astype(np.float64), FAKE.astype(np.float64)),
                             rtol=1e-6)


def test_inception_score_pinned_and_reference():
  """TF-GAN 2.1.0: 3.858633 on RandomState(0)-continued logits; NumPy to 1e-6."""
  rng = np.random.RandomState(0)
  rng.normal(size=(2000, 16)), rng.normal(size=(2000, 16))
  logits = rng.normal(size=(500, 10)).astype(np.float32) * 3
  assert cm.inception_score(logits) == pytest.approx(3.858633, rel=1e-6)
  np.testing.assert_allclose(cm.inception_score(FAKE), _inception_score(FAKE), rtol=1e-6)


def test_metric_classes_report_their_keys():
  """The classes read the right EvalSet fields and name results as compare_gan's CSV."""
  fake = base.EvalSet(features=FAKE, logits=FAKE)
  real = base.EvalSet(features=REAL)
  assert cm.FID()(fake, real) == {"fid_score": pytest.approx(_fid(FAKE, REAL), rel=1e-6)}
  assert set(cm.KID()(fake, real)) == {"kid_score", "kid_stderr"}
  assert cm.InceptionScore()(fake, base.EvalSet())["inception_score"] == pytest.approx(
      _inception_score(FAKE), rel=1e-6)


@pytest.mark.parametrize("fake, real, match", [
    (FAKE[:, :4], REAL, "differ in width"),
    (FAKE[0], REAL, "rank 2"),
    (FAKE[:1], REAL, "at least 2 rows"),
])
def test_bad_features_raise_clear_errors(fake, real, match):
  """Mismatched extractors, vectors and single rows name the problem."""
  with pytest.raises(ValueError, match=match):
    cm.frechet_distance(fake, real)


def test_missing_fields_name_the_metric():
  """A set without features tells which metric needed them."""
  with pytest.raises(ValueError, match="FID needs the features"):
    cm.FID()(base.EvalSet(logits=FAKE), base.EvalSet(features=REAL))
