"""Precision and Recall for Distributions (PRD).

Sajjadi et al. 2018, "Assessing Generative Models via Precision and Recall"
(NeurIPS, arXiv:1806.00035): the PRD curve of Theorem 2,
α(λ) = Σ_ω min(λ·P(ω), Q(ω)) and β(λ) = α(λ)/λ, computed on the histograms of a
k-means clustering of the pooled embeddings (§4), summarised by the pair
(max F_8, max F_1/8). Ported from compare_gan `metrics/prd_score.py`
(numbers pinned by its `prd_score_test.py`).

Two departures from compare_gan, both for reproducibility and headless use:
the k-means draws from an explicit `seed` (compare_gan used NumPy's global
RNG), and `plot` always writes a file through the Agg canvas (no pyplot).
"""

import dataclasses
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import sklearn.cluster
from matplotlib import figure as mpl_figure
from matplotlib.backends import backend_agg

from compare_gan2 import registry
from compare_gan2.metrics import base

# Curves as returned by compute_prd: (precision [A], recall [A]).
Curve = tuple[np.ndarray, np.ndarray]


def _check_prd_args(num_angles: float, epsilon: float) -> None:
  # compare_gan accepts only 0 < ε < 0.1 (strict; its docstring says (0, 0.1]).
  if not 0 < epsilon < 0.1:
    raise ValueError(f"epsilon must be in (0, 0.1), got {epsilon}.")
  if not 3 <= num_angles <= 1e6 or not float(num_angles).is_integer():
    raise ValueError(f"num_angles must be an integer in [3, 1e6], got {num_angles}.")


def compute_prd(eval_dist: Sequence[float] | np.ndarray, ref_dist: Sequence[float] | np.ndarray,
                num_angles: int = 1001, epsilon: float = 1e-10) -> Curve:
  """The PRD curve of two discrete distributions (Sajjadi et al., Theorem 2).

  Ports compare_gan `metrics/prd_score.py:42-91`. With λ = tan θ on an
  equiangular grid θ ∈ [ε, π/2 − ε], precision(λ) = Σ_i min(λ·ref_i, eval_i)
  and recall(λ) = precision(λ)/λ.

  Args:
    eval_dist: probabilities of the states under the evaluated distribution.
    ref_dist: probabilities of the same states under the reference one.
    num_angles: number of angles, an integer in [3, 1e6].
    epsilon: the grid stops ε short of 0 and π/2; must be in (0, 0.1).

  Returns:
    (precision, recall), each float64 of shape [num_angles].

  Raises:
    ValueError: for ε or num_angles out of range, or distributions that are
      not 1-D of equal length.
  """
  _check_prd_args(num_angles, epsilon)
  eval_dist = np.asarray(eval_dist, dtype=np.float64)
  ref_dist = np.asarray(ref_dist, dtype=np.float64)
  if eval_dist.ndim != 1 or eval_dist.shape != ref_dist.shape:
    raise ValueError(f"eval_dist and ref_dist must be 1-D of equal length, "
                     f"got shapes {eval_dist.shape} and {ref_dist.shape}.")
  slopes = np.tan(np.linspace(epsilon, np.pi / 2 - epsilon, num=int(num_angles)))
  precision = np.minimum(ref_dist[None, :] * slopes[:, None], eval_dist[None, :]).sum(axis=1)
  recall = precision / slopes
  # Both are <= 1 in exact arithmetic; rounding (e.g. a histogram summing to
  # 1 + 1 ulp when eval = ref) could push them over and fail the F_β checks.
  return np.minimum(precision, 1.0), np.minimum(recall, 1.0)


def cluster_into_bins(eval_data: np.ndarray, ref_data: np.ndarray, num_clusters: int,
                      random_state: int | np.random.RandomState | None = None) -> Curve:
  """Histograms of the two sets over a k-means clustering of their union.

  Ports compare_gan `metrics/prd_score.py:94-122` (`_cluster_into_bins`):
  MiniBatchKMeans(n_clusters, n_init=10) on vstack([eval, ref]), then
  normalised label histograms. `random_state=None` draws from NumPy's global
  RNG, as compare_gan did.

  Args:
    eval_data: [N, D] points of the evaluated distribution.
    ref_data: [M, D] points of the reference distribution.
    num_clusters: number of k-means centres.
    random_state: seed or RandomState for MiniBatchKMeans.

  Returns:
    (eval_bins, ref_bins): probabilities, each of shape [num_clusters].
  """
  kmeans = sklearn.cluster.MiniBatchKMeans(
      n_clusters=num_clusters, n_init=10, random_state=random_state)
  labels = kmeans.fit(np.vstack([eval_data, ref_data])).labels_
  bins = dict(bins=num_clusters, range=(0, num_clusters), density=True)
  eval_bins = np.histogram(labels[:len(eval_data)], **bins)[0]
  ref_bins = np.histogram(labels[len(eval_data):], **bins)[0]
  return eval_bins, ref_bins


