"""Fractal (correlation) dimension of a sample set.

The slope of log N(r) against log r, where N(r) counts the pairs (point, seed)
closer than r (Grassberger & Procaccia 1983, "Measuring the strangeness of
strange attractors", eq. 2-3: C(r) ∝ r^ν), fitted on the middle of the curve.
Ported from compare_gan `metrics/fractal_dimension.py:39-97` (pinned
numbers from its `fractal_dimension_test.py`).

compare_gan counted N(r) for all bucket edges at once with `np.less.outer`, an
[N·seeds, n_bins] boolean table (5·10⁹ entries for 50k images); here the
distances are sorted once and N(r) = #{d < r} is a binary search, which gives
the same counts in O(N·seeds·log) time and O(N·seeds) memory. The metric class
scores the *generated* images (compare_gan's task received the real set through
an argument shift) and draws its seeds from an explicit seed.
"""

import dataclasses
from typing import ClassVar

import numpy as np
import scipy.spatial

from compare_gan2 import registry
from compare_gan2.metrics import base

Rng = np.random.Generator | np.random.RandomState


def _draw_seed_rows(num_points: int, num_fd_seeds: int, seed: int | Rng | None) -> np.ndarray:
  """Seed indices with replacement, as compare_gan's `np.random.randint` (:63-64).

  None draws from NumPy's global RNG (compare_gan's behaviour); an int seeds a
  RandomState, so the global-RNG stream after np.random.seed(int) is repeated.
  """
  if seed is None:
    return np.random.randint(num_points, size=num_fd_seeds)
  if isinstance(seed, np.random.Generator):
    return seed.integers(num_points, size=num_fd_seeds)
  rng = seed if isinstance(seed, np.random.RandomState) else np.random.RandomState(seed)
  return rng.randint(num_points, size=num_fd_seeds)


def count_within(distances: np.ndarray, radii: np.ndarray) -> np.ndarray:
  """N(r) = #{d in distances : d < r} for every r in radii.

  Equal to compare_gan's `np.sum(np.less.outer(distances, radii), axis=0)`
  (fractal_dimension.py:77-78): a left-sided binary search in the sorted
  distances counts exactly the values strictly below r.
  """
  return np.searchsorted(np.sort(np.ravel(distances)), radii, side="left")


