"""Tests for compare_gan2.evaluation.extractor: input checks and batchwise extraction.

A tiny extractor (features: channel means and maxima; logits: their sums)
stands for Inception; `extract` must give what one call on all images gives,
whatever the batching, as compare_gan's `inception_transform_np`
(`eval_utils.py:178-206`) stacked its batches of 64.
"""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2.evaluation import extractor


class TinyExtractor:
  """features [B, 2C] = per-channel mean and max; logits [B, 1] = their sum."""
  name = "tiny"
  feature_dim = 6
  num_logits = 1
  comparable_note = "test only"

  def __init__(self):
    self.batch_sizes = []

  def __call__(self, images):
    images = extractor.check_images(images, self.name)
    self.batch_sizes.append(images.shape[0])  # Static: None when traced generically.
    features = tf.concat([tf.reduce_mean(images, [1, 2]), tf.reduce_max(images, [1, 2])], 1)
    return features, tf.reduce_sum(features, 1, keepdims=True)


def _images(n, seed=0):
  return np.random.default_rng(seed).uniform(size=(n, 4, 4, 3)).astype(np.float32)


def _reference(images):
  features = np.concatenate([images.mean((1, 2)), images.max((1, 2))], 1)
  return features, features.sum(1, keepdims=True)


def test_array_extraction_in_batches_equals_one_pass():
  """5 images in batches of 2 (2 + 2 + 1) give the NumPy reference, with one trace."""
  images = _images(5)
  tiny = TinyExtractor()
  features, logits = extractor.extract(tiny, images, batch_size=2)
  assert features.shape == (5, 6) and logits.shape == (5, 1) and features.dtype == np.float32
  want_features, want_logits = _reference(images)
  np.testing.assert_allclose(features, want_features, rtol=1e-6)
  np.testing.assert_allclose(logits, want_logits, rtol=1e-5)
  assert tiny.batch_sizes == [None]  # Traced once for every batch size.


def test_dataset_of_pipeline_dicts_batched_or_not():
  """Elements {"images", "labels"}, unbatched or already batched, give the same arrays."""
  images = _images(7)
  elements = tf.data.Dataset.from_tensor_slices({"images": images, "labels": np.arange(7)})
  want, _ = _reference(images)
  for dataset in (elements, elements.batch(3)):
    features, _ = extractor.extract(TinyExtractor(), dataset, batch_size=4)
    np.testing.assert_allclose(features, want, rtol=1e-6)


def test_max_examples_stops_an_infinite_dataset():
  """compare_gan truncated to N (`eval_utils.py:75-84`); a repeated dataset needs the cap."""
  images = _images(3)
  dataset = tf.data.Dataset.from_tensor_slices(images).repeat()
  features, _ = extractor.extract(TinyExtractor(), dataset, batch_size=2, max_examples=5)
  np.testing.assert_allclose(features, _reference(images[[0, 1, 2, 0, 1]])[0], rtol=1e-6)


@pytest.mark.parametrize("source, batch_size, match", [
    (_images(2) * 2, 2, r"in \[0, 1\]"),
    (np.full([1, 4, 4, 3], np.nan, np.float32), 2, "NaN"),
    (np.zeros([2, 4, 4, 2], np.float32), 2, "1 or 3"),
    (np.zeros([2, 4, 4], np.float32), 2, "batch, height, width"),
    (np.zeros([0, 4, 4, 3], np.float32), 2, "no images"),
    (_images(2), 0, "batch_size"),
    (tf.data.Dataset.from_tensor_slices({"x": _images(2)}), 2, "none is 'images'"),
])
def test_bad_input_is_a_value_error_naming_it(source, batch_size, match):
  """Out-of-range or NaN pixels, wrong shapes, empty input, bad batch size, wrong keys."""
  with pytest.raises(ValueError, match=match):
    extractor.extract(TinyExtractor(), source, batch_size=batch_size)


def test_out_of_range_fails_the_step_inside_tf_function():
  """In a graph the range check cannot raise ValueError; it fails the step with its message."""
  tiny = TinyExtractor()
  traced = tf.function(tiny.__call__)
  traced(tf.constant(_images(1)))
  with pytest.raises(tf.errors.InvalidArgumentError, match=r"in \[0, 1\]"):
    traced(tf.constant(_images(1) - 1))
