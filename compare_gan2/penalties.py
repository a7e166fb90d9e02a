"""Discriminator penalties with compare_gan's sampling (compare_gan `gans/penalty_lib.py`).

Every penalty has one signature,

    penalty(discriminator, x_real, x_fake, y, *, training, seed) -> scalar

where `discriminator(images, y=y, training=training)` returns
(probabilities, logits, features) as compare_gan's discriminators do, images
are in [0, 1], and `seed` is a stateless-random seed of shape [2] that the
caller derives from the step, so a resumed run draws the same points. Points
are drawn per global example (`global_batch`): replica r of N evaluates D on
its examples where one device evaluates it on them, so 1 and N replicas train
identically. The GAN adds `penalty_weight · penalty` to the D loss only;
compare_gan's weight is `options.lamba`, default 1 (its WGAN-GP configs set 10).

Gradient penalties must be computed inside the caller's GradientTape over D's
variables: they nest their own tape for the input gradient.
"""

from collections.abc import Callable, Sequence

import keras
import tensorflow as tf

from compare_gan2 import global_batch
from compare_gan2 import registry

# compare_gan's options.lamba default (runner_lib.py:78).
DEFAULT_PENALTY_WEIGHT = 1.0
# Added under the square root of the gradient norm (penalty_lib.py:79-80).
SLOPE_EPSILON = 1e-4

PenaltyFn = Callable[..., tf.Tensor]
# What the GAN passes at every call; a gin binding for these would be a mistake.
CALL_ARGUMENTS = ("discriminator", "x_real", "x_fake", "y", "training", "seed")
PENALTIES: list[PenaltyFn] = []


def register_penalty(fn: PenaltyFn) -> PenaltyFn:
  """Registers a penalty with gin (`@penalties.<name>`) and in `PENALTIES`."""
  PENALTIES.append(fn)
  return registry.register(module="compare_gan2.penalties", denylist=CALL_ARGUMENTS)(fn)


def _logits(discriminator: Callable, images: tf.Tensor, y: tf.Tensor | None,
            training: bool) -> tf.Tensor:
  outputs = discriminator(images, y=y, training=training)
  if not isinstance(outputs, Sequence) or len(outputs) != 3:
    raise TypeError("A discriminator must return (probabilities, logits, features); "
                    f"got {type(outputs).__name__}.")
  return outputs[1]


def _gradient_norm_penalty(discriminator: Callable, points: tf.Tensor,
                           y: tf.Tensor | None, training: bool) -> tf.Tensor:
  """mean((‖∇ₓ Σ D(x)‖ − 1)²) with the norm sqrt(ε + Σg²) per example."""
  with tf.GradientTape() as tape:
    tape.watch(points)
    logits = _logits(discriminator, points, y, training)
  gradients = tape.gradient(logits, points)
  axes = list(range(1, gradients.shape.rank))
  slopes = tf.sqrt(SLOPE_EPSILON + tf.reduce_sum(tf.square(gradients), axis=axes))
  return tf.reduce_mean(tf.square(slopes - 1.0))


@register_penalty
def no_penalty(discriminator: Callable, x_real: tf.Tensor, x_fake: tf.Tensor,
               y: tf.Tensor | None, *, training: bool = True,
               seed: tf.Tensor | None = None) -> tf.Tensor:
  """Zero; compare_gan's default `penalty.fn`."""
  del discriminator, x_real, x_fake, y, training, seed
  return tf.constant(0.0)


