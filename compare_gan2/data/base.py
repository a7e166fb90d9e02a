"""What a dataset is: its `DatasetInfo`, its two splits and where they read from.

A builder (`data.mnist()`, `data.image_folder(...)`, ...) returns a `Dataset`:
a description that does no TFDS I/O. `pipeline.py` turns a split into
batches. Every element the pipeline yields is a dict:

  images       float32 [H, W, C] in [0, 1]   (compare_gan `datasets.py:226`)
  labels       int32 [], -1 = unlabelled      (datasets without classes: -1)
  soft_labels  float32 [num_classes]          only with soft labels configured
  z            float32 [z_dim]                only when the pipeline draws z

A split reads from one of two kinds of source:
- `ArraySource`: random access to example c (in-memory arrays, or a list of
  files). The pipeline permutes indices, so any step is reachable directly.
- `StreamSource`: a finite `tf.data.Dataset` read in a fixed order (TFDS,
  TFRecord files). The pipeline shuffles it in windows and reaches a step by
  reading up to it.
Both identify an example by its canonical index c: its position in the
source's fixed order. Label subsets and soft labels are keyed by c.
"""

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

# A raw example before preparation: {"image": raw image (uint8 tensor or
# encoded bytes), "label": int32 [], ...source-specific keys such as "file"}.
RawElement = dict[str, tf.Tensor]
# (raw element, stateless seed [2]) -> float32 image in [0, 1].
PrepareFn = Callable[[RawElement, tf.Tensor], tf.Tensor]
# (label, stateless seed [2]) -> int32 label; run every time an example is read.
RelabelFn = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]

# Purposes folded into the pipeline seed, so order, crops, relabelling and z
# draw from independent streams.
ORDER, CROP, LABEL, Z = 0, 1, 2, 3


class DataError(ValueError):
  """Unusable input data (a file, a folder, a label). The message names the file."""


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
  """Static facts about a dataset; never read from TFDS `info.splits`.

  Attributes:
    name: the compare_gan `dataset.name` ("cifar10", "lsun-bedroom", ...) or a
      custom dataset's name.
    image_shape: (H, W, C) of `images`.
    num_classes: classes of `labels`, or None for an unlabelled dataset.
    num_train_examples: examples in the train split (before any label
      filter), or None when unknown without reading it.
    num_eval_examples: examples in the eval split, or None when unknown.
    eval_test_samples: how many real images FID uses (compare_gan
      `eval_test_samples`: 10k, 30k for LSUN, 50k for ImageNet).
    soft_labels: whether train elements carry `soft_labels`.
    class_names: names of the classes when known (image-folder subfolders).
  """
  name: str
  image_shape: tuple[int, int, int]
  num_classes: int | None
  num_train_examples: int | None
  num_eval_examples: int | None
  eval_test_samples: int
  soft_labels: bool = False
  class_names: tuple[str, ...] | None = None


@dataclasses.dataclass(frozen=True, eq=False)
class SoftLabels:
  """A [num_examples, num_classes] table of per-example soft labels.

  `lookup(c)` returns row c as float32 probabilities (softmax applied when the
  file holds logits, as compare_gan's `datasets.py:596-617` and S3GAN do).
  """
  path: str
  table: Any  # np.ndarray or np.memmap, [rows, num_classes]
  logits: bool

  @property
  def num_classes(self) -> int:
    """Columns of the table."""
    return int(self.table.shape[1])

  def _row(self, index: np.ndarray) -> np.ndarray:
    i = int(index)
    if not 0 <= i < self.table.shape[0]:
      raise DataError(f"{self.path}: soft-label file has {self.table.shape[0]} rows; "
                      f"example {i} of the split has none.")
    return np.asarray(self.table[i], np.float32)

  def lookup(self, index: tf.Tensor) -> tf.Tensor:
    """Row `index` (canonical example index) as float32 [num_classes]."""
    # numpy_function reads a memory-mapped .npy without loading it whole.
    row = tf.numpy_function(self._row, [index], tf.float32, stateful=False)
    row = tf.ensure_shape(row, [self.num_classes])
    return tf.nn.softmax(row) if self.logits else row


@dataclasses.dataclass(frozen=True, eq=False)
class ArraySource:
  """Random-access examples: `items[c]` read into a raw element.

  Attributes:
    items: [N, ...] array: uint8 images, or file paths (str).
    labels: int32 [N], -1 = unlabelled (label subsets already applied).
    read: maps `items[c]` (a tensor) to a raw element; defaults to
      {"image": items[c]}. The label is added by the pipeline.
    kept: canonical indices the split samples from (e.g. only the labelled
      ones, BIGGAN-k%); None = all N.
    soft: per-example soft labels, keyed by canonical index.
  """
  items: np.ndarray
  labels: np.ndarray
  read: Callable[[tf.Tensor], RawElement] | None = None
  kept: np.ndarray | None = None
  soft: SoftLabels | None = None

  @property
  def num_examples(self) -> int:
    """Examples the split samples from (after `kept`)."""
    return int(len(self.items) if self.kept is None else len(self.kept))


