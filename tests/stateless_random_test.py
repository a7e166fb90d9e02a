"""Tests for compare_gan2.stateless_random: the same draws with and without XLA.

TensorFlow's own stateless ops give other floats under `jit_compile=True` (the
first test pins that, so the module stays needed); these equal TensorFlow's
plain kernels (uniform bit for bit, normal to float rounding) both ways.
"""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import stateless_random

SEED = tf.constant([1, 2], tf.int64)
SHAPES = [[7], [3, 5], [4, 2, 3]]


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
