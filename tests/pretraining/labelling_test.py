"""Tests for compare_gan2.pretraining.labelling: soft-label and cluster files.

From the session's labeller (conftest.py): row c of each file belongs to
train example c (checked against features recomputed here from the raw
bundled images), the soft labels drive S2GAN's hard labels through
`data.LabelOptions`, the cluster ids are each example's nearest centre and
drive `data.cluster_labels`. k-means itself is checked on separated blobs.
On a filtered streaming source, every example is still exported, in order,
through the eval transform (`data.pipeline.canonical_train_input`).
"""

import json

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import data
from compare_gan2.data import base
from compare_gan2.data import bundled
from compare_gan2.data import pipeline
from compare_gan2.data import relabel
from compare_gan2.pretraining import labelling
from compare_gan2.pretraining import model
from tests.pretraining import conftest
from tests.pretraining import model_test

ROWS = np.r_[0:64, 4000:4032, 8936:9000]  # first, middle and last train examples


def _train_images(rows: np.ndarray) -> np.ndarray:
  """Train images by canonical index, straight from the bundled files."""
  images, _ = bundled.load_bundled_mnist()
  return images[~bundled.eval_mask()][rows].astype(np.float32) / 255.0


def _train_labels() -> np.ndarray:
  _, labels = bundled.load_bundled_mnist()
  return labels[~bundled.eval_mask()]


def test_soft_labels_are_each_train_examples_class_logits(pretrained):
  """float32 [9000, 10]; row c == c_S²L(F(image c)) recomputed from the raw images."""
  soft = np.load(pretrained.soft_labels)
  assert soft.shape == (bundled.NUM_TRAIN, 10) and soft.dtype == np.float32
  labeller = pretrained.trained.labeller
  features = labeller.features(_train_images(ROWS))
  np.testing.assert_allclose(soft[ROWS], labeller.class_head(features), rtol=1e-4, atol=1e-5)


def test_soft_labels_give_s2gans_hard_labels(pretrained):
  """LabelOptions(labels_from_soft) reads argmax(row c) for example c, mostly the true digit."""
  soft = np.load(pretrained.soft_labels)
  options = data.LabelOptions(soft_labels_file=str(pretrained.soft_labels), labels_from_soft=True)
  dataset = data.bundled_mnist(labels=options)
  labels = np.concatenate([b["labels"] for b in pipeline.canonical_train_input(dataset, 3000)])
  np.testing.assert_array_equal(labels, soft.argmax(axis=1))
  assert (labels == _train_labels()).mean() > 0.3  # chance: 0.1
  batch = next(iter(pipeline.train_dataset(dataset, 8)))
  np.testing.assert_allclose(np.sum(batch["soft_labels"], axis=1), 1.0, rtol=1e-5)


def test_cluster_ids_are_each_examples_nearest_centre(pretrained):
  """int32 [9000] in [0, k); row c is argmin_j |F(image c) - centre j|; sizes count the ids."""
  ids = np.load(pretrained.clusters)
  centres = np.load(pretrained.output_dir / "clusters_centers.npy")
  assert ids.shape == (bundled.NUM_TRAIN,) and ids.dtype == np.int32
  assert ids.min() >= 0 and ids.max() < conftest.NUM_CLUSTERS
  features = pretrained.trained.labeller.features(_train_images(ROWS)).numpy()
  distances = ((features[:, None, :] - centres[None]) ** 2).sum(axis=2)
  np.testing.assert_array_equal(ids[ROWS], distances.argmin(axis=1))
  record = json.loads((pretrained.output_dir / "clusters.json").read_text())
  assert record == pretrained.cluster_record
  np.testing.assert_array_equal(record["sizes"], np.bincount(ids, minlength=conftest.NUM_CLUSTERS))
  leftovers = [p.name for p in pretrained.output_dir.iterdir() if "partial" in p.name
               or "features" in p.name]
  assert not leftovers


