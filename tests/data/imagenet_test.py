"""Tests for compare_gan2.data.imagenet: the filters and label variants of S3GAN.

A custom TFDS mock yields JPEGs of chosen sizes, so imagenet_512_hq400's
"min(H, W) >= 400 before cropping" filter (`datasets.py:545-549`) is checked
on real bytes. random_class draws a new label at each read (compare_gan's is
broken, `datasets.py:583`), labeled_only keeps labelled examples only, and
soft_labeled derives hard labels from the soft ones.
"""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from compare_gan2.data import imagenet
from compare_gan2.data import labels as labels_lib
from compare_gan2.data import pipeline

SIZES = [(400, 600), (399, 800), (600, 450), (120, 90)]  # (H, W); kept: 0 and 2


def _sized_jpegs(self, split, **kwargs):
  del self, split, kwargs

  def jpeg(size):
    return tf.io.encode_jpeg(tf.zeros(size + (3,), tf.uint8) + 128).numpy()

  return tf.data.Dataset.from_tensor_slices({
      "image": [jpeg(size) for size in SIZES],
      "label": np.arange(len(SIZES), dtype=np.int64),
      "file_name": [f"img{i}.JPEG" for i in range(len(SIZES))]})


def test_hq400_trains_only_on_images_with_a_short_side_of_400():
  with tfds.testing.mock_data(as_dataset_fn=_sized_jpegs):
    dataset = imagenet.imagenet_512_hq400()
    train = next(iter(pipeline.train_dataset(dataset, 4, shuffle_window=4)))
    evaluation = list(pipeline.eval_input(dataset))
  assert sorted(set(train["labels"].numpy())) == [0, 2]
  assert train["images"].shape == (4, 512, 512, 3)
  assert [int(e["labels"]) for e in evaluation] == [0, 1, 2, 3]  # eval is unfiltered
  assert dataset.info.num_train_examples is None


def test_min_side_reads_jpeg_headers_and_decodes_other_formats():
  assert int(imagenet.min_side(tf.io.encode_jpeg(tf.zeros([7, 5, 3], tf.uint8)))) == 5
  assert int(imagenet.min_side(tf.io.encode_png(tf.zeros([4, 9, 1], tf.uint8)))) == 4


def test_random_class_labels_are_redrawn_at_every_read_and_seeded():
  def labels(seed):
    with tfds.testing.mock_data(num_examples=2):
      batches = pipeline.train_dataset(imagenet.random_class_imagenet_128(), 2, seed=seed,
                                       shuffle_window=2)
      return np.concatenate([b["labels"] for b in batches.take(5)])

  first = labels(1)
  assert len(set(first)) > 5  # 2 images read 5 times each
  assert first.min() >= 0 and first.max() < 1000
  np.testing.assert_array_equal(first, labels(1))
  assert not np.array_equal(first, labels(2))


def test_labeled_only_trains_on_the_kept_labels():
  # Mock labels spread 20 examples over 1000 classes (one each), where half
  # of every class would round to the whole class: take half of all labels.
  options = labels_lib.LabelOptions(fraction=0.5, seed=0, class_balanced=False)
  with tfds.testing.mock_data(num_examples=20):
    dataset = imagenet.labeled_only_imagenet_128(labels=options)
    train = np.concatenate([b["labels"] for b in
                            pipeline.train_dataset(dataset, 4, shuffle_window=4).take(6)])
    evaluation = next(iter(pipeline.eval_input(dataset, batch_size=20)))
    plain = imagenet.imagenet_128(labels=options)
    kept = [int(r["label"]) for r in plain.train.source.canonical()]
  assert (train >= 0).all()
  assert set(train) == {k for k in kept if k >= 0}
  assert sum(k >= 0 for k in kept) == 10  # exactly half were dropped to -1
  assert len(evaluation["labels"]) == 20 and (evaluation["labels"].numpy() >= 0).all()


