"""Label wrappers for any dataset: S3GAN's SINGLE LABEL, RANDOM LABEL and CLUSTERING.

Lucic et al. 2019, "High-Fidelity Image Generation With Fewer Labels"
(arXiv 1903.02271, §3.1-3.2) compare methods that differ only in where the real
images' labels come from. These wrappers take any dataset (bundled MNIST,
folders, .npz, TFRecord, TFDS) and return a new `base.Dataset` with the
images unchanged and the labels replaced (gin module compare_gan2.data):

    train_lib.train.dataset = @data.cluster_labels()
    data.cluster_labels.dataset = @data.bundled_mnist()
    data.cluster_labels.labels_file = "/tmp/pretrain/clusters.npy"
    data.cluster_labels.num_clusters = 50

- `single_label`: every label 0, one class (compare_gan's
  `single_class_imagenet_128`, `datasets.py:552-568`).
- `random_label`: a uniform random class, redrawn at every read (what
  compare_gan's `random_class_imagenet_128`, `datasets.py:571-584`, meant).
- `cluster_labels`: the k-means cluster of each train image, from the file
  that `tools/pretrain_labeller.py --task=clusters` writes (eq. (1) features
  F(x), mini-batch k-means; compare_gan read such labels from external files,
  `datasets.py:174-223`, and had no clustering code).

Soft labels of the wrapped dataset are dropped (they describe other classes).
For CLUSTERING, fake labels should follow the clusters' empirical
distribution p̂(y): `gans.ModularGAN.fit_label_distribution = True` gives
fakes the labels of the real batch, i.e. draws from p̂(y).
"""

import dataclasses
import os

import numpy as np
import tensorflow as tf

from compare_gan2 import registry
from compare_gan2.data import base

_register = registry.register(module="compare_gan2.data")


def _relabelled(dataset: base.Dataset, train: base.Split, evaluation: base.Split,
                num_classes: int) -> base.Dataset:
  """`dataset` with new splits, `num_classes` classes and no soft labels."""
  info = dataclasses.replace(dataset.info, num_classes=num_classes, soft_labels=False,
                             class_names=None)
  return base.Dataset(info=info, train=train, eval=evaluation)


def _without_soft(split: base.Split, relabel: base.RelabelFn | None) -> base.Split:
  return dataclasses.replace(split, source=dataclasses.replace(split.source, soft=None),
                             relabel=relabel)


