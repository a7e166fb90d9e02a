"""Per-example label files from a trained labeller: soft labels and k-means clusters.

Lucic et al. 2019, arXiv 1903.02271, §3.1. Both files are keyed by canonical index
(row c = train example c, `data.pipeline.canonical_train_input`), computed
with F in inference mode on the eval transform of each train image:

- soft labels: c_S²L's logits, float32 [N, num_classes] .npy, the format
  `data.LabelOptions.soft_labels_file` and `data.soft_labeled_imagenet_128`
  read (softmax applied on read; compare_gan `datasets.py:596-617`). S2GAN
  uses their argmax (`LabelOptions.labels_from_soft = True`), S2GAN +SOFT
  the probabilities.
- clusters (CLUSTERING): mini-batch k-means (Sculley 2010; sklearn's
  `MiniBatchKMeans`) on F(x), int32 [N] .npy for `data.cluster_labels`,
  plus `<name>_centers.npy` [k, dim] and `<name>.json` (k, cluster sizes,
  inertia). k = 50 was best in the paper.

Files are written under a temporary name and renamed, so a file with the
final name is always complete. F(x) is streamed to a memory-mapped scratch
file (ImageNet at width 1536 is 7.9 GB), which k-means reads in mini-batches.
"""

import dataclasses
import json
import os

import numpy as np
from sklearn import cluster as sk_cluster
import threadpoolctl  # sklearn's own dependency

from compare_gan2 import registry
from compare_gan2.data import base as data_base
from compare_gan2.data import pipeline
from compare_gan2.pretraining import model

_register = registry.register(module="compare_gan2.pretraining",
                              denylist=("labeller", "dataset", "path"))


def num_train_examples(dataset: data_base.Dataset) -> int:
  """N: the train split's examples before any label filter (rows of the files)."""
  source = dataset.train.source
  if isinstance(source, data_base.ArraySource):
    return len(source.items)
  return dataclasses.replace(source, keep=None).length


def _open(path: str, shape: tuple[int, ...], dtype) -> np.memmap:
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  return np.lib.format.open_memmap(path + ".partial", mode="w+", dtype=dtype, shape=shape)


def _finish(path: str, array: np.memmap) -> None:
  array.flush()
  os.replace(path + ".partial", path)


def write_outputs(labeller: model.Labeller, dataset: data_base.Dataset,
                  logits_path: str | None = None, features_path: str | None = None,
                  batch_size: int = 256) -> int:
  """Writes c_S²L(F(x)) and/or F(x) of every train example, row c = example c.

  Returns:
    N, the rows written.

  Raises:
    ValueError: logits asked of a labeller without a class head.
    DataError: the split yields another number of examples than it reports.
  """
  if logits_path and labeller.class_head is None:
    raise ValueError("No class head to export soft labels from: the dataset has no classes, "
                     "no kept train label, or pretraining.train_labeller.class_weight is 0.")
  rows = num_train_examples(dataset)

  files, done = {}, 0
  for batch in pipeline.canonical_train_input(dataset, batch_size):
    flat, logits = (t.numpy() for t in labeller.inference(batch["images"]))
    if not files:
      wanted = {logits_path: logits, features_path: flat}
      files = {p: _open(p, (rows, a.shape[1]), np.float32) for p, a in wanted.items() if p}
    if done + len(flat) > rows:
      raise data_base.DataError(f"{dataset.info.name}: the train split has more than the "
                                f"{rows} examples it reports.")
    for path, array in files.items():
      array[done:done + len(flat)] = logits if path == logits_path else flat
    done += len(flat)
  if done != rows:
    raise data_base.DataError(f"{dataset.info.name}: read {done} train examples, "
                              f"expected {rows}.")
  for path, array in files.items():
    _finish(path, array)
  return rows


@_register
def export_soft_labels(labeller: model.Labeller, dataset: data_base.Dataset, path: str,
                       batch_size: int = 256) -> int:
  """Writes the class head's logits [N, num_classes] (float32 .npy) to `path`; returns N."""
  return write_outputs(labeller, dataset, logits_path=path, batch_size=batch_size)


