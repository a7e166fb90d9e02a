"""Tests for compare_gan2.metrics.fractal_dimension (compare_gan metrics/fractal_dimension.py)."""

import gin
import numpy as np
import pytest
import scipy.spatial

from compare_gan2.metrics import base
from compare_gan2.metrics import fractal_dimension


def _less_outer_dimension(points: np.ndarray, rng: np.random.RandomState, num_fd_seeds: int,
                          n_bins: int, scale: float = 0.1) -> float:
  """compare_gan's estimator as written there, counting N(r) with np.less.outer (small N only)."""
  points = points.reshape(len(points), -1)
  seeds = points[rng.randint(len(points), size=num_fd_seeds)]
  distances = scipy.spatial.distance.cdist(points, seeds).flatten()
  r_min, r_max = np.min(distances[np.nonzero(distances)]), np.max(distances)
  buckets = r_min * ((r_max / r_min) ** np.linspace(0, 1, n_bins))
  counts = np.sum(np.less.outer(distances, buckets[1:]), axis=0)
  with np.errstate(divide="ignore"):
    x, y = np.log(buckets[1:]), np.log(counts)
  max_y, min_y = np.log(len(points) * num_fd_seeds), np.log(num_fd_seeds)
  middle, width = (max_y + min_y) / 2, max_y - min_y
  start, end = np.argmax(y > middle - scale * width), np.argmax(y > middle + scale * width)
  design = np.vstack([x[start:end], np.ones(end - start)]).T
  return np.linalg.lstsq(design, y[start:end], rcond=None)[0][0]


@pytest.mark.parametrize("dim, want", [(1, 0.986364), (2, 1.942523)])
def test_pinned_values_with_numpy_seed_zero(dim, want):
  """§4: np.random.seed(0), uniform(size=(10000, dim)), then the call (seeds from that stream)."""
  stream = np.random.RandomState(0)
  points = stream.uniform(size=(10000, dim))
  got = fractal_dimension.compute_fractal_dimension(points, seed=stream)
  assert got == pytest.approx(want, abs=1e-5)


def test_global_rng_by_default_as_compare_gan():
  """seed=None uses NumPy's global RNG: np.random.seed(0) reproduces compare_gan's values."""
  np.random.seed(0)
  got = fractal_dimension.compute_fractal_dimension(np.random.uniform(size=(10000, 1)))
  assert got == pytest.approx(0.986364, abs=1e-5)


@pytest.mark.parametrize("dim, atol", [(1, 0.05), (2, 0.1)])
def test_line_and_square_dimensions(dim, atol):
  """fractal_dimension_test.py:28-40: a uniform line has dimension 1 ± 0.05, a square 2 ± 0.1."""
  rng = np.random.default_rng(7)
  points = rng.uniform(size=(10000, dim))
  got = fractal_dimension.compute_fractal_dimension(points, seed=rng)
  assert got == pytest.approx(float(dim), abs=atol)


@pytest.mark.parametrize("kind", ["gaussian", "integer_grid"])
def test_searchsorted_counting_equals_less_outer(kind):
  """Sorted-distance counting gives the dimension of compare_gan's np.less.outer version."""
  rng = np.random.RandomState(3)
  if kind == "gaussian":
    points = rng.normal(size=(300, 4))
  else:  # Many equal distances; exact ties at an edge are pinned by the next test.
    points = rng.randint(0, 5, size=(300, 3)).astype(np.float64)
  want = _less_outer_dimension(points, np.random.RandomState(11), num_fd_seeds=20, n_bins=60)
  got = fractal_dimension.compute_fractal_dimension(
      points, num_fd_seeds=20, n_bins=60, seed=np.random.RandomState(11))
  assert got == pytest.approx(want, rel=1e-12)


