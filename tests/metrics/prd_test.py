"""Tests of compare_gan2.metrics.prd against compare_gan's pinned PRD numbers.

The pinned values come from compare_gan `metrics/prd_score_test.py`
(the PRD and F-beta cases).
"""

import gin
import numpy as np
import pytest

from compare_gan2.metrics import base, prd


def test_compute_prd_no_overlap():
  """Disjoint supports: every precision and recall is ~0 (prd_score_test.py:29-33)."""
  precision, recall = prd.compute_prd([0, 1], [1, 0])
  np.testing.assert_almost_equal(precision, 0)
  np.testing.assert_almost_equal(recall, 0)


def test_compute_prd_perfect_overlap():
  """eval = ref: at λ = 1 (index 5 of 11 angles) P = R = 1 (prd_score_test.py:35-39)."""
  precision, recall = prd.compute_prd([1, 0], [1, 0], num_angles=11)
  np.testing.assert_almost_equal([precision[5], recall[5]], [1, 1])


def test_compute_prd_low_precision_high_recall_full_curve():
  """eval [.5, .5] vs ref [1, 0]: the whole 11-angle curve of the reference doc."""
  precision, recall = prd.compute_prd([0.5, 0.5], [1, 0], num_angles=11)
  np.testing.assert_almost_equal(precision, [0, .1584, .3249] + [.5] * 8, decimal=4)
  np.testing.assert_almost_equal(
      recall, [1, 1, 1, .9813, .6882, .5, .3633, .2548, .1625, .0792, 0], decimal=4)


def test_compute_prd_high_precision_low_recall():
  """eval [1, 0] vs ref [.5, .5]: P[5] = R[5] = .5, R[1] = .5, P[10] = 1 (:50-56)."""
  precision, recall = prd.compute_prd([1, 0], [0.5, 0.5], num_angles=11)
  np.testing.assert_almost_equal([precision[5], recall[5]], [0.5, 0.5])
  np.testing.assert_almost_equal(recall[1], 0.5)
  np.testing.assert_almost_equal(precision[10], 1)


def test_compute_prd_never_exceeds_one():
  """Rounding cannot push P or R above 1 for eval = ref (else the F_β checks fail)."""
  dist = np.full(7, 1 / 7)
  precision, recall = prd.compute_prd(dist, dist)
  assert precision.max() <= 1 and recall.max() <= 1
  np.testing.assert_allclose(precision[500], 1, rtol=1e-12)


@pytest.mark.parametrize("epsilon", [0, 1, -1, 0.1])
def test_compute_prd_bad_epsilon(epsilon):
  """ε must lie in (0, 0.1), strictly (prd_score_test.py:58-64; prd_score.py:72-75)."""
  with pytest.raises(ValueError, match="epsilon"):
    prd.compute_prd([1], [1], epsilon=epsilon)


@pytest.mark.parametrize("num_angles", [0, 1, -1, 1e6 + 1, 2.5, 4.5])
def test_compute_prd_bad_num_angles(num_angles):
  """num_angles must be an integer in [3, 1e6] (prd_score_test.py:66-76; 4.5 is ours)."""
  with pytest.raises(ValueError, match="num_angles"):
    prd.compute_prd([1], [1], num_angles=num_angles)


def test_compute_prd_mismatched_distributions():
  """Distributions over different numbers of states are rejected by name."""
  with pytest.raises(ValueError, match="eval_dist and ref_dist"):
    prd.compute_prd([0.5, 0.5], [1.0, 0.0, 0.0])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_cluster_into_bins_histograms():
  """zeros(5, 4) vs ones(5, 4), 3 clusters: two length-3 histograms summing to 1
  (prd_score_test.py:78-87); each set sits in one cluster, a different one."""
  eval_bins, ref_bins = prd.cluster_into_bins(np.zeros([5, 4]), np.ones([5, 4]), 3, random_state=0)
  assert eval_bins.shape == ref_bins.shape == (3,)
  np.testing.assert_almost_equal([eval_bins.sum(), ref_bins.sum()], [1, 1])
  assert sorted(eval_bins) == [0, 0, 1] and sorted(ref_bins) == [0, 0, 1]
  assert np.argmax(eval_bins) != np.argmax(ref_bins)