@dataclasses.dataclass(frozen=True, eq=False)
class StreamSource:
  """Examples read in a fixed order from a finite tf.data pipeline.

  Attributes:
    open: returns a fresh finite dataset of raw elements in canonical order.
      Images should stay encoded here: the pipeline skips and shuffles raw
      elements and decodes only what it yields.
    num_examples: examples after `keep`, when known without reading.
    count: returns the number of examples from metadata (TFDS split info),
      or None; used when `num_examples` is None and there is no `keep`.
      Failing both, the split is counted by one pass the first time a run
      resumes.
    label_fn: (label, canonical index) -> label, applied before `keep`
      (label subsets, labels from soft labels).
    keep: predicate on a raw element (with its "label" after `label_fn`);
      examples failing it are not part of the split (compare_gan's
      `_train_filter_fn`).
    soft: per-example soft labels, keyed by canonical index.
    subset: resolves a label subset that needs the whole split's labels
      (exact k% per class, labels.py): called with this source minus
      `subset` and `keep` (to read its labels in one pass), it returns the
      (label, canonical index) -> label applied after `label_fn`.
    identity: what the source reads (files, TFDS version and split), as a
      cache key for passes over it; None: such passes are not cached.
  """
  open: Callable[[], tf.data.Dataset]
  num_examples: int | None = None
  count: Callable[[], int | None] | None = None
  label_fn: Callable[[tf.Tensor, tf.Tensor], tf.Tensor] | None = None
  keep: Callable[[RawElement], tf.Tensor] | None = None
  soft: SoftLabels | None = None
  subset: Callable[["StreamSource"], Callable[[tf.Tensor, tf.Tensor], tf.Tensor]] | None = None
  identity: Callable[[], str] | None = None

  def canonical(self) -> tf.data.Dataset:
    """Raw elements in canonical order, with "index" = c, labels transformed, filtered."""
    subset = None
    if self.subset is not None:
      subset = self.subset(dataclasses.replace(self, subset=None, keep=None))

    def annotate(c: tf.Tensor, raw: RawElement) -> RawElement:
      """Adds "index" and applies `label_fn`, then the subset."""
      raw = dict(raw)
      if self.label_fn is not None:
        raw["label"] = self.label_fn(raw["label"], c)
      if subset is not None:
        raw["label"] = subset(raw["label"], c)
      raw["index"] = c
      return raw

    ds = self.open().enumerate().map(annotate, num_parallel_calls=tf.data.AUTOTUNE,
                                     deterministic=True)
    return ds.filter(self.keep) if self.keep is not None else ds

  @functools.cached_property
  def length(self) -> int:
    """Examples in the split: `num_examples`, else counted once by reading it."""
    if self.num_examples is not None:
      return self.num_examples
    counted = self.count() if self.count is not None and self.keep is None else None
    if counted:
      return counted
    return int(self.canonical().reduce(tf.constant(0, tf.int64), lambda n, _: n + 1))


Source = ArraySource | StreamSource


@dataclasses.dataclass(frozen=True, eq=False)
class Split:
  """One split: where examples come from and how a raw example becomes an image."""
  source: Source
  prepare: PrepareFn
  relabel: RelabelFn | None = None


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
  """What a dataset builder returns: static info plus the train and eval splits."""
  info: DatasetInfo
  train: Split
  eval: Split


def example_seed(seed: int | tf.Tensor, purpose: int, index: tf.Tensor) -> tf.Tensor:
  """The stateless seed [2] for one use (`purpose`) of one example index."""
  base = tf.stack([tf.cast(seed, tf.int64), tf.constant(purpose, tf.int64)])
  return tf.random.experimental.stateless_fold_in(base, tf.cast(index, tf.int64))


def _splitmix64(x: tf.Tensor) -> tf.Tensor:
  """The splitmix64 finalizer (Steele et al. 2014) on uint64: a bijection that mixes every bit."""
  x = x + tf.constant(0x9E3779B97F4A7C15, tf.uint64)
  for shift, multiplier in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(shift, tf.uint64)))
    x = x * tf.constant(multiplier, tf.uint64)  # wraps modulo 2^64
  return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(31, tf.uint64)))


def unit_hash(seed: int, index: tf.Tensor | np.ndarray) -> tf.Tensor:
  """A pseudo-random float64 in [0, 1) per index, fixed by `seed`.

  splitmix64 of the index keyed by a mixed seed, evaluated per index (scalar
  or vector), so one example's value does not depend on how many others
  there are: the exact (array) and streaming label subsets rank examples by
  the same value. (tf.random.experimental.index_shuffle over [0, 2^32) gave
  neighbouring indices nearly equal values and barely moved with the seed.)
  """
  index = tf.cast(tf.cast(index, tf.int64), tf.uint64)
  key = _splitmix64(tf.constant(seed, tf.uint64) ^ tf.constant(7919, tf.uint64))
  mixed = _splitmix64(tf.bitwise.bitwise_xor(index, key))
  top = tf.bitwise.right_shift(mixed, tf.constant(11, tf.uint64))  # 53 bits: exact in float64
  return tf.cast(top, tf.float64) / 2.0**53
