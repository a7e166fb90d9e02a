"""Rotation self-supervision ops: rotated batches, the rotation head, its losses.

compare_gan `gans/utils.py:38-50` (rotation helper) and `gans/ssgan.py:80-102,
197-216` (head and loss). Label k means a rotation
by k·90° counter-clockwise, i.e. `np.rot90(x, k, axes=(1, 2))` on NHWC images.
Used by SSGAN (Chen et al. 2019, "Self-Supervised GANs via Auxiliary Rotation
Loss") and MSGAN (Tran et al. 2019, "Self-supervised GAN: Analysis and
Improvement with Multi-class Minimax Game"); arXiv 1811.11212 §3, 1911.06997 §3.
"""

import keras
import numpy as np
import tensorflow as tf

from compare_gan2.ops import layers

NUM_ROTATIONS = 4  # compare_gan ssgan.py:35
# compare_gan's rotation cross-entropy is log(softmax + 1e-10), not a fused one
# (ssgan.py:206-211); kept so a converted run logs the same loss.
EPSILON = 1e-10
# The head's layer name: compare_gan's `discriminator_rotation/score_classify`.
HEAD_NAME = "score_classify"


def rotate_images(images: tf.Tensor, k: int) -> tf.Tensor:
  """Rotates NHWC images by k·90° counter-clockwise (compare_gan utils.py:38-50).

  Exact (transpose / flip, no interpolation); equals np.rot90(x, k, axes=(1, 2)).

  Raises:
    ValueError: if the images are not a rank-4 batch of square images.
  """
  images = tf.convert_to_tensor(images)
  if images.shape.rank != 4 or images.shape[1] != images.shape[2]:
    raise ValueError(f"rotate_images: images must be [N, H, H, C] (square), got {images.shape}.")
  return tf.image.rot90(images, k=k % NUM_ROTATIONS)


def rotation_batch(images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
  """All four rotations of n images, rotation-major, with their labels.

  compare_gan stacks [n at 0°, n at 90°, n at 180°, n at 270°] and labels them
  `repeat(arange(4), n)` (ssgan.py:159-162, utils.py:38-50).

  Returns:
    (images [4n, H, W, C], int32 labels [4n] = [0]*n + [1]*n + [2]*n + [3]*n).
  """
  rotated = tf.concat([rotate_images(images, k) for k in range(NUM_ROTATIONS)], axis=0)
  labels = tf.repeat(tf.range(NUM_ROTATIONS, dtype=tf.int32), tf.shape(rotated)[0] // NUM_ROTATIONS)
  return rotated, labels


def cross_entropy(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
  """−mean_rows log(softmax(logits)[label] + 1e-10) (compare_gan ssgan.py:206-211).

  Args:
    logits: [N, classes] head outputs.
    labels: [N] int class indices.
  """
  probabilities = tf.nn.softmax(logits)
  picked = tf.gather(probabilities, labels, axis=1, batch_dims=1)
  return -tf.reduce_mean(tf.math.log(picked + EPSILON))


def accuracy(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
  """mean(argmax(logits) == label), compare_gan's `accuracy/d_rotation` (ssgan.py:222-225)."""
  predicted = tf.argmax(logits, axis=-1, output_type=tf.int32)
  return tf.reduce_mean(tf.cast(tf.equal(predicted, tf.cast(labels, tf.int32)), tf.float32))


def make_head(units: int, spectral_norm: layers.SpectralNormArg = False,
              kernel_initializer: keras.initializers.Initializer | None = None) -> layers.Linear:
  """The head `linear(features, units, scope="score_classify", use_sn=D's SN)` (ssgan.py:80-102)."""
  return layers.Linear(units, spectral_norm=spectral_norm, kernel_initializer=kernel_initializer,
                       name=HEAD_NAME)


def feature_width(discriminator: keras.Model, conditional: bool) -> int:
  """The width of D's flattened `features`, from tracing D (D must be built).

  No forward pass is run, so no spectral-norm or batch-norm state moves.
  """
  images = tf.TensorSpec((2, *discriminator.image_shape), tf.float32)
  y = tf.TensorSpec((2, discriminator.num_classes), tf.float32) if conditional else None
  trace = tf.function(lambda x, y: discriminator(x, y, training=False).features)
  features = trace.get_concrete_function(images, y).structured_outputs
  return int(np.prod(features.shape[1:]))


def flat_features(features: tf.Tensor) -> tf.Tensor:
  """D's features as [N, -1], what every head reads (ssgan.py:95-99)."""
  return tf.reshape(features, [tf.shape(features)[0], -1])