def test_enforce_balance_rejects_unequal_sizes():
  """3 vs 2 points with enforce_balance=True is a ValueError (prd_score_test.py:89-105)."""
  with pytest.raises(ValueError, match="enforce_balance"):
    prd.compute_prd_from_embedding(np.array([[0], [0], [1]]), np.array([[0], [1]]),
                                   num_clusters=2, enforce_balance=True)


def test_enforce_balance_off_accepts_unequal_sizes():
  """The same input with enforce_balance=False gives a valid curve (prd_score_test.py:89-105)."""
  precision, recall = prd.compute_prd_from_embedding(
      np.array([[0], [0], [1]]), np.array([[0], [1]]), num_clusters=2,
      enforce_balance=False, num_runs=2, seed=0)
  assert precision.shape == recall.shape == (1001,)
  assert np.all((precision >= 0) & (precision <= 1) & (recall >= 0) & (recall <= 1))


def test_compute_prd_from_embedding_feature_size_mismatch():
  """Embeddings of different sizes are rejected with both shapes in the message."""
  with pytest.raises(ValueError, match="feature size"):
    prd.compute_prd_from_embedding(np.zeros([4, 3]), np.zeros([4, 2]))


def test_compute_prd_from_embedding_is_reproducible_with_seed():
  """A fixed seed gives bit-identical curves; MiniBatchKMeans is otherwise random."""
  rng = np.random.default_rng(1)
  fake, real = rng.normal(size=(120, 5)), rng.normal(size=(120, 5)) + 0.5
  first = prd.compute_prd_from_embedding(fake, real, num_clusters=10, num_runs=2, seed=7)
  second = prd.compute_prd_from_embedding(fake, real, num_clusters=10, num_runs=2, seed=7)
  np.testing.assert_array_equal(first, second)


_P = np.array([1, 1, 0, 0, 0.5, 1, 0.5])
_R = np.array([1, 0, 1, 0, 0.5, 0.5, 1])


@pytest.mark.parametrize("beta, expected", [
    (1, [1, 0, 0, 0, 0.5, 2 / 3, 2 / 3]),
    (2, [1, 0, 0, 0, 0.5, 5 / 9, 5 / 6]),
    (1 / 2, [1, 0, 0, 0, 0.5, 5 / 6, 5 / 9]),
])
def test_prd_to_f_beta_table(beta, expected):
  """The F-beta table of prd_score_test.py:107-133 (p = r = 0 gives 0, not NaN)."""
  np.testing.assert_almost_equal(prd.prd_to_f_beta(_P, _R, beta=beta), expected)


def test_prd_to_f_beta_empty():
  """Empty precision and recall give an empty result (prd_score_test.py:107-139)."""
  assert prd.prd_to_f_beta(np.array([]), np.array([]), beta=1).shape == (0,)


@pytest.mark.parametrize("precision, recall, beta, what", [
    (np.ones(1), np.ones(1), 0, "beta"),
    (np.ones(1), np.ones(1), -3, "beta"),
    (-np.ones(1), np.ones(1), 1, "precision"),
    (np.ones(1), -np.ones(1), 1, "recall"),
])
def test_prd_to_f_beta_bad_arguments(precision, recall, beta, what):
  """β <= 0 and values outside [0, 1] are ValueErrors (prd_score_test.py:107-139)."""
  with pytest.raises(ValueError, match=what):
    prd.prd_to_f_beta(precision, recall, beta=beta)
  with pytest.raises(ValueError, match=what):
    prd.prd_to_max_f_beta_pair(precision, recall, beta=beta)


def test_prd_to_max_f_beta_pair_matches_harmonic_form():
  """(max F_8, max F_1/8) equals the weighted-harmonic-mean form of F_β, maximised."""
  precision, recall = np.array([1, 0.5, 0.2, 0.05]), np.array([0.1, 0.5, 0.9, 1.0])

  def harmonic(beta):
    weight = beta**2 / (1 + beta**2)
    return max(1 / ((1 - weight) / p + weight / r) for p, r in zip(precision, recall))

  f8, f1_8 = prd.prd_to_max_f_beta_pair(precision, recall, beta=8)
  np.testing.assert_allclose([f8, f1_8], [harmonic(8), harmonic(1 / 8)], rtol=1e-8)