def test_soft_labeled_uses_argmax_of_the_soft_labels(tmp_path):
  logits = np.zeros([3, 1000], np.float32)
  logits[np.arange(3), [11, 501, 999]] = 8.0
  np.save(tmp_path / "logits.npy", logits)
  with tfds.testing.mock_data(num_examples=3):
    dataset = imagenet.soft_labeled_imagenet_128(str(tmp_path / "logits.npy"))
    batch = next(iter(pipeline.train_dataset(dataset, 6, shuffle_window=3)))
  soft = batch["soft_labels"].numpy()
  assert soft.shape == (6, 1000) and np.allclose(soft.sum(1), 1.0, atol=1e-5)
  np.testing.assert_array_equal(np.argmax(soft, 1), batch["labels"])
  assert sorted(set(batch["labels"].numpy())) == [11, 501, 999]


def test_train_and_eval_crops():
  image = np.zeros((100, 200, 3), np.uint8)
  image[:, 50:150] = 255  # the central square is white
  raw = {"image": tf.io.encode_png(image)}
  middle = imagenet.imagenet_prepare(64, "middle")(raw, None)
  np.testing.assert_allclose(middle, 1.0)
  seeds = [tf.constant([s, 0], tf.int64) for s in range(8)]
  distorted = [imagenet.imagenet_prepare(64, "distorted")(raw, s).numpy() for s in seeds]
  assert all(d.shape == (64, 64, 3) for d in distorted)
  assert len({d.mean().round(4) for d in distorted}) > 1  # the box moves with the seed


def test_first_examples_subset_is_the_head_of_the_split_in_tfds_order():
  # The DiffAugment fork's imagenet_128_0.5 / _0.25: ds.take(N) before any shuffle.
  with tfds.testing.mock_data(as_dataset_fn=_sized_jpegs):
    dataset = imagenet.imagenet_128(train_examples=3, train_crop="zoomed")
    kept = [int(r["label"]) for r in dataset.train.source.canonical()]
    train = np.concatenate([b["labels"] for b in
                            pipeline.train_dataset(dataset, 3, shuffle_window=3).take(4)])
    evaluation = [int(e["labels"]) for e in pipeline.eval_input(dataset)]
  assert kept == [0, 1, 2] and set(train) == {0, 1, 2}
  assert evaluation == [0, 1, 2, 3]  # eval is the whole validation split
  assert dataset.info.num_train_examples == 3
  assert "examples=3 subset_seed=None" in dataset.train.source.identity()
  with pytest.raises(ValueError, match=r"train_examples must be an integer in \[1, 1281167\]"):
    imagenet.imagenet_128(train_examples=1_281_168)


def test_train_flip_mirrors_some_training_images_and_never_eval_images():
  image = np.zeros((64, 64, 3), np.uint8)
  image[:, :16] = 255  # a white left edge
  raw = {"image": tf.io.encode_png(image)}
  seeds = [tf.constant([s, 0], tf.int64) for s in range(12)]
  flipped = [imagenet.imagenet_prepare(64, "middle", flip=True)(raw, s).numpy() for s in seeds]
  left = {bool(f[:, 0].mean() > 0.5) for f in flipped}
  assert left == {True, False}  # some flipped, some not
  for f in flipped:
    assert f[:, 0].mean() > 0.5 or f[:, -1].mean() > 0.5
  np.testing.assert_array_equal(
      imagenet.imagenet_prepare(64, "middle", flip=True)(raw, seeds[3]), flipped[3])


def test_bad_arguments():
  with pytest.raises(ValueError, match="resolution must be one of"):
    imagenet.imagenet_prepare(64, "middle")  # valid
    imagenet._imagenet(  # pylint: disable=protected-access
        "x", 100, None, None, "distorted", "middle")
  with pytest.raises(ValueError, match="crop method must be one of"):
    imagenet.imagenet_128(train_crop="center")
