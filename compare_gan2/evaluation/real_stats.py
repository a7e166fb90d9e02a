"""Real-data features, computed once per (dataset, eval split, extractor, count) and cached.

compare_gan recomputed the Inception activations of the real eval images on
every evaluation (`eval_gan_lib.py:185-191`),
and a short split silently left uninitialised rows (`eval_utils.py:119-135`).
Here the first N eval images, in the split's fixed order, go through the
extractor once; the features, logits, labels and the FID moments (μ, Σ; the
keys TTUR's `fid.py` reads) are stored in an .npz whose name and metadata
identify what produced them. A split with fewer than N images is an error.

The cache directory is `$COMPARE_GAN2_CACHE/real_stats` (default
`~/.cache/compare_gan2/real_stats`), or the one given.
"""

import dataclasses
import io
import json
import os
import re

from absl import logging
import numpy as np
import tensorflow as tf

from compare_gan2 import files
from compare_gan2.data import pipeline

_FORMAT = 1


@dataclasses.dataclass(frozen=True, eq=False)
class RealStats:
  """Extractor outputs of the first N real eval images.

  Attributes:
    features: float32 [N, D].
    logits: float32 [N, K].
    labels: int32 [N] (-1 where the dataset has no label).
    path: the cache file they came from or went to, if any.
  """
  features: np.ndarray
  logits: np.ndarray
  labels: np.ndarray
  path: str | None = None


def default_cache_dir() -> str:
  """$COMPARE_GAN2_CACHE/real_stats, or ~/.cache/compare_gan2/real_stats."""
  return os.path.join(files.cache_root(), "real_stats")


def metadata(dataset, extractor, num_samples: int) -> dict:
  """What identifies a cache file: dataset, image shape, extractor and count."""
  return {"format": _FORMAT, "dataset": dataset.info.name,
          "image_shape": list(dataset.info.image_shape), "split": "eval",
          "extractor": extractor.name, "num_samples": int(num_samples)}


def cache_path(cache_dir: str, meta: dict) -> str:
  """<dataset>_<H>x<W>x<C>_eval_<extractor>_<N>.npz in cache_dir."""
  shape = "x".join(str(s) for s in meta["image_shape"])
  name = f"{meta['dataset']}_{shape}_{meta['split']}_{meta['extractor']}_{meta['num_samples']}"
  return os.path.join(cache_dir, re.sub(r"[^A-Za-z0-9_.x-]", "_", name) + ".npz")


def compute(dataset, extractor, num_samples: int, batch_size: int = 64,
            eval_batches=None) -> RealStats:
  """Runs the extractor over the first `num_samples` eval images.

  Args:
    dataset: a compare_gan2.data dataset.
    extractor: a feature extractor (evaluation.inception, mnist_classifier).
    num_samples: how many eval images (compare_gan's `eval_test_samples`).
    batch_size: images per extractor call.
    eval_batches: batches of {"images", "labels"} to read instead of
      `data.eval_input(dataset, batch_size)` (tests, custom splits).

  Raises:
    ValueError: if the eval split has fewer than `num_samples` images.
  """
  if eval_batches is None:
    eval_batches = pipeline.eval_input(dataset, batch_size)
  run = tf.function(extractor.__call__)
  features, logits, labels, seen = [], [], [], 0
  for batch in eval_batches:
    images = batch["images"][:num_samples - seen]
    f, l = run(images)
    features.append(np.asarray(f, np.float32))
    logits.append(np.asarray(l, np.float32))
    labels.append(np.asarray(batch["labels"][:len(images)], np.int32))
    seen += len(images)
    if seen >= num_samples:
      break
  if seen < num_samples:
    raise ValueError(f"The eval split of {dataset.info.name} has {seen} images, fewer than the "
                     f"{num_samples} evaluation needs; lower evaluation.Evaluator.num_samples.")
  return RealStats(np.concatenate(features), np.concatenate(logits), np.concatenate(labels))


def save(stats: RealStats, path: str, meta: dict) -> str:
  """Writes the .npz atomically (temp file, then rename); returns the path."""
  features = stats.features.astype(np.float64)
  buffer = io.BytesIO()  # np.savez seeks, which a GFile being written cannot
  np.savez(buffer, features=stats.features, logits=stats.logits, labels=stats.labels,
           mu=features.mean(0), sigma=np.cov(features, rowvar=False),
           meta=np.array(json.dumps(meta, sort_keys=True)))
  return files.write_atomically(path, buffer.getvalue())


def load(path: str, meta: dict | None = None) -> RealStats:
  """Reads a cache file; checks its metadata against `meta` when given.

  Raises:
    ValueError: unreadable file, or one made for something else (names the
      differing fields).
  """
  try:
    with tf.io.gfile.GFile(path, "rb") as f, np.load(io.BytesIO(f.read())) as z:
      stored = json.loads(str(z["meta"]))
      stats = RealStats(z["features"], z["logits"], z["labels"], path)
  except (OSError, ValueError, KeyError, json.JSONDecodeError) as e:
    raise ValueError(f"{path} is not a readable real-statistics file: {e}") from e
  differ = {k: (stored.get(k), v) for k, v in (meta or {}).items() if stored.get(k) != v}
  if differ:
    raise ValueError(f"{path} was computed for something else; (stored, wanted): {differ}.")
  if len(stats.features) != stored["num_samples"]:
    raise ValueError(f"{path} holds {len(stats.features)} rows, its metadata says "
                     f"{stored['num_samples']}.")
  return stats


def load_or_compute(dataset, extractor, num_samples: int, cache_dir: str | None = None,
                    batch_size: int = 64) -> RealStats:
  """The cached real statistics, computing and caching them when missing.

  An unreadable or mismatched cache file is left in place (it may be someone's
  data) and the statistics are recomputed in memory with a warning.
  """
  meta = metadata(dataset, extractor, num_samples)
  path = cache_path(cache_dir or default_cache_dir(), meta)
  if tf.io.gfile.exists(path):
    try:
      return load(path, meta)
    except ValueError as e:
      logging.warning("Ignoring the real-statistics cache: %s", e)
      return compute(dataset, extractor, num_samples, batch_size)
  stats = compute(dataset, extractor, num_samples, batch_size)
  try:
    save(stats, path, meta)
  except (OSError, tf.errors.OpError) as e:  # a read-only cache must not stop evaluation
    logging.warning("Could not cache real statistics at %s: %s", path, e)
    return stats
  logging.info("Cached real statistics of %s at %s", dataset.info.name, path)
  return dataclasses.replace(stats, path=path)
