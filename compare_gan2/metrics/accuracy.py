"""Accuracy of the discriminator (real vs. fake) and of a classifier head.

`DiscriminatorAccuracy` ports compare_gan `metrics/accuracy.py`
(`compute_accuracy_loss`, :50-145): how often D
calls real test images, real train images and generated images correctly.
A large train/test gap signals a discriminator that memorizes its training set.

`ClassifierAccuracy` goes beyond compare_gan, which only logged S3GAN's
training summaries (`gans/s3gan.py:295-321`): the top-k accuracy of the
co-trained classifier on the real evaluation images, as reported for the D
classifier by Lucic et al. 2019, "High-Fidelity Image Generation With Fewer
Labels" (arXiv:1903.02271).
"""

import dataclasses
from collections.abc import Iterator
from typing import ClassVar

import numpy as np
import tensorflow as tf

from compare_gan2 import registry
from compare_gan2.metrics import base


def _one_hot(model: base.ModelAccess, labels: np.ndarray | None) -> tf.Tensor | None:
  return None if not model.num_classes else tf.one_hot(labels, model.num_classes)


def _judged_real(model: base.ModelAccess, images: np.ndarray | tf.Tensor,
                 y: tf.Tensor | None) -> np.ndarray:
  """D's verdict `probability >= 0.5` per image, [B] bool."""
  probabilities = np.asarray(model.discriminate(tf.convert_to_tensor(images, tf.float32), y)[0])
  if probabilities.size != len(images):
    raise ValueError(f"DiscriminatorAccuracy: discriminate returned {probabilities.shape} "
                     f"probabilities for {len(images)} images; expected one per image.")
  return probabilities.reshape(-1) >= 0.5


