"""What a feature extractor is, and running one over many images.

compare_gan fed every sample set through one classifier, the Inception
network, in batches of 64 (`inception_transform_np`, `eval_utils.py:178-206`),
and kept its `pool_3` activations for FID / KID
and its logits for IS. Here the classifier is a `FeatureExtractor`: the
Inception network (`inception.py`) or the small offline MNIST classifier
(`mnist_classifier.py`). Its `name` identifies network and weights, so real
statistics can be cached under it; its `comparable_note` says whether its
numbers compare with published Inception scores.
"""

from collections.abc import Iterator
from typing import Protocol

import numpy as np
import tensorflow as tf


class ModelUnavailableError(RuntimeError):
  """A classifier network cannot be found or loaded; the message says what to do."""


class FeatureExtractor(Protocol):
  """A classifier seen as (features, logits) of images.

  Attributes:
    name: identifies the network and its weights ("inception_2015_12_05",
      "mnist_classifier_v1"); a cache key for real-data statistics.
    feature_dim: D, width of the features (Inception pool_3: 2048).
    num_logits: K, number of logits (Inception: 1008).
    comparable_note: one line saying which published numbers the scores
      computed from it compare with.
  """
  name: str
  feature_dim: int
  num_logits: int
  comparable_note: str

  def __call__(self, images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """float32 [B, H, W, C] in [0, 1] (C = 1 or 3) -> (features [B, D], logits [B, K]).

    Works eagerly and inside `tf.function`.
    """
    ...


class ExtractorConfig(Protocol):
  """A cheap, hashable, gin-bindable description that loads an extractor."""

  def load(self) -> FeatureExtractor:
    """Loads the network (once per call; keep the result)."""
    ...


def check_images(images: tf.Tensor | np.ndarray, where: str) -> tf.Tensor:
  """float32 [B, H, W, C] with C 1 or 3, checked to lie in [0, 1].

  compare_gan asserted 0 <= x <= 255 before Inception (`eval_utils.py:165-175`);
  the project's images are in [0, 1]. Eagerly a violation is a ValueError; in
  a graph it fails the step with the same message (NaN fails it too).

  Args:
    images: the batch.
    where: the extractor's name, for the messages.

  Raises:
    ValueError: on a wrong rank or channel count, or out-of-range pixels (eager).
  """
  images = tf.convert_to_tensor(images, tf.float32)
  if images.shape.rank != 4 or images.shape[-1] not in (1, 3):
    raise ValueError(f"{where}: images must be [batch, height, width, 1 or 3], "
                     f"got shape {images.shape}.")
  in_range = tf.reduce_all(tf.logical_and(images >= 0.0, images <= 1.0))
  message = f"{where}: images must be float32 in [0, 1] (NaN is not)"
  if tf.executing_eagerly():
    if not bool(in_range):
      raise ValueError(f"{message}; got min {float(tf.reduce_min(images))}, "
                       f"max {float(tf.reduce_max(images))}.")
    return images
  check = tf.debugging.Assert(in_range, [message, tf.reduce_min(images), tf.reduce_max(images)])
  with tf.control_dependencies([check]):
    return tf.identity(images)


def _array_batches(images: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
  for start in range(0, len(images), batch_size):
    yield images[start:start + batch_size]


def _dataset_batches(dataset: tf.data.Dataset, batch_size: int) -> Iterator[np.ndarray]:
  """Batches of images from a dataset of images or of {"images": ...} dicts."""
  spec = dataset.element_spec
  if isinstance(spec, dict):
    if "images" not in spec:
      raise ValueError(f"extract: dataset elements have keys {sorted(spec)}, none is 'images'.")
    dataset = dataset.map(lambda element: element["images"])
    spec = spec["images"]
  if not isinstance(spec, tf.TensorSpec) or spec.shape.rank not in (3, 4):
    raise ValueError(f"extract: dataset elements must be images [H, W, C] or batches "
                     f"[B, H, W, C], got {spec}.")
  if spec.shape.rank == 3:
    dataset = dataset.batch(batch_size)
  return dataset.as_numpy_iterator()


def _batches(images_or_dataset: np.ndarray | tf.data.Dataset, batch_size: int,
             name: str) -> Iterator[np.ndarray]:
  if isinstance(images_or_dataset, tf.data.Dataset):
    return _dataset_batches(images_or_dataset, batch_size)
  images = np.asarray(images_or_dataset, np.float32)
  check_images(images[:0], name)  # Shape errors before any work.
  return _array_batches(images, batch_size)


def extract(extractor: FeatureExtractor, images_or_dataset: np.ndarray | tf.data.Dataset,
            batch_size: int = 64, max_examples: int | None = None) -> tuple[np.ndarray, np.ndarray]:
  """Runs `extractor` batchwise, as compare_gan's `inception_transform_np`.

  compare_gan (`eval_utils.py:178-206`) ran batches of 64 and stacked the
  outputs; the tail of a set smaller than a batch is run as a smaller batch.

  Args:
    extractor: the classifier.
    images_or_dataset: float32 [N, H, W, C] in [0, 1], or a tf.data.Dataset of
      images (batched or not) or of dicts with "images" (the data pipeline's
      elements). An already batched dataset keeps its own batches.
    batch_size: images per call of the network.
    max_examples: stop after this many (an infinite dataset needs it).

  Returns:
    (features [N, D], logits [N, K]) as float32 NumPy arrays.

  Raises:
    ValueError: on a bad batch size, no images, or malformed input.
  """
  if batch_size < 1:
    raise ValueError(f"extract: batch_size must be >= 1, got {batch_size}.")
  run, features, logits, count = None, [], [], 0
  for batch in _batches(images_or_dataset, batch_size, extractor.name):
    if max_examples is not None:
      batch = batch[:max_examples - count]
    if not len(batch):
      break
    check_images(batch, extractor.name)
    if run is None:  # One trace: the last, smaller batch reuses it.
      spec = tf.TensorSpec([None, *batch.shape[1:]], tf.float32)
      run = tf.function(extractor.__call__, input_signature=[spec])
    batch_features, batch_logits = run(tf.constant(batch))
    features.append(batch_features.numpy())
    logits.append(batch_logits.numpy())
    count += len(batch)
  if not count:
    raise ValueError(f"extract: no images to run {extractor.name} on.")
  return np.concatenate(features), np.concatenate(logits)
