"""Tests for compare_gan2.data.custom: image folders and .npz files.

Small files are written in tmp_path (PNG/JPEG via tf.io.encode_*): class
subfolders become sorted labels, gray/RGB convert both ways, non-square
images are center-cropped, the eval split is held out by seed, and every bad
input raises a DataError naming the file. User files are never modified.
"""

import hashlib
import os

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2.data import base
from compare_gan2.data import custom
from compare_gan2.data import labels as labels_lib
from compare_gan2.data import pipeline


def _write(path, image, encoder=tf.io.encode_png):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  tf.io.write_file(str(path), encoder(np.asarray(image, np.uint8)))


def _class_folder(root, counts=(3, 2, 4), size=(12, 16)):
  """zebra/ (value 200), ant/ (value 10), moth/ (JPEG, value 100): sorted -> ant, moth, zebra."""
  values = {"zebra": 200, "ant": 10, "moth": 100}
  for (name, value), count in zip(values.items(), counts):
    for i in range(count):
      encoder = tf.io.encode_jpeg if name == "moth" else tf.io.encode_png
      _write(root / name / f"{i}.{'jpg' if name == 'moth' else 'png'}",
             np.full(size + (3,), value), encoder)
  (root / "notes.txt").write_text("not an image")  # ignored
  return root


def _all_files(root):
  return {p: hashlib.md5(open(os.path.join(d, p), "rb").read()).hexdigest()
          for d, _, files in os.walk(root) for p in files}


def test_class_subfolders_become_sorted_labels(tmp_path):
  root = _class_folder(tmp_path / "animals")
  before = _all_files(root)
  dataset = custom.image_folder(str(root), resolution=8, channels=3)
  info = dataset.info
  assert info.class_names == ("ant", "moth", "zebra") and info.num_classes == 3
  assert (info.name, info.num_train_examples, info.num_eval_examples) == ("animals", 9, 9)
  examples = list(pipeline.eval_input(dataset))
  labels = [int(e["labels"]) for e in examples]
  assert labels == [0, 0, 1, 1, 1, 1, 2, 2, 2]
  means = [float(np.mean(e["images"])) * 255 for e in examples]
  np.testing.assert_allclose(means, [10] * 2 + [100] * 4 + [200] * 3, atol=2)
  assert _all_files(root) == before


def test_flat_folder_is_unlabelled(tmp_path):
  for i in range(3):
    _write(tmp_path / f"img{i}.png", np.zeros((5, 5, 1)))
  dataset = custom.image_folder(str(tmp_path), resolution=4, channels=1)
  assert dataset.info.num_classes is None and dataset.info.class_names is None
  batch = next(iter(pipeline.train_dataset(dataset, 3)))
  np.testing.assert_array_equal(batch["labels"], [-1, -1, -1])
  assert batch["images"].shape == (3, 4, 4, 1)


@pytest.mark.parametrize("source_channels,channels", [(1, 3), (3, 1), (4, 3), (2, 1)])
def test_gray_and_rgb_convert(tmp_path, source_channels, channels):
  rgb = np.random.default_rng(0).integers(0, 256, (6, 6, 3))
  gray = np.round(rgb @ [0.2989, 0.5870, 0.1140])[..., None]
  pixels = {1: gray, 2: np.dstack([gray, np.full((6, 6), 50)]), 3: rgb,
            4: np.dstack([rgb, np.full((6, 6), 50)])}[source_channels]
  _write(tmp_path / "a.png", pixels)
  image = next(iter(pipeline.eval_input(custom.image_folder(str(tmp_path), 6, channels))))
  image = image["images"].numpy() * 255
  expected = gray if channels == 1 else rgb if source_channels >= 3 else np.repeat(gray, 3, -1)
  assert image.shape == (6, 6, channels)
  np.testing.assert_allclose(image, expected, atol=1.01)  # libpng rounds RGB -> gray itself


def test_non_square_images_are_center_cropped(tmp_path):
  image = np.zeros((10, 30, 3))
  image[:, 10:20] = 255
  _write(tmp_path / "wide.png", image)
  _write(tmp_path / "tall.png", image.transpose(1, 0, 2))
  for example in pipeline.eval_input(custom.image_folder(str(tmp_path), 5, 3)):
    np.testing.assert_allclose(example["images"], 1.0, atol=1e-6)


def test_eval_fraction_holds_out_a_balanced_seeded_share(tmp_path):
  root = _class_folder(tmp_path / "f", counts=(10, 10, 10), size=(4, 4))
  dataset = custom.image_folder(str(root), 4, eval_fraction=0.2, split_seed=1, validate=False)
  train, evaluation = dataset.train.source, dataset.eval.source
  assert (dataset.info.num_train_examples, dataset.info.num_eval_examples) == (24, 6)
  np.testing.assert_array_equal(np.bincount(evaluation.labels), [2, 2, 2])
  assert not set(train.items) & set(evaluation.items)
  again = custom.image_folder(str(root), 4, eval_fraction=0.2, split_seed=1, validate=False)
  other = custom.image_folder(str(root), 4, eval_fraction=0.2, split_seed=2, validate=False)
  assert list(again.eval.source.items) == list(evaluation.items)
  assert list(other.eval.source.items) != list(evaluation.items)


