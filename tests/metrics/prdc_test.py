"""Tests of compare_gan2.metrics.prdc against a brute-force NumPy reference.

The reference below follows the definitions literally (Kynkäänniemi et al.
2019 §2; Naeem et al. 2020 §3) with the open balls of the authors' code
(clovaai/generative-evaluation-prdc): a full distance matrix from explicit
differences, sorted rows for the k-NN radii, and Python loops for the sums.
"""

import gin
import numpy as np
import pytest

from compare_gan2.metrics import base, prdc


def _distance_matrix(x, y):
  return np.array([[np.sqrt(np.sum((xi - yj) ** 2)) for yj in y] for xi in x])


def _kth_neighbour_radii(x, k):
  # Row i sorted: index 0 is x_i itself (distance 0), index k the k-th neighbour.
  return np.array([sorted(row)[k] for row in _distance_matrix(x, x)])


def _brute_force_prdc(real, fake, k):
  dist = _distance_matrix(real, fake)
  real_radii, fake_radii = _kth_neighbour_radii(real, k), _kth_neighbour_radii(fake, k)
  n, m = dist.shape
  in_ball = [[dist[i, j] < real_radii[i] for j in range(m)] for i in range(n)]
  return {
      "precision": sum(any(in_ball[i][j] for i in range(n)) for j in range(m)) / m,
      "recall": sum(any(dist[i, j] < fake_radii[j] for j in range(m)) for i in range(n)) / n,
      "density": sum(in_ball[i][j] for i in range(n) for j in range(m)) / (k * m),
      "coverage": sum(any(in_ball[i]) for i in range(n)) / n,
  }


@pytest.mark.parametrize("n_real, n_fake, dim, k, shift, seed", [
    (30, 30, 4, 3, 0.5, 0),
    (40, 25, 6, 5, 1.0, 1),
    (20, 35, 3, 1, 0.3, 2),
    (50, 50, 8, 5, 0.0, 3),
])
def test_matches_brute_force(n_real, n_fake, dim, k, shift, seed):
  """All four numbers equal the brute-force reference (counts exactly, density to 1e-12)."""
  rng = np.random.default_rng(seed)
  real = rng.normal(size=(n_real, dim)) + 3.0  # Offset: features need not be centred.
  fake = rng.normal(size=(n_fake, dim)) * 1.3 + 3.0 + shift
  got = prdc.compute_prdc(real, fake, nearest_k=k, block_size=7)
  expected = _brute_force_prdc(real, fake, k)
  for key in ("precision", "recall", "coverage"):
    assert got[key] == expected[key], key
  assert got["density"] == pytest.approx(expected["density"], abs=1e-12)
  # The cases are not degenerate: some numbers lie strictly inside (0, 1).
  assert any(0 < value < 1 for value in expected.values())


def test_float32_input_matches_float64_reference():
  """float32 features (the evaluator's dtype) are computed in float64 and agree."""
  rng = np.random.default_rng(4)
  real = rng.random(size=(30, 5)).astype(np.float32)
  fake = (rng.random(size=(30, 5)) * 1.2).astype(np.float32)
  got = prdc.compute_prdc(real, fake, nearest_k=3)
  expected = _brute_force_prdc(real.astype(np.float64), fake.astype(np.float64), 3)
  assert got == pytest.approx(expected, abs=1e-12)


def test_identical_sets():
  """Fake = real: precision = recall = coverage = 1 and density exactly 1 (each
  Y_j in exactly k balls). A BLAS product computes x @ x.T (the radii) and
  x @ y.T (the balls) differently on AVX-512, which put two ball counts off."""
  real = np.random.default_rng(5).normal(size=(60, 10))
  got = prdc.compute_prdc(real, real.copy(), nearest_k=5)
  assert got == {"precision": 1.0, "recall": 1.0, "density": 1.0, "coverage": 1.0}


def test_exact_distance_depends_on_the_two_rows_only():
  """The same pair gives the same bits at any place, in any order (odd D, so
  rows sit at different alignments)."""
  x = np.random.default_rng(10).normal(size=(9, 13)) * 50
  i, j = np.array([0, 3, 8, 2]), np.array([5, 1, 4, 7])
  forward = prdc._exact_distances(x, x, i, j)  # pylint: disable=protected-access
  shuffled = prdc._exact_distances(x[::-1].copy(), x, 8 - i, j, chunk=3)  # pylint: disable=protected-access
  backward = prdc._exact_distances(x, x, j, i)  # pylint: disable=protected-access
  assert forward.tobytes() == shuffled.tobytes() == backward.tobytes()


def test_fast_distances_are_within_their_bound():
  """The BLAS distances that decide alone are within the stated bound of the exact ones."""
  rng = np.random.default_rng(11)
  x, y = rng.normal(size=(20, 300)) + 40.0, rng.normal(size=(15, 300)) + 40.0
  for rows, dist, bound in prdc._blocks(x, y, 8):  # pylint: disable=protected-access
    i, j = np.nonzero(np.ones_like(dist, dtype=bool))
    exact = prdc._exact_distances(x, y, rows.start + i, j).reshape(dist.shape)  # pylint: disable=protected-access
    assert np.all(np.abs(dist - exact) <= bound) and np.all(bound < 1e-6 * exact)


