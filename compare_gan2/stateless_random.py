"""Stateless draws and seed folding that XLA and TensorFlow's kernels agree on.

`tf.random.stateless_uniform`/`stateless_normal` turn the same Philox bits
into different floats under XLA (the high 23 bits) and in TensorFlow's CPU/GPU
kernels (the low 23 bits), so a train step compiled with `jit_compile=True`, or
by TPUStrategy, drew other z and penalty points than the same step run plainly.
Here the bits come from the full-range integer op, on which both agree, and
are turned into floats with TensorFlow's kernel formulas (random_distributions.h:
`Uint32ToFloat`, `BoxMullerFloat`): uniform draws equal TensorFlow's bit for bit,
normal draws to float rounding of log, sqrt and sin/cos.

Seeds differ too: with the default `alg="auto_select"`, XLA derives the
Philox key and counter from the low 32 bits of each seed element only, while
TensorFlow's kernel uses all 64 (an int32 seed sign-extended). A seed made by
`tf.random.experimental.stateless_fold_in` is int32 and negative half the
time, so any auto-select draw from it (ModularGAN's fake labels) differed
under XLA. Every op here therefore asks for Philox explicitly, which scrambles
the seed with ordinary graph ops as TensorFlow's kernel does (equal values
without XLA, and the same with it).
"""

import math
from collections.abc import Sequence

import tensorflow as tf

_MANTISSA = 0x7FFFFF  # the low 23 bits, TensorFlow's Uint32ToFloat
_BOX_MULLER_EPSILON = 1.0e-7  # BoxMullerFloat's floor of u1


def bits(count: tf.Tensor | int, seed: tf.Tensor) -> tf.Tensor:
  """`count` uint32 Philox words; word i does not depend on `count` (counter-based)."""
  return tf.random.stateless_uniform([count], seed, minval=None, maxval=None, dtype=tf.uint32,
                                     alg="philox")


def fold_in(seed: tf.Tensor, data: int | tf.Tensor) -> tf.Tensor:
  """A new seed [2] from `seed` and `data`, equal to
  tf.random.experimental.stateless_fold_in (whose default is Philox on CPU/GPU)."""
  return tf.random.experimental.stateless_fold_in(seed, data, alg="philox")


def integers(shape: Sequence[int | tf.Tensor] | tf.Tensor, seed: tf.Tensor, minval: int,
             maxval: int) -> tf.Tensor:
  """int32 U{minval, ..., maxval - 1} of `shape`, equal to tf.random.stateless_uniform
  with an int32 dtype: minval + bits mod (maxval - minval), TensorFlow's kernel
  formula (random_distributions.h, UniformDistribution<int32>)."""
  if not minval < maxval:
    raise ValueError(f"integers needs minval < maxval, got [{minval}, {maxval}).")
  shape = tf.cast(tf.convert_to_tensor(shape), tf.int32)
  offsets = bits(tf.reduce_prod(shape), seed) % tf.constant(maxval - minval, tf.uint32)
  return tf.reshape(minval + tf.cast(offsets, tf.int32), shape)


def unit(words: tf.Tensor) -> tf.Tensor:
  """[0, 1) float32 from the low 23 bits of uint32 words, exactly as TensorFlow's kernels."""
  mantissa = tf.bitwise.bitwise_and(words, tf.constant(_MANTISSA, tf.uint32))
  return tf.cast(mantissa, tf.float32) * (2.0 ** -23)


def box_muller(first: tf.Tensor, second: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
  """Two N(0, 1) values from two uint32 words, as BoxMullerFloat (sin value, cos value)."""
  u1 = tf.maximum(unit(first), _BOX_MULLER_EPSILON)
  angle = 2.0 * math.pi * unit(second)
  radius = tf.sqrt(-2.0 * tf.math.log(u1))
  return radius * tf.sin(angle), radius * tf.cos(angle)


def uniform(shape: Sequence[int | tf.Tensor] | tf.Tensor, seed: tf.Tensor, minval: float = 0.0,
            maxval: float = 1.0, dtype: tf.DType = tf.float32) -> tf.Tensor:
  """U[minval, maxval) of `shape`, equal to tf.random.stateless_uniform (Philox)."""
  shape = tf.cast(tf.convert_to_tensor(shape), tf.int32)
  values = tf.reshape(unit(bits(tf.reduce_prod(shape), seed)), shape)
  return tf.cast(minval + (maxval - minval) * values, dtype)


def normal(shape: Sequence[int | tf.Tensor] | tf.Tensor, seed: tf.Tensor,
           stddev: float = 1.0) -> tf.Tensor:
  """N(0, stddev²) of `shape` by Box–Muller on consecutive bit pairs, as
  tf.random.stateless_normal (Philox) up to float rounding."""
  shape = tf.cast(tf.convert_to_tensor(shape), tf.int32)
  count = tf.reduce_prod(shape)
  pairs = tf.reshape(bits(count + count % 2, seed), [-1, 2])
  values = tf.reshape(tf.stack(box_muller(pairs[:, 0], pairs[:, 1]), axis=1), [-1])
  return stddev * tf.reshape(values[:count], shape)
