"""Label subsets and soft labels for semi-supervised training (S3GAN).

Gin: `data.LabelOptions`, passed to any dataset builder's `labels` argument:

    data.imagenet_128.labels = @data.LabelOptions()
    data.LabelOptions.fraction = 0.1          # keep 10% of the train labels
    data.LabelOptions.seed = 0                # which 10%

Kept labels are chosen per class by default: "k% drawn per class" (Lucic et
al. 2019, "High-Fidelity Image Generation With Fewer Labels", arXiv
1903.02271, §5; k in {2.5, 5, 10, 20}). In each class of n examples, the
round(k·n) with the smallest hash of (seed, canonical index) keep their label
(of all labelled examples instead with `class_balanced=False`); other train
labels become -1, which is how compare_gan marks unlabelled examples
(`datasets.py:522`, `gans/s3gan.py:118`); compare_gan itself read them from
external label files (`datasets.py:174-223`). The subset is exact on every
source, and the same for the same labels whatever the source:
- Random-access sources (bundled MNIST, folders, .npz) know their labels.
- Streaming sources (TFDS, TFRecord) read their labels once, in canonical
  order, before the first example (label_cache.py: cached per source, so
  every fraction and seed reuses one pass); each streamed example then looks
  its kept bit up by canonical index, and its label is checked against the
  pass's (a source changed since the pass fails naming the cache file).

Soft labels: a `.npy` file (memory-mapped, any size) or a `.npz` file with
the array under "soft_labels", shaped [num_train_examples, num_classes], row
c for the train example with canonical index c (its position in the source's
order: TFDS order with shuffle_files=False, sorted file order for folders).
Rows hold logits (softmax applied, as compare_gan and S3GAN store them) unless
`soft_labels_are_logits=False`, in which case they are used as given.
"""

import dataclasses
import os
import zipfile

from absl import logging
import numpy as np
import tensorflow as tf

from compare_gan2 import registry
from compare_gan2.data import base
from compare_gan2.data import label_cache


@registry.register(module="compare_gan2.data")
@dataclasses.dataclass(frozen=True)
class LabelOptions:
  """Which train labels a dataset keeps, and optional soft labels.

  Attributes:
    fraction: share of train labels kept, in [0, 1]; the rest become -1.
    seed: picks which labels are kept (independent of the data-order seed).
    class_balanced: keep `fraction` of each class (S3GAN) instead of of all.
    drop_unlabelled: train on the labelled examples only (S3GAN's BIGGAN-k%;
      compare_gan's `labeled_only_imagenet_128`).
    soft_labels_file: .npy/.npz of [num_train_examples, num_classes].
    soft_labels_are_logits: apply softmax to the file's rows.
    labels_from_soft: replace each label by the argmax of its soft label
      before subsetting (S2GAN's pre-trained hard labels).
    cache_dir: where streaming sources cache their labels pass (any
      tf.io.gfile path; None: $COMPARE_GAN2_CACHE/label_subsets).
  """
  fraction: float = 1.0
  seed: int = 0
  class_balanced: bool = True
  drop_unlabelled: bool = False
  soft_labels_file: str | None = None
  soft_labels_are_logits: bool = True
  labels_from_soft: bool = False
  cache_dir: str | None = None

  def __post_init__(self):
    if not 0.0 <= self.fraction <= 1.0:
      raise ValueError(f"LabelOptions.fraction must be in [0, 1], got {self.fraction}.")
    if self.labels_from_soft and not self.soft_labels_file:
      raise ValueError("LabelOptions.labels_from_soft needs a soft_labels_file.")


def check_labels(labels: np.ndarray, num_classes: int | None, where: str) -> np.ndarray:
  """Returns labels as int32 after checking they lie in [-1, num_classes).

  Raises:
    DataError: naming `where` (the file) and the first offending value.
  """
  labels = np.asarray(labels)
  if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
    raise base.DataError(f"{where}: labels must be a 1-D integer array, got "
                         f"{labels.dtype} of shape {labels.shape}.")
  upper = num_classes if num_classes is not None else np.iinfo(np.int32).max
  bad = np.flatnonzero((labels < -1) | (labels >= upper))
  if bad.size:
    raise base.DataError(f"{where}: label {labels[bad[0]]} of example {bad[0]} is out of "
                         f"range [-1, {upper}) ({bad.size} labels out of range).")
  return labels.astype(np.int32)


