"""Tests for compare_gan2.self_supervision: rotations, the head, the losses.

Rotations are pinned to np.rot90 (what compare_gan's `gans/utils.py:38-50`
computes), the cross-entropy to a NumPy log(softmax + 1e-10).
"""

import keras
import numpy as np
import pytest

from compare_gan2 import self_supervision as ss
from compare_gan2 import testing


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


def test_head_joins_the_discriminator_with_its_sn_and_feature_width():
  """The head is D's sublayer: D's SN, D's variables, width of D's features."""
  d = testing.TinyDiscriminator((4, 4, 3), spectral_norm=True)
  head = ss.make_head(4, d.spectral_norm, d.kernel_initializer)
  ss.attach_head(d, head)
  d.build_variables()
  ss.build_head(d, conditional=False)
  assert head.kernel.shape == (3, 4) and head.u_var is not None
  assert "discriminator/score_classify/kernel" in [v.path for v in d.trainable_variables]
  logits = ss.head_logits(d, d(_images(2, channels=3)).features)
  assert logits.shape == (2, 4)


def test_attaching_to_a_built_discriminator_is_refused():
  d = testing.TinyDiscriminator((4, 4, 3))
  d.build_variables()
  with pytest.raises(ValueError, match="already built"):
    ss.attach_head(d, ss.make_head(4))
  fresh = testing.TinyDiscriminator((4, 4, 3))
  ss.attach_head(fresh, ss.make_head(4))
  with pytest.raises(ValueError, match="already has a rotation_head"):
    ss.attach_head(fresh, keras.layers.Identity())

