"""FID, KID and the Inception Score, computed by TF-GAN from features and logits.

compare_gan `metrics/fid_score.py`, `kid_score.py`, `inception_score.py`
(its FID, KID and IS tasks). The math is TF-GAN's
(`frechet_classifier_distance_from_activations`,
`kernel_classifier_distance_and_std_from_activations`,
`classifier_score_from_logits`), run on float64 copies of the arrays so the
scores do not lose digits to float32 (compare_gan cast the result back to
float32). The feature extractor decides what the numbers mean: Inception
pool_3/logits give the published FID/IS/KID, the MNIST classifier gives
MNIST-only numbers (evaluation/).
"""

import dataclasses
from typing import ClassVar

import numpy as np
import tensorflow as tf

from compare_gan2 import registry
from compare_gan2.metrics import base
from compare_gan2.tfgan_compat import tfgan


def _activations(array: np.ndarray, what: str) -> tf.Tensor:
  array = base.check_rank(array, 2, what)
  if len(array) < 2:
    raise ValueError(f"{what} needs at least 2 rows, got shape {array.shape}.")
  return tf.constant(array, tf.float64)


def _same_width(fake: np.ndarray, real: np.ndarray, metric: str) -> None:
  if np.shape(fake)[1:] != np.shape(real)[1:]:
    raise ValueError(f"{metric}: fake features {np.shape(fake)} and real features "
                     f"{np.shape(real)} differ in width (different feature extractors?).")


def frechet_distance(fake: np.ndarray, real: np.ndarray) -> float:
  """Fréchet distance of two activation sets (Heusel et al. 2017, eq. 6).

  ‖μ_r − μ_g‖² + tr(Σ_r + Σ_g − 2 (Σ_r^½ Σ_g Σ_r^½)^½), covariances with
  ddof = 1 (compare_gan's pinned test: 89.0909 = 980/11).
  """
  fake = base.check_rank(fake, 2, "fake features")
  real = base.check_rank(real, 2, "real features")
  _same_width(fake, real, "FID")
  return float(tfgan.eval.frechet_classifier_distance_from_activations(
      _activations(real, "real features"), _activations(fake, "fake features")))


def kernel_distance(fake: np.ndarray, real: np.ndarray,
                    max_block_size: int = 1024) -> tuple[float, float]:
  """KID: unbiased MMD² with the kernel (xᵀy/d + 1)³ (Bińkowski et al. 2018, eq. 4).

  Averaged over contiguous blocks of at most `max_block_size` rows
  (compare_gan `kid_score.py:97-149`); returns (mean, standard error).
  """
  fake = base.check_rank(fake, 2, "fake features")
  real = base.check_rank(real, 2, "real features")
  _same_width(fake, real, "KID")
  if max_block_size < 2:
    raise ValueError(f"max_block_size must be >= 2, got {max_block_size}.")
  mean, stderr = tfgan.eval.kernel_classifier_distance_and_std_from_activations(
      _activations(real, "real features"), _activations(fake, "fake features"),
      max_block_size=max_block_size)
  return float(mean), float(stderr)


def inception_score(logits: np.ndarray) -> float:
  """exp(E_x KL(p(y|x) ‖ p(y))) over all samples at once (Salimans et al. 2016).

  compare_gan's protocol has no splits (`inception_score.py:44`): one score
  over all N samples; its "std" is across averaging runs.
  """
  return float(tfgan.eval.classifier_score_from_logits(_activations(logits, "logits")))


@registry.register(module="compare_gan2.metrics")
@dataclasses.dataclass(frozen=True)
class FID:
  """Fréchet Inception Distance of fake vs real features (`fid_score`)."""
  name: ClassVar[str] = "fid_score"
  requires: ClassVar[frozenset[str]] = frozenset({base.FEATURES, base.REAL_FEATURES})
  max_images: int | None = 0

  def __call__(self, fake: base.EvalSet, real: base.EvalSet) -> dict[str, float]:
    return {self.name: frechet_distance(fake.require("features", "FID"),
                                        real.require("features", "FID"))}


@registry.register(module="compare_gan2.metrics")
@dataclasses.dataclass(frozen=True)
class KID:
  """Kernel Inception Distance (`kid_score`) and its standard error (`kid_stderr`).

  Attributes:
    max_block_size: rows per block (compare_gan and TF-GAN: 1024).
  """
  name: ClassVar[str] = "kid_score"
  requires: ClassVar[frozenset[str]] = frozenset({base.FEATURES, base.REAL_FEATURES})
  max_images: int | None = 0
  max_block_size: int = 1024

  def __call__(self, fake: base.EvalSet, real: base.EvalSet) -> dict[str, float]:
    mean, stderr = kernel_distance(fake.require("features", "KID"),
                                   real.require("features", "KID"), self.max_block_size)
    return {self.name: mean, "kid_stderr": stderr}


@registry.register(module="compare_gan2.metrics")
@dataclasses.dataclass(frozen=True)
class InceptionScore:
  """Inception Score of the fakes (`inception_score`); the real set is unused."""
  name: ClassVar[str] = "inception_score"
  requires: ClassVar[frozenset[str]] = frozenset({base.LOGITS})
  max_images: int | None = 0

  def __call__(self, fake: base.EvalSet, real: base.EvalSet) -> dict[str, float]:
    del real  # compare_gan's IS ignores the real data too
    return {self.name: inception_score(fake.require("logits", "InceptionScore"))}