@pytest.mark.parametrize("num_curves, labels", [(3, ["1", "2"]), (1, ["1", "2", "3"])])
def test_plot_label_count_mismatch(num_curves, labels, tmp_path):
  """Too few or too many labels is a ValueError (prd_score_test.py:141-147)."""
  with pytest.raises(ValueError, match="labels"):
    prd.plot(np.zeros([num_curves, 2, 5]), labels=labels, out_path=str(tmp_path / "x.png"))


@pytest.mark.parametrize("labels", [None, ["GAN 1", "GAN 2"]])
def test_plot_writes_png(labels, tmp_path):
  """plot writes a PNG of at most 3.5 in × 150 dpi = 525 px a side (bbox is tight)."""
  out = tmp_path / "prd.png"
  curves = [prd.compute_prd([0.5, 0.5], [1, 0], 11), prd.compute_prd([1, 0], [0.5, 0.5], 11)]
  prd.plot(curves, labels, str(out))
  data = out.read_bytes()
  assert data[:8] == b"\x89PNG\r\n\x1a\n"
  width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
  assert 200 < width <= 525 and 200 < height <= 525


def _eval_set(features):
  return base.EvalSet(features=np.asarray(features, dtype=np.float32))


def test_prd_metric_identical_features():
  """The same features as fake and real: P = R = 1 at λ = 1, so F_8 and F_1/8 ~ 1."""
  features = np.random.default_rng(0).normal(size=(200, 8))
  scores = prd.PRD(num_runs=2)(_eval_set(features), _eval_set(features))
  assert set(scores) == {"prd_f8", "prd_f1_8"}
  np.testing.assert_allclose([scores["prd_f8"], scores["prd_f1_8"]], 1, atol=1e-6)


def test_prd_metric_same_distribution_is_high():
  """Two independent samples of one Gaussian: both summaries close to 1."""
  rng = np.random.default_rng(0)
  scores = prd.PRD(num_runs=2)(_eval_set(rng.normal(size=(200, 8))),
                               _eval_set(rng.normal(size=(200, 8))))
  assert scores["prd_f8"] > 0.9 and scores["prd_f1_8"] > 0.9


def test_prd_metric_disjoint_clouds_is_zero():
  """Clouds 100σ apart never share a cluster, so both summaries are 0."""
  rng = np.random.default_rng(0)
  scores = prd.PRD(num_runs=2)(_eval_set(rng.normal(size=(200, 8))),
                               _eval_set(rng.normal(size=(200, 8)) + 100))
  np.testing.assert_allclose([scores["prd_f8"], scores["prd_f1_8"]], 0, atol=1e-6)


def test_prd_metric_is_reproducible_and_curves_match():
  """Same seed, same scores; the scores are the F_β pair of `curves`."""
  rng = np.random.default_rng(3)
  fake, real = _eval_set(rng.normal(size=(100, 4))), _eval_set(rng.normal(size=(100, 4)) + 1)
  metric = prd.PRD(num_clusters=8, num_runs=2, seed=5)
  assert metric(fake, real) == metric(fake, real)
  f8, f1_8 = prd.prd_to_max_f_beta_pair(*metric.curves(fake, real))
  assert metric(fake, real) == {"prd_f8": f8, "prd_f1_8": f1_8}


def test_prd_metric_needs_features():
  """An EvalSet without features is a ValueError naming the metric."""
  with pytest.raises(ValueError, match="prd"):
    prd.PRD()(base.EvalSet(), _eval_set(np.zeros([4, 2])))


def test_prd_metric_interface_and_gin():
  """Name, requirements, and gin binding through `metrics.PRD`."""
  assert prd.PRD.name == "prd"
  assert prd.PRD.requires == {base.FEATURES, base.REAL_FEATURES}
  gin.parse_config("metrics.PRD.num_clusters = 7")
  assert gin.get_configurable("metrics.PRD")().num_clusters == 7
