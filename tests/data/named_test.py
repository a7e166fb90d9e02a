"""Tests for compare_gan2.data.named (+ imagenet.py): compare_gan's catalogue on TFDS.

Every `dataset.name` of compare_gan (`datasets.py:620-640`) builds under
`tfds.testing.mock_data` (offline; random images of the right TFDS features)
and yields, in train and eval, the right shapes, dtypes, [0, 1] range and
labels, reading the TFDS splits compare_gan reads. Mock images are random, so
the exact preprocessing (CelebA's 160 crop and TF1 resize, LSUN's 128 crop)
is checked on synthetic images. imagenet_512_hq400 needs large images, so its
filter is tested with a custom mock in imagenet_test.py.
"""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from compare_gan2 import data
from compare_gan2 import registry
from compare_gan2.data import base
from compare_gan2.data import labels as labels_lib
from compare_gan2.data import named
from compare_gan2.data import pipeline

# name -> (H, W, C), num_classes, TFDS name, (train split, eval split)
EXPECTED = {
    "mnist": ((28, 28, 1), 10, "mnist", ("train", "test")),
    "fashion-mnist": ((28, 28, 1), 10, "fashion_mnist", ("train", "test")),
    "cifar10": ((32, 32, 3), 10, "cifar10", ("train", "test")),
    "celeb_a": ((64, 64, 3), None, "celeb_a", ("train", "test")),
    "lsun-bedroom": ((128, 128, 3), None, "lsun/bedroom", ("train[:99%]", "train[99%:]")),
    "imagenet_64": ((64, 64, 3), 1000, "imagenet2012", ("train", "validation")),
    "imagenet_128": ((128, 128, 3), 1000, "imagenet2012", ("train", "validation")),
    "imagenet_256": ((256, 256, 3), 1000, "imagenet2012", ("train", "validation")),
    "imagenet_512": ((512, 512, 3), 1000, "imagenet2012", ("train", "validation")),
    "imagenet_512_hq400": ((512, 512, 3), 1000, "imagenet2012", ("train", "validation")),
    "soft_labeled_imagenet_128": ((128, 128, 3), 1000, "imagenet2012", ("train", "validation")),
    "single_class_imagenet_128": ((128, 128, 3), 1, "imagenet2012", ("train", "validation")),
    "random_class_imagenet_128": ((128, 128, 3), 1000, "imagenet2012", ("train", "validation")),
    "labeled_only_imagenet_128": ((128, 128, 3), 1000, "imagenet2012", ("train", "validation")),
}
MOCK_EXAMPLES = 3


def test_names_are_compare_gans_and_gin_names_follow():
  assert set(data.NAMES) == set(EXPECTED) and len(data.NAMES) == len(EXPECTED)
  selectors = {entry.selector for entry in registry.entries()}
  for name, builder in data.NAMED:
    gin_name = name.replace("-", "_")
    assert builder.__name__ == gin_name
    assert f"compare_gan2.data.{gin_name}" in selectors


def _build(name, tmp_path):
  builder = dict(data.NAMED)[name]
  if name == "soft_labeled_imagenet_128":
    path = tmp_path / "logits.npy"
    np.save(path, np.random.default_rng(0).normal(size=(MOCK_EXAMPLES, 1000)).astype(np.float32))
    return builder(str(path))
  return builder()


def _check_batch(batch, size, shape, num_classes):
  images, labels = np.asarray(batch["images"]), np.asarray(batch["labels"])
  assert images.shape == (size, *shape) and images.dtype == np.float32
  assert 0.0 <= images.min() and images.max() <= 1.0 and images.max() > 0.0
  assert labels.shape == (size,) and labels.dtype == np.int32
  if num_classes is None:
    np.testing.assert_array_equal(labels, -1)
  else:
    assert ((0 <= labels) & (labels < num_classes)).all()


