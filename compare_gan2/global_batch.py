"""Randomness and statistics per global example, so 1 and N replicas agree.

Under a tf.distribute strategy replica r holds rows [r·n, (r+1)·n) of the
global batch (the data pipeline slices it so, and ModularGAN's strided
sub-batches keep that layout within each sub-batch). A stateless draw of the
local shape with one seed gives every replica the same numbers, so N replicas
would reuse N times the values one device spreads over N·n examples. Instead,
every draw that belongs to examples (z, fake labels, gradient-penalty points,
any later regularizer or augmentation) goes through `per_example`: it draws
for the whole global batch from the seed and keeps this replica's rows, so
local row k of replica r gets exactly what global row r·n + k gets on one
device, bit for bit. The cost is N times the local draw, which for a per-pixel
draw (DRAGAN's noise) is one global-batch-sized tensor per replica.

Statistics over the batch (DRAGAN's standard deviation) likewise use
`moments`, which reduces over all replicas.
"""

from collections.abc import Callable, Sequence

import tensorflow as tf

from compare_gan2 import stateless_random


def replica() -> tuple[tf.Tensor, int]:
  """(this replica's index as a tensor, the number of replicas in sync).

  (0, 1) outside a strategy and in a cross-replica context (a plain
  single-device call).
  """
  context = tf.distribute.get_replica_context()
  if context is None:
    return tf.constant(0), 1
  return tf.convert_to_tensor(context.replica_id_in_sync_group), context.num_replicas_in_sync


def per_example(draw: Callable[[tf.Tensor, tf.Tensor], tf.Tensor], local_rows: tf.Tensor | int,
                seed: tf.Tensor) -> tf.Tensor:
  """This replica's rows of a draw made for the global batch.

  Args:
    draw: `(rows, seed) -> tensor` whose first dimension is `rows`, a pure
      function of its arguments (a stateless random op).
    local_rows: the examples on this replica (the same on every replica).
    seed: stateless seed [2].

  Returns:
    Rows [r·local_rows, (r+1)·local_rows) of draw(local_rows·N, seed).
  """
  _, replicas = replica()
  return local(draw(local_rows * replicas, seed), local_rows)


def local(values: tf.Tensor, local_rows: tf.Tensor | int) -> tf.Tensor:
  """This replica's rows [r·local_rows, (r+1)·local_rows) of `values` made for the global batch."""
  index, _ = replica()
  return values[index * local_rows:(index + 1) * local_rows]


def uniform(shape: Sequence[int | tf.Tensor] | tf.Tensor, seed: tf.Tensor,
            dtype: tf.DType = tf.float32) -> tf.Tensor:
  """U[0, 1) of `shape` (first dimension: local examples), drawn per global example
  (`stateless_random.uniform`: the same under XLA)."""
  shape = tf.cast(tf.convert_to_tensor(shape), tf.int32)
  return per_example(lambda rows, s: stateless_random.uniform(
      tf.concat([[rows], shape[1:]], axis=0), s, dtype=dtype), shape[0], seed)


def moments(x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
  """Mean and (population) variance of every element of the global batch.

  Two passes (the mean, then the squared deviations from it), each summed
  over replicas, so the result does not depend on how the batch is split
  beyond float summation order.
  """
  context = tf.distribute.get_replica_context()
  reduce = (lambda v: v) if context is None else (lambda v: context.all_reduce("SUM", v))
  count = reduce(tf.cast(tf.size(x), x.dtype))
  mean = reduce(tf.reduce_sum(x)) / count
  variance = reduce(tf.reduce_sum(tf.square(x - mean))) / count
  return mean, variance
