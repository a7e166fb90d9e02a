"""Tests for compare_gan2.data.labels: k% label subsets and soft labels.

Subsets: exact per-class counts (S3GAN draws k% per class, arXiv 1903.02271
§5), the same seed giving the same subset and another seed another, streams
keeping exactly the examples an array with the same labels keeps, from one
cached labels pass. Soft labels: the
file formats, softmax of logits, and errors naming the file.
"""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2.data import base
from compare_gan2.data import bundled
from compare_gan2.data import labels

# 10 classes of 50..95 examples, shuffled, plus 30 unlabelled.
CLASS_SIZES = np.arange(50, 100, 5)
LABELS = np.random.default_rng(0).permutation(np.concatenate(
    [np.full(n, k) for k, n in enumerate(CLASS_SIZES)] + [np.full(30, -1)])).astype(np.int32)


@pytest.mark.parametrize("fraction", [0.025, 0.05, 0.1, 0.2, 1.0])
def test_class_balanced_subset_keeps_k_percent_of_every_class(fraction):
  mask = labels.select(LABELS, fraction, seed=0)
  kept = np.bincount(LABELS[mask], minlength=10)
  np.testing.assert_array_equal(kept, np.floor(fraction * CLASS_SIZES + 0.5))
  assert not mask[LABELS < 0].any()


def test_subset_is_deterministic_by_seed():
  first = labels.select(LABELS, 0.2, seed=1)
  np.testing.assert_array_equal(first, labels.select(LABELS, 0.2, seed=1))
  other = labels.select(LABELS, 0.2, seed=2)
  assert first.sum() == other.sum() and (first != other).any()


def test_subsets_are_nested_across_fractions():
  small, large = labels.select(LABELS, 0.05, 3), labels.select(LABELS, 0.2, 3)
  assert not (small & ~large).any()  # a 5% subset is part of the 20% one


def test_unbalanced_subset_keeps_k_percent_overall():
  mask = labels.select(LABELS, 0.1, seed=0, class_balanced=False)
  assert mask.sum() == np.floor(0.1 * CLASS_SIZES.sum() + 0.5)  # 72.5 rounds half up


def test_check_labels_names_the_file():
  np.testing.assert_array_equal(labels.check_labels(np.array([0, -1, 2]), 3, "x.npz"),
                                [0, -1, 2])
  with pytest.raises(base.DataError, match=r"my\.npz: label 3 of example 1 is out of range"):
    labels.check_labels(np.array([0, 3, -2]), 3, "my.npz")
  with pytest.raises(base.DataError, match="my.npz: labels must be a 1-D integer array"):
    labels.check_labels(np.array([0.5]), 3, "my.npz")


def test_label_options_validate():
  with pytest.raises(ValueError, match="fraction must be in"):
    labels.LabelOptions(fraction=10)
  with pytest.raises(ValueError, match="needs a soft_labels_file"):
    labels.LabelOptions(labels_from_soft=True)


def _array_source(n=len(LABELS)):
  return base.ArraySource(items=np.arange(n), labels=LABELS[:n])


def test_apply_to_array_marks_unkept_labels_unlabelled_or_drops_them():
  source = labels.apply_to_array(_array_source(), labels.LabelOptions(fraction=0.1), 10)
  mask = labels.select(LABELS, 0.1, 0)
  np.testing.assert_array_equal(source.labels, np.where(mask, LABELS, -1))
  assert source.kept is None
  dropped = labels.apply_to_array(
      _array_source(), labels.LabelOptions(fraction=0.1, drop_unlabelled=True), 10)
  np.testing.assert_array_equal(dropped.kept, np.flatnonzero(mask))
  assert dropped.num_examples == mask.sum()


def _stream_labels(source, n):
  return next(iter(source.canonical().batch(n)))["label"].numpy()


def _stream(labels_array, identity="test-stream", opened=None):
  """A StreamSource over `labels_array`; `opened` counts the passes over it."""
  def open_stream():
    if opened is not None:
      opened.append(1)
    return tf.data.Dataset.from_tensor_slices(
        {"image": tf.zeros([len(labels_array)], tf.uint8), "label": labels_array})
  return base.StreamSource(open=open_stream,
                           identity=None if identity is None else lambda: identity)


@pytest.mark.parametrize("class_balanced", [True, False])
@pytest.mark.parametrize("fraction", [0.025, 0.1, 0.2])
def test_stream_subset_is_the_exact_array_subset(fraction, class_balanced, tmp_path):
  options = labels.LabelOptions(fraction=fraction, seed=4, class_balanced=class_balanced,
                                cache_dir=str(tmp_path))
  streamed = _stream_labels(labels.apply_to_stream(_stream(LABELS), options, 10), len(LABELS))
  array = labels.apply_to_array(_array_source(), options, 10).labels
  np.testing.assert_array_equal(streamed, array)
  kept = np.bincount(streamed[streamed >= 0], minlength=10)
  if class_balanced:  # e.g. 10%: [5 6 6 7 7 8 8 9 9 10] of classes of 50..95
    np.testing.assert_array_equal(kept, np.floor(fraction * CLASS_SIZES + 0.5))
  else:
    assert kept.sum() == np.floor(fraction * CLASS_SIZES.sum() + 0.5)


def test_stream_subset_is_deterministic_by_seed_without_a_cache():
  def subset(seed):
    options = labels.LabelOptions(fraction=0.2, seed=seed)
    return _stream_labels(labels.apply_to_stream(_stream(LABELS, identity=None), options, 10),
                          len(LABELS))
  first = subset(1)
  np.testing.assert_array_equal(first, subset(1))
  assert ((first >= 0) != (subset(2) >= 0)).any()


