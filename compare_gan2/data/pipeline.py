"""The input pipeline: batches whose order is a pure function of (seed, step).

Gin: `data.train_input.seed`, `data.train_input.shuffle_window`,
`data.train_input.z_dim`, `data.train_input.z_fn`; `data.eval_input.batch_size`.
Like every registered function these bindings apply where the function is
reached through gin (`some.input_fn = @data.train_input`); a direct Python
call uses its arguments and defaults only.

Order. Global example g = step · global_batch + position in the global batch.
- Random-access sources: with M examples, g is example
  `index_shuffle(g mod M, key(seed, epoch = g // M))`: every epoch is a fresh
  permutation, and any step is reachable at once.
- Streaming sources (TFDS, TFRecord): each epoch is read in the source's fixed
  order and permuted within consecutive windows of `shuffle_window` examples
  (the last window of an epoch is shorter), keyed by (seed, window number);
  compare_gan used a 10k shuffle buffer (`datasets.py:288`), which cannot be
  resumed exactly. Resuming at step k needs the epoch length (TFDS metadata
  or a validated count, else one counting pass over the split) and then
  reads, without decoding, up to one epoch to reach k. A window holds
  `shuffle_window` encoded examples in memory (ImageNet: ~1.1 GB at 10k).
Per-example randomness (ImageNet crops, random labels, z) uses stateless ops
seeded by (seed, purpose, g), so it is a pure function of (seed, g) too.

Distribution. `train_input` calls `strategy.distribute_datasets_from_function`.
Input pipeline p of P produces its contiguous share of each global batch,
batched per replica, so replica r gets the r-th contiguous slice: the global
batch of a step is identical for 1 and N replicas. With P > 1 a streaming
source is read in full by every pipeline (P times the reading).

z. With `z_dim` set, each element also carries z = z_fn([z_dim], seed(seed,
Z, g)), default standard normal (compare_gan drew z in the input pipeline too,
`gans/modular_gan.py:393-408`); y for conditional sampling is left to the model.

Per-example files (soft labels, cluster labels) are computed over
`canonical_train_input`: the train split once, in canonical order.
"""

import dataclasses
from collections.abc import Callable

import tensorflow as tf

from compare_gan2 import registry
from compare_gan2.data import base

_AUTOTUNE = tf.data.AUTOTUNE
_FOREVER = 2**62
_RUNTIME_ARGS = ("dataset", "strategy", "global_batch_size", "start_step")


@registry.register(module="compare_gan2.data", denylist=_RUNTIME_ARGS)
def train_input(dataset: base.Dataset, strategy: tf.distribute.Strategy,
                global_batch_size: int, start_step: int = 0, seed: int = 547,
                shuffle_window: int = 10_000, z_dim: int | None = None,
                z_fn: Callable[..., tf.Tensor] = tf.random.stateless_normal,
                ) -> tf.distribute.DistributedDataset:
  """The train split as a distributed dataset of per-replica batches, forever.

  Args:
    dataset: what a dataset builder returned.
    strategy: the distribution strategy (default strategy for one device).
    global_batch_size: examples per step over all replicas.
    start_step: first step to produce (a resumed run passes its step).
    seed: data seed (compare_gan `dataset.seed`, default 547).
    shuffle_window: window of the streaming shuffle (ignored for random access).
    z_dim: if set, also emit a per-example "z" of this size.
    z_fn: stateless sampler called as z_fn(shape=..., seed=...).

  Returns:
    What `strategy.distribute_datasets_from_function` returns.

  Raises:
    ValueError: if the global batch does not split evenly over the replicas.
  """
  replicas = strategy.num_replicas_in_sync
  if global_batch_size <= 0 or global_batch_size % replicas:
    raise ValueError(f"global_batch_size {global_batch_size} is not divisible by the "
                     f"{replicas} replicas of {type(strategy).__name__}.")

  def dataset_fn(input_context: tf.distribute.InputContext) -> tf.data.Dataset:
    """This input pipeline's share (one per worker)."""
    return train_dataset(dataset, global_batch_size, start_step, seed, shuffle_window,
                         z_dim, z_fn, input_context)

  return strategy.distribute_datasets_from_function(dataset_fn)