def ranks(labels: np.ndarray, seed: int, class_balanced: bool = True) -> np.ndarray:
  """Each example's rank by `unit_hash(seed, index)` within its class.

  Within all labelled examples instead when not `class_balanced`; -1 for
  examples labelled -1. Ranking by a per-index hash makes the choice stable:
  the same seed picks the same examples however the array is used.
  """
  labels = np.asarray(labels)
  return ranks_by_score(labels, base.unit_hash(seed, np.arange(len(labels))).numpy(),
                        class_balanced)


def ranks_by_score(labels: np.ndarray, score: np.ndarray, class_balanced: bool = True
                   ) -> np.ndarray:
  """Each example's rank by `score` within its class (or all labelled ones); -1 for label -1."""
  labels = np.asarray(labels)
  rank = np.full(len(labels), -1, np.int64)
  members = np.flatnonzero(labels >= 0)
  group = labels[members] if class_balanced else np.zeros(len(members), labels.dtype)
  # One stable sort by (group, score); ties keep index order, as argsort(stable) would.
  sort = np.lexsort((score[members], group))
  order, sorted_group = members[sort], group[sort]
  starts = np.flatnonzero(np.r_[True, sorted_group[1:] != sorted_group[:-1]])
  rank[order] = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
  return rank


def select(labels: np.ndarray, fraction: float, seed: int,
           class_balanced: bool = True) -> np.ndarray:
  """Exact, deterministic subset: a bool mask over `labels` (-1 is never kept).

  Each class (or all labelled examples, if not class-balanced) keeps its
  round(fraction · n) examples of lowest rank (see `ranks`).
  """
  labels = np.asarray(labels)
  rank = ranks(labels, seed, class_balanced)
  group = labels if class_balanced else np.where(labels >= 0, 0, -1)
  sizes = np.bincount(group[group >= 0], minlength=1)
  size = np.where(group >= 0, sizes[np.maximum(group, 0)], 0)
  return (rank >= 0) & (rank < np.floor(fraction * size + 0.5))


def load_soft_labels(path: str, num_classes: int | None,
                     num_examples: int | None, logits: bool = True) -> base.SoftLabels:
  """Loads and checks a soft-label file (format in the module docstring).

  Args:
    path: .npy or .npz file.
    num_classes: required number of columns.
    num_examples: required number of rows, or None when the split size is
      unknown (streaming sources; a missing row then fails when it is read).
    logits: whether rows are logits.

  Raises:
    DataError: naming the file, for a missing/unreadable file or a shape mismatch.
  """
  table = _read_table(path)
  if table.ndim != 2 or not np.issubdtype(table.dtype, np.floating):
    raise base.DataError(f"{path}: soft labels must be a float array [num_examples, "
                         f"num_classes], got {table.dtype} of shape {table.shape}.")
  if num_classes is None or table.shape[1] != num_classes:
    raise base.DataError(f"{path}: soft labels have {table.shape[1]} columns; the dataset "
                         f"has {num_classes} classes.")
  if num_examples is not None and table.shape[0] != num_examples:
    raise base.DataError(f"{path}: soft labels have {table.shape[0]} rows; the train split "
                         f"has {num_examples} examples.")
  return base.SoftLabels(path=path, table=table, logits=logits)


def _read_table(path: str) -> np.ndarray:
  """The array of a .npy (memory-mapped) or .npz ("soft_labels") file."""
  if not os.path.isfile(path):
    raise base.DataError(f"{path}: soft-label file not found.")
  try:
    if not path.endswith(".npz"):
      return np.load(path, mmap_mode="r", allow_pickle=False)
    with np.load(path, allow_pickle=False) as archive:
      table = archive["soft_labels"] if "soft_labels" in archive else None
      found = archive.files
  except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
    raise base.DataError(f"{path}: cannot read soft labels: {e}") from e
  if table is None:
    raise base.DataError(f"{path}: no array named 'soft_labels' (found {found}).")
  return table


def _soft(options: LabelOptions | None, num_classes: int | None,
          num_examples: int | None) -> base.SoftLabels | None:
  if options is None or not options.soft_labels_file:
    return None
  return load_soft_labels(options.soft_labels_file, num_classes, num_examples,
                          options.soft_labels_are_logits)