def _check_embeddings(eval_data: np.ndarray, ref_data: np.ndarray,
                      enforce_balance: bool) -> tuple[np.ndarray, np.ndarray]:
  eval_data = base.check_rank(np.asarray(eval_data, dtype=np.float64), 2, "eval_data")
  ref_data = base.check_rank(np.asarray(ref_data, dtype=np.float64), 2, "ref_data")
  if eval_data.shape[1] != ref_data.shape[1]:
    raise ValueError(f"eval_data and ref_data must have the same feature size, "
                     f"got shapes {eval_data.shape} and {ref_data.shape}.")
  # Unequal sizes bias the clustering towards the larger set (compare_gan).
  if enforce_balance and len(eval_data) != len(ref_data):
    raise ValueError(
        f"eval_data has {len(eval_data)} points but ref_data has {len(ref_data)}; "
        "pass enforce_balance=False to allow this (not recommended).")
  return eval_data, ref_data


def compute_prd_from_embedding(
    eval_data: np.ndarray, ref_data: np.ndarray, num_clusters: int = 20,
    num_angles: int = 1001, num_runs: int = 10, enforce_balance: bool = True,
    seed: int | None = None) -> Curve:
  """The PRD curve of two embedded samples, averaged over clusterings (§4).

  Ports compare_gan `metrics/prd_score.py:125-177`: the data are cast to
  float64, clustered `num_runs` times, and the curves of the runs averaged.

  Args:
    eval_data: [N, D] embeddings of the evaluated (generated) samples.
    ref_data: [M, D] embeddings of the reference (real) samples.
    num_clusters: k-means centres per run (paper: 20).
    num_angles: points on the curve, an integer in [3, 1e6].
    num_runs: independent clusterings to average (paper: 10).
    enforce_balance: raise when N != M.
    seed: seeds the runs' k-means; None uses NumPy's global RNG as compare_gan.

  Returns:
    (precision, recall), each of shape [num_angles].

  Raises:
    ValueError: for non-matrix inputs, different feature sizes, or N != M while
      `enforce_balance` is set.
  """
  eval_data, ref_data = _check_embeddings(eval_data, ref_data, enforce_balance)
  # One stream for all runs, so each run gets a different but seeded clustering.
  random_state = None if seed is None else np.random.RandomState(seed)
  curves = [compute_prd(*cluster_into_bins(eval_data, ref_data, num_clusters, random_state),
                        num_angles=num_angles) for _ in range(num_runs)]
  precisions, recalls = zip(*curves)
  return np.mean(precisions, axis=0), np.mean(recalls, axis=0)


def _check_f_beta_args(precision: np.ndarray, recall: np.ndarray, beta: float) -> None:
  if not np.all((precision >= 0) & (precision <= 1)):
    raise ValueError("All values in precision must be in [0, 1].")
  if not np.all((recall >= 0) & (recall <= 1)):
    raise ValueError("All values in recall must be in [0, 1].")
  if beta <= 0:
    raise ValueError(f"beta must be positive, got {beta}.")


def prd_to_f_beta(precision: np.ndarray, recall: np.ndarray, beta: float = 1,
                  epsilon: float = 1e-10) -> np.ndarray:
  """F_β = (1 + β²)·p·r / (β²·p + r + ε) for each (p, r) pair.

  Ports compare_gan `metrics/prd_score.py:180-213` (`_prd_to_f_beta`); ε keeps
  p = r = 0 at 0 instead of NaN.

  Args:
    precision: precision values in [0, 1].
    recall: recall values in [0, 1], same shape.
    beta: β > 0; β > 1 weighs recall more.
    epsilon: added to the denominator.

  Returns:
    The F_β scores, shape of the inputs.

  Raises:
    ValueError: for values outside [0, 1] or β <= 0.
  """
  precision, recall = np.asarray(precision), np.asarray(recall)
  _check_f_beta_args(precision, recall, beta)
  return (1 + beta**2) * (precision * recall) / (beta**2 * precision + recall + epsilon)