def _zero(label: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
  del seed  # The same label at every read.
  return tf.zeros_like(label)


@_register
def single_label(dataset: base.Dataset) -> base.Dataset:
  """Every train and eval label becomes 0, and num_classes 1 (S3GAN SINGLE LABEL).

  arXiv 1903.02271, §3.2: one label for every image (unlabelled ones included), so
  a projection D reduces to D(x) = c_rf(D̃(x)) + a constant embedding term;
  G's conditional BN still sees its z chunks. compare_gan built this for
  ImageNet only (`single_class_imagenet_128`, `datasets.py:552-568`).

  Args:
    dataset: any dataset.
  """
  return _relabelled(dataset, _without_soft(dataset.train, _zero),
                     _without_soft(dataset.eval, _zero), num_classes=1)


def _uniform_relabel(num_classes: int) -> base.RelabelFn:
  def relabel(label: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """A uniform class from the per-read stateless seed."""
    return tf.random.stateless_uniform([], seed, minval=0, maxval=num_classes, dtype=label.dtype)

  return relabel


@_register
def random_label(dataset: base.Dataset, num_classes: int | None = None) -> base.Dataset:
  """Labels uniform in [0, num_classes), redrawn at every read (S3GAN RANDOM LABEL).

  arXiv 1903.02271, §3.2: a useless signal for D, but G gains randomness and cBN
  embeddings. The draw is stateless, keyed by (pipeline seed, global example
  index): a new label each time an image is read, the same for the same
  seed (the pipeline's `base.Split.relabel`). Eval labels are drawn too,
  keyed by the eval example's index.

  Args:
    dataset: any dataset.
    num_classes: classes to draw from; default the dataset's.

  Raises:
    ValueError: the dataset has no classes and `num_classes` is not given,
      or it is below 1.
  """
  classes = dataset.info.num_classes if num_classes is None else num_classes
  if not classes or classes < 1:
    raise ValueError(f"random_label: {dataset.info.name} has no classes "
                     f"(num_classes={dataset.info.num_classes}); pass num_classes >= 1.")
  relabel = _uniform_relabel(int(classes))
  return _relabelled(dataset, _without_soft(dataset.train, relabel),
                     _without_soft(dataset.eval, relabel), num_classes=int(classes))


def load_cluster_file(path: str, num_examples: int | None,
                      num_clusters: int | None = None) -> tuple[np.ndarray, int]:
  """Reads and checks a cluster-label file: int [num_examples] in [0, k).

  Args:
    path: .npy written by the pretraining tool (row c = train example c).
    num_examples: required length, or None when the split size is unknown.
    num_clusters: k; default max + 1 of the file.

  Returns:
    (int32 labels, k).

  Raises:
    DataError: naming the file, when it is missing, unreadable, not a 1-D
      integer array, of the wrong length, or has a value outside [0, k).
  """
  if not os.path.isfile(path):
    raise base.DataError(f"{path}: cluster-label file not found.")
  try:
    ids = np.load(path, allow_pickle=False)
  except (OSError, ValueError, EOFError) as e:
    raise base.DataError(f"{path}: cannot read cluster labels: {e}") from e
  if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
    raise base.DataError(f"{path}: cluster labels must be a 1-D integer array "
                         f"[num_train_examples], got {ids.dtype} of shape {ids.shape}.")
  if num_examples is not None and len(ids) != num_examples:
    raise base.DataError(f"{path}: {len(ids)} cluster labels; the train split has "
                         f"{num_examples} examples.")
  if not len(ids):
    raise base.DataError(f"{path}: the cluster-label file is empty.")
  k = int(ids.max()) + 1 if num_clusters is None else int(num_clusters)
  bad = np.flatnonzero((ids < 0) | (ids >= k))
  if bad.size:
    raise base.DataError(f"{path}: cluster label {ids[bad[0]]} of example {bad[0]} is "
                         f"outside [0, {k}) ({bad.size} labels out of range).")
  return ids.astype(np.int32), k


def _stream_lookup(path: str, ids: np.ndarray) -> base.RelabelFn:
  """(label, canonical index) -> ids[index], failing with the file's name past its end."""
  table = tf.constant(ids)
  rows = len(ids)

  def label_fn(label: tf.Tensor, index: tf.Tensor) -> tf.Tensor:
    """The cluster of example `index`; the original label is replaced."""
    del label
    index = tf.cast(index, tf.int64)
    check = tf.debugging.assert_less(
        index, tf.constant(rows, tf.int64),
        message=f"{path}: the cluster-label file has {rows} rows; the train split has more")
    with tf.control_dependencies([check]):
      return tf.gather(table, index)

  return label_fn


@_register
def cluster_labels(dataset: base.Dataset, labels_file: str,
                   num_clusters: int | None = None) -> base.Dataset:
  """Train labels from a k-means cluster file (S3GAN CLUSTERING, §3.1).

  Row c of `labels_file` is the cluster of train example c (its canonical
  index: the source's fixed order), as `pretraining.cluster` writes it. Every
  train example gets its cluster, labelled or not; `info.num_classes` is k.
  Eval labels become -1: clusters are defined on the train images only, and
  eval images were never clustered. Filters of the wrapped dataset that read
  labels (`LabelOptions.drop_unlabelled` on a streaming source) then see the
  cluster labels.

  Args:
    dataset: any dataset; its labels and soft labels are dropped.
    labels_file: .npy, int [num_train_examples], values in [0, k).
    num_clusters: k, checked against the file; default max + 1 of the file
      (set it: an empty last cluster would otherwise shrink k).

  Raises:
    DataError: naming the file (see `load_cluster_file`).
  """
  source = dataset.train.source
  if isinstance(source, base.ArraySource):
    ids, k = load_cluster_file(labels_file, len(source.items), num_clusters)
    train_source = dataclasses.replace(source, labels=ids, soft=None)
  else:
    ids, k = load_cluster_file(labels_file, dataset.info.num_train_examples, num_clusters)
    train_source = dataclasses.replace(source, label_fn=_stream_lookup(labels_file, ids),
                                       soft=None)
  train = dataclasses.replace(dataset.train, source=train_source, relabel=None)
  evaluation = _without_soft(dataset.eval, lambda label, seed: tf.fill(tf.shape(label), -1))
  return _relabelled(dataset, train, evaluation, num_classes=k)


def labelled_only(dataset: base.Dataset) -> base.Dataset:
  """The dataset with its train split restricted to examples labelled >= 0.

  What `LabelOptions.drop_unlabelled` does at build time, applied to a built
  dataset (the labelled stream of S²L pretraining, arXiv 1903.02271 §3.1).

  Raises:
    DataError: a random-access train split with no labelled example.
  """
  source = dataset.train.source
  if isinstance(source, base.ArraySource):
    candidates = np.arange(len(source.items)) if source.kept is None else source.kept
    kept = candidates[source.labels[candidates] >= 0]
    if not kept.size:
      raise base.DataError(f"{dataset.info.name}: the train split has no labelled example.")
    source = dataclasses.replace(source, kept=kept)
  else:
    previous = source.keep

    def keep(raw: base.RawElement) -> tf.Tensor:
      """Labelled, and kept by the source's own filter."""
      labelled = raw["label"] >= 0
      return labelled if previous is None else tf.logical_and(previous(raw), labelled)

    source = dataclasses.replace(source, keep=keep, num_examples=None)
  return dataclasses.replace(dataset, train=dataclasses.replace(dataset.train, source=source))