def test_count_within_is_strict_less_than():
  """count_within(d, r) = #{d < r} per radius, equal to the sum of np.less.outer."""
  distances = np.array([0.0, 1.0, 1.0, 2.0, 3.5, 3.5, 7.0])
  radii = np.array([0.0, 0.5, 1.0, 1.5, 3.5, 7.0, 8.0])
  want = np.sum(np.less.outer(distances, radii), axis=0)
  np.testing.assert_array_equal(fractal_dimension.count_within(distances, radii), want)


def test_scale_invariance_of_images():
  """The slope ignores the pixel range: images in [0, 1] and in [0, 255] give the same value."""
  images = np.random.RandomState(4).uniform(size=(500, 4, 4, 3))
  values = [fractal_dimension.compute_fractal_dimension(images * factor, num_fd_seeds=20, seed=5)
            for factor in (1.0, 255.0)]
  assert values[0] == pytest.approx(values[1], rel=1e-9)


def test_metric_scores_fakes_and_reports_reals_separately():
  """"fractal_dimension" is the fakes' (compare_gan scored the reals), "_real" the reals'."""
  rng = np.random.RandomState(5)
  # Images whose pixels all lie on a line (dimension 1) vs filling a 2-D plane.
  line = np.broadcast_to(rng.uniform(size=(2000, 1, 1, 1)), (2000, 2, 2, 1))
  plane_coords = rng.uniform(size=(2000, 2))
  plane = np.stack([plane_coords[:, 0], plane_coords[:, 1]] * 2, axis=1).reshape(2000, 2, 2, 1)
  metric = fractal_dimension.FractalDimension(num_fd_seeds=50)
  result = metric(base.EvalSet(images=line), base.EvalSet(images=plane))
  assert result["fractal_dimension"] == pytest.approx(1.0, abs=0.1)
  assert result["fractal_dimension_real"] == pytest.approx(2.0, abs=0.2)
  only_fakes = metric(base.EvalSet(images=plane), base.EvalSet())
  assert only_fakes == {"fractal_dimension": result["fractal_dimension_real"]}


def test_metric_max_images_and_gin():
  """max_images keeps the first images; name, requirements, gin via `metrics.FractalDimension`."""
  points = np.random.RandomState(6).uniform(size=(600, 2))
  metric = fractal_dimension.FractalDimension(num_fd_seeds=20, max_images=300, seed=1)
  want = fractal_dimension.compute_fractal_dimension(points[:300], num_fd_seeds=20, seed=1)
  assert metric(base.EvalSet(images=points), base.EvalSet()) == {"fractal_dimension": want}
  assert fractal_dimension.FractalDimension.name == "fractal_dimension"
  assert fractal_dimension.FractalDimension.requires == frozenset({base.IMAGES})
  gin.parse_config("metrics.FractalDimension.n_bins = 50")
  assert gin.get_configurable("metrics.FractalDimension")().n_bins == 50


@pytest.mark.parametrize("points, kwargs, match", [
    (np.zeros([0, 2]), {}, "no points"),
    (np.zeros([10]), {}, "rank"),
    (np.ones([200, 2]), {}, "distinct"),
    (np.random.RandomState(0).uniform(size=(200, 2)), {"n_bins": 1}, "n_bins"),
    (np.random.RandomState(0).uniform(size=(200, 2)), {"num_fd_seeds": 0}, "num_fd_seeds"),
    (np.random.RandomState(0).uniform(size=(50, 2)), {}, "at least num_fd_seeds"),
    (np.random.RandomState(0).uniform(size=(200, 2)), {"scale": 0.5}, "scale"),
    (np.random.RandomState(0).uniform(size=(200, 2)), {"n_bins": 3}, "fit window"),
])
def test_bad_arguments_raise(points, kwargs, match):
  """Empty or rank-1 input, equal points, n_bins < 2, seeds < 1, N < seeds, bad scale, empty fit."""
  with pytest.raises(ValueError, match=match):
    fractal_dimension.compute_fractal_dimension(points, **kwargs)
