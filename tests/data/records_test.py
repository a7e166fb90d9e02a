"""Tests for compare_gan2.data.records: TFRecord files of encoded images.

Records written in tmp_path with and without labels; sorted file order is
the canonical order; validation counts the records and finds num_classes;
the streaming pipeline resumes exactly; every bad record or file raises an
error naming the file, at build time or (validate=False) when read.
"""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2.data import base
from compare_gan2.data import labels as labels_lib
from compare_gan2.data import pipeline
from compare_gan2.data import records


def _example(image=None, label=None, image_bytes=None):
  if image_bytes is None:
    image_bytes = tf.io.encode_png(np.asarray(image, np.uint8)).numpy()
  feature = {"image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[image_bytes]))}
  if label is not None:
    feature["label"] = tf.train.Feature(int64_list=tf.train.Int64List(value=[label]))
  return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def _write(path, serialized):
  with tf.io.TFRecordWriter(str(path)) as writer:
    for record in serialized:
      writer.write(record)
  return str(path)


def _numbered(tmp_path, count=7, labels=True, start=0, name="part"):
  """Records whose 2x3 gray image has value 10 * i (label i % 3), over two files."""
  examples = [_example(np.full((2, 3, 1), 10 * i), (i % 3) if labels else None)
              for i in range(start, start + count)]
  half = count // 2
  _write(tmp_path / f"{name}-1.tfrecord", examples[half:])  # sorted name order: -0, -1
  _write(tmp_path / f"{name}-0.tfrecord", examples[:half])
  return str(tmp_path / f"{name}-*.tfrecord")


def _values(batches):
  return np.asarray(batches["images"])[..., 0, 0, 0] * 255 / 10


def test_labelled_records_in_sorted_file_order(tmp_path):
  dataset = records.tfrecord(_numbered(tmp_path), resolution=2, channels=3, label_key="label")
  info = dataset.info
  assert (info.num_classes, info.num_train_examples, info.image_shape) == (3, 7, (2, 2, 3))
  batch = next(iter(pipeline.eval_input(dataset, batch_size=7)))
  np.testing.assert_allclose(_values(batch), np.arange(7), atol=1e-4)
  np.testing.assert_array_equal(batch["labels"], np.arange(7) % 3)


def test_unlabelled_records_and_a_separate_eval_pattern(tmp_path):
  train = _numbered(tmp_path, 5, labels=False)
  evaluation = _numbered(tmp_path, 4, labels=False, start=20, name="eval")
  dataset = records.tfrecord(train, resolution=2, channels=1, eval_file_pattern=evaluation)
  assert dataset.info.num_classes is None and dataset.info.num_eval_examples == 4
  batch = next(iter(pipeline.eval_input(dataset, batch_size=4)))
  np.testing.assert_allclose(_values(batch), np.arange(20, 24), atol=1e-4)
  np.testing.assert_array_equal(batch["labels"], -1)


def test_streaming_pipeline_resumes_exactly(tmp_path):
  dataset = records.tfrecord(_numbered(tmp_path), resolution=2, label_key="label")
  straight = [_values(b) for b in pipeline.train_dataset(dataset, 3, shuffle_window=4).take(8)]
  resumed = [_values(b) for b in
             pipeline.train_dataset(dataset, 3, start_step=5, shuffle_window=4).take(3)]
  np.testing.assert_array_equal(resumed, straight[5:])
  first_epoch = np.concatenate(straight)[:7].round()
  assert sorted(first_epoch) == list(range(7))


@pytest.mark.parametrize("case,message", [
    ("not_image", "bad.tfrecord: unreadable record, missing feature or corrupt image"),
    ("no_image", "bad.tfrecord: unreadable record, missing feature or corrupt image"),
    ("label_out_of_range", "outside \\[-1, 3\\) in.*bad.tfrecord"),
    ("no_label", "bad.tfrecord"),
    ("truncated_file", "bad.tfrecord: unreadable record"),
])
def test_bad_records_are_named_at_build_time(tmp_path, case, message):
  good = _example(np.zeros((2, 2, 3)), 1)
  bad = {"not_image": _example(label=0, image_bytes=b"text"),
         "no_image": tf.train.Example().SerializeToString(),
         "label_out_of_range": _example(np.zeros((2, 2, 3)), 5),
         "no_label": _example(np.zeros((2, 2, 3))),
         "truncated_file": good}[case]
  _write(tmp_path / "good.tfrecord", [good])
  path = _write(tmp_path / "bad.tfrecord", [good, bad])
  if case == "truncated_file":
    data = open(path, "rb").read()
    open(path, "wb").write(data[:-7])
  with pytest.raises(base.DataError, match=message):
    records.tfrecord(str(tmp_path / "*.tfrecord"), label_key="label", num_classes=3)


@pytest.mark.parametrize("bad", [
    _example(label=0, image_bytes=b"text"),
    _example(np.zeros((2, 2, 3)), 9),
])
def test_unvalidated_bad_records_fail_by_name_when_read(tmp_path, bad):
  _write(tmp_path / "broken.tfrecord", [bad])
  dataset = records.tfrecord(str(tmp_path / "*.tfrecord"), label_key="label", num_classes=3,
                             validate=False)
  with pytest.raises(tf.errors.InvalidArgumentError, match="broken.tfrecord"):
    next(iter(pipeline.eval_input(dataset)))


def test_missing_files_and_num_classes(tmp_path):
  with pytest.raises(base.DataError, match="nothing-\\*.tfrecord: no TFRecord file matches"):
    records.tfrecord(str(tmp_path / "nothing-*.tfrecord"))
  pattern = _numbered(tmp_path)
  with pytest.raises(ValueError, match="needs num_classes when validate=False"):
    records.tfrecord(pattern, label_key="label", validate=False)


def _subset(dataset):
  return np.array(list(dataset.train.source.canonical().map(
      lambda raw: raw["label"]).as_numpy_iterator()))


def test_label_subset_is_exact_per_class_and_rewritten_files_are_read_again(tmp_path):
  options = labels_lib.LabelOptions(fraction=0.25, seed=2, cache_dir=str(tmp_path / "cache"))
  pattern = _numbered(tmp_path, 30)  # 10 per class: 3 (2.5 rounded up) keep their label
  kept = _subset(records.tfrecord(pattern, resolution=2, label_key="label", labels=options))
  true = np.arange(30) % 3
  np.testing.assert_array_equal(kept, np.where(labels_lib.select(true, 0.25, 2), true, -1))
  np.testing.assert_array_equal(np.bincount(kept[kept >= 0]), [3, 3, 3])
  # Other labels in the same files: a new identity (sizes, times), so a new pass.
  examples = [_example(np.full((2, 3, 1), 10 * i), (i + 1) % 3) for i in range(30)]
  _write(tmp_path / "part-1.tfrecord", examples[15:])
  _write(tmp_path / "part-0.tfrecord", examples[:15])
  relabelled = _subset(records.tfrecord(pattern, resolution=2, label_key="label", labels=options))
  shifted = (np.arange(30) + 1) % 3
  np.testing.assert_array_equal(relabelled, np.where(labels_lib.select(shifted, 0.25, 2),
                                                     shifted, -1))
  assert len(list((tmp_path / "cache").iterdir())) == 2
