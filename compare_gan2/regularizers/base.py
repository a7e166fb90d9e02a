"""The interface between a GAN and its regularizers, and their registry.

A regularizer sees one D or G update through a `Context` the GAN builds, and
returns named, already weighted loss terms that the GAN adds to that update's
loss. Nothing here knows a GAN class: D and G reach a regularizer only as the
two closures of the context.
"""

from collections.abc import Callable
from typing import NamedTuple

import tensorflow as tf

from compare_gan2 import global_batch


class Context(NamedTuple):
  """What a regularizer may read in one D or G update; the GAN builds it.

  Attributes:
    real: the real images D was given [n, H, W, C] (n: this replica's examples).
    fake: G(z) [n, H, W, C]; in a D update without gradient to G, in a G
      update with it.
    d_real_logits: D's final logits on `real` [n, 1].
    d_fake_logits: D's final logits on `fake` [n, 1].
    z: the latents of `fake` [n, z_dim].
    discriminate: `(images, real) -> logits [n, 1]`: D on other images, with the
      labels of the reals (real=True) or of the fakes (real=False).
    generate: `z -> images`: G with the fakes' labels, as it made `fake`.
    seed: stateless seed [2], distinct for every update (derived from the step).
    step: the training step (G updates done so far), an integer scalar.
  """
  real: tf.Tensor
  fake: tf.Tensor
  d_real_logits: tf.Tensor
  d_fake_logits: tf.Tensor
  z: tf.Tensor
  discriminate: Callable[[tf.Tensor, bool], tf.Tensor]
  generate: Callable[[tf.Tensor], tf.Tensor]
  seed: tf.Tensor
  step: tf.Tensor


class Regularizer(tf.Module):
  """Base class: no terms, no state, the fake logits unchanged.

  A tf.Module, so state (tf.Variables) is tracked by `tf.train.Checkpoint`.
  """

  def d_terms(self, context: Context) -> dict[str, tf.Tensor]:
    """Weighted scalars to add to D's loss in this update, by log name."""
    del context
    return {}

  def g_terms(self, context: Context) -> dict[str, tf.Tensor]:
    """Weighted scalars to add to G's loss in this update, by log name."""
    del context
    return {}

  def generator_logits(self, d_fake_logits: tf.Tensor, step: tf.Tensor) -> tf.Tensor:
    """The fake logits G's adversarial loss averages over (all of them here)."""
    del step
    return d_fake_logits

  def metrics(self) -> dict[str, tf.Tensor]:
    """State worth logging (not loss terms), by log name."""
    return {}


REGULARIZERS: dict[str, type[Regularizer]] = {}


def register(cls: type[Regularizer]) -> type[Regularizer]:
  """Class decorator: lists `cls` in REGULARIZERS under its class name."""
  if cls.__name__ in REGULARIZERS:
    raise ValueError(f"Two regularizers named {cls.__name__}.")
  REGULARIZERS[cls.__name__] = cls
  return cls


def squared_difference(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
  """mean((a − b)²) over every element: E‖a − b‖² for D's [n, 1] logits."""
  return tf.reduce_mean(tf.square(tf.cast(a, tf.float32) - tf.cast(b, tf.float32)))


def global_mean(x: tf.Tensor) -> tf.Tensor:
  """Mean of every element of `x` over all replicas (equal local sizes or not)."""
  context = tf.distribute.get_replica_context()
  x = tf.cast(x, tf.float32)
  total, count = tf.reduce_sum(x), tf.cast(tf.size(x), tf.float32)
  if context is not None and global_batch.replica()[1] > 1:
    total, count = context.all_reduce("SUM", [total, count])
  return total / count


def check_seed(seed: tf.Tensor | None, who: str) -> tf.Tensor:
  """`seed` as a tensor, or a clear error naming the regularizer that needs it."""
  if seed is None:
    raise ValueError(f"{who} draws random numbers and needs a stateless seed of shape [2] "
                     "in its Context; the GAN derives it from the training step.")
  return tf.convert_to_tensor(seed)