def kmeans(features: np.ndarray, num_clusters: int, batch_size: int = 1024,
           passes: int = 20, seed: int = 0, threads: int | None = None
           ) -> tuple[np.ndarray, np.ndarray, float]:
  """Mini-batch k-means over rows of a (memory-mapped) [N, dim] array.

  k-means++ on a first random sample of 3·batch_size rows (sklearn's
  init_size), then `passes` epochs of mini-batch steps in random order, then
  every row assigned to its nearest centre. `threads` caps sklearn's OpenMP
  threads (None: all cores); on a machine shared with other busy processes
  1 is faster, as spinning OpenMP threads made k-means++ 10x slower there.

  Returns:
    (int32 cluster ids [N], centres [k, dim], inertia = Σ squared distances).

  Raises:
    ValueError: fewer rows than clusters, or k < 1.
  """
  rows = len(features)
  if num_clusters < 1 or rows < num_clusters:
    raise ValueError(f"k-means: num_clusters must be in [1, {rows}] (the train examples), "
                     f"got {num_clusters}.")
  batch_size = max(batch_size, num_clusters)
  rng = np.random.default_rng(seed)
  km = sk_cluster.MiniBatchKMeans(num_clusters, batch_size=batch_size, random_state=seed,
                                  compute_labels=False, n_init=1)
  with threadpoolctl.threadpool_limits(limits=threads, user_api="openmp"):
    km.partial_fit(features[np.sort(rng.choice(rows, min(rows, 3 * batch_size), replace=False))])
    for _ in range(passes):
      order = rng.permutation(rows)
      for start in range(0, rows, batch_size):
        km.partial_fit(features[np.sort(order[start:start + batch_size])])
    ids, inertia = np.empty(rows, np.int32), 0.0
    for start in range(0, rows, 65_536):
      chunk = np.asarray(features[start:start + 65_536], np.float32)
      ids[start:start + len(chunk)] = km.predict(chunk)
      inertia -= km.score(chunk)
  return ids, km.cluster_centers_.astype(np.float32), float(inertia)


def write_clusters(features: np.ndarray, path: str, num_clusters: int = 50,
                   batch_size: int = 1024, passes: int = 20, seed: int = 0,
                   threads: int | None = None) -> dict:
  """k-means on `features`; writes `path` (ids), its _centers.npy and .json; returns the .json."""
  ids, centers, inertia = kmeans(features, num_clusters, batch_size, passes, seed, threads)
  stem = path.removesuffix(".npy")
  record = {"num_clusters": num_clusters, "num_examples": len(ids),
            "sizes": np.bincount(ids, minlength=num_clusters).tolist(),
            "inertia": inertia, "seed": seed, "passes": passes, "labels_file": path}
  for name, array in ((path, ids), (stem + "_centers.npy", centers)):
    target = _open(name, array.shape, array.dtype)
    target[:] = array
    _finish(name, target)
  with open(stem + ".json", "w") as f:
    json.dump(record, f, indent=2)
  return record


@_register
def cluster(labeller: model.Labeller, dataset: data_base.Dataset, path: str,
            num_clusters: int = 50, batch_size: int = 1024, passes: int = 20, seed: int = 0,
            threads: int | None = None, logits_path: str | None = None) -> dict:
  """CLUSTERING's labels: k-means on F(x) of every train example, written to `path`.

  Args:
    labeller: the trained model (F).
    dataset: its dataset.
    path: the cluster-id .npy to write (int32 [N], values in [0, k)).
    num_clusters: k (the paper's best: 50).
    batch_size: k-means mini-batch.
    passes: k-means epochs over the features.
    seed: k-means initialization and order.
    threads: OpenMP threads of k-means (None: all; see `kmeans`).
    logits_path: also write the soft labels in the same pass over the data.

  Returns:
    The record written to the .json beside `path` (k, sizes, inertia).
  """
  scratch = path.removesuffix(".npy") + "_features.npy"
  write_outputs(labeller, dataset, logits_path=logits_path, features_path=scratch)
  try:
    return write_clusters(np.load(scratch, mmap_mode="r"), path, num_clusters, batch_size,
                          passes, seed, threads)
  finally:
    os.remove(scratch)
