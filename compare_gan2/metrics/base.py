"""What a metric receives and returns.

compare_gan's `EvalTask.run_after_session(fake_dset, real_dset)`
(`metrics/eval_task.py:35-76`) handed every task
both sample sets with images in [0, 255]. Here images stay in the project's
[0, 1] convention (a metric that needs another range converts), and the sets
say what they hold, so the evaluator computes only what the chosen metrics
need (`requires`).
"""

import dataclasses
from collections.abc import Callable, Sequence
from typing import ClassVar, Protocol

import numpy as np
import tensorflow as tf

# What a SampleMetric can ask the evaluator for.
IMAGES, FEATURES, LOGITS, REAL_IMAGES, REAL_FEATURES, REAL_LOGITS = (
    "images", "features", "logits", "real_images", "real_features", "real_logits")


@dataclasses.dataclass(frozen=True, eq=False)
class EvalSet:
  """N samples and what the feature extractor made of them.

  Attributes:
    images: float32 [N', H, W, C] in [0, 1] (N' <= N: the evaluator keeps only
      as many images as the metrics ask for), or None.
    features: float32 [N, D] classifier embeddings (Inception pool_3), or None.
    logits: float32 [N, K] classifier logits (Inception logits), or None.
    labels: int32 [N] class of each sample (the class a conditional fake was
      generated for; the real label), or None.
  """
  images: np.ndarray | None = None
  features: np.ndarray | None = None
  logits: np.ndarray | None = None
  labels: np.ndarray | None = None

  def require(self, field: str, metric: str) -> np.ndarray:
    """The array `field`, or a ValueError naming the metric that needs it."""
    value = getattr(self, field)
    if value is None:
      raise ValueError(f"{metric} needs the {field} of the samples, which this EvalSet lacks.")
    return value


class SampleMetric(Protocol):
  """Compares generated samples with real ones.

  Attributes:
    name: the key prefix of the results ("fid_score", "ms_ssim", ...).
    requires: the EvalSet fields needed (module constants IMAGES, FEATURES,
      LOGITS and their REAL_ forms).
    max_images: how many images per set the metric reads (None: all;
      irrelevant unless `requires` names images).
  """
  name: ClassVar[str]
  requires: ClassVar[frozenset[str]]
  max_images: int | None

  def __call__(self, fake: EvalSet, real: EvalSet) -> dict[str, float]:
    ...


@dataclasses.dataclass(frozen=True, eq=False)
class ModelAccess:
  """What a ModelMetric may use of a trained GAN: callables, never the GAN.

  Attributes:
    generate: (z [B, z_dim], y one-hot [B, num_classes] or None) -> images in
      [0, 1]; inference mode (EMA weights when the run has them).
    sample_z: stateless latent sampler (shape, seed [2] int) -> z, the run's
      own distribution.
    z_dim: latent size.
    num_classes: classes of a conditional generator, 0 otherwise.
    discriminate: (images, y one-hot or None) -> (probabilities, logits,
      features) of the discriminator in inference mode, or None.
    classify: images -> class logits [B, num_classes] (the S3GAN/co-training
      classifier head), or None.
    real_train: the dataset's train images as batches of dicts {"images",
      "labels"} (for discriminator train accuracy), or None.
    seed: seed for the metric's own randomness.
  """
  generate: Callable[[tf.Tensor, tf.Tensor | None], tf.Tensor]
  sample_z: Callable[[Sequence[int], tf.Tensor], tf.Tensor]
  z_dim: int
  num_classes: int = 0
  discriminate: Callable[[tf.Tensor, tf.Tensor | None], tuple] | None = None
  classify: Callable[[tf.Tensor], tf.Tensor] | None = None
  real_train: Callable[[], tf.data.Dataset] | None = None
  seed: int = 0

  def sample_labels(self, count: int, seed: tf.Tensor) -> tf.Tensor | None:
    """One-hot classes drawn uniformly (stateless), or None for an unconditional G."""
    if not self.num_classes:
      return None
    labels = tf.random.stateless_uniform([count], seed, 0, self.num_classes, tf.int32)
    return tf.one_hot(labels, self.num_classes)


class ModelMetric(Protocol):
  """Measures the generator (or discriminator/classifier) directly.

  Attributes:
    name: key prefix of the results.
    requires: EvalSet fields of the *real* set it reads (REAL_IMAGES, ...).
    max_images: how many real images it reads (None: all).
  """
  name: ClassVar[str]
  requires: ClassVar[frozenset[str]]
  max_images: int | None

  def __call__(self, model: ModelAccess, real: EvalSet) -> dict[str, float]:
    ...


def check_rank(array: np.ndarray, rank: int, what: str) -> np.ndarray:
  """`array` as a NumPy array of `rank`, or a ValueError naming `what` and its shape."""
  array = np.asarray(array)
  if array.ndim != rank:
    raise ValueError(f"{what} must have rank {rank}, got shape {array.shape}.")
  return array
