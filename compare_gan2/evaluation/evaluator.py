"""Scores a generator: compare_gan's evaluation protocol with any set of metrics.

compare_gan `evaluate_tfhub_module` (`eval_gan_lib.py:95-212`):
- N = the dataset's `eval_test_samples` fakes per run (10k; 30k LSUN; 50k
  ImageNet), drawn in batches of 64 from a seeded stream (seed 42) so every
  checkpoint sees the same z and labels; conditional fakes get uniform classes;
- the EMA generator when the run keeps one; a generator with accumulated
  ("standing") batch-norm statistics first refreshes them on 204,800 samples;
- 3 averaging runs against one real set (the first N eval images); each key k
  is reported as k_mean, k_std (ddof 0) and k_list.
Fixed here: a NaN or Inf sample is a `NonFiniteSamplesError` (a ValueError)
with the run and batch, not an abort of the whole evaluation job; every
metric sees the fakes (compare_gan scored MS-SSIM and fractal dimension on the
real images).
"""

import dataclasses
import functools
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from compare_gan2 import registry
from compare_gan2.data import pipeline
from compare_gan2.evaluation import real_stats
from compare_gan2.metrics import base
from compare_gan2.metrics import classifier_metrics
from compare_gan2.ops import normalization

_IMAGE_FIELDS = (base.IMAGES, base.REAL_IMAGES)


class NonFiniteSamplesError(ValueError):
  """The generator produced NaN or Inf; the message names the run and batch."""


@dataclasses.dataclass
class EvalResult:
  """Attributes:
    scores: k_mean, k_std, k_list (str) per metric key, plus model metrics.
    runs: the raw per-run values of each sample-metric key.
    seconds: wall time of "real", "standing_statistics", "generation",
      "features", "metrics".
    extractor: name of the feature extractor; note: its comparability note.
  """
  scores: dict[str, Any]
  runs: dict[str, list[float]]
  seconds: dict[str, float]
  extractor: str
  note: str


def _timed(seconds: dict[str, float], key: str, fn, *args):
  """fn(*args), its wall time added to seconds[key]; tensors come back as NumPy
  (which waits for the device, so the time is the computation's)."""
  start = time.perf_counter()
  value = fn(*args)
  if isinstance(value, (tf.Tensor, tuple)):
    value = tf.nest.map_structure(np.asarray, value)
  seconds[key] = seconds.get(key, 0.0) + time.perf_counter() - start
  return value


def aggregate(runs: dict[str, list[float]]) -> dict[str, Any]:
  """k -> k_mean, k_std (population) and k_list ("_"-joined), as compare_gan's CSV."""
  scores = {}
  for key, values in runs.items():
    scores[f"{key}_mean"] = float(np.mean(values))
    scores[f"{key}_std"] = float(np.std(values))
    scores[f"{key}_list"] = "_".join(f"{v:.6g}" for v in values)
  return scores


