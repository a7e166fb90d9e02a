"""Improved precision and recall, density and coverage (PRDC) of features.

Beyond compare_gan, as StudioGAN's `src/metrics/prdc.py` (github.com/
POSTECH-CVLab/PyTorch-StudioGAN), which wraps the authors' code (clovaai/generative-evaluation-prdc
`prdc/prdc.py`). With real features X_1..X_N, fake features Y_1..Y_M and
NND_k(x) the distance from x to its k-th nearest neighbour in its own set:

- Kynkäänniemi et al. 2019, "Improved Precision and Recall Metric for
  Assessing Generative Models" (NeurIPS), §2, eqs. (1)-(2):
  precision = 1/M Σ_j 1[∃i: Y_j ∈ B(X_i, NND_k(X_i))],
  recall = 1/N Σ_i 1[∃j: X_i ∈ B(Y_j, NND_k(Y_j))];
- Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for Generative
  Models" (ICML), §3:
  density = 1/(kM) Σ_j Σ_i 1[Y_j ∈ B(X_i, NND_k(X_i))],
  coverage = 1/N Σ_i 1[∃j: Y_j ∈ B(X_i, NND_k(X_i))].

The balls are open (distance < radius), as in the authors' code and
StudioGAN, whose numbers this reproduces; the papers write "≤". Distances are
computed in float64 in row blocks, so no more than about 4 × `block_size` ×
max(N, M) distances exist at once: 10k + 10k features of size 2048 need about
0.6 GB (two float64 copies of the features, 330 MB, plus the blocks).

Every ball test is decided by one distance, the sum of squared differences of
the two rows, so identical inputs give identical distances on any CPU: fast
BLAS distances decide only where they are farther than their rounding bound
from the radius, and the few pairs near a radius are recomputed exactly.
"""

import dataclasses
from collections.abc import Iterator
from typing import ClassVar

import numpy as np

from compare_gan2 import registry
from compare_gan2.metrics import base

DEFAULT_BLOCK_SIZE = 1024


def _check_inputs(real: np.ndarray, fake: np.ndarray, nearest_k: int,
                  block_size: int) -> tuple[np.ndarray, np.ndarray]:
  # Copies (np.array), so the caller's arrays survive the in-place centring.
  real = base.check_rank(np.array(real, dtype=np.float64), 2, "real features")
  fake = base.check_rank(np.array(fake, dtype=np.float64), 2, "fake features")
  if real.shape[1] != fake.shape[1]:
    raise ValueError(f"real and fake features must have the same size, got shapes "
                     f"{real.shape} and {fake.shape}.")
  smallest = min(len(real), len(fake))
  # NND_k needs k neighbours besides the point itself in each set.
  if isinstance(nearest_k, bool) or not isinstance(nearest_k, (int, np.integer)) or not (
      1 <= nearest_k < smallest):
    raise ValueError(f"nearest_k must be an integer in [1, {smallest - 1}] (the smaller set "
                     f"has {smallest} points), got {nearest_k!r}.")
  if block_size < 1:
    raise ValueError(f"block_size must be >= 1, got {block_size}.")
  return real, fake


# Unit roundoff of float64 (Higham 2002, "Accuracy and Stability of Numerical
# Algorithms", §2.1).
_UNIT_ROUNDOFF = np.finfo(np.float64).eps / 2