def prd_to_max_f_beta_pair(precision: np.ndarray, recall: np.ndarray,
                           beta: float = 8) -> tuple[float, float]:
  """(max F_β, max F_1/β) over a PRD curve: the paper's two summary numbers.

  Ports compare_gan `metrics/prd_score.py:216-248`. With β = 8, max F_8
  tracks recall and max F_1/8 tracks precision (Sajjadi et al., §4).

  Args:
    precision: precision values in [0, 1].
    recall: recall values in [0, 1], same shape.
    beta: β > 0.

  Returns:
    (max F_β, max F_1/β).

  Raises:
    ValueError: for values outside [0, 1] or β <= 0.
  """
  precision, recall = np.asarray(precision), np.asarray(recall)
  _check_f_beta_args(precision, recall, beta)
  return (float(np.max(prd_to_f_beta(precision, recall, beta))),
          float(np.max(prd_to_f_beta(precision, recall, 1 / beta))))


def plot(precision_recall_pairs: Sequence[Curve] | np.ndarray, labels: Sequence[str] | None,
         out_path: str, legend_loc: str = "lower left", dpi: int = 150) -> None:
  """Writes the recall-vs-precision curves as a PNG (compare_gan's layout).

  Ports compare_gan `metrics/prd_score.py:251-299`: a 3.5×3.5 in figure at
  `dpi`, one translucent line per curve, both axes on [0, 1]. It draws on an
  Agg canvas instead of pyplot, so it needs no display and leaves no global
  figure state.

  Args:
    precision_recall_pairs: curves (precision, recall) of equal length.
    labels: one legend entry per curve, or None for no legend.
    out_path: where to write the figure (format from the suffix, e.g. .png).
    legend_loc: matplotlib legend location.
    dpi: dots per inch.

  Raises:
    ValueError: if the number of labels differs from the number of curves.
  """
  if labels is not None and len(labels) != len(precision_recall_pairs):
    raise ValueError(f"labels has {len(labels)} entries but precision_recall_pairs has "
                     f"{len(precision_recall_pairs)} curves; they must match.")
  fig = mpl_figure.Figure(figsize=(3.5, 3.5), dpi=dpi)
  backend_agg.FigureCanvasAgg(fig)
  axes = fig.add_subplot(111)
  axes.tick_params(axis="both", which="major", labelsize=12)
  for i, (precision, recall) in enumerate(precision_recall_pairs):
    label = labels[i] if labels is not None else None
    axes.plot(recall, precision, label=label, alpha=0.5, linewidth=3)
  if labels is not None:
    axes.legend(loc=legend_loc)
  axes.set_xlim([0, 1])
  axes.set_ylim([0, 1])
  axes.set_xlabel("Recall", fontsize=12)
  axes.set_ylabel("Precision", fontsize=12)
  fig.tight_layout()
  fig.savefig(out_path, bbox_inches="tight", dpi=dpi)


@registry.register(module="compare_gan2.metrics")
@dataclasses.dataclass(frozen=True)
class PRD:
  """PRD of generated vs real classifier features, as (max F_β, max F_1/β).

  Sajjadi et al. 2018 (§4) summarise a PRD curve by max F_8 (recall-like) and
  max F_1/8 (precision-like); compare_gan computed the curve
  (`metrics/prd_score.py:125-177`) but reported neither.

  Attributes:
    num_clusters: k-means centres per run (paper: 20).
    num_angles: points on the curve (compare_gan: 1001).
    num_runs: clusterings averaged (paper: 10).
    enforce_balance: require as many fake as real features.
    beta: β of the summary pair; keys are "prd_f{β}" and "prd_f1_{β}".
    seed: seed of the k-means runs.
  """
  name: ClassVar[str] = "prd"
  requires: ClassVar[frozenset[str]] = frozenset({base.FEATURES, base.REAL_FEATURES})
  # Reads classifier features only, no images.
  max_images: ClassVar[int | None] = 0

  num_clusters: int = 20
  num_angles: int = 1001
  num_runs: int = 10
  enforce_balance: bool = True
  beta: float = 8
  seed: int = 0

  def curves(self, fake: base.EvalSet, real: base.EvalSet) -> Curve:
    """The averaged PRD curve (precision, recall) of fake vs real features."""
    return compute_prd_from_embedding(
        fake.require(base.FEATURES, self.name), real.require(base.FEATURES, self.name),
        num_clusters=self.num_clusters, num_angles=self.num_angles, num_runs=self.num_runs,
        enforce_balance=self.enforce_balance, seed=self.seed)

  def __call__(self, fake: base.EvalSet, real: base.EvalSet) -> dict[str, float]:
    """{"prd_f8": max F_8, "prd_f1_8": max F_1/8} for the default β = 8."""
    f_beta, f_beta_inv = prd_to_max_f_beta_pair(*self.curves(fake, real), beta=self.beta)
    suffix = f"{self.beta:g}"
    return {f"prd_f{suffix}": f_beta, f"prd_f1_{suffix}": f_beta_inv}