@pytest.mark.parametrize("name", [n for n in EXPECTED if n != "imagenet_512_hq400"])
def test_named_dataset_under_mock_data(name, tmp_path, monkeypatch):
  shape, num_classes, tfds_name, splits = EXPECTED[name]
  loads = []
  real_load = tfds.load
  monkeypatch.setattr(tfds, "load", lambda n, split, **kw: loads.append((n, split))
                      or real_load(n, split=split, **kw))
  with tfds.testing.mock_data(num_examples=MOCK_EXAMPLES):
    dataset = _build(name, tmp_path)
    train = next(iter(pipeline.train_dataset(dataset, 2, shuffle_window=2)))
    evaluation = next(iter(pipeline.eval_input(dataset, batch_size=2)))
  info = dataset.info
  assert (info.name, info.image_shape, info.num_classes) == (name, shape, num_classes)
  assert {(tfds_name, splits[0]), (tfds_name, splits[1])} == set(loads)
  _check_batch(train, 2, shape, num_classes)
  _check_batch(evaluation, 2, shape, num_classes)
  assert ("soft_labels" in train) == (name == "soft_labeled_imagenet_128") == info.soft_labels
  if name == "single_class_imagenet_128":
    np.testing.assert_array_equal(train["labels"], 0)


def test_mnist_can_be_padded_to_32():
  with tfds.testing.mock_data(num_examples=MOCK_EXAMPLES):
    dataset = data.mnist(resolution=32, channels=3)
    batch = next(iter(pipeline.train_dataset(dataset, 2)))
  assert batch["images"].shape == (2, 32, 32, 3) and dataset.info.image_shape == (32, 32, 3)
  assert not np.asarray(batch["images"])[:, :2].any()


def _png(image):
  return {"image": tf.io.encode_png(image)}


def test_celeba_crops_160_at_29_9_then_tf1_resizes_to_64():
  image = np.random.default_rng(0).integers(0, 256, (218, 178, 3), dtype=np.uint8)
  prepared = named._celeba_prepare(_png(image), None)  # pylint: disable=protected-access
  crop = image[29:189, 9:169].astype(np.float32)  # compare_gan's offsets (29, 9)
  expected = tf.compat.v1.image.resize(crop, [64, 64],
                                       tf.compat.v1.image.ResizeMethod.BILINEAR) / 255.0
  np.testing.assert_allclose(prepared, expected, atol=1e-6)


def test_lsun_center_crops_128_without_resizing():
  image = np.random.default_rng(1).integers(0, 256, (256, 341, 3), dtype=np.uint8)
  prepared = named._lsun_prepare(_png(image), None)  # pylint: disable=protected-access
  np.testing.assert_allclose(prepared, image[64:192, 106:234] / 255.0, atol=1e-7)
  small = np.full((100, 90, 3), 255, np.uint8)  # smaller than 128: zero-padded, not resized
  padded = named._lsun_prepare(_png(small), None).numpy()  # pylint: disable=protected-access
  assert padded.shape == (128, 128, 3) and padded.sum() == pytest.approx(100 * 90 * 3)


def test_cifar_and_mnist_only_rescale():
  image = np.random.default_rng(2).integers(0, 256, (32, 32, 3), dtype=np.uint8)
  prepared = named._cifar_prepare(_png(image), None)  # pylint: disable=protected-access
  np.testing.assert_allclose(prepared, image / 255.0, atol=1e-7)
  digit = image[2:30, 2:30, :1]
  prepare = named.bundled.mnist_prepare(28, 1, "pad")
  np.testing.assert_allclose(prepare(_png(digit), None), digit / 255.0, atol=1e-7)


def test_split_sizes_never_come_from_info_splits():
  with tfds.testing.mock_data(num_examples=MOCK_EXAMPLES):  # info.splits is empty here
    assert data.cifar10().info.num_train_examples == 50_000
    assert data.imagenet_128().info.num_eval_examples == 50_000
    assert data.lsun_bedroom().info.eval_test_samples == 30_000


def _subset_labels(dataset):
  """The train labels after the subset, in canonical order (images not decoded)."""
  labels = dataset.train.source.canonical().map(lambda raw: raw["label"])
  return np.array(list(labels.as_numpy_iterator()), np.int32)


