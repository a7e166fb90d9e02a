"""Tests for compare_gan2.evaluation.mnist_classifier: the shipped offline MNIST CNN.

The shipped weights must classify the 1,000 held-out bundled MNIST images
(never seen in training) at >= 97 %, measured here, and the accuracy the
tool recorded beside them must be the one measured. Images from
`data.bundled_mnist` at 32 px (padded or resized) and in RGB must give the
features of the 28 px gray originals.
"""

import functools
import json

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import data
from compare_gan2.data import bundled
from compare_gan2.evaluation import extractor
from compare_gan2.evaluation import mnist_classifier


@pytest.fixture(scope="module")
def classifier():
  return mnist_classifier.MnistClassifierConfig().load()


@functools.cache
def _heldout(resolution=28, channels=1, upscale="pad"):
  """The bundled eval split as the data pipeline gives it: images [1000, R, R, C], labels."""
  dataset = data.bundled_mnist(resolution=resolution, channels=channels, upscale=upscale)
  elements = data.eval_input(dataset, batch_size=1000)
  batch = next(iter(elements))
  return batch["images"].numpy(), batch["labels"].numpy()


def test_shipped_weights_reach_97_percent_on_the_heldout_images(classifier):
  """>= 97 % on the 1,000 bundled eval images; the shipped .json reports that same accuracy."""
  images, labels = _heldout()
  assert images.shape == (bundled.NUM_EVAL, 28, 28, 1)
  _, logits = extractor.extract(classifier, images, batch_size=250)
  accuracy = (logits.argmax(1) == labels).mean()
  assert accuracy >= 0.97
  assert classifier.info["heldout_accuracy"] == pytest.approx(accuracy, abs=0.0015)
  assert classifier.info["heldout_examples"] == 1000
  assert classifier.info["train_examples"] == bundled.NUM_TRAIN


def test_identity_shapes_and_post_relu_features(classifier):
  """Name, dims, the comparability warning; features [B, 128] >= 0, logits [B, 10]."""
  assert classifier.name == "mnist_classifier_v1"
  assert "NOT comparable with Inception FID" in classifier.comparable_note
  assert (classifier.feature_dim, classifier.num_logits) == (128, 10)
  features, logits = classifier(_heldout()[0][:5])
  assert features.shape == (5, 128) and logits.shape == (5, 10)
  assert np.all(features.numpy() >= 0) and np.any(features.numpy() > 0)


def test_tf_function_equals_eager(classifier):
  """Usable inside tf.function with the same numbers."""
  images = tf.constant(_heldout()[0][:8])
  for eager, traced in zip(classifier(images), tf.function(classifier.__call__)(images)):
    np.testing.assert_allclose(traced, eager, rtol=1e-5, atol=1e-5)


def test_padded_32px_rgb_digits_give_the_28px_features(classifier):
  """bundled_mnist(resolution=32, channels=3) is cropped and averaged back exactly."""
  small, _ = _heldout()
  big, _ = _heldout(resolution=32, channels=3)
  for want, got in zip(classifier(small[:16]), classifier(big[:16])):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_resized_32px_digits_still_classify():
  """upscale="resize" resizes back (antialiased): accuracy stays >= 95 %; the name says so."""
  resized = mnist_classifier.MnistClassifierConfig(upscale="resize").load()
  assert resized.name == "mnist_classifier_v1_resize"
  images, labels = _heldout(resolution=32, upscale="resize")
  _, logits = extractor.extract(resized, images[:300])
  assert (logits.argmax(1) == labels[:300]).mean() >= 0.95


def test_weights_round_trip_through_npz(tmp_path, classifier):
  """save_weights then MnistClassifierConfig(weights_path=...) reproduces the outputs."""
  path = tmp_path / "copy.npz"
  mnist_classifier.save_weights(classifier._model, str(path))  # pylint: disable=protected-access
  (tmp_path / "copy.json").write_text(json.dumps({"seed": 3}))
  copy = mnist_classifier.MnistClassifierConfig(weights_path=str(path)).load()
  assert copy.name == "copy" and copy.info == {"seed": 3}
  images = _heldout()[0][:4]
  np.testing.assert_array_equal(copy(images)[1], classifier(images)[1])


def test_bad_weights_and_options_are_clear_errors(tmp_path):
  """Missing or foreign weight files raise ModelUnavailableError; a bad upscale a ValueError."""
  with pytest.raises(extractor.ModelUnavailableError, match="no such MNIST classifier"):
    mnist_classifier.MnistClassifierConfig(weights_path=str(tmp_path / "none.npz")).load()
  (tmp_path / "junk.npz").write_bytes(b"junk")
  with pytest.raises(extractor.ModelUnavailableError, match="not a readable .npz"):
    mnist_classifier.MnistClassifierConfig(weights_path=str(tmp_path / "junk.npz")).load()
  np.savez(tmp_path / "other.npz", kernel=np.zeros(3))
  with pytest.raises(extractor.ModelUnavailableError, match="do not fit"):
    mnist_classifier.MnistClassifierConfig(weights_path=str(tmp_path / "other.npz")).load()
  with pytest.raises(ValueError, match="upscale"):
    mnist_classifier.MnistClassifierConfig(upscale="crop").load()


def test_non_square_images_are_value_errors(classifier):
  """Only square MNIST-like images can be mapped to the 28 px training resolution."""
  with pytest.raises(ValueError, match="square"):
    classifier(np.zeros([1, 28, 32, 1], np.float32))
