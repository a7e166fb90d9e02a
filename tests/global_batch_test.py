"""Tests for compare_gan2.global_batch: draws and moments per global example.

Two replicas, each given its contiguous half of the global batch, must see
exactly the rows of the draw one device makes for the whole batch, and the
same batch statistics.
"""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import global_batch
from compare_gan2 import testing

SEED = tf.constant([5, 11], tf.int64)


def _on_two_replicas(strategy, fn, *local_inputs):
  """fn on each replica (inputs split in halves); the per-replica results as numpy."""
  args = testing.split_batch(strategy, local_inputs) if local_inputs else ()
  outputs = tf.function(lambda *a: strategy.run(fn, args=a))(*args)
  return [np.asarray(v) for v in strategy.experimental_local_results(outputs)]


def test_outside_a_strategy_it_is_replica_zero_of_one():
  index, replicas = global_batch.replica()
  assert int(index) == 0 and replicas == 1


def test_replicas_get_their_rows_of_the_one_device_draw(two_replicas):
  draw = lambda rows, seed: tf.random.stateless_normal([rows, 3], seed)
  single = global_batch.per_example(draw, 8, SEED).numpy()
  np.testing.assert_array_equal(single, draw(8, SEED).numpy())
  halves = _on_two_replicas(two_replicas, lambda: global_batch.per_example(draw, 4, SEED))
  np.testing.assert_array_equal(np.concatenate(halves), single)  # bit for bit
  assert np.abs(halves[0] - halves[1]).max() > 0.1  # not the same numbers twice


@pytest.mark.parametrize("shape", [[6], [6, 2, 3]])
def test_uniform_is_per_global_example_and_in_range(shape, two_replicas):
  single = global_batch.uniform(shape, SEED).numpy()
  assert single.shape == tuple(shape) and single.min() >= 0 and single.max() < 1
  local = [shape[0] // 2, *shape[1:]]
  halves = _on_two_replicas(two_replicas, lambda: global_batch.uniform(local, SEED))
  np.testing.assert_array_equal(np.concatenate(halves), single)


def test_uniform_takes_a_dynamic_shape_inside_a_function():
  x = np.zeros((4, 2), np.float32)
  traced = tf.function(lambda t: global_batch.uniform(tf.shape(t), SEED),
                       input_signature=[tf.TensorSpec([None, 2])])(x)
  np.testing.assert_array_equal(traced, global_batch.uniform([4, 2], SEED))


def test_moments_are_over_the_global_batch(two_replicas):
  x = np.random.RandomState(0).uniform(size=(8, 3)).astype(np.float32)
  x[4:] += 2.0  # the halves differ: local moments would not match
  mean, variance = global_batch.moments(tf.constant(x))
  np.testing.assert_allclose([mean, variance], [x.mean(), x.var()], rtol=1e-6)
  results = _on_two_replicas(two_replicas, lambda t: tf.stack(global_batch.moments(t)), x)
  for result in results:
    np.testing.assert_allclose(result, [x.mean(), x.var()], rtol=1e-6)