@register_penalty
def wgan_gp(discriminator: Callable, x_real: tf.Tensor, x_fake: tf.Tensor,
            y: tf.Tensor | None, *, training: bool = True,
            seed: tf.Tensor | None = None) -> tf.Tensor:
  """WGAN-GP, Gulrajani et al. 2017, eq. 3 (compare_gan `wgangp_penalty`).

  Interpolates x̂ = x_real + α(x_fake − x_real) row by row with one
  α ~ U[0, 1) per global example, evaluates D on x̂ with the real labels y, and
  penalizes the squared deviation of the input-gradient norm from 1.

  Args:
    discriminator: called as discriminator(images, y=y, training=training).
    x_real: real images [B, H, W, C].
    x_fake: generated images, same shape; pass them without gradient to G.
    y: conditioning for D (one-hot real labels) or None.
    training: forwarded to D.
    seed: stateless seed [2] for α; required for reproducible runs.

  Returns:
    The scalar penalty.
  """
  x_real, x_fake = tf.convert_to_tensor(x_real), tf.convert_to_tensor(x_fake)
  alpha_shape = [tf.shape(x_real)[0]] + [1] * (x_real.shape.rank - 1)
  alpha = _uniform(alpha_shape, seed, x_real.dtype)
  interpolates = x_real + alpha * (x_fake - x_real)
  return _gradient_norm_penalty(discriminator, interpolates, y, training)


@register_penalty
def dragan(discriminator: Callable, x_real: tf.Tensor, x_fake: tf.Tensor,
           y: tf.Tensor | None, *, training: bool = True,
           seed: tf.Tensor | None = None) -> tf.Tensor:
  """DRAGAN, Kodali et al. 2017, eq. 3 (compare_gan `dragan_penalty`).

  Perturbs real images only: x̃ = clip(x + std·(u − ½), 0, 1) with u ~ U[0, 1)
  per element and std the standard deviation of all elements of the global
  batch (one scalar, reduced over replicas; compare_gan's TPU cores each used
  their own), then applies the same gradient-norm penalty as WGAN-GP. Fakes are
  ignored.
  """
  del x_fake
  x_real = tf.convert_to_tensor(x_real)
  _, variance = global_batch.moments(x_real)
  noise = _uniform(tf.shape(x_real), seed, x_real.dtype)
  x_noisy = tf.clip_by_value(x_real + tf.sqrt(variance) * (noise - 0.5), 0.0, 1.0)
  return _gradient_norm_penalty(discriminator, x_noisy, y, training)


@register_penalty
def l2(discriminator: Callable, x_real: tf.Tensor, x_fake: tf.Tensor,
       y: tf.Tensor | None, *, training: bool = True,
       seed: tf.Tensor | None = None) -> tf.Tensor:
  """Weight decay on D's kernels: the mean over kernels of Σw²/2.

  compare_gan `l2_penalty` (penalty_lib.py:85-102) averages `tf.nn.l2_loss`
  over every trainable variable named `kernel` (biases, norm parameters and the
  attention sigma excluded), using the raw kernels even under spectral norm.

  Raises:
    ValueError: if the discriminator has no kernel (is it built?).
  """
  del x_real, x_fake, y, training, seed
  kernels = discriminator_kernels(discriminator)
  if not kernels:
    raise ValueError(f"l2 penalty: {getattr(discriminator, 'name', discriminator)} has no "
                     "trainable kernels; build the discriminator first.")
  return tf.reduce_mean(tf.stack([tf.nn.l2_loss(k) for k in kernels]))


def discriminator_kernels(discriminator: keras.layers.Layer) -> list[keras.Variable]:
  """The trainable `kernel` weights of every layer inside `discriminator`."""
  found = []
  for layer in discriminator._flatten_layers(include_self=True, recursive=True):  # pylint: disable=protected-access
    kernel = getattr(layer, "kernel", None) if layer.built else None
    if isinstance(kernel, keras.Variable) and kernel.trainable:
      found.append(kernel)
  return found


def _uniform(shape, seed: tf.Tensor | None, dtype: tf.DType) -> tf.Tensor:
  if seed is None:
    raise ValueError("Gradient penalties draw random points and need a stateless seed "
                     "(shape [2]); the GAN derives it from the training step.")
  return global_batch.uniform(shape, seed, dtype)