def test_label_options_apply_to_folders(tmp_path):
  root = _class_folder(tmp_path / "f", counts=(10, 10, 10), size=(4, 4))
  options = labels_lib.LabelOptions(fraction=0.3, drop_unlabelled=True)
  dataset = custom.image_folder(str(root), 4, labels=options, validate=False)
  labels = np.concatenate([b["labels"] for b in pipeline.train_dataset(dataset, 9).take(3)])
  np.testing.assert_array_equal(np.bincount(labels), [9, 9, 9])  # 3 per class, each 3 times


@pytest.mark.parametrize("layout,message", [
    ("missing", "image folder not found"),
    ("empty", "no images found"),
    ("empty_class", "empty_class_dir: class folder without images"),
    ("mixed", "stray.png: image next to class subfolders"),
])
def test_folder_layout_errors_name_the_path(tmp_path, layout, message):
  root = tmp_path / "data"
  if layout != "missing":
    root.mkdir()
  if layout == "empty":
    (root / "readme.txt").write_text("x")
  if layout in ("empty_class", "mixed"):
    _write(root / "cats" / "a.png", np.zeros((4, 4, 3)))
  if layout == "empty_class":
    (root / "empty_class_dir").mkdir()
  if layout == "mixed":
    _write(root / "stray.png", np.zeros((4, 4, 3)))
  with pytest.raises(base.DataError, match=message):
    custom.image_folder(str(root))


@pytest.mark.parametrize("contents", [b"", b"GIF8 but truncated", b"plain text"])
def test_corrupt_images_are_named_at_build_time(tmp_path, contents):
  _write(tmp_path / "good.png", np.zeros((4, 4, 3)))
  (tmp_path / "bad.png").write_bytes(contents)
  with pytest.raises(base.DataError, match=r"bad\.png: unreadable or corrupt image"):
    custom.image_folder(str(tmp_path))


def test_unvalidated_non_image_fails_by_name_when_read(tmp_path):
  (tmp_path / "bad.jpg").write_bytes(b"plain text")
  dataset = custom.image_folder(str(tmp_path), validate=False)
  with pytest.raises(tf.errors.InvalidArgumentError, match=r"bad\.jpg"):
    next(iter(pipeline.eval_input(dataset)))


def _npz(tmp_path, **arrays):
  path = tmp_path / "data.npz"
  np.savez(path, **arrays)
  return str(path)


def test_npz_images_and_labels(tmp_path):
  images = np.arange(6, dtype=np.uint8).reshape(6, 1, 1) * 40 + np.zeros((6, 3, 5), np.uint8)
  path = _npz(tmp_path, images=images, labels=np.array([0, 1, 2, 0, 1, -1]))
  dataset = custom.npz(path, channels=3)
  assert dataset.info.image_shape == (3, 3, 3) and dataset.info.num_classes == 3
  examples = list(pipeline.eval_input(dataset))
  np.testing.assert_allclose([float(e["images"][0, 0, 0]) for e in examples],
                             np.arange(6) * 40 / 255, atol=1e-6)
  assert [int(e["labels"]) for e in examples] == [0, 1, 2, 0, 1, -1]
  floats = custom.npz(_npz(tmp_path, images=images / 255.0), resolution=2, channels=1)
  batch = next(iter(pipeline.train_dataset(floats, 2)))
  assert batch["images"].shape == (2, 2, 2, 1)
  np.testing.assert_array_equal(batch["labels"], [-1, -1])


@pytest.mark.parametrize("arrays,message", [
    (dict(pixels=np.zeros((2, 4, 4))), "no array 'images'"),
    (dict(images=np.zeros((2, 4, 4, 5), np.uint8)), r"got shape \(2, 4, 4, 5\)"),
    (dict(images=np.zeros((4, 4), np.uint8)), "must be \\[N, H, W\\]"),
    (dict(images=np.zeros((2, 4, 4), np.int32)), "must be uint8 or float"),
    (dict(images=np.full((2, 4, 4), 255.0)), "float images must lie in \\[0, 1\\]"),
    (dict(images=np.zeros((2, 4, 4), np.uint8), labels=np.array([0, 7])), "label 7 of example 1"),
    (dict(images=np.zeros((2, 4, 4), np.uint8), labels=np.array([0, 1, 2])), "has shape \\(3,\\)"),
])
def test_npz_errors_name_the_file(tmp_path, arrays, message):
  path = _npz(tmp_path, **arrays)
  with pytest.raises(base.DataError, match=f"data.npz: .*{message}"):
    custom.npz(path, num_classes=3)


def test_unreadable_npz_is_named(tmp_path):
  with pytest.raises(base.DataError, match="nothing.npz: .npz file not found"):
    custom.npz(str(tmp_path / "nothing.npz"))
  (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 broken zip")
  with pytest.raises(base.DataError, match="broken.npz: cannot read the .npz file"):
    custom.npz(str(tmp_path / "broken.npz"))
