"""Tests for compare_gan2.pretraining.model: the labeller and the S²L loss, eq. (2).

The loss is compared with a NumPy reference built from np.rot90 and a
hand-written softmax cross-entropy on F's features (Lucic et al. 2019,
arXiv 1903.02271 eq. (2)): rotation term over all images in 4 rotations, class term
over the labelled images in 4 rotations, weighted by γ. Also: the held-out
accuracies of `evaluate` and the errors of `make_labeller`.

`TinyConvDiscriminator` (two stride-2 convolutions, features [B, 7·7·16])
is the feature extractor of the pretraining tests: compare_gan2.testing's
TinyDiscriminator averages over H and W, which no rotation changes.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2.architectures import base
from compare_gan2.architectures import infogan
from compare_gan2.ops import layers
from compare_gan2.pretraining import model


class TinyConvDiscriminator(base.DiscriminatorBase):
  """conv 3x3/2 (8) -> lrelu -> conv 3x3/2 (16) -> lrelu -> flatten = features -> linear 1."""

  def __init__(self, image_shape=(28, 28, 1), **kwargs):
    super().__init__(image_shape=image_shape, **kwargs)
    self.conv1 = layers.Conv2D(8, 3, 2, name="conv1")
    self.conv2 = layers.Conv2D(16, 3, 2, name="conv2")
    self.logit = layers.Linear(1, name="logit")

  def build(self, images_shape, y_shape=None):
    self.conv1.build(images_shape)
    shape = self.conv1.compute_output_shape(images_shape)
    self.conv2.build(shape)
    shape = self.conv2.compute_output_shape(shape)
    self.logit.build((shape[0], shape[1] * shape[2] * shape[3]))

  def call(self, images, y=None, training=False):
    net = layers.lrelu(self.conv1(images))
    net = layers.lrelu(self.conv2(net))
    features = tf.reshape(net, [tf.shape(net)[0], -1])
    return base.discriminator_output(self.logit(features), features)


def _softmax_ce(logits: np.ndarray, labels: np.ndarray) -> float:
  shifted = logits - logits.max(axis=1, keepdims=True)
  log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
  return float(-log_p[np.arange(len(labels)), labels].mean())


def _linear(head, x: np.ndarray) -> np.ndarray:
  return x @ head.kernel.numpy() + head.bias.numpy()


@pytest.fixture(name="labeller")
def _labeller():
  keras.utils.set_random_seed(0)
  return model.make_labeller(TinyConvDiscriminator, (8, 8, 1), num_classes=3)


def test_s2l_loss_matches_a_numpy_reference(labeller):
  """L = CE_rot(all 4 rotations of both batches) + γ·CE_class(4 rotations of the labelled)."""
  rng = np.random.default_rng(0)
  images, labelled = rng.random((3, 8, 8, 1), np.float32), rng.random((2, 8, 8, 1), np.float32)
  labels = np.array([2, 0])
  values = model.s2l_loss(labeller, images, labelled, labels, class_weight=0.5, training=False)
  rot_ce, cls_ce = [], []
  for k in range(4):
    for batch in (images, labelled):
      flat = labeller.features(np.rot90(batch, k, axes=(1, 2)).copy()).numpy()
      rot_ce.append(_softmax_ce(_linear(labeller.rotation_head, flat), np.full(len(batch), k)))
    cls_ce.append(_softmax_ce(_linear(labeller.class_head, flat), labels))
  rotation = (3 * np.mean(rot_ce[0::2]) + 2 * np.mean(rot_ce[1::2])) / 5  # mean over 20 rows
  np.testing.assert_allclose(values["rotation_loss"], rotation, rtol=1e-5)
  np.testing.assert_allclose(values["class_loss"], np.mean(cls_ce), rtol=1e-5)
  np.testing.assert_allclose(values["loss"], rotation + 0.5 * np.mean(cls_ce), rtol=1e-5)


def test_without_a_labelled_batch_the_loss_is_the_rotation_loss_eq_1(labeller):
  """Eq. (1) alone: no class term, loss == rotation loss."""
  images = np.random.default_rng(1).random((4, 8, 8, 1), np.float32)
  values = model.s2l_loss(labeller, images, training=False)
  assert "class_loss" not in values
  assert float(values["loss"]) == float(values["rotation_loss"]) > 0


def test_evaluate_counts_rotations_and_labelled_classes(labeller):
  """Accuracies equal argmax counts recomputed here; -1 labels are left out of the class one."""
  rng = np.random.default_rng(2)
  images = rng.random((5, 8, 8, 1), np.float32)
  labels = np.array([0, 1, -1, 2, 1], np.int32)
  batches = tf.data.Dataset.from_tensor_slices({"images": images, "labels": labels}).batch(3)
  result = model.evaluate(labeller, batches)
  hits = 0
  for k in range(4):
    flat = labeller.features(np.rot90(images, k, axes=(1, 2)).copy()).numpy()
    hits += (_linear(labeller.rotation_head, flat).argmax(1) == k).sum()
    if k == 0:
      predicted = _linear(labeller.class_head, flat).argmax(1)
  labelled = labels >= 0
  assert result["rotation_accuracy"] == pytest.approx(hits / 20)
  assert result["class_accuracy"] == pytest.approx((predicted == labels)[labelled].mean())
  assert (result["examples"], result["labelled_examples"]) == (5, 4)


def test_labeller_shapes_and_rotation_only_mode():
  """Heads read the flattened features; num_classes None gives no class head."""
  labeller = model.make_labeller(TinyConvDiscriminator, (8, 8, 1), num_classes=None)
  assert labeller.class_head is None and labeller.num_classes is None
  assert labeller.rotation_head.kernel.shape == (2 * 2 * 16, 4)
  with_classes = model.make_labeller(infogan.Discriminator(image_shape=(8, 8, 1)), (8, 8, 1), 7)
  assert with_classes.class_head.kernel.shape == (1024, 7)


def test_make_labeller_rejects_a_wrong_network():
  """A network for other images, or not a discriminator, is a ValueError naming the problem."""
  with pytest.raises(ValueError, match=r"made for \(12, 12, 1\) images; the dataset has"):
    model.make_labeller(TinyConvDiscriminator(image_shape=(12, 12, 1)), (8, 8, 1), 3)
  with pytest.raises(ValueError, match="FeatureNetwork or a compare_gan2 discriminator"):
    model.make_labeller(lambda image_shape: keras.layers.Dense(3), (8, 8, 1), 3)