def _train_batches(model: base.ModelAccess, limit: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
  """The first `limit` train (images, labels), batch by batch as real_train gives them."""
  seen = 0
  for batch in model.real_train():
    images = np.asarray(batch["images"])[:limit - seen]
    labels = batch.get("labels")
    yield images, None if labels is None else np.asarray(labels)[:len(images)]
    seen += len(images)
    if seen >= limit:
      return


def _real_labels(model: base.ModelAccess, labels: np.ndarray | None, where: str) -> np.ndarray:
  if model.num_classes and labels is None:
    raise ValueError(f"DiscriminatorAccuracy: the conditional discriminator needs the labels of "
                     f"the {where} images, which are missing.")
  return labels


@registry.register(module="compare_gan2.metrics")
@dataclasses.dataclass(frozen=True, eq=False)
class DiscriminatorAccuracy:
  """D's accuracy on real test, real train and generated images (accuracy.py:50-145).

  Accuracy is the fraction with D's probability >= 0.5 for real images and
  < 0.5 for fakes. compare_gan read element [0] of the legacy
  `gan.discriminator_output`; here that is the probability of
  `ModelAccess.discriminate`. Test images are the real EvalSet's, in
  floor(N / batch_size) whole batches (the remainder is ignored, as in
  compare_gan). In each of `num_repeat` rounds the train accuracy is measured
  on N train images drawn with replacement from the first
  `max_train_examples`, and the fake accuracy on N new samples; the rounds are
  averaged. D runs in inference mode, so each train image is judged once and
  the rounds resample the verdicts (the same numbers as re-running D, without
  holding 50000 images in memory). compare_gan's train/test `d_loss` are not
  reported: a ModelAccess has no loss.

  Attributes:
    batch_size: images per D call (compare_gan: the GAN's batch size).
    num_repeat: rounds averaged (compare_gan: 5).
    max_train_examples: train images read from `ModelAccess.real_train`.
    seed: seed of the subsets, z and fake labels; None: the model's seed.
    max_images: real test images read (None: all).
  """
  name: ClassVar[str] = "accuracy"
  requires: ClassVar[frozenset[str]] = frozenset({base.REAL_IMAGES})
  batch_size: int = 64
  num_repeat: int = 5
  max_train_examples: int = 50000
  seed: int | None = None
  max_images: int | None = None

  def __post_init__(self) -> None:
    for field in ("batch_size", "num_repeat", "max_train_examples"):
      if getattr(self, field) < 1:
        raise ValueError(f"DiscriminatorAccuracy: {field} must be positive, "
                         f"got {getattr(self, field)}.")

  def _test_verdicts(self, model: base.ModelAccess, real: base.EvalSet) -> np.ndarray:
    images = base.check_rank(real.require("images", "DiscriminatorAccuracy"), 4, "real images")
    labels = _real_labels(model, real.labels, "real test")
    count = len(images) if self.max_images is None else min(len(images), self.max_images)
    batches = count // self.batch_size
    if not batches:
      raise ValueError(f"DiscriminatorAccuracy: {count} real test images are fewer than one "
                       f"batch of {self.batch_size}.")
    verdicts = []
    for start in range(0, batches * self.batch_size, self.batch_size):
      part = slice(start, start + self.batch_size)
      verdicts.append(_judged_real(model, images[part],
                                   None if labels is None else _one_hot(model, labels[part])))
    return np.concatenate(verdicts)

  def _train_verdicts(self, model: base.ModelAccess, needed: int) -> np.ndarray:
    if model.real_train is None:
      raise ValueError("DiscriminatorAccuracy needs the train images (ModelAccess.real_train), "
                       "which this model lacks.")
    verdicts = []
    for images, labels in _train_batches(model, self.max_train_examples):
      labels = _real_labels(model, labels, "real train")
      verdicts.append(_judged_real(model, images, _one_hot(model, labels)))
    verdicts = np.concatenate(verdicts) if verdicts else np.zeros([0], bool)
    if len(verdicts) < needed:  # accuracy.py:79-81
      raise ValueError(f"DiscriminatorAccuracy: real_train gave {len(verdicts)} images, fewer "
                       f"than the {needed} test images used.")
    return verdicts

  def _fake_accuracy(self, model: base.ModelAccess, batches: int, seed: tf.Tensor) -> float:
    fold = tf.random.experimental.stateless_fold_in
    judged_fake = []
    for i in range(batches):
      batch_seed = fold(seed, i)
      z = model.sample_z([self.batch_size, model.z_dim], fold(batch_seed, 0))
      y = model.sample_labels(self.batch_size, fold(batch_seed, 1))
      judged_fake.append(~_judged_real(model, model.generate(z, y), y))
    return float(np.mean(np.concatenate(judged_fake)))

  def __call__(self, model: base.ModelAccess, real: base.EvalSet) -> dict[str, float]:
    """{"train_accuracy", "test_accuracy", "fake_accuracy"}, each a mean over the rounds.

    Raises:
      ValueError: if the model has no discriminator or train images, the test
        set is smaller than a batch or than the train set, or labels a
        conditional D needs are missing.
    """
    if model.discriminate is None:
      raise ValueError("DiscriminatorAccuracy needs ModelAccess.discriminate, which is None.")
    seed = model.seed if self.seed is None else self.seed
    test = self._test_verdicts(model, real)
    train = self._train_verdicts(model, len(test))
    rng = np.random.default_rng(seed)
    base_seed = tf.constant([seed, 0], tf.int64)
    train_accuracy, fake_accuracy = [], []
    for repeat in range(self.num_repeat):
      train_accuracy.append(np.mean(train[rng.choice(len(train), len(test))]))
      fake_accuracy.append(self._fake_accuracy(
          model, len(test) // self.batch_size,
          tf.random.experimental.stateless_fold_in(base_seed, repeat)))
    return {"train_accuracy": float(np.mean(train_accuracy)),
            "test_accuracy": float(np.mean(test)),
            "fake_accuracy": float(np.mean(fake_accuracy))}


@registry.register(module="compare_gan2.metrics")
@dataclasses.dataclass(frozen=True, eq=False)
class ClassifierAccuracy:
  """Top-k accuracy of `ModelAccess.classify` on the labelled real images.

  The S3GAN / co-training classifier head (Lucic et al. 2019). A sample
  counts as correct at k when fewer than k classes score strictly higher than
  its true class (`tf.math.in_top_k`'s treatment of ties). Every image is used,
  the last batch possibly partial.

  Attributes:
    batch_size: images per classifier call.
    top_k: the k reported, as "classifier_top{k}".
    max_images: real images read (None: all).
  """
  name: ClassVar[str] = "classifier_accuracy"
  requires: ClassVar[frozenset[str]] = frozenset({base.REAL_IMAGES})
  batch_size: int = 64
  top_k: tuple[int, ...] = (1, 5)
  max_images: int | None = None

  def __post_init__(self) -> None:
    if self.batch_size < 1 or not self.top_k or min(self.top_k) < 1:
      raise ValueError(f"ClassifierAccuracy: batch_size ({self.batch_size}) and every top_k "
                       f"({self.top_k}) must be positive, with at least one k.")

  def _ranks(self, model: base.ModelAccess, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """How many classes score strictly above the true class, per image."""
    ranks = []
    for start in range(0, len(images), self.batch_size):
      logits = np.asarray(model.classify(
          tf.convert_to_tensor(images[start:start + self.batch_size], tf.float32)))
      part = labels[start:start + self.batch_size]
      if logits.ndim != 2 or len(logits) != len(part) or part.max() >= logits.shape[1]:
        raise ValueError(f"ClassifierAccuracy: classify returned logits of shape {logits.shape} "
                         f"for {len(part)} images with labels up to {part.max()}.")
      true_logit = logits[np.arange(len(part)), part]
      ranks.append(np.sum(logits > true_logit[:, None], axis=1))
    return np.concatenate(ranks)

  def __call__(self, model: base.ModelAccess, real: base.EvalSet) -> dict[str, float]:
    """{"classifier_top{k}": fraction of real images whose label is in the top k}.

    Raises:
      ValueError: if the model has no classifier, or the real images or their
        labels are missing or malformed.
    """
    if model.classify is None:
      raise ValueError("ClassifierAccuracy needs ModelAccess.classify (a classifier head), "
                       "which is None.")
    images = base.check_rank(real.require("images", "ClassifierAccuracy"), 4, "real images")
    labels = base.check_rank(real.require("labels", "ClassifierAccuracy"), 1, "real labels")
    count = len(images) if self.max_images is None else min(len(images), self.max_images)
    if len(labels) < count or not count or labels[:count].min() < 0:
      raise ValueError(f"ClassifierAccuracy: needs one non-negative label per real image; got "
                       f"{len(labels)} labels (min {labels.min() if len(labels) else None}) "
                       f"for {count} images.")
    ranks = self._ranks(model, images[:count], labels[:count].astype(np.int64))
    return {f"classifier_top{k}": float(np.mean(ranks < k)) for k in self.top_k}
