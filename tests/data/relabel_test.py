"""Tests for compare_gan2.data.relabel: SINGLE LABEL, RANDOM LABEL and CLUSTERING datasets.

S3GAN's unsupervised baselines (Lucic et al. 2019, arXiv 1903.02271 §3.1-3.2)
through the real pipeline, on a random-access and a streaming source: single
label gives 0 everywhere and one class; random labels are uniform, redrawn
at every read and fixed by the seed; cluster labels put row c of the file on
train example c, with -1 in eval and DataErrors naming the file.
"""

import textwrap

import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import data
from compare_gan2.data import base
from compare_gan2.data import bundled
from compare_gan2.data import pipeline
from compare_gan2.data import relabel

N = 24


def _prepare(raw, seed):
  del seed
  return tf.cast(tf.reshape(raw["image"], [1, 1, 1]), tf.float32)


def indexed(kind: str, n: int = N, num_classes: int | None = 3) -> base.Dataset:
  """n examples whose image is their canonical index; label = index % 3, every 4th -1."""
  items = np.arange(n, dtype=np.int32)
  labels = np.where(items % 4 == 3, -1, items % 3).astype(np.int32)
  if kind == "array":
    source = base.ArraySource(items=items, labels=labels)
  else:
    source = base.StreamSource(
        open=lambda: tf.data.Dataset.from_tensor_slices({"image": items, "label": labels}))
  split = base.Split(source, _prepare)
  info = base.DatasetInfo("indexed", (1, 1, 1), num_classes, n, n, n)
  return base.Dataset(info=info, train=split, eval=split)


def _read(dataset: base.Dataset, steps: int, batch: int = 8, seed: int = 5):
  """(canonical indices, labels) of `steps` train batches."""
  batches = list(pipeline.train_dataset(dataset, batch, seed=seed, shuffle_window=7).take(steps))
  index = np.concatenate([np.asarray(b["images"]).reshape(-1) for b in batches]).astype(int)
  return index, np.concatenate([b["labels"] for b in batches])


def _eval_labels(dataset: base.Dataset) -> np.ndarray:
  return np.concatenate([b["labels"] for b in pipeline.eval_input(dataset, 250)])


def _soft_file(tmp_path, rows: int = bundled.NUM_TRAIN) -> str:
  path = str(tmp_path / "soft.npy")
  np.save(path, np.random.default_rng(0).normal(size=(rows, 10)).astype(np.float32))
  return path


def test_single_label_makes_every_label_0_and_one_class(tmp_path):
  """Bundled MNIST with 10% labels and soft labels: every train and eval label 0, no soft labels."""
  options = data.LabelOptions(fraction=0.1, soft_labels_file=_soft_file(tmp_path))
  dataset = relabel.single_label(data.bundled_mnist(labels=options))
  assert (dataset.info.num_classes, dataset.info.soft_labels) == (1, False)
  batch = next(iter(pipeline.train_dataset(dataset, 200)))
  assert "soft_labels" not in batch
  np.testing.assert_array_equal(batch["labels"], 0)  # the unlabelled (-1) ones too
  np.testing.assert_array_equal(_eval_labels(dataset), np.zeros(bundled.NUM_EVAL))


def test_single_label_on_a_stream():
  """A streaming source gets label 0 as well, and the images are untouched."""
  index, labels = _read(relabel.single_label(indexed("stream")), steps=3)
  np.testing.assert_array_equal(labels, 0)
  assert sorted(index[:N]) == list(range(N))


@pytest.mark.parametrize("kind", ["array", "stream"])
def test_random_labels_are_redrawn_at_every_read_and_fixed_by_the_seed(kind):
  """Each example, read 10 times, gets varying labels; the same seed repeats them all."""
  dataset = relabel.random_label(indexed(kind), num_classes=10)
  assert dataset.info.num_classes == 10
  index, labels = _read(dataset, steps=30)  # 240 reads: each example 10 times
  assert labels.min() >= 0 and labels.max() < 10
  per_example = [set(labels[index == c]) for c in range(N)]
  assert min(len(s) for s in per_example) >= 3  # 10 uniform draws from 10 classes
  np.testing.assert_array_equal(labels, _read(dataset, steps=30)[1])
  assert (labels != _read(dataset, steps=30, seed=6)[1]).mean() > 0.7


def test_random_labels_are_uniform():
  """Chi-square of 4,000 reads of 10 classes below the 0.1% critical value (27.9, 9 d.o.f.)."""
  dataset = relabel.random_label(data.bundled_mnist())
  labels = np.concatenate([b["labels"] for b in pipeline.train_dataset(dataset, 500).take(8)])
  counts = np.bincount(labels, minlength=10)
  expected = len(labels) / 10
  assert ((counts - expected) ** 2 / expected).sum() < 27.9


