"""Tests for compare_gan2.self_supervision: rotations, the head, the losses.

Rotations are pinned to np.rot90 (what compare_gan's `gans/utils.py:38-50`
computes), the cross-entropy to a NumPy log(softmax + 1e-10).
"""

import keras
import numpy as np
import pytest

from compare_gan2 import self_supervision as ss
from compare_gan2 import testing
from compare_gan2.gans import modular_gan


def _images(n=3, size=4, channels=2):
  return np.random.RandomState(0).uniform(size=(n, size, size, channels)).astype(np.float32)


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_rotate_images_is_np_rot90_counter_clockwise(k):
  """Label k is a rotation by k·90° CCW: np.rot90(x, k, axes=(1, 2))."""
  x = _images()
  np.testing.assert_array_equal(ss.rotate_images(x, k).numpy(), np.rot90(x, k, axes=(1, 2)))


def test_rotation_batch_is_rotation_major_with_labels():
  """[n at 0°, n at 90°, n at 180°, n at 270°] with labels [0]*n + [1]*n + ... (ssgan.py:159-162)."""
  x = _images(n=3)
  rotated, labels = ss.rotation_batch(x)
  expected = np.concatenate([np.rot90(x, k, axes=(1, 2)) for k in range(4)])
  np.testing.assert_array_equal(rotated.numpy(), expected)
  np.testing.assert_array_equal(labels.numpy(), [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])


def test_non_square_images_are_refused():
  with pytest.raises(ValueError, match=r"rotate_images: images must be \[N, H, H, C\]"):
    ss.rotate_images(np.zeros((1, 4, 3, 1), np.float32), 1)


def test_cross_entropy_and_accuracy_match_numpy():
  """−mean log(softmax[label] + 1e-10) and argmax accuracy, against NumPy."""
  logits = np.array([[2.0, 0.0, -1.0, 0.5], [0.0, 3.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]], np.float32)
  labels = np.array([0, 2, 3], np.int32)
  softmax = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
  expected = -np.mean(np.log(softmax[np.arange(3), labels] + 1e-10))
  np.testing.assert_allclose(float(ss.cross_entropy(logits, labels)), expected, rtol=1e-6)
  # argmax: 0 (right), 1 (wrong), 0 on a tie (wrong)
  np.testing.assert_allclose(float(ss.accuracy(logits, labels)), 1 / 3, rtol=1e-6)


def _rotation_gan(task, spectral_norm=True):
  """A tiny ModularGAN with `task` bound, compiled and built."""
  gan = modular_gan.ModularGAN(testing.TinyGenerator((4, 4, 3)),
                               testing.TinyDiscriminator((4, 4, 3), spectral_norm=spectral_norm),
                               self_supervision=task)
  gan.compile(d_optimizer=keras.optimizers.SGD(0.1), g_optimizer=keras.optimizers.SGD(0.1))
  gan.build_networks()
  return gan


def test_head_joins_the_discriminator_with_its_sn_and_feature_width():
  """The task's head is D-side: D's SN, trained with D's variables, width of D's features."""
  task = ss.Rotation(rotated_batch_fraction=1)
  gan = _rotation_gan(task)
  head = task.head
  assert head.kernel.shape == (3, 4) and head.u_var is not None
  assert "discriminator/score_classify/kernel" in [
      v.path for v in gan.discriminator_trainable_variables()]
  assert any(v is head.kernel for v in gan.trainable_variables)  # tracked by the GAN
  logits = head(ss.flat_features(gan.discriminator(_images(2, channels=3)).features))
  assert logits.shape == (2, 4)


def test_a_task_serves_one_gan():
  """A task whose head is built refuses a second GAN (its head would be shared)."""
  task = ss.Rotation(rotated_batch_fraction=1)
  _rotation_gan(task)
  with pytest.raises(ValueError, match="already built for another GAN"):
    _rotation_gan(task)