def test_the_labels_pass_is_read_once_and_cached_for_every_fraction(tmp_path, monkeypatch):
  monkeypatch.setenv("COMPARE_GAN2_CACHE", str(tmp_path))
  opened = []
  for fraction, seed in ((0.1, 0), (0.2, 1), (0.1, 0)):
    source = labels.apply_to_stream(_stream(LABELS, opened=opened),
                                    labels.LabelOptions(fraction=fraction, seed=seed), 10)
    streamed = _stream_labels(source, len(LABELS))
    np.testing.assert_array_equal(streamed >= 0, labels.select(LABELS, fraction, seed))
  assert len(opened) == 1 + 3  # one labels pass, then one read per stream
  assert len(list((tmp_path / "label_subsets").glob("labels_*.npz"))) == 1


def test_a_source_changed_under_its_cache_fails_naming_the_file(tmp_path):
  options = labels.LabelOptions(fraction=0.5, cache_dir=str(tmp_path))
  _stream_labels(labels.apply_to_stream(_stream(LABELS), options, 10), len(LABELS))
  changed = np.roll(LABELS, 1)  # same identity, other labels: a stale cache
  source = labels.apply_to_stream(_stream(changed), options, 10)
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=r"labels_[0-9a-f]{16}\.npz: the source changed since its labels"):
    _stream_labels(source, len(LABELS))


def _write_soft(tmp_path, table, name="soft.npy"):
  path = tmp_path / name
  if name.endswith(".npz"):
    np.savez(path, soft_labels=table)
  else:
    np.save(path, table)
  return str(path)


@pytest.mark.parametrize("name", ["soft.npy", "soft.npz"])
def test_soft_labels_are_softmax_of_logits_by_row(tmp_path, name):
  logits = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
  soft = labels.load_soft_labels(_write_soft(tmp_path, logits, name), 4, 6)
  expected = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
  np.testing.assert_allclose(soft.lookup(tf.constant(2, tf.int64)), expected[2], rtol=1e-5)
  probabilities = labels.load_soft_labels(_write_soft(tmp_path, expected, name), 4, 6,
                                          logits=False)
  np.testing.assert_allclose(probabilities.lookup(tf.constant(5, tf.int64)), expected[5])


@pytest.mark.parametrize("table,classes,rows,message", [
    (np.zeros([6, 3], np.float32), 4, 6, "have 3 columns; the dataset has 4 classes"),
    (np.zeros([5, 4], np.float32), 4, 6, "have 5 rows; the train split has 6 examples"),
    (np.zeros([6], np.float32), 4, 6, "must be a float array"),
    (np.zeros([6, 4], np.int64), 4, 6, "must be a float array"),
])
def test_soft_label_shape_mismatch_names_the_file(tmp_path, table, classes, rows, message):
  path = _write_soft(tmp_path, table)
  with pytest.raises(base.DataError, match=f"{path}: .*{message}"):
    labels.load_soft_labels(path, classes, rows)


def test_unreadable_soft_label_files_are_named(tmp_path):
  with pytest.raises(base.DataError, match="missing.npy: soft-label file not found"):
    labels.load_soft_labels(str(tmp_path / "missing.npy"), 4, 6)
  garbage = tmp_path / "garbage.npy"
  garbage.write_bytes(b"not numpy")
  with pytest.raises(base.DataError, match="garbage.npy: cannot read soft labels"):
    labels.load_soft_labels(str(garbage), 4, 6)
  wrong_key = tmp_path / "wrong.npz"
  np.savez(wrong_key, logits=np.zeros([6, 4], np.float32))
  with pytest.raises(base.DataError, match="wrong.npz: no array named 'soft_labels'"):
    labels.load_soft_labels(str(wrong_key), 4, 6)


def test_streaming_soft_labels_fail_by_file_on_a_missing_row(tmp_path):
  soft = labels.load_soft_labels(_write_soft(tmp_path, np.zeros([3, 4], np.float32)), 4, None)
  rows = tf.data.Dataset.from_tensor_slices(tf.constant([2, 7], tf.int64)).map(soft.lookup)
  iterator = iter(rows)
  next(iterator)
  with pytest.raises(tf.errors.OpError, match="soft.npy: soft-label file has 3 rows"):
    next(iterator)


def test_labels_from_soft_take_the_argmax_before_subsetting(tmp_path):
  logits = np.eye(4, dtype=np.float32)[np.arange(len(LABELS)) % 4] * 5
  options = labels.LabelOptions(soft_labels_file=_write_soft(tmp_path, logits),
                                labels_from_soft=True)
  source = labels.apply_to_array(_array_source(), options, 4)
  np.testing.assert_array_equal(source.labels, np.arange(len(LABELS)) % 4)
  subset = labels.apply_to_array(_array_source(), dataclasses.replace(options, fraction=0.5), 4)
  sizes = np.bincount(np.arange(len(LABELS)) % 4)
  assert (subset.labels >= 0).sum() == np.floor(0.5 * sizes + 0.5).sum()


def test_a_stream_of_bundled_mnist_keeps_what_the_array_keeps(tmp_path):
  options = labels.LabelOptions(fraction=0.05, seed=7, cache_dir=str(tmp_path))
  array = bundled.bundled_mnist(labels=options).train.source.labels
  true = bundled.bundled_mnist().train.source.labels  # 9,000 real digits, 792..1035 per class
  streamed = _stream_labels(labels.apply_to_stream(_stream(true), options, 10), len(true))
  np.testing.assert_array_equal(streamed, array)
  np.testing.assert_array_equal(np.bincount(streamed[streamed >= 0], minlength=10),
                                np.floor(0.05 * np.bincount(true) + 0.5))