def _blocks(x: np.ndarray, y: np.ndarray, block_size: int
            ) -> Iterator[tuple[slice, np.ndarray, np.ndarray]]:
  """Yields (rows, fast squared distances [rows, len(y)], their error bounds).

  The fast distance ‖x‖² − 2x·y + ‖y‖² comes from a BLAS product whose rounding
  depends on the kernel (AVX2 vs AVX-512), on x @ x.T taking another path than
  x @ y.T, and on the element's place in the matrix; it is within the bound of
  `_exact_distances`, |error| ≤ γ_{D+3}(‖x‖ + ‖y‖)² with γ_n = nu/(1 − nu)
  (Higham 2002, §3.1, dot products), taken 3 times for margin.
  """
  y_sq = np.einsum("ij,ij->i", y, y)
  gamma = (x.shape[1] + 3) * _UNIT_ROUNDOFF / (1 - (x.shape[1] + 3) * _UNIT_ROUNDOFF)
  for start in range(0, len(x), block_size):
    rows = slice(start, min(start + block_size, len(x)))
    block = x[rows]
    block_sq = np.einsum("ij,ij->i", block, block)
    # ‖x‖² − 2x·y + ‖y‖², in place so few block-sized arrays are live.
    dist = block @ y.T
    dist *= -2
    dist += block_sq[:, None]
    dist += y_sq[None, :]
    np.maximum(dist, 0, out=dist)  # Rounding can make a zero distance negative.
    bound = np.sqrt(block_sq)[:, None] + np.sqrt(y_sq)[None, :]
    np.square(bound, out=bound)
    bound *= 3 * gamma
    yield rows, dist, bound


def _exact_distances(x: np.ndarray, y: np.ndarray, i: np.ndarray, j: np.ndarray,
                     chunk: int = 1024) -> np.ndarray:
  """‖x_i − y_j‖² for index pairs, as a sum of squared differences.

  The value depends on the two rows' values only: identical rows give identical
  distances wherever they sit, and d(a, b) = d(b, a) bit for bit (a − b = −(b − a)
  exactly). Every decision of `compute_prdc` is the one these distances give.
  """
  out = np.empty(len(i))
  for start in range(0, len(i), chunk):
    pairs = slice(start, start + chunk)
    diff = x[i[pairs]] - y[j[pairs]]
    out[pairs] = np.square(diff, out=diff).sum(axis=1)
  return out


def _below(x: np.ndarray, y: np.ndarray, rows: slice, dist: np.ndarray, bound: np.ndarray,
           radii: np.ndarray) -> np.ndarray:
  """[rows, len(y)]: exact ‖x_i − y_j‖² < radii (broadcast), from the fast
  distances where they are farther than their bound from the radius."""
  radii = np.broadcast_to(radii, dist.shape)
  below = dist < radii
  i, j = np.nonzero(np.abs(dist - radii) <= bound)
  below[i, j] = _exact_distances(x, y, rows.start + i, j) < radii[i, j]
  return below


def _kth_neighbour_sq_radii(x: np.ndarray, nearest_k: int, block_size: int) -> np.ndarray:
  """Exact squared NND_k of every row of x within x (itself excluded).

  The k-th order statistic moves by at most the largest error of its row, so
  only the fast distances within that of the fast k-th value can be it: those
  are recomputed exactly, the ones below are counted.
  """
  radii = np.empty(len(x))
  for rows, dist, bound in _blocks(x, x, block_size):
    local = np.arange(rows.stop - rows.start)
    dist[local, rows.start + local] = bound[local, rows.start + local] = 0  # self: exactly 0
    # Index k of the sorted row: the self-distance 0 occupies index 0.
    kth = np.partition(dist, nearest_k, axis=1)[:, nearest_k, None]
    slack = bound.max(axis=1, keepdims=True)
    surely_below = dist + bound < kth - slack
    i, j = np.nonzero(~surely_below & (dist - bound <= kth + slack))
    exact = _exact_distances(x, x, rows.start + i, j)
    order = np.lexsort((exact, i))  # by row, then distance
    first = np.searchsorted(i[order], local)
    radii[rows] = exact[order][first + nearest_k - surely_below.sum(axis=1)]
  return radii