def _mock_labels(name):
  return np.array([int(e["label"]) for e in tfds.load(name, split="train", shuffle_files=False)])


def test_tfds_label_subset_is_exact_per_class_and_agrees_across_workers(tmp_path):
  options = data.LabelOptions(fraction=0.1, seed=3, cache_dir=str(tmp_path / "shared"))
  with tfds.testing.mock_data(num_examples=200):
    true = _mock_labels("cifar10")
    kept = _subset_labels(data.cifar10(labels=options))
    # Other workers: a fresh builder reading the shared cache, and one with no
    # shared directory that reads the labels itself.
    cached = _subset_labels(data.cifar10(labels=options))
    own_dir = dataclasses.replace(options, cache_dir=str(tmp_path / "own"))
    alone = _subset_labels(data.cifar10(labels=own_dir))
  np.testing.assert_array_equal(kept, np.where(labels_lib.select(true, 0.1, 3), true, -1))
  np.testing.assert_array_equal(np.bincount(kept[kept >= 0], minlength=10),
                                np.floor(0.1 * np.bincount(true, minlength=10) + 0.5))
  np.testing.assert_array_equal(cached, kept)
  np.testing.assert_array_equal(alone, kept)
  assert len(list((tmp_path / "shared").iterdir())) == 1


def test_tfds_label_subset_is_exact_per_class_on_two_replicas(tmp_path, two_replicas):
  options = data.LabelOptions(fraction=0.25, seed=1, cache_dir=str(tmp_path))
  with tfds.testing.mock_data(num_examples=40):
    true = _mock_labels("mnist")
    dataset = data.mnist(labels=options)
    one = [b["labels"] for b in pipeline.train_dataset(dataset, 8, seed=5,
                                                       shuffle_window=16).take(5)]
    batches = iter(pipeline.train_input(dataset, two_replicas, 8, seed=5, shuffle_window=16))
    two = [np.concatenate(two_replicas.experimental_local_results(next(batches)["labels"]))
           for _ in range(5)]
  np.testing.assert_array_equal(np.concatenate(two), np.concatenate(one))
  epoch = np.concatenate(two)  # 5 steps of 8: the 40 examples once
  np.testing.assert_array_equal(np.bincount(epoch[epoch >= 0], minlength=10),
                                np.floor(0.25 * np.bincount(true, minlength=10) + 0.5))


def test_seeded_subset_is_a_split_of_its_own_with_numpys_choice():
  # The DiffAugment authors' 10% CIFAR-10: RandomState(0).choice(50000, 5000, replace=False).
  full = base.StreamSource(open=lambda: tf.data.Dataset.range(20).map(
      lambda i: {"image": tf.strings.as_string(i), "label": tf.cast(i % 3, tf.int32)}))
  subset = named.subset_examples(full, 3, 20, seed=0)
  kept = list(subset.canonical())
  chosen = sorted(np.random.RandomState(0).choice(20, 3, replace=False))
  assert [int(r["index"]) for r in kept] == [0, 1, 2]  # renumbered: the subset is the split
  assert [r["image"].numpy() for r in kept] == [str(c).encode() for c in chosen]
  assert subset.length == 3 and named.subset_examples(full, 2, 20).length == 2
  with tfds.testing.mock_data(num_examples=4):
    dataset = named.cifar10(train_examples=3, train_subset_seed=0)
  assert dataset.info.num_train_examples == 3
  assert "examples=3 subset_seed=0" in dataset.train.source.identity()
  with pytest.raises(ValueError, match=r"train_examples must be an integer in \[1, 50000\]"):
    named.cifar10(train_examples=0)


def test_cifar10_train_flip_flips_training_images_only():
  image = np.zeros((32, 32, 3), np.uint8)
  image[:, :8] = 255
  raw = {"image": image}
  prepare = named.flipped(lambda raw, seed: tf.cast(raw["image"], tf.float32) / 255.0)
  flips = {bool(prepare(raw, tf.constant([s, 1], tf.int64)).numpy()[:, 0].mean() < 0.5)
           for s in range(12)}
  assert flips == {True, False}