def apply_to_array(source: base.ArraySource, options: LabelOptions | None,
                   num_classes: int | None) -> base.ArraySource:
  """The source with `options` applied exactly (labels, kept indices, soft table)."""
  if options is None:
    return source
  soft = _soft(options, num_classes, len(source.items))
  labels = source.labels
  if options.labels_from_soft:
    labels = np.argmax(np.asarray(soft.table), axis=1).astype(np.int32)
  if options.fraction < 1.0:
    labels = np.where(select(labels, options.fraction, options.seed, options.class_balanced),
                      labels, -1).astype(np.int32)
  kept = np.flatnonzero(labels >= 0) if options.drop_unlabelled else None
  if kept is not None and kept.size == 0:
    raise base.DataError("drop_unlabelled left no labelled train example.")
  return dataclasses.replace(source, labels=labels, kept=kept, soft=soft)


class StreamSubset:
  """`StreamSource.subset` for a fraction: `select` over the split's labels pass.

  Resolved once per process (the pass is cached across processes by
  label_cache.py); the same `select` as random-access sources, so a stream
  and an array with the same labels keep the same examples.
  """

  def __init__(self, fraction: float, seed: int, class_balanced: bool,
               cache_dir: str | None = None):
    self.fraction, self.seed, self.class_balanced = fraction, seed, class_balanced
    self.cache_dir = cache_dir
    self._resolved = None

  def __call__(self, source: base.StreamSource):
    """(label, canonical index) -> label: kept, or -1; checks it against the pass."""
    if self._resolved is None:
      labels, path = label_cache.cached_labels(source, self.cache_dir)
      mask = select(labels, self.fraction, self.seed, self.class_balanced)
      kept = np.bincount(labels[mask], minlength=1) if mask.any() else np.zeros(1, np.int64)
      logging.info("Label subset: %d of %d labels kept (fraction %g, seed %d), %d to %d per "
                   "class.", mask.sum(), len(labels), self.fraction, self.seed,
                   kept.min(), kept.max())
      self._resolved = (labels, mask, path or "the labels pass")
    return _lookup(*self._resolved)


def _lookup(labels: np.ndarray, mask: np.ndarray, where: str):
  """(label, c) -> label if mask[c] else -1, asserting label == labels[c]."""
  n = len(labels)

  def lookup(label: tf.Tensor, index: tf.Tensor) -> tf.Tensor:
    """The kept bit of example `index`; a label unlike the pass's is an error."""
    c = tf.minimum(tf.cast(index, tf.int64), n - 1)
    expected = tf.gather(tf.constant(labels, tf.int32), c)
    same = tf.logical_and(tf.cast(index, tf.int64) < n, tf.equal(label, expected))
    check = tf.debugging.Assert(same, [
        f"{where}: the source changed since its labels were read ({n} examples); delete the "
        "file to re-read them. Example", index, "label", label, "was", expected])
    with tf.control_dependencies([check]):
      return tf.where(tf.gather(tf.constant(mask), c), label, -1)

  return lookup


def apply_to_stream(source: base.StreamSource, options: LabelOptions | None,
                    num_classes: int | None) -> base.StreamSource:
  """The source with `options` applied per example, keyed by canonical index."""
  if options is None:
    return source
  soft = _soft(options, num_classes, None)
  previous, identity = source.label_fn, source.identity

  def label_fn(label: tf.Tensor, index: tf.Tensor) -> tf.Tensor:
    """Earlier label_fn, then labels from soft labels."""
    if previous is not None:
      label = previous(label, index)
    return tf.argmax(soft.lookup(index), output_type=tf.int32)

  if options.labels_from_soft:
    previous_identity = identity
    identity = None if identity is None else lambda: (
        f"{previous_identity()} labels_from_soft="
        f"{label_cache.file_identity([options.soft_labels_file])}")
  subset = None
  if options.fraction < 1.0:
    subset = StreamSubset(options.fraction, options.seed, options.class_balanced,
                          options.cache_dir)
  keep, num_examples = source.keep, source.num_examples
  if options.drop_unlabelled:
    keep = _and(keep, lambda raw: raw["label"] >= 0)
    num_examples = None
  return dataclasses.replace(
      source, label_fn=label_fn if options.labels_from_soft else previous, keep=keep,
      num_examples=num_examples, soft=soft, subset=subset, identity=identity)


def _and(first, second):
  if first is None:
    return second
  return lambda raw: tf.logical_and(first(raw), second(raw))