def test_disjoint_sets_far_apart():
  """Clouds 1000σ apart: no point falls in a ball of the other set, all four are 0."""
  rng = np.random.default_rng(6)
  real, fake = rng.normal(size=(40, 4)), rng.normal(size=(30, 4)) + 1000
  got = prdc.compute_prdc(real, fake, nearest_k=3)
  assert got == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_block_size_does_not_change_the_result():
  """Row blocks of 1, 3, 16 and all rows give identical numbers."""
  rng = np.random.default_rng(7)
  real, fake = rng.normal(size=(33, 5)), rng.normal(size=(29, 5)) + 0.4
  results = [prdc.compute_prdc(real, fake, 4, block_size=b) for b in (1, 3, 16, 1000)]
  assert all(result == results[0] for result in results[1:])


def test_inputs_are_not_modified():
  """The caller's arrays are left as they were (centring works on copies)."""
  rng = np.random.default_rng(8)
  real, fake = rng.normal(size=(10, 3)), rng.normal(size=(10, 3))
  real_before, fake_before = real.copy(), fake.copy()
  prdc.compute_prdc(real, fake, nearest_k=2)
  np.testing.assert_array_equal(real, real_before)
  np.testing.assert_array_equal(fake, fake_before)


@pytest.mark.parametrize("nearest_k", [0, -1, 2.5, True, 10, 12])
def test_invalid_nearest_k(nearest_k):
  """k must be an integer in [1, min(N, M) − 1] (here min(N, M) = 10)."""
  with pytest.raises(ValueError, match="nearest_k"):
    prdc.compute_prdc(np.zeros([12, 2]), np.ones([10, 2]), nearest_k=nearest_k)


@pytest.mark.parametrize("real, fake, match", [
    (np.zeros([10, 3]), np.zeros([10, 4]), "same size"),
    (np.zeros([10]), np.zeros([10, 4]), "real features must have rank 2"),
    (np.zeros([10, 4]), np.zeros([10, 4, 1]), "fake features must have rank 2"),
])
def test_invalid_shapes(real, fake, match):
  """Different feature sizes and non-matrix inputs are ValueErrors naming the input."""
  with pytest.raises(ValueError, match=match):
    prdc.compute_prdc(real, fake, nearest_k=2)


def test_invalid_block_size():
  """block_size < 1 is a ValueError."""
  with pytest.raises(ValueError, match="block_size"):
    prdc.compute_prdc(np.zeros([5, 2]), np.zeros([5, 2]), nearest_k=2, block_size=0)


def test_subsample_draws_distinct_rows():
  """subsample keeps max_samples distinct input rows, and is a no-op when small."""
  features = np.arange(40.0).reshape(20, 2)
  picked = prdc.subsample(features, 8, np.random.default_rng(0))
  assert picked.shape == (8, 2)
  assert len({tuple(row) for row in picked}) == 8
  assert all(tuple(row) in {tuple(r) for r in features} for row in picked)
  assert prdc.subsample(features, 20, np.random.default_rng(0)) is features
  assert prdc.subsample(features, None, np.random.default_rng(0)) is features


def _eval_set(features):
  return base.EvalSet(features=np.asarray(features, dtype=np.float32))


def test_metric_keys_and_values():
  """PRDC returns the four numbers of compute_prdc under "prdc_" keys (no subsampling)."""
  rng = np.random.default_rng(9)
  real, fake = rng.normal(size=(30, 4)), rng.normal(size=(30, 4)) + 0.5
  scores = prdc.PRDC(nearest_k=3, max_samples=None)(_eval_set(fake), _eval_set(real))
  expected = _brute_force_prdc(real.astype(np.float32).astype(np.float64),
                               fake.astype(np.float32).astype(np.float64), 3)
  assert scores == pytest.approx({f"prdc_{key}": value for key, value in expected.items()},
                                 abs=1e-12)


def test_metric_subsampling_is_seeded():
  """With max_samples < N the result is reproducible for a seed and depends on it."""
  rng = np.random.default_rng(10)
  fake, real = _eval_set(rng.normal(size=(80, 3))), _eval_set(rng.normal(size=(80, 3)) + 0.3)
  metric = prdc.PRDC(nearest_k=3, max_samples=30, seed=1)
  assert metric(fake, real) == metric(fake, real)
  others = [prdc.PRDC(nearest_k=3, max_samples=30, seed=s)(fake, real) for s in (2, 3, 4)]
  assert any(other != metric(fake, real) for other in others)


def test_metric_bad_max_samples_and_missing_features():
  """max_samples < 2 and an EvalSet without features are ValueErrors."""
  with pytest.raises(ValueError, match="max_samples"):
    prdc.PRDC(max_samples=1)
  with pytest.raises(ValueError, match="prdc"):
    prdc.PRDC()(base.EvalSet(), _eval_set(np.zeros([10, 2])))


def test_metric_interface_and_gin():
  """Name, requirements, and gin binding through `metrics.PRDC`."""
  assert prdc.PRDC.name == "prdc"
  assert prdc.PRDC.requires == {base.FEATURES, base.REAL_FEATURES}
  gin.parse_config("metrics.PRDC.nearest_k = 3")
  assert gin.get_configurable("metrics.PRDC")().nearest_k == 3
