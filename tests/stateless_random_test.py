"""Tests for compare_gan2.stateless_random: the same draws with and without XLA.

TensorFlow's own stateless ops give other floats under `jit_compile=True`, and
with their default algorithm other draws of any kind for a seed element outside
[0, 2^32), such as the negative ones `stateless_fold_in` makes (the tests named
`test_tensorflows_...` pin both, so the module stays needed); these equal
TensorFlow's plain kernels (uniform and integers bit for bit, normal to float
rounding, fold_in exactly) both ways.
"""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import stateless_random

SEED = tf.constant([1, 2], tf.int64)
SHAPES = [[7], [3, 5], [4, 2, 3]]
# Seeds XLA's auto-select key derivation cuts to their low 32 bits: a negative
# int32 one made by fold_in, a negative and a > 2^32 int64 one; and a plain one.
SEEDS = {"fold_in": tf.constant([-1197927508, 2], tf.int32),
         "negative": tf.constant([3, -5], tf.int64),
         "wide": tf.constant([2**40 + 3, 7], tf.int64),
         "small": SEED}


def _plain_and_xla(fn):
  return fn().numpy(), tf.function(fn, jit_compile=True)().numpy()


def test_tensorflows_stateless_uniform_differs_under_xla():
  plain, xla = _plain_and_xla(lambda: tf.random.stateless_uniform([16], SEED))
  assert np.abs(plain - xla).max() > 0.1


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_uniform_is_tensorflows_bit_for_bit_with_and_without_xla(shape):
  plain, xla = _plain_and_xla(lambda: stateless_random.uniform(shape, SEED, -1.0, 1.0))
  reference = tf.random.stateless_uniform(shape, SEED, -1.0, 1.0).numpy()
  assert plain.shape == tuple(shape)
  np.testing.assert_array_equal(plain, reference)
  np.testing.assert_array_equal(xla, reference)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_normal_is_tensorflows_to_rounding_with_and_without_xla(shape):
  plain, xla = _plain_and_xla(lambda: stateless_random.normal(shape, SEED, stddev=0.5))
  reference = 0.5 * tf.random.stateless_normal(shape, SEED).numpy()
  assert plain.shape == tuple(shape)  # odd sizes included: the last pair is cut
  np.testing.assert_allclose(plain, reference, atol=1e-6)
  np.testing.assert_allclose(xla, reference, atol=1e-6)


def test_dynamic_shape_inside_a_function():
  fn = tf.function(lambda t: stateless_random.uniform(tf.shape(t), SEED),
                   input_signature=[tf.TensorSpec([None, 3])])
  np.testing.assert_array_equal(fn(np.zeros((2, 3), np.float32)),
                                stateless_random.uniform([2, 3], SEED))


@pytest.mark.parametrize("name", ["fold_in", "negative", "wide"])
def test_tensorflows_auto_select_seed_differs_under_xla(name):
  """XLA keys Philox by seed mod 2^32 (element-wise), TensorFlow's kernel by the whole seed."""
  seed = SEEDS[name]
  draw = lambda s: tf.random.stateless_uniform([16], s, 0, 1000, tf.int32)
  plain, xla = _plain_and_xla(lambda: draw(seed))
  assert (plain != xla).any()
  low_bits = tf.constant(seed.numpy().astype(np.int64) % 2**32, tf.int64)
  np.testing.assert_array_equal(xla, draw(low_bits).numpy())


@pytest.mark.parametrize("name", sorted(SEEDS))
@pytest.mark.parametrize("minval,maxval", [(0, 3), (-5, 17), (0, 1000)])
def test_integers_are_tensorflows_bit_for_bit_with_and_without_xla(name, minval, maxval):
  seed = SEEDS[name]
  plain, xla = _plain_and_xla(lambda: stateless_random.integers([3, 5], seed, minval, maxval))
  reference = tf.random.stateless_uniform([3, 5], seed, minval, maxval, tf.int32).numpy()
  assert plain.dtype == np.int32 and plain.shape == (3, 5)
  assert plain.min() >= minval and plain.max() < maxval
  np.testing.assert_array_equal(plain, reference)
  np.testing.assert_array_equal(xla, reference)


def test_integers_reject_an_empty_range():
  with pytest.raises(ValueError, match=r"minval < maxval, got \[3, 3\)"):
    stateless_random.integers([2], SEED, 3, 3)


@pytest.mark.parametrize("name", sorted(SEEDS))
@pytest.mark.parametrize("data", [tf.constant(3, tf.int32), tf.constant(-7, tf.int64)],
                         ids=["int32", "int64"])
def test_fold_in_is_tensorflows_with_and_without_xla(name, data):
  seed = SEEDS[name]
  plain, xla = _plain_and_xla(lambda: stateless_random.fold_in(seed, data))
  reference = tf.random.experimental.stateless_fold_in(seed, data).numpy()
  np.testing.assert_array_equal(plain, reference)
  np.testing.assert_array_equal(xla, reference)


def test_chained_fold_in_and_draw_agree_under_xla():
  """ModularGAN's fake labels: a draw from a seed folded twice from (seed, step)."""
  def labels():
    seed = stateless_random.fold_in(stateless_random.fold_in(SEED, 1), 2)
    return stateless_random.integers([32], seed, 0, 10)
  plain, xla = _plain_and_xla(labels)
  np.testing.assert_array_equal(plain, xla)
