"""Tests for compare_gan2.data.bundled: the MNIST test set shipped in the package.

It loads offline through importlib.resources, is byte-identical to
the published MNIST test files (their MD5), is declared as package data,
and splits into a fixed 9,000 / 1,000 train / eval set with 100 eval images
per class; resolution, channels and label options work through the pipeline.
"""

import gzip
import hashlib
import importlib.resources
import pathlib

import numpy as np
import pytest

from compare_gan2.data import base
from compare_gan2.data import bundled
from compare_gan2.data import labels as labels_lib
from compare_gan2.data import pipeline

ROOT = pathlib.Path(__file__).resolve().parents[2]
MD5 = {bundled.IMAGES_FILE: "9fb629c4189551a2d022fa330f9573f3",
       bundled.LABELS_FILE: "ec29112dd5afa0611ce80d1b7f02629c"}
# The MNIST test set's class counts.
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.parametrize("name", sorted(MD5))
def test_bundled_files_are_the_unchanged_mnist_test_set(name):
  resource = importlib.resources.files("compare_gan2.data").joinpath("bundled", name)
  assert hashlib.md5(resource.read_bytes()).hexdigest() == MD5[name]


def test_files_are_declared_as_package_data():
  setup = (ROOT / "setup.py").read_text()
  assert '"compare_gan2.data": ["bundled/*.gz"' in setup


def test_loads_all_10000_examples_offline():
  images, labels = bundled.load_bundled_mnist()
  assert images.shape == (10_000, 28, 28, 1) and images.dtype == np.uint8
  assert labels.shape == (10_000,) and labels.dtype == np.int32
  np.testing.assert_array_equal(np.bincount(labels), TEST_COUNTS)
  np.testing.assert_array_equal(labels[:5], [7, 2, 1, 0, 4])  # the well-known first digits
  # The decoded pixels are the IDX payload after its 16-byte header.
  resource = importlib.resources.files("compare_gan2.data").joinpath("bundled", bundled.IMAGES_FILE)
  raw = gzip.decompress(resource.read_bytes())
  np.testing.assert_array_equal(images.reshape(-1), np.frombuffer(raw, np.uint8, offset=16))


def test_split_is_fixed_disjoint_and_class_balanced():
  _, labels = bundled.load_bundled_mnist()
  is_eval = bundled.eval_mask()
  np.testing.assert_array_equal(is_eval, bundled.eval_mask())
  assert is_eval.sum() == bundled.NUM_EVAL and (~is_eval).sum() == bundled.NUM_TRAIN
  np.testing.assert_array_equal(np.bincount(labels[is_eval]), [100] * 10)
  np.testing.assert_array_equal(np.bincount(labels[~is_eval]), np.subtract(TEST_COUNTS, 100))


def test_dataset_info_and_splits():
  dataset = bundled.bundled_mnist()
  assert dataset.info == base.DatasetInfo(
      name="bundled_mnist", image_shape=(28, 28, 1), num_classes=10, num_train_examples=9000,
      num_eval_examples=1000, eval_test_samples=1000)
  images, labels = bundled.load_bundled_mnist()
  np.testing.assert_array_equal(dataset.eval.source.items, images[bundled.eval_mask()])
  np.testing.assert_array_equal(dataset.train.source.labels, labels[~bundled.eval_mask()])


def test_eval_input_yields_the_1000_held_out_images():
  batches = list(pipeline.eval_input(bundled.bundled_mnist(), batch_size=500))
  labels = np.concatenate([b["labels"] for b in batches])
  np.testing.assert_array_equal(np.bincount(labels), [100] * 10)
  images, _ = bundled.load_bundled_mnist()
  expected = images[bundled.eval_mask()][:500] / 255.0
  np.testing.assert_allclose(batches[0]["images"], expected, atol=1e-7)


@pytest.mark.parametrize("resolution,channels,upscale", [(32, 1, "pad"), (32, 3, "resize"),
                                                         (16, 1, "pad")])
def test_resolution_and_channels(resolution, channels, upscale):
  dataset = bundled.bundled_mnist(resolution=resolution, channels=channels, upscale=upscale)
  batch = next(iter(pipeline.train_dataset(dataset, 8)))
  images = np.asarray(batch["images"])
  assert images.shape == (8, resolution, resolution, channels) and images.dtype == np.float32
  assert images.min() >= 0.0 and images.max() <= 1.0 and images.max() > 0.5
  if upscale == "pad":
    border = np.concatenate([images[:, :2].ravel(), images[:, -2:].ravel()])
    assert resolution < 28 or not border.any()  # MNIST's border is black, padding too
  if channels == 3:
    np.testing.assert_array_equal(images[..., 0], images[..., 2])
  assert dataset.info.image_shape == (resolution, resolution, channels)


def test_label_options_apply_to_the_train_split_only():
  dataset = bundled.bundled_mnist(labels=labels_lib.LabelOptions(fraction=0.1, seed=2))
  train_labels = dataset.train.source.labels
  kept = np.bincount(train_labels[train_labels >= 0], minlength=10)
  expected = np.floor(0.1 * np.subtract(TEST_COUNTS, 100) + 0.5)
  np.testing.assert_array_equal(kept, expected)
  assert (dataset.eval.source.labels >= 0).all()


def test_corrupt_idx_header_names_the_file():
  with pytest.raises(base.DataError, match=f"{bundled.LABELS_FILE}: IDX magic 2049, expected 2051"):
    bundled._read_idx(bundled.LABELS_FILE, 2051, 1)  # pylint: disable=protected-access


def test_train_examples_keeps_the_first_n_training_images_and_the_same_eval():
  full, small = bundled.bundled_mnist(), bundled.bundled_mnist(train_examples=500)
  assert small.info.num_train_examples == 500 and len(small.train.source.items) == 500
  np.testing.assert_array_equal(small.train.source.items, full.train.source.items[:500])
  np.testing.assert_array_equal(small.eval.source.items, full.eval.source.items)
  with pytest.raises(ValueError, match=r"train_examples must be an integer in \[1, 9000\]"):
    bundled.bundled_mnist(train_examples=9001)