def test_random_label_needs_classes():
  """An unlabelled dataset needs num_classes; with it, labels are drawn from that many."""
  with pytest.raises(ValueError, match="has no classes"):
    relabel.random_label(indexed("array", num_classes=None))
  assert relabel.random_label(indexed("array", num_classes=None), 4).info.num_classes == 4


def _ids_file(tmp_path, ids, name="clusters.npy") -> str:
  path = str(tmp_path / name)
  np.save(path, ids)
  return path


@pytest.mark.parametrize("kind", ["array", "stream"])
def test_cluster_labels_put_row_c_on_example_c(tmp_path, kind):
  """Every read of example c has label ids[c], labelled or not; eval labels are -1."""
  ids = (np.arange(N) * 5) % 7
  dataset = relabel.cluster_labels(indexed(kind), _ids_file(tmp_path, ids), num_clusters=8)
  assert dataset.info.num_classes == 8
  index, labels = _read(dataset, steps=6)
  np.testing.assert_array_equal(labels, ids[index])
  np.testing.assert_array_equal(_eval_labels(dataset), np.full(N, -1))


def test_cluster_labels_on_bundled_mnist(tmp_path):
  """k from the file (max + 1); the canonical train order reads the file back; no soft labels."""
  ids = np.random.default_rng(1).integers(0, 50, bundled.NUM_TRAIN).astype(np.int32)
  options = data.LabelOptions(fraction=0.1, soft_labels_file=_soft_file(tmp_path))
  dataset = relabel.cluster_labels(data.bundled_mnist(labels=options), _ids_file(tmp_path, ids))
  assert (dataset.info.num_classes, dataset.info.soft_labels) == (50, False)
  read = np.concatenate([b["labels"] for b in pipeline.canonical_train_input(dataset, 3000)])
  np.testing.assert_array_equal(read, ids)
  assert "soft_labels" not in next(iter(pipeline.train_dataset(dataset, 4)))


@pytest.mark.parametrize("ids, problem", [
    (np.zeros(N - 1, np.int64), "23 cluster labels; the train split has 24"),
    (np.zeros(N, np.float32), "1-D integer array"),
    (np.zeros((N, 2), np.int32), "1-D integer array"),
    (np.full(N, -1), "cluster label -1 of example 0 is outside"),
    (np.arange(N), "cluster label 8 of example 8 is outside \\[0, 8\\)"),
])
def test_bad_cluster_files_name_the_file(tmp_path, ids, problem):
  """Wrong length, dtype, rank or range: a DataError naming the file and the problem."""
  path = _ids_file(tmp_path, ids, "bad.npy")
  with pytest.raises(data.DataError, match=problem) as error:
    relabel.cluster_labels(indexed("array"), path, num_clusters=8)
  assert path in str(error.value)


def test_missing_cluster_file_is_named(tmp_path):
  with pytest.raises(data.DataError, match="cluster-label file not found"):
    relabel.cluster_labels(indexed("array"), str(tmp_path / "none.npy"))


def test_short_cluster_file_on_a_stream_of_unknown_length_fails_on_read(tmp_path):
  """When the split size is unknown, reading past the file's end is an error naming it."""
  dataset = indexed("stream")
  dataset = base.Dataset(info=base.DatasetInfo("indexed", (1, 1, 1), 3, None, N, N),
                         train=dataset.train, eval=dataset.eval)
  path = _ids_file(tmp_path, np.zeros(N // 2, np.int32))
  with pytest.raises(tf.errors.InvalidArgumentError, match="clusters.npy: the cluster-label"):
    list(pipeline.canonical_train_input(relabel.cluster_labels(dataset, path), 4))


@pytest.mark.parametrize("kind", ["array", "stream"])
def test_labelled_only_keeps_labels_of_at_least_0(kind):
  """The labelled view reads only labelled examples, all of them."""
  index, labels = _read(relabel.labelled_only(indexed(kind)), steps=9)
  assert labels.min() >= 0
  assert set(index) == {c for c in range(N) if c % 4 != 3}


def test_gin_names(tmp_path):
  """The wrappers are gin-configurable in module compare_gan2.data and nest."""
  path = _ids_file(tmp_path, np.zeros(bundled.NUM_TRAIN, np.int32))
  gin.parse_config(textwrap.dedent(f"""
      data.cluster_labels.dataset = @data.random_label()
      data.random_label.dataset = @data.single_label()
      data.single_label.dataset = @data.bundled_mnist()
      data.random_label.num_classes = 5
      data.cluster_labels.labels_file = "{path}"
      data.cluster_labels.num_clusters = 3
  """))
  assert gin.get_configurable(relabel.single_label)().info.num_classes == 1
  assert gin.get_configurable(relabel.random_label)().info.num_classes == 5
  dataset = gin.get_configurable(relabel.cluster_labels)()
  assert (dataset.info.num_classes, dataset.info.name) == (3, "bundled_mnist")
