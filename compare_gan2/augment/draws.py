"""Per-example random draws for augmentations, stateless and per global example.

Every draw here takes the LOCAL batch size and returns this replica's rows of
the draw made for the global batch (compare_gan2.global_batch.per_example), with
the XLA-safe Philox ops of compare_gan2.stateless_random, so an example is
augmented the same on 1 or N replicas, eagerly or compiled, and again on resume.
Each random quantity of an augmentation uses its own seed, `stream(seed, k)`
with a fixed k, or its own fixed columns of a `Table`, so adding one op never
changes another op's draws. A Table draws every column of a call with one
Philox op: ADA's two dozen per-example quantities cost one random op instead
of two dozen, which matters most to XLA (compiling 24 separate draws takes 2.4 s
on 2 CPU cores, one table of 24 columns 0.3 s).
"""

from collections.abc import Callable

import tensorflow as tf

from compare_gan2 import global_batch
from compare_gan2 import stateless_random


def stream(seed: tf.Tensor, index: int) -> tf.Tensor:
  """The seed [2] of random quantity `index` of an augmentation."""
  return stateless_random.fold_in(seed, index)


def uniform(batch: tf.Tensor | int, seed: tf.Tensor, minval: float = 0.0, maxval: float = 1.0,
            width: int = 1, then: Callable[[tf.Tensor], tf.Tensor] | None = None) -> tf.Tensor:
  """float32 U[minval, maxval) of shape [batch, width], per global example.

  `then` (e.g. cos, 2^x) is applied to the global draw before this replica's
  rows are taken: a vectorised kernel computes a transcendental function with
  other roundings for a tensor of other length (its scalar tail), so applying
  it to the local rows would break 1-vs-N-replica equality.
  """
  def draw(rows, s):
    values = stateless_random.uniform([rows, width], s, minval, maxval)
    return values if then is None else then(values)
  return global_batch.per_example(draw, batch, seed)


def integers(batch: tf.Tensor | int, seed: tf.Tensor, minval: int, maxval: int,
             width: int = 1) -> tf.Tensor:
  """int32 U{minval, ..., maxval - 1} of shape [batch, width], per global example."""
  return global_batch.per_example(
      lambda rows, s: stateless_random.integers([rows, width], s, minval, maxval), batch, seed)


def normal(batch: tf.Tensor | int, seed: tf.Tensor, stddev: float, width: int = 1,
           then: Callable[[tf.Tensor], tf.Tensor] | None = None) -> tf.Tensor:
  """float32 N(0, stddev²) of shape [batch, width], per global example (`then` as in `uniform`)."""
  def draw(rows, s):
    values = stateless_random.normal([rows, width], s, stddev)
    return values if then is None else then(values)
  return global_batch.per_example(draw, batch, seed)


class Table:
  """`columns` independent uint32 words per example of one call, drawn for the
  global batch with one Philox op; quantities read fixed columns.

  Transforms (`then`) run on the global column before this replica's rows
  are taken, for the reason given in `uniform`.
  """

  def __init__(self, batch: tf.Tensor | int, seed: tf.Tensor, columns: int):
    self.batch, self.columns = batch, columns
    _, replicas = global_batch.replica()
    self._words = tf.reshape(stateless_random.bits(batch * replicas * columns, seed),
                             [-1, columns])

  def _local(self, values: tf.Tensor) -> tf.Tensor:
    return global_batch.local(values, self.batch)

  def _take(self, column: int, width: int) -> tf.Tensor:
    if not (0 <= column and column + width <= self.columns):
      raise ValueError(f"Table columns [{column}, {column + width}) lie outside its "
                       f"{self.columns} columns.")
    return self._words[:, column:column + width]

  def uniform(self, column: int, minval: float = 0.0, maxval: float = 1.0, width: int = 1,
              then: Callable[[tf.Tensor], tf.Tensor] | None = None) -> tf.Tensor:
    """float32 U[minval, maxval) [batch, width] from columns [column, column + width)."""
    values = minval + (maxval - minval) * stateless_random.unit(self._take(column, width))
    return self._local(values if then is None else then(values))

  def normal(self, column: int, stddev: float, width: int = 1,
             then: Callable[[tf.Tensor], tf.Tensor] | None = None) -> tf.Tensor:
    """float32 N(0, stddev²) [batch, width], Box–Muller on columns [column, column + 2·width)."""
    words = self._take(column, 2 * width)
    values = stddev * stateless_random.box_muller(words[:, :width], words[:, width:])[0]
    return self._local(values if then is None else then(values))


def check_images(images: tf.Tensor, owner: str) -> tuple[int, int, int]:
  """(height, width, channels) of a [B, H, W, C] float batch with static H, W, C.

  Raises:
    ValueError: naming `owner` and the shape, for another rank or unknown sizes.
  """
  shape = images.shape
  if shape.rank != 4 or None in shape[1:]:
    raise ValueError(f"{owner} takes images [batch, height, width, channels] with static "
                     f"height, width and channels; got shape {shape}.")
  if not images.dtype.is_floating:
    raise ValueError(f"{owner} takes float images in [0, 1]; got dtype {images.dtype.name}.")
  return int(shape[1]), int(shape[2]), int(shape[3])