@registry.register(module="compare_gan2.evaluation")
@dataclasses.dataclass(frozen=True)
class Evaluator:
  """How to evaluate (gin: `evaluation.Evaluator.<field>`).

  Attributes:
    metrics: SampleMetric objects, scored on every averaging run (compare_gan:
      IS and FID).
    model_metrics: ModelMetric objects (GILBO, Jacobian, accuracies), scored
      once.
    extractor: an extractor config (`@evaluation.InceptionConfig()`,
      `@evaluation.MnistClassifierConfig()`); loaded once, on first use.
    num_samples: fakes per run and real images; None = eval_test_samples.
    num_averaging_runs: compare_gan `--num_eval_averaging_runs` (3).
    batch_size: samples per generator call (compare_gan 64).
    seed: seed of the z and label stream (compare_gan 42).
    standing_stats_samples: samples that refresh accumulated batch-norm
      statistics (compare_gan 3200 batches of 64).
    use_ema: evaluate the EMA generator when there is one.
    real_stats_dir: real-statistics cache (None: real_stats.default_cache_dir()).
  """
  metrics: tuple = (classifier_metrics.InceptionScore(), classifier_metrics.FID())
  model_metrics: tuple = ()
  extractor: Any = None
  num_samples: int | None = None
  num_averaging_runs: int = 3
  batch_size: int = 64
  seed: int = 42
  standing_stats_samples: int = 204_800
  use_ema: bool = True
  real_stats_dir: str | None = None

  def __post_init__(self):
    # gin passes lists; tuples keep the dataclass hashable and concatenable.
    object.__setattr__(self, "metrics", tuple(self.metrics))
    object.__setattr__(self, "model_metrics", tuple(self.model_metrics))
    if self.num_averaging_runs < 1 or self.batch_size < 1:
      raise ValueError("evaluation.Evaluator needs num_averaging_runs >= 1 and batch_size >= 1, "
                       f"got {self.num_averaging_runs} and {self.batch_size}.")
    if self.extractor is None and any(m.requires - set(_IMAGE_FIELDS)
                                      for m in self.metrics + self.model_metrics):
      raise ValueError("evaluation.Evaluator.extractor is not set; bind "
                       "@evaluation.InceptionConfig() (or the MNIST classifier).")

  @functools.cached_property
  def feature_extractor(self):
    """The loaded extractor (loaded on first use, then kept)."""
    return self.extractor.load()

  @functools.cached_property
  def _real_sets(self) -> dict[tuple, base.EvalSet]:
    # The real side is the same for every checkpoint of a run: build it once.
    return {}

  def evaluate(self, gan, dataset) -> EvalResult:
    """Scores the GAN's (EMA) generator against the dataset's eval split."""
    seconds: dict[str, float] = {}
    num = self.num_samples or dataset.info.eval_test_samples
    needs = set().union(*(m.requires for m in self.metrics + self.model_metrics))
    key = (id(dataset), num)
    if key not in self._real_sets:
      self._real_sets[key] = _timed(seconds, "real", self._real_set, dataset, num, needs)
    real = self._real_sets[key]
    generator = self._generator(gan)
    _timed(seconds, "standing_statistics", self.refresh_standing_statistics, gan, generator)
    sampler = _Sampler(self, gan, generator, num, needs, seconds)
    runs: dict[str, list[float]] = {}
    for run in range(self.num_averaging_runs if self.metrics else 0):
      fake = sampler.sample(run)
      for metric in self.metrics:
        for key, value in _timed(seconds, "metrics", metric, fake, real).items():
          runs.setdefault(key, []).append(float(value))
    scores = aggregate(runs)
    for metric in self.model_metrics:
      values = _timed(seconds, "metrics", metric, self.model_access(gan, generator), real)
      scores.update({k: float(v) for k, v in values.items()})
    extractor = self.feature_extractor if self.extractor is not None else None
    return EvalResult(scores, runs, seconds, getattr(extractor, "name", "none"),
                      getattr(extractor, "comparable_note", ""))

  # -- pieces ------------------------------------------------------------------

  def _image_count(self, num: int) -> int:
    counts = [num if m.max_images is None else min(num, m.max_images)
              for m in self.metrics + self.model_metrics if m.requires & set(_IMAGE_FIELDS)]
    return max(counts, default=0)

  def _generator(self, gan):
    return gan.ema.generator if (self.use_ema and gan.ema is not None) else gan.generator

  def _real_set(self, dataset, num: int, needs: set[str]) -> base.EvalSet:
    stats = images = labels = None
    if needs & {base.REAL_FEATURES, base.REAL_LOGITS}:
      stats = real_stats.load_or_compute(dataset, self.feature_extractor, num,
                                         self.real_stats_dir, self.batch_size)
      labels = stats.labels
    count = self._image_count(num)
    if count and needs & set(_IMAGE_FIELDS):
      images, image_labels = _first_eval_images(dataset, count, self.batch_size)
      labels = image_labels if labels is None else labels
    return base.EvalSet(images=images, features=getattr(stats, "features", None),
                        logits=getattr(stats, "logits", None), labels=labels)

  def latent_batch(self, gan, purpose: int, run: int, index: int) -> tuple[tf.Tensor, tf.Tensor | None]:
    """z and one-hot labels of batch `index` of a run: a pure function of the seed."""
    seed = tf.random.experimental.stateless_fold_in(
        tf.constant([self.seed, purpose], tf.int64), run * 1_000_003 + index)
    z = gan.z_fn([self.batch_size, gan.generator.z_dim], seed)
    if not gan.conditional:
      return z, None
    labels = tf.random.stateless_uniform([self.batch_size], seed[::-1], 0, gan.num_classes,
                                         tf.int32)
    return z, tf.one_hot(labels, gan.num_classes)

  def refresh_standing_statistics(self, gan, generator) -> int:
    """Re-accumulates standing BN statistics on fakes; returns the samples used."""
    if not normalization.standing_statistics_layers(generator):
      return 0
    generate = tf.function(lambda z, y: generator(z, y, training=False))
    batches = -(-self.standing_stats_samples // self.batch_size)
    with normalization.standing_statistics(generator):
      for index in range(batches):
        generate(*self.latent_batch(gan, 1, 0, index))
    return batches * self.batch_size

  def model_access(self, gan, generator) -> base.ModelAccess:
    """What model metrics may use: inference-mode callables of G, D and a classifier."""
    return base.ModelAccess(
        generate=lambda z, y: generator(z, y, training=False), sample_z=gan.z_fn,
        z_dim=gan.generator.z_dim, num_classes=gan.num_classes if gan.conditional else 0,
        discriminate=lambda x, y: gan.discriminator(x, y, training=False),
        classify=getattr(gan, "classify", None), seed=self.seed)


class _Sampler:
  """Draws the fakes of each averaging run; traces the generator and extractor once."""

  def __init__(self, evaluator: Evaluator, gan, generator, num: int, needs: set[str],
               seconds: dict[str, float]):
    self.evaluator, self.gan, self.num, self.seconds = evaluator, gan, num, seconds
    self.generate = tf.function(lambda z, y: generator(z, y, training=False))
    self.extract = None
    if needs & {base.FEATURES, base.LOGITS}:
      self.extract = tf.function(evaluator.feature_extractor.__call__)
    self.keep = evaluator._image_count(num) if base.IMAGES in needs else 0  # pylint: disable=protected-access

  def sample(self, run: int) -> base.EvalSet:
    """`num` fakes of run `run`, with what the metrics need."""
    parts: dict[str, list[np.ndarray]] = {"images": [], "features": [], "logits": [], "labels": []}
    batch_size = self.evaluator.batch_size
    for index in range(-(-self.num // batch_size)):
      z, y = self.evaluator.latent_batch(self.gan, 2, run, index)
      images = _timed(self.seconds, "generation", self.generate, z, y)
      if not np.all(np.isfinite(images)):
        raise NonFiniteSamplesError(f"The generator produced NaN/Inf in evaluation run {run}, "
                                    f"batch {index} (samples {index * batch_size}+).")
      if self.extract is not None:
        features, logits = _timed(self.seconds, "features", self.extract, images)
        parts["features"].append(features)
        parts["logits"].append(logits)
      if index * batch_size < self.keep:
        parts["images"].append(images)
      if y is not None:
        parts["labels"].append(np.argmax(np.asarray(y), axis=1).astype(np.int32))
    cut = {k: np.concatenate(v)[:self.num] if v else None for k, v in parts.items()}
    if cut["images"] is not None:
      cut["images"] = cut["images"][:self.keep]
    return base.EvalSet(**cut)


def _first_eval_images(dataset, count: int, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
  """The first `count` eval images and labels, in the split's fixed order."""
  images, labels, seen = [], [], 0
  for batch in pipeline.eval_input(dataset, batch_size):
    images.append(np.asarray(batch["images"]))
    labels.append(np.asarray(batch["labels"], np.int32))
    seen += len(images[-1])
    if seen >= count:
      break
  if seen < count:
    raise ValueError(f"The eval split of {dataset.info.name} has {seen} images; the metrics "
                     f"need {count}.")
  return np.concatenate(images)[:count], np.concatenate(labels)[:count]
