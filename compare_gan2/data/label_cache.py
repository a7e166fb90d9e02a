"""One pass over a streaming source's labels, cached: what exact label subsets need.

A streaming source (TFDS, TFRecord) has no random access, so choosing k% of
the labels of each class exactly (labels.py) needs every example's label
before the first example is read. `cached_labels` reads the labels of the
split once in canonical order (records are read, images never decoded) and
stores them, so later runs, other fractions and other seeds reuse the pass.

Where: `$COMPARE_GAN2_CACHE/label_subsets` (default
`~/.cache/compare_gan2/label_subsets`) or the directory given (any
tf.io.gfile path, e.g. one shared by all workers). One .npz per source,
named by a hash of the source's identity: TFDS data directory (with the
version), split and dataset name; TFRecord files with their sizes,
modification times and a hash of their first and last 64 KiB; plus the soft-label file when labels come from it.

Safety. Writes are atomic (temp file, then rename), so workers writing at
once leave one complete file; workers that share no directory compute the
same labels, and the subset is a pure function of labels and seed, so they
agree anyway. A file is used only when its identity, its example count
(also against TFDS metadata when there is any) and its labels' SHA-256 match;
otherwise it is recomputed and replaced, with a warning naming why.
"""

import hashlib
import io
import json
import os

from absl import logging
import numpy as np
import tensorflow as tf

from compare_gan2 import files
from compare_gan2.data import base

_FORMAT = 1
_BATCH = 1024  # larger batches cost seconds of setup on small splits


def default_cache_dir() -> str:
  """$COMPARE_GAN2_CACHE/label_subsets, or ~/.cache/compare_gan2/label_subsets."""
  return os.path.join(files.cache_root(), "label_subsets")


def read_labels(source: base.StreamSource) -> np.ndarray:
  """int32 labels of every example of `source` in canonical order (one pass)."""
  with tf.init_scope():  # a pass is eager even when a pipeline is being traced
    batches = source.canonical().map(lambda raw: raw["label"]).batch(_BATCH)
    parts = [np.asarray(b, np.int32) for b in batches.as_numpy_iterator()]
  return np.concatenate(parts) if parts else np.zeros([0], np.int32)


def cache_path(cache_dir: str, identity: str) -> str:
  """labels_<first 16 hex digits of sha256(identity)>.npz in cache_dir."""
  digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]
  return os.path.join(cache_dir, f"labels_{digest}.npz")


def checksum(labels: np.ndarray) -> str:
  """SHA-256 of the labels as little-endian int32."""
  return hashlib.sha256(np.asarray(labels, "<i4").tobytes()).hexdigest()


def save(path: str, labels: np.ndarray, identity: str) -> str:
  """Writes the labels and their metadata atomically; returns the path."""
  meta = {"format": _FORMAT, "identity": identity, "num_examples": int(len(labels)),
          "sha256": checksum(labels)}
  buffer = io.BytesIO()  # np.savez seeks, which a GFile being written cannot
  np.savez(buffer, labels=np.asarray(labels, np.int32), meta=np.array(json.dumps(meta)))
  return files.write_atomically(path, buffer.getvalue())


def load(path: str, identity: str, expected_count: int | None = None) -> np.ndarray:
  """The cached labels, after checking identity, count and checksum.

  Raises:
    DataError: naming the file and what does not match.
  """
  try:
    with tf.io.gfile.GFile(path, "rb") as f, np.load(io.BytesIO(f.read())) as archive:
      meta = json.loads(str(archive["meta"]))
      labels = np.asarray(archive["labels"])
  except (OSError, ValueError, KeyError, EOFError, json.JSONDecodeError) as e:
    raise base.DataError(f"{path}: not a readable labels cache: {e}") from e
  wanted = {"format": _FORMAT, "identity": identity, "num_examples": len(labels),
            "sha256": checksum(labels)}
  differ = {k: (meta.get(k), v) for k, v in wanted.items() if meta.get(k) != v}
  if differ:
    raise base.DataError(f"{path}: labels cache does not match (stored, found): {differ}.")
  if expected_count is not None and expected_count != len(labels):
    raise base.DataError(f"{path}: labels cache holds {len(labels)} examples; the source's "
                         f"metadata says {expected_count}.")
  return labels.astype(np.int32)


def cached_labels(source: base.StreamSource, cache_dir: str | None = None
                  ) -> tuple[np.ndarray, str | None]:
  """(labels of `source` in canonical order, cache file or None), one pass at most.

  Sources without an identity are read every time (nothing could tell a
  stale file from a good one).
  """
  if source.identity is None:
    return read_labels(source), None
  identity = source.identity()
  path = cache_path(cache_dir or default_cache_dir(), identity)
  if tf.io.gfile.exists(path):
    expected = source.count() if source.count is not None else None
    try:
      return load(path, identity, expected), path
    except base.DataError as e:
      logging.warning("%s Recomputing it.", e)
  labels = read_labels(source)
  logging.info("Read the labels of %d examples of %s; cached in %s.", len(labels), identity,
               path)
  return labels, save(path, labels, identity)


_FINGERPRINT_BYTES = 64 * 1024


def file_identity(paths: list[str]) -> str:
  """Files with their sizes, modification times and a hash of their ends.

  tf.io.gfile.stat reports local modification times in whole seconds, so a
  file rewritten with the same size within a second would keep its identity;
  a SHA-256 of the first and last 64 KiB tells such a rewrite apart without
  reading whole shards (records carry labels near their images, so a changed
  label changes these bytes in the files the tests and users rewrite).
  """
  parts = []
  for path in paths:
    if os.path.exists(path):  # a local file: one stat, with nanoseconds
      local = os.stat(path)
      length, mtime = local.st_size, local.st_mtime_ns
    else:
      remote = tf.io.gfile.stat(path)
      length, mtime = remote.length, remote.mtime_nsec
    parts.append(f"{path}:{length}:{mtime}:{_ends_digest(path, length)}")
  return ";".join(parts)


def _ends_digest(path: str, length: int) -> str:
  """SHA-256 (16 hex digits) of a file's first and last 64 KiB."""
  digest = hashlib.sha256()
  with tf.io.gfile.GFile(path, "rb") as handle:
    digest.update(handle.read(_FINGERPRINT_BYTES))
    if length > 2 * _FINGERPRINT_BYTES:
      handle.seek(length - _FINGERPRINT_BYTES)
      digest.update(handle.read(_FINGERPRINT_BYTES))
    elif length > _FINGERPRINT_BYTES:
      digest.update(handle.read())
  return digest.hexdigest()[:16]