def _center(real: np.ndarray, fake: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  # Distances are translation invariant; centring shrinks the norms and so the
  # cancellation error of ‖x‖² − 2x·y + ‖y‖² (Inception features are all >= 0).
  # In place: _check_inputs already made float64 copies.
  mean = (real.sum(axis=0) + fake.sum(axis=0)) / (len(real) + len(fake))
  real -= mean
  fake -= mean
  return real, fake


def compute_prdc(real: np.ndarray, fake: np.ndarray, nearest_k: int = 5,
                 block_size: int = DEFAULT_BLOCK_SIZE) -> dict[str, float]:
  """Precision, recall, density and coverage of fake vs real features.

  Matches clovaai/generative-evaluation-prdc `compute_prdc` (used by StudioGAN)
  without its N × M distance matrices: one pass over row blocks of the real
  set against all fakes, after the k-NN radii of each set.

  Args:
    real: [N, D] real features (Kynkäänniemi et al.'s Φ_r, Naeem et al.'s X).
    fake: [M, D] generated features (Φ_g, Y).
    nearest_k: k of the k-NN balls (Kynkäänniemi et al.: 3; Naeem et al. and
      StudioGAN: 5); must be below min(N, M).
    block_size: rows of distances computed at once.

  Returns:
    {"precision", "recall", "density", "coverage"} as floats.

  Raises:
    ValueError: for non-matrix inputs, different feature sizes, a nearest_k
      outside [1, min(N, M) − 1], or block_size < 1.
  """
  real, fake = _center(*_check_inputs(real, fake, nearest_k, block_size))
  real_radii = _kth_neighbour_sq_radii(real, nearest_k, block_size)
  fake_radii = _kth_neighbour_sq_radii(fake, nearest_k, block_size)
  balls_per_fake = np.zeros(len(fake), dtype=np.int64)
  recalled = np.empty(len(real), dtype=bool)
  covered = np.empty(len(real), dtype=bool)
  for rows, dist, bound in _blocks(real, fake, block_size):
    in_real_ball = _below(real, fake, rows, dist, bound, real_radii[rows, None])
    balls_per_fake += in_real_ball.sum(axis=0)
    covered[rows] = in_real_ball.any(axis=1)
    recalled[rows] = _below(real, fake, rows, dist, bound, fake_radii[None, :]).any(axis=1)
  return {
      "precision": float(np.mean(balls_per_fake > 0)),
      "recall": float(np.mean(recalled)),
      "density": float(balls_per_fake.sum() / (nearest_k * len(fake))),
      "coverage": float(np.mean(covered)),
  }


def subsample(features: np.ndarray, max_samples: int | None,
              rng: np.random.Generator) -> np.ndarray:
  """At most `max_samples` rows of `features`, drawn without replacement."""
  if max_samples is None or len(features) <= max_samples:
    return features
  return features[np.sort(rng.choice(len(features), size=max_samples, replace=False))]


@registry.register(module="compare_gan2.metrics")
@dataclasses.dataclass(frozen=True)
class PRDC:
  """Improved precision/recall and density/coverage of fake vs real features.

  The k-NN metrics of Kynkäänniemi et al. 2019 (§2) and Naeem et al. 2020
  (§3), as StudioGAN reports them (`src/metrics/prdc.py`, nearest_k = 5).
  Not in compare_gan. Cost is O((N + M)² D), hence `max_samples`.

  Attributes:
    nearest_k: k of the k-NN balls.
    max_samples: each set is subsampled to at most this many rows (None: all).
    seed: seed of the subsampling.
    block_size: rows of distances computed at once (memory, not results).
  """
  name: ClassVar[str] = "prdc"
  requires: ClassVar[frozenset[str]] = frozenset({base.FEATURES, base.REAL_FEATURES})
  # Reads classifier features only, no images.
  max_images: ClassVar[int | None] = 0

  nearest_k: int = 5
  max_samples: int | None = 10000
  seed: int = 0
  block_size: int = DEFAULT_BLOCK_SIZE

  def __post_init__(self):
    if self.max_samples is not None and self.max_samples < 2:
      raise ValueError(f"PRDC.max_samples must be None or >= 2, got {self.max_samples}.")

  def __call__(self, fake: base.EvalSet, real: base.EvalSet) -> dict[str, float]:
    """{"prdc_precision", "prdc_recall", "prdc_density", "prdc_coverage"}."""
    rng = np.random.default_rng(self.seed)
    fake_features = subsample(fake.require(base.FEATURES, self.name), self.max_samples, rng)
    real_features = subsample(real.require(base.FEATURES, self.name), self.max_samples, rng)
    scores = compute_prdc(real_features, fake_features, self.nearest_k, self.block_size)
    return {f"{self.name}_{key}": value for key, value in scores.items()}