def test_cluster_ids_drive_cluster_labels(pretrained):
  """data.cluster_labels over the file: k classes, train labels = ids, eval labels -1."""
  dataset = relabel.cluster_labels(data.bundled_mnist(), str(pretrained.clusters),
                                   num_clusters=conftest.NUM_CLUSTERS)
  assert dataset.info.num_classes == conftest.NUM_CLUSTERS
  labels = np.concatenate([b["labels"] for b in pipeline.canonical_train_input(dataset, 3000)])
  np.testing.assert_array_equal(labels, np.load(pretrained.clusters))
  assert set(next(iter(pipeline.eval_input(dataset, 16)))["labels"].numpy()) == {-1}


def test_kmeans_separates_well_separated_blobs():
  """3 blobs 20 sd apart in 5-D: the 3 clusters are exactly the blobs (up to renaming)."""
  rng = np.random.default_rng(0)
  truth = rng.integers(0, 3, 900)
  points = (rng.normal(size=(900, 5)) + 20.0 * np.eye(5)[truth]).astype(np.float32)
  ids, centres, inertia = labelling.kmeans(points, 3, batch_size=64, passes=2, threads=1)
  assert centres.shape == (3, 5)
  pairs = set(zip(truth.tolist(), ids.tolist()))
  assert len(pairs) == 3 and len({i for _, i in pairs}) == 3
  expected = sum(((points[ids == j] - centres[j]) ** 2).sum() for j in range(3))
  assert inertia == pytest.approx(expected, rel=1e-4)


def test_kmeans_needs_at_least_k_rows():
  with pytest.raises(ValueError, match=r"num_clusters must be in \[1, 4\]"):
    labelling.kmeans(np.zeros((4, 2), np.float32), 5)


def test_soft_labels_need_a_class_head(tmp_path):
  """A rotation-only labeller has no logits to export: a ValueError, and no file."""
  labeller = model.make_labeller(model_test.TinyConvDiscriminator, (28, 28, 1), None)
  path = tmp_path / "soft.npy"
  with pytest.raises(ValueError, match="No class head"):
    labelling.export_soft_labels(labeller, data.bundled_mnist(), str(path))
  assert not list(tmp_path.iterdir())


def _filtered_stream(n: int = 20) -> base.Dataset:
  """A stream of random 8x8 images whose odd examples are unlabelled and filtered out.

  The train transform adds 1 and the eval transform 0, so the images show which one ran.
  """
  images = np.random.default_rng(3).random((n, 8, 8, 1)).astype(np.float32)
  labels = np.where(np.arange(n) % 2, -1, np.arange(n) % 3).astype(np.int32)
  source = base.StreamSource(
      open=lambda: tf.data.Dataset.from_tensor_slices({"image": images, "label": labels}),
      keep=lambda raw: raw["label"] >= 0)
  info = base.DatasetInfo("stream", (8, 8, 1), 3, None, n, n)
  return base.Dataset(info, train=base.Split(source, lambda raw, seed: raw["image"] + 1.0),
                      eval=base.Split(source, lambda raw, seed: raw["image"]))


def test_canonical_train_input_reads_every_example_in_order_with_the_eval_transform():
  """The filter is ignored, labels are the source's, images take the eval transform."""
  dataset = _filtered_stream()
  batches = list(pipeline.canonical_train_input(dataset, 6))
  np.testing.assert_array_equal(np.concatenate([b["index"] for b in batches]), np.arange(20))
  np.testing.assert_array_equal(np.concatenate([b["labels"] for b in batches]),
                                np.where(np.arange(20) % 2, -1, np.arange(20) % 3))
  images = np.concatenate([b["images"] for b in batches])
  assert images.shape == (20, 8, 8, 1) and images.max() < 1.0


def test_soft_labels_of_a_filtered_stream_cover_every_example(tmp_path):
  """20 rows, row c = c_S²L(F(image c)), also for the examples the train filter drops."""
  dataset = _filtered_stream()
  labeller = model.make_labeller(model_test.TinyConvDiscriminator, (8, 8, 1), 3)
  path = tmp_path / "soft.npy"
  assert labelling.export_soft_labels(labeller, dataset, str(path), batch_size=6) == 20
  images = np.concatenate([b["images"] for b in pipeline.canonical_train_input(dataset, 20)])
  _, expected = labeller.inference(images)
  np.testing.assert_allclose(np.load(path), expected, rtol=1e-5, atol=1e-6)