def _log_log_curve(distances: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
  """(log r, log N(r)) at the n_bins − 1 upper edges of log-spaced buckets.

  The buckets run from the smallest non-zero to the largest distance
  (fractal_dimension.py:66-78).
  """
  distances = np.ravel(distances)
  nonzero = distances[distances > 0]
  if not nonzero.size:
    raise ValueError("compute_fractal_dimension needs distinct points; all distances are 0.")
  min_distance, max_distance = np.min(nonzero), np.max(distances)
  radii = min_distance * ((max_distance / min_distance) ** np.linspace(0, 1, n_bins))[1:]
  with np.errstate(divide="ignore"):  # Empty buckets give log 0 = −inf, outside the window.
    return np.log(radii), np.log(count_within(distances, radii).astype(np.float64))


def _fit_window(log_counts: np.ndarray, num_points: int, num_fd_seeds: int,
                scale: float) -> tuple[int, int]:
  """[start, end) of the curve within ±scale·width of the middle of log N.

  The y range runs from log(seeds) to log(N·seeds) (fractal_dimension.py:84-94).
  Raises a ValueError when fewer than two points fall inside.
  """
  max_y, min_y = np.log(num_points * num_fd_seeds), np.log(num_fd_seeds)
  y_width = max_y - min_y
  y_mid = min_y + 0.5 * y_width
  start = int(np.argmax(log_counts > y_mid - scale * y_width))
  end = int(np.argmax(log_counts > y_mid + scale * y_width))
  if end - start < 2:
    raise ValueError(f"compute_fractal_dimension: the fit window holds {max(end - start, 0)} "
                     f"bucket edges; use more n_bins (got {len(log_counts) + 1}) or a larger "
                     f"scale (got {scale}).")
  return start, end


def _check_arguments(points: np.ndarray, num_fd_seeds: int, n_bins: int, scale: float) -> None:
  if points.ndim < 2:
    raise ValueError(f"compute_fractal_dimension needs points of rank >= 2 [N, ...], got shape "
                     f"{points.shape}.")
  if not len(points):
    raise ValueError(f"compute_fractal_dimension got no points (shape {points.shape}).")
  if num_fd_seeds < 1:
    raise ValueError(f"num_fd_seeds must be >= 1, got {num_fd_seeds}.")
  if len(points) < num_fd_seeds:
    raise ValueError(f"compute_fractal_dimension needs at least num_fd_seeds = {num_fd_seeds} "
                     f"points, got shape {points.shape}.")
  if n_bins < 2:
    raise ValueError(f"n_bins must be >= 2, got {n_bins}.")
  if not 0 < scale < 0.5:
    raise ValueError(f"scale must lie in (0, 0.5), got {scale}.")


def compute_fractal_dimension(images_or_points: np.ndarray, num_fd_seeds: int = 100,
                              n_bins: int = 1000, scale: float = 0.1,
                              seed: int | Rng | None = None) -> float:
  """The fractal dimension of a point set, compare_gan's estimator.

  compare_gan `metrics/fractal_dimension.py:39-97`: N(r) = #{d(point, seed) < r}
  at n_bins log-spaced radii, for `num_fd_seeds` seed rows drawn with
  replacement; the slope a of the least-squares fit log N = a·log r + b where
  log N lies within ±scale·W of the middle of [log seeds, log N·seeds] (W its
  width). Scale-invariant: images in [0, 1] and [0, 255] agree.

  Args:
    images_or_points: [N, ...] samples, flattened to [N, D].
    num_fd_seeds: centres the distances are measured from (N >= num_fd_seeds).
    n_bins: bucket edges on the distance axis (>= 2).
    scale: half-width of the fitted y interval, as a fraction of the y range.
    seed: where the seed rows come from: None for NumPy's global RNG (as
      compare_gan), an int, a np.random.RandomState or a np.random.Generator.

  Returns:
    The fitted slope.

  Raises:
    ValueError: for samples of rank < 2, none or fewer than num_fd_seeds,
      num_fd_seeds < 1, n_bins < 2, scale outside (0, 0.5), all samples
      equal, or a fit window of fewer than two bucket edges.
  """
  points = np.asarray(images_or_points)
  _check_arguments(points, num_fd_seeds, n_bins, scale)
  points = np.reshape(points, (len(points), -1)).astype(np.float64)
  seeds = points[_draw_seed_rows(len(points), num_fd_seeds, seed)]
  log_radii, log_counts = _log_log_curve(scipy.spatial.distance.cdist(points, seeds), n_bins)
  start, end = _fit_window(log_counts, len(points), num_fd_seeds, scale)
  x = log_radii[start:end]
  design = np.stack([x, np.ones_like(x)], axis=1)
  slope = np.linalg.lstsq(design, log_counts[start:end], rcond=None)[0][0]
  return float(slope)


@registry.register(module="compare_gan2.metrics")
@dataclasses.dataclass(frozen=True)
class FractalDimension:
  """Fractal dimension of the generated images, flattened to vectors.

  compare_gan `metrics/fractal_dimension.py:28-36` (FractalDimensionTask),
  scoring the fakes and drawing the seed rows from `seed`. Returns
  {"fractal_dimension": value of the fakes}, plus {"fractal_dimension_real":
  value of the real images} when the real set carries images.

  Attributes:
    num_fd_seeds: centres the distances are measured from.
    n_bins: bucket edges on the distance axis.
    scale: half-width of the fitted y interval, as a fraction of the y range.
    max_images: images per set used (None: all; compare_gan used all of its
      10k/50k eval samples, and the estimate depends on N).
    seed: seed of the seed-row draw.
  """
  name: ClassVar[str] = "fractal_dimension"
  requires: ClassVar[frozenset[str]] = frozenset({base.IMAGES})

  num_fd_seeds: int = 100
  n_bins: int = 1000
  scale: float = 0.1
  max_images: int | None = None
  seed: int = 0

  def score(self, images: np.ndarray) -> float:
    """The fractal dimension of the first max_images of `images`."""
    return compute_fractal_dimension(
        np.asarray(images)[:self.max_images], num_fd_seeds=self.num_fd_seeds,
        n_bins=self.n_bins, scale=self.scale, seed=self.seed)

  def __call__(self, fake: base.EvalSet, real: base.EvalSet) -> dict[str, float]:
    """{"fractal_dimension": ...} and, with real images, {"..._real": ...}."""
    results = {self.name: self.score(fake.require(base.IMAGES, self.name))}
    if real.images is not None:
      results[f"{self.name}_real"] = self.score(real.images)
    return results
