"""Tests for compare_gan2.data.label_cache: one cached pass over a stream's labels.

A pass is read once per source identity and reused; a cache file that is
corrupt, made for another source, or contradicted by the source's metadata is
recomputed (never used silently); writes leave no temp files; file identities
change when a file does.
"""

import os

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2.data import base
from compare_gan2.data import label_cache

LABELS = np.array([3, 1, -1, 0, 2, 2, 1], np.int32)


def _source(labels=LABELS, identity="src", opened=None, count=None):
  def open_stream():
    if opened is not None:
      opened.append(1)
    return tf.data.Dataset.from_tensor_slices({"image": tf.zeros([len(labels)]), "label": labels})
  return base.StreamSource(open=open_stream, identity=lambda: identity,
                           count=None if count is None else lambda: count)


def test_reads_once_then_loads_the_verified_file(tmp_path):
  opened = []
  labels, path = label_cache.cached_labels(_source(opened=opened), str(tmp_path))
  np.testing.assert_array_equal(labels, LABELS)
  again, same_path = label_cache.cached_labels(_source(opened=opened), str(tmp_path))
  np.testing.assert_array_equal(again, LABELS)
  assert path == same_path and len(opened) == 1
  assert [p.name for p in tmp_path.iterdir()] == [path.split("/")[-1]]  # no temp files left


def test_another_identity_is_another_file(tmp_path):
  _, first = label_cache.cached_labels(_source(identity="a"), str(tmp_path))
  _, second = label_cache.cached_labels(_source(identity="b"), str(tmp_path))
  assert first != second


@pytest.mark.parametrize("damage", ["garbage", "tampered", "other_identity"])
def test_a_bad_cache_file_is_recomputed_with_a_warning(tmp_path, damage, caplog):
  path = label_cache.cache_path(str(tmp_path), "src")
  if damage == "garbage":
    open(path, "wb").write(b"not an npz")
  elif damage == "tampered":  # labels edited without their checksum
    label_cache.save(path, LABELS, "src")
    with np.load(path) as z:
      np.savez(path, labels=z["labels"][::-1], meta=z["meta"])
  else:
    label_cache.save(path, LABELS[:3], "other")
  opened = []
  labels, _ = label_cache.cached_labels(_source(opened=opened), str(tmp_path))
  np.testing.assert_array_equal(labels, LABELS)
  assert len(opened) == 1 and "Recomputing it" in caplog.text
  np.testing.assert_array_equal(label_cache.load(path, "src"), LABELS)  # replaced


def test_a_count_contradicting_the_metadata_is_recomputed(tmp_path):
  label_cache.cached_labels(_source(), str(tmp_path))
  longer = np.r_[LABELS, 4].astype(np.int32)  # the split grew; metadata says so
  labels, _ = label_cache.cached_labels(_source(longer, count=len(longer)), str(tmp_path))
  np.testing.assert_array_equal(labels, longer)


def test_load_names_the_file_and_the_mismatch(tmp_path):
  path = label_cache.save(str(tmp_path / "x.npz"), LABELS, "src")
  with pytest.raises(base.DataError, match=r"x\.npz: .*'identity': \('src', 'other'\)"):
    label_cache.load(path, "other")
  with pytest.raises(base.DataError, match=r"x\.npz: labels cache holds 7 examples; the "
                                           r"source's metadata says 8"):
    label_cache.load(path, "src", expected_count=8)


def test_file_identity_changes_with_the_file(tmp_path):
  path = tmp_path / "a.tfrecord"
  path.write_bytes(b"12")
  before = label_cache.file_identity([str(path)])
  path.write_bytes(b"123")
  assert label_cache.file_identity([str(path)]) != before


def test_file_identity_tells_a_same_size_rewrite_in_the_same_instant(tmp_path):
  # tf.io.gfile.stat has whole-second times: CI once rewrote shards within one.
  path = tmp_path / "a.tfrecord"
  path.write_bytes(b"x" * 200_000)
  times = (path.stat().st_atime_ns, path.stat().st_mtime_ns)
  before = label_cache.file_identity([str(path)])
  for changed in (b"y" + b"x" * 199_999, b"x" * 199_999 + b"y"):
    path.write_bytes(changed)
    os.utime(path, ns=times)
    assert label_cache.file_identity([str(path)]) != before


def test_default_cache_dir_follows_the_environment(monkeypatch, tmp_path):
  monkeypatch.setenv("COMPARE_GAN2_CACHE", str(tmp_path))
  assert label_cache.default_cache_dir() == str(tmp_path / "label_subsets")