def train_dataset(dataset: base.Dataset, global_batch_size: int, start_step: int = 0,
                  seed: int = 547, shuffle_window: int = 10_000, z_dim: int | None = None,
                  z_fn: Callable[..., tf.Tensor] = tf.random.stateless_normal,
                  input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
  """One input pipeline's per-replica batches (the whole global batch if no context).

  The same arguments as `train_input`; `input_context` says which pipeline
  this is. Usable directly with Keras `fit` or a custom loop on one device.
  """
  replicas = input_context.num_replicas_in_sync if input_context else 1
  pipelines = input_context.num_input_pipelines if input_context else 1
  pipeline_id = input_context.input_pipeline_id if input_context else 0
  if global_batch_size % replicas or replicas % pipelines:
    raise ValueError(f"global_batch_size {global_batch_size} is not divisible by "
                     f"{replicas} replicas in {pipelines} input pipelines.")
  chunk = global_batch_size // pipelines
  split = dataset.train
  finish = _finisher(split, seed, z_dim, z_fn)
  if isinstance(split.source, base.ArraySource):
    example = _array_example(split.source, seed)
    examples = _global_indices(global_batch_size, chunk, pipeline_id, start_step).map(
        lambda g: finish(g, example(g)), num_parallel_calls=_AUTOTUNE, deterministic=True)
  else:
    examples = _stream_examples(split.source, global_batch_size, chunk, pipeline_id,
                                start_step, seed, shuffle_window, dataset.info.name)
    examples = examples.map(finish, num_parallel_calls=_AUTOTUNE, deterministic=True)
  batches = examples.batch(global_batch_size // replicas, drop_remainder=True)
  return _deterministic(batches.prefetch(_AUTOTUNE))


@registry.register(module="compare_gan2.data", denylist=("dataset",))
def eval_input(dataset: base.Dataset, batch_size: int | None = None) -> tf.data.Dataset:
  """The eval split once, in its fixed order, prepared by its eval transform.

  compare_gan's `eval_input_fn` (`datasets.py:293-318`): no shuffle, no
  repeat. Unbatched when `batch_size` is None, else batched with the last
  partial batch kept. Eval elements never carry soft labels or z.
  """
  split = dataset.eval
  source = split.source
  finish = _finisher(split, seed=0, z_dim=None, z_fn=None, soft=False)
  if isinstance(source, base.ArraySource):
    reader = _array_reader(source)
    examples = tf.data.Dataset.range(len(source.items)).map(
        lambda c: finish(c, reader(c)), num_parallel_calls=_AUTOTUNE, deterministic=True)
  else:
    examples = source.canonical().map(lambda raw: finish(raw["index"], raw),
                                      num_parallel_calls=_AUTOTUNE, deterministic=True)
  if batch_size:
    examples = examples.batch(batch_size)
  return _deterministic(examples.prefetch(_AUTOTUNE))


def canonical_train_input(dataset: base.Dataset, batch_size: int | None = None) -> tf.data.Dataset:
  """Every train example once, in canonical order, prepared by the eval transform.

  Element c is train example c, the row c of per-example files (soft labels,
  cluster labels): no label filter (`kept`, `keep`) is applied, labels are
  the source's (-1 = unlabelled, no per-read relabelling), and the image is
  prepared by the eval split's deterministic transform (ImageNet: centre
  crop). Elements: "images", "labels", "index" (int64 canonical index).
  Batched like `eval_input`.
  """
  source, prepare = dataset.train.source, dataset.eval.prepare

  def finish(raw: base.RawElement) -> dict[str, tf.Tensor]:
    """The eval transform, seeded by the example's index (unused by deterministic ones)."""
    c = tf.cast(raw["index"], tf.int64)
    return {"images": prepare(raw, base.example_seed(0, base.CROP, c)),
            "labels": tf.ensure_shape(tf.cast(raw["label"], tf.int32), []), "index": c}

  if isinstance(source, base.ArraySource):
    raws = tf.data.Dataset.range(len(source.items)).map(
        _array_reader(source), num_parallel_calls=_AUTOTUNE, deterministic=True)
  else:
    raws = dataclasses.replace(source, keep=None).canonical()
  examples = raws.map(finish, num_parallel_calls=_AUTOTUNE, deterministic=True)
  if batch_size:
    examples = examples.batch(batch_size)
  return _deterministic(examples.prefetch(_AUTOTUNE))


def _deterministic(ds: tf.data.Dataset) -> tf.data.Dataset:
  options = tf.data.Options()
  options.deterministic = True
  return ds.with_options(options)


def _global_indices(global_batch_size: int, chunk: int, pipeline_id: int,
                    start_step: int) -> tf.data.Dataset:
  """g for this pipeline's share of every step from `start_step` on."""
  offset = pipeline_id * chunk

  def to_global(j: tf.Tensor) -> tf.Tensor:
    """j-th example of this pipeline -> global example index."""
    return (j // chunk) * global_batch_size + offset + j % chunk

  return tf.data.Dataset.range(start_step * chunk, _FOREVER).map(to_global)


def _array_reader(source: base.ArraySource) -> Callable[[tf.Tensor], base.RawElement]:
  """canonical index c -> raw element with its "label" and "index"."""
  items, labels = tf.constant(source.items), tf.constant(source.labels, tf.int32)
  read = source.read or (lambda item: {"image": item})

  def reader(c: tf.Tensor) -> base.RawElement:
    """Reads example c."""
    raw = dict(read(tf.gather(items, c)))
    raw["label"] = tf.gather(labels, c)
    raw["index"] = c
    return raw

  return reader


def _array_example(source: base.ArraySource, seed: int) -> Callable[[tf.Tensor], base.RawElement]:
  """g -> raw example: every epoch of M examples is a fresh keyed permutation."""
  size = source.num_examples
  kept = None if source.kept is None else tf.constant(source.kept, tf.int64)
  reader = _array_reader(source)

  def example(g: tf.Tensor) -> base.RawElement:
    """Global index -> (epoch, position) -> permuted canonical index -> example."""
    key = base.example_seed(seed, base.ORDER, g // size)
    c = tf.random.experimental.index_shuffle(g % size, key, tf.constant(size - 1, tf.int64))
    return reader(c if kept is None else tf.gather(kept, c))

  return example


def _stream_examples(source: base.StreamSource, global_batch_size: int, chunk: int,
                     pipeline_id: int, start_step: int, seed: int, window: int,
                     name: str) -> tf.data.Dataset:
  """(g, raw) from window-shuffled epochs, starting at step `start_step`."""
  canonical = source.canonical()
  # An empty split would end the stream at once; say why instead. Only a
  # filter or an uncounted source can be empty (TFDS splits are counted).
  unknown = source.num_examples is None and source.count is None
  if (source.keep is not None or unknown or source.num_examples == 0) and not list(
      canonical.take(1).as_numpy_iterator()):
    raise base.DataError(f"{name}: the train split has no examples (after filtering).")
  # Batching each epoch before repeating aligns the windows with the epochs:
  # the last window of an epoch is short, so window w always holds the same
  # examples and its permutation is keyed by (seed, w) alone.
  windows, first_window, skip = canonical.batch(window).repeat(), 0, 0
  start = start_step * global_batch_size
  if start:
    size = source.length
    epoch, offset = divmod(start, size)
    in_epoch, skip = divmod(offset, window)
    first_window = epoch * -(-size // window) + in_epoch
    windows = canonical.skip(in_epoch * window).batch(window).concatenate(windows)
  key = base.example_seed(seed, base.ORDER, 0)
  ds = windows.enumerate(start=first_window).map(lambda w, raws: _permute(raws, key, w))
  ds = ds.unbatch().skip(skip).enumerate(start=start)
  if chunk != global_batch_size:
    low = pipeline_id * chunk
    ds = ds.filter(lambda g, raw: tf.logical_and(g % global_batch_size >= low,
                                                 g % global_batch_size < low + chunk))
  return ds


def _permute(raws: base.RawElement, key: tf.Tensor, w: tf.Tensor) -> base.RawElement:
  size = tf.shape(raws["index"], out_type=tf.int64)[0]
  window_key = tf.random.experimental.stateless_fold_in(key, w)
  order = tf.random.experimental.index_shuffle(tf.range(size), window_key, size - 1)
  return {name: tf.gather(value, order) for name, value in raws.items()}


def _finisher(split: base.Split, seed: int, z_dim: int | None,
              z_fn: Callable[..., tf.Tensor] | None, soft: bool = True):
  """(g, raw with its canonical "index") -> the element dict of base.py's contract."""
  source = split.source

  def finish(g: tf.Tensor, raw: base.RawElement) -> dict[str, tf.Tensor]:
    """Prepares the image, relabels, adds soft labels and z."""
    label = tf.cast(raw["label"], tf.int32)
    if split.relabel is not None:
      label = split.relabel(label, base.example_seed(seed, base.LABEL, g))
    element = {"images": split.prepare(raw, base.example_seed(seed, base.CROP, g)),
               "labels": tf.ensure_shape(label, [])}
    if soft and source.soft is not None:
      element["soft_labels"] = source.soft.lookup(raw["index"])
    if z_dim:
      element["z"] = tf.cast(z_fn(shape=[z_dim], seed=base.example_seed(seed, base.Z, g)),
                             tf.float32)
    return element

  return finish
