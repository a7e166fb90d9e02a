"""Tests of compare_gan2.metrics.accuracy with hand-built discriminators and classifiers
whose every verdict is known: D's probability is an image's mean pixel (or its label), a
classifier's logits are the image's pixels."""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2.metrics import accuracy
from compare_gan2.metrics import base


def _mean_pixel_d(images, y):
  """P(real) = mean pixel: bright images (> 0.5) are judged real, dark ones fake."""
  probabilities = tf.reduce_mean(images, axis=[1, 2, 3])[:, None]
  return probabilities, tf.math.log(probabilities / (1 - probabilities)), probabilities


def _filled(values, shape=(4, 4, 1)):
  return np.tile(np.float32(values).reshape(-1, 1, 1, 1), (1, *shape))


def _dataset(images, labels=None, batch=25):
  data = {"images": images} if labels is None else {"images": images, "labels": labels}
  return lambda: tf.data.Dataset.from_tensor_slices(data).batch(batch)


def _quarter_negative_z(shape, seed):
  """z[:, 0] = −0.5 for every 4th sample, 0.5 otherwise, whatever the seed."""
  return tf.tile(tf.constant([[-0.5], [0.5], [0.5], [0.5]]), [shape[0] // 4, shape[1]])


def _unconditional_model(train_images):
  # G fills the image with (z₀ + 1)/2, so exactly the samples with z₀ < 0 are judged fake.
  generate = lambda z, y: tf.tile(((z[:, :1] + 1) / 2)[:, :, None, None], [1, 4, 4, 1])
  return base.ModelAccess(generate=generate, sample_z=_quarter_negative_z, z_dim=2,
                          discriminate=_mean_pixel_d, real_train=_dataset(train_images))


def test_discriminator_accuracy_on_known_verdicts():
  """100 test images in batches of 32 use 96 (the last 4, bright, are ignored as in
  accuracy.py:83-87): 60 bright of 96 gives 0.625. The first 150 train images
  (max_train_examples) are bright, the rest dark: train accuracy 1. A quarter of the fakes
  are dark: fake accuracy 0.25."""
  test = _filled([0.8] * 60 + [0.2] * 36 + [0.9] * 4)
  train = _filled([0.7] * 150 + [0.1] * 100)
  metric = accuracy.DiscriminatorAccuracy(batch_size=32, num_repeat=3, max_train_examples=150)
  got = metric(_unconditional_model(train), base.EvalSet(images=test))
  assert got == {"train_accuracy": 1.0, "test_accuracy": 0.625, "fake_accuracy": 0.25}


def test_max_images_limits_the_test_set():
  """max_images = 64 keeps the first 64 test images: 60 bright, 4 dark, so 60/64."""
  test = _filled([0.8] * 60 + [0.2] * 40)
  metric = accuracy.DiscriminatorAccuracy(batch_size=32, num_repeat=1, max_images=64)
  got = metric(_unconditional_model(_filled([0.7] * 64)), base.EvalSet(images=test))
  assert got["test_accuracy"] == 60 / 64


def test_conditional_discriminator_sees_each_images_labels():
  """A conditional D that says "real" exactly for class 1: test accuracy is the share of
  class-1 test labels (16/64), train accuracy 1 (all train labels are 1), and the fake
  accuracy is the share of class-0 labels G was given (recorded as G ran)."""
  given = []

  def generate(z, y):
    given.append(np.asarray(y))
    return tf.zeros([tf.shape(z)[0], 4, 4, 1])

  def discriminate(images, y):
    return y[:, 1:], y[:, 1:], y

  model = base.ModelAccess(
      generate=generate, sample_z=lambda s, seed: tf.random.stateless_uniform(s, seed),
      z_dim=3, num_classes=2, discriminate=discriminate,
      real_train=_dataset(_filled([0.5] * 80), np.ones(80, np.int32)))
  labels = np.array([1] * 16 + [0] * 48)
  got = accuracy.DiscriminatorAccuracy(batch_size=32, num_repeat=2)(
      model, base.EvalSet(images=_filled([0.5] * 64), labels=labels))
  assert len(given) == 4 and all(y.shape == (32, 2) for y in given)
  assert got["test_accuracy"] == 0.25 and got["train_accuracy"] == 1.0
  assert got["fake_accuracy"] == pytest.approx(np.mean([y[:, 0] for y in given]))


def test_discriminator_accuracy_errors():
  """Missing D, missing or too few train images, a test set below one batch, and missing
  labels for a conditional D are ValueErrors naming the problem."""
  test = base.EvalSet(images=_filled([0.8] * 64))
  model = _unconditional_model(_filled([0.7] * 64))
  metric = accuracy.DiscriminatorAccuracy(batch_size=32, num_repeat=1)
  with pytest.raises(ValueError, match="discriminate"):
    metric(base.ModelAccess(model.generate, model.sample_z, 2), test)
  with pytest.raises(ValueError, match="real_train"):
    metric(base.ModelAccess(model.generate, model.sample_z, 2, discriminate=_mean_pixel_d), test)
  with pytest.raises(ValueError, match="fewer than the 64"):
    metric(_unconditional_model(_filled([0.7] * 40)), test)
  with pytest.raises(ValueError, match="fewer than one batch"):
    accuracy.DiscriminatorAccuracy(batch_size=128)(model, test)
  conditional = base.ModelAccess(model.generate, model.sample_z, 2, num_classes=3,
                                 discriminate=_mean_pixel_d, real_train=model.real_train)
  with pytest.raises(ValueError, match="labels"):
    metric(conditional, test)
  with pytest.raises(ValueError, match="num_repeat"):
    accuracy.DiscriminatorAccuracy(num_repeat=0)


def _pixel_classifier(num_classes):
  """Logits = the image's pixels: images are [1, 1, num_classes]."""
  return lambda images: tf.reshape(images, [-1, num_classes])


def test_classifier_top_k_matches_argsort():
  """70 random logit vectors over 10 classes, in batches of 32 (the last one partial): top-k
  accuracy for k = 1, 3, 5 equals NumPy's argsort membership."""
  rng = np.random.RandomState(0)
  logits, labels = rng.uniform(size=(70, 1, 1, 10)).astype(np.float32), rng.randint(0, 10, 70)
  model = base.ModelAccess(None, None, 0, num_classes=10, classify=_pixel_classifier(10))
  got = accuracy.ClassifierAccuracy(batch_size=32, top_k=(1, 3, 5))(
      model, base.EvalSet(images=logits, labels=labels))
  order = np.argsort(-logits.reshape(70, 10), axis=1)
  want = {f"classifier_top{k}": np.mean([labels[i] in order[i, :k] for i in range(70)])
          for k in (1, 3, 5)}
  assert got == pytest.approx(want)


def test_classifier_ties_follow_in_top_k():
  """Ties at the k-th place count as hits, as in tf.math.in_top_k."""
  logits = np.float32([[0.5, 0.5, 0.1], [0.2, 0.9, 0.9], [0.3, 0.3, 0.3], [0.1, 0.2, 0.3]])
  labels = np.array([1, 0, 2, 0])
  model = base.ModelAccess(None, None, 0, num_classes=3, classify=_pixel_classifier(3))
  got = accuracy.ClassifierAccuracy(batch_size=3, top_k=(1, 2))(
      model, base.EvalSet(images=logits.reshape(4, 1, 1, 3), labels=labels))
  for k in (1, 2):
    hits = tf.math.in_top_k(labels, logits, k).numpy()
    assert got[f"classifier_top{k}"] == np.mean(hits)


def test_classifier_accuracy_errors():
  """No classifier, no labels, a negative label or a label beyond the logits is a ValueError."""
  images = np.zeros([4, 1, 1, 3], np.float32)
  metric = accuracy.ClassifierAccuracy(top_k=(1,))
  with pytest.raises(ValueError, match="classify"):
    metric(base.ModelAccess(None, None, 0), base.EvalSet(images=images, labels=np.zeros(4)))
  model = base.ModelAccess(None, None, 0, num_classes=3, classify=_pixel_classifier(3))
  with pytest.raises(ValueError, match="labels"):
    metric(model, base.EvalSet(images=images))
  with pytest.raises(ValueError, match="non-negative"):
    metric(model, base.EvalSet(images=images, labels=np.array([0, -1, 0, 0])))
  with pytest.raises(ValueError, match="labels up to 3"):
    metric(model, base.EvalSet(images=images, labels=np.array([0, 3, 0, 0])))
  with pytest.raises(ValueError, match="top_k"):
    accuracy.ClassifierAccuracy(top_k=(0,))
