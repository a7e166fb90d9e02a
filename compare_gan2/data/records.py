"""TFRecord files of encoded images, optionally labelled: a streaming dataset.

Gin builder `data.tfrecord` (module compare_gan2.data):

    train.dataset = @data.tfrecord()
    data.tfrecord.file_pattern = "/data/faces/train-*.tfrecord"
    data.tfrecord.image_key = "image/encoded"
    data.tfrecord.label_key = "image/class/label"    # optional int64 feature
    data.tfrecord.resolution = 128

Each record is a `tf.train.Example` with a bytes feature `image_key` (JPEG,
PNG, GIF or BMP) and, when `label_key` is set, an int64 feature holding a
label in [-1, num_classes). Files are read in sorted name order, record by
record; that is the canonical order (soft-label rows). Images are fitted as
in custom.py (channels converted, center-cropped, resized).

TFRecords have no random access, so the pipeline shuffles them in windows
(pipeline.py). With `validate=True` (default) every record is parsed and
decoded once at build time, which also counts the examples (so a resumed
run needs no counting pass) and finds `num_classes`; any failure raises a
`DataError` naming the file. Without validation a record with a missing
image, a non-image payload or a label out of range still fails by file name
when it is read.
"""

import tensorflow as tf

from compare_gan2 import registry
from compare_gan2.data import base
from compare_gan2.data import custom
from compare_gan2.data import label_cache
from compare_gan2.data import labels as labels_lib
from compare_gan2.data import transforms

_MISSING = -2  # The parsed label of a record without `label_key`.


def _parser(image_key: str, label_key: str | None, num_classes: int | None):
  """(serialized record, file) -> raw {"image", "label", "file"}."""
  features = {image_key: tf.io.FixedLenFeature([], tf.string, default_value="")}
  if label_key:
    features[label_key] = tf.io.FixedLenFeature([], tf.int64, default_value=_MISSING)
  upper = num_classes if num_classes is not None else 2**31 - 1

  def parse(record: tf.Tensor, file: tf.Tensor) -> base.RawElement:
    """Parses one record; a bad label fails naming `file`."""
    example = tf.io.parse_single_example(record, features)
    if not label_key:
      return {"image": example[image_key], "label": tf.constant(-1, tf.int32), "file": file}
    label = example[label_key]
    check = tf.debugging.Assert(
        tf.logical_and(label >= -1, label < upper),
        [f"Label {label_key!r} missing or outside [-1, {upper}) in", file, "value", label])
    with tf.control_dependencies([check]):
      label = tf.cast(label, tf.int32)
    return {"image": example[image_key], "label": label, "file": file}

  return parse


def _records(files: list[str], parse) -> tf.data.Dataset:
  def one_file(file: tf.Tensor) -> tf.data.Dataset:
    """The file's records, each with the file name for errors."""
    return tf.data.TFRecordDataset(file).map(lambda record: parse(record, file))

  return tf.data.Dataset.from_tensor_slices(files).flat_map(one_file)


def _scan(files: list[str], parse, channels: int) -> tuple[int, int]:
  """(examples, largest label) of `files`, decoding every image; raises OpError."""
  def check(raw: base.RawElement) -> tuple:
    """Decodes the image (naming the file on failure)."""
    image = transforms.decode(raw["image"], channels, raw["file"])
    return raw["label"], tf.shape(image)

  count, largest = 0, -1
  ds = _records(files, parse).map(check, num_parallel_calls=tf.data.AUTOTUNE).batch(1024)
  for file_labels, _ in ds.as_numpy_iterator():
    count += len(file_labels)
    largest = max(largest, int(file_labels.max()))
  return count, largest


def validate_records(files: list[str], image_key: str, label_key: str | None,
                     num_classes: int | None, channels: int) -> tuple[int, int]:
  """Parses and decodes every record; returns (examples, largest label).

  Raises:
    DataError: naming the file of the first unreadable record, missing
      feature, undecodable image or label out of range.
  """
  parse = _parser(image_key, label_key, num_classes)
  try:
    return _scan(files, parse, channels)
  except tf.errors.OpError:
    pass
  # Some file is bad: one pass per file finds which (only on this error path).
  for file in files:
    try:
      _scan([file], parse, channels)
    except tf.errors.OpError as e:
      raise base.DataError(f"{file}: unreadable record, missing feature or corrupt image: "
                           f"{e.message.splitlines()[0]}") from e
  raise base.DataError(f"{files}: reading failed, but no single file fails alone.")


def _validate_splits(train_files: list[str], eval_files: list[str], image_key: str,
                     label_key: str | None, num_classes: int | None,
                     channels: int) -> tuple[dict[str, int], int | None]:
  """Validates both splits once: ({"train": n, "eval": n}, num_classes or max + 1)."""
  counts = {}
  counts["train"], largest = validate_records(train_files, image_key, label_key,
                                              num_classes, channels)
  if label_key and num_classes is None and largest >= 0:
    num_classes = largest + 1
  counts["eval"] = counts["train"] if eval_files == train_files else validate_records(
      eval_files, image_key, label_key, num_classes, channels)[0]
  return counts, num_classes


def _files(pattern: str) -> list[str]:
  files = sorted(tf.io.gfile.glob(pattern))
  if not files:
    raise base.DataError(f"{pattern}: no TFRecord file matches.")
  return files


def _source(files: list[str], image_key: str, label_key: str | None,
            num_classes: int | None, num_examples: int | None) -> base.StreamSource:
  parse = _parser(image_key, label_key, num_classes)

  def identity() -> str:
    """The files (sizes, times) and the label feature (a cache key)."""
    return f"tfrecord label_key={label_key!r} {label_cache.file_identity(files)}"

  return base.StreamSource(open=lambda: _records(files, parse), num_examples=num_examples,
                           identity=identity)


@registry.register(module="compare_gan2.data")
def tfrecord(file_pattern: str, resolution: int = 64, channels: int = 3,
             image_key: str = "image", label_key: str | None = None,
             num_classes: int | None = None, eval_file_pattern: str | None = None,
             validate: bool = True, labels: labels_lib.LabelOptions | None = None,
             name: str | None = None) -> base.Dataset:
  """TFRecord files of encoded images (see the module docstring).

  Args:
    file_pattern: glob of the train files.
    resolution, channels: output images (as `image_folder`).
    image_key: bytes feature with the encoded image.
    label_key: int64 label feature, or None for unlabelled data.
    num_classes: required with labels when not validating; else max + 1.
    eval_file_pattern: glob of the eval files; None evaluates on the train files.
    validate: read and decode every record now (also counts them).
    labels: label subset / soft-label options for the train split.
    name: DatasetInfo.name; defaults to the pattern.
  """
  train_files = _files(file_pattern)
  eval_files = _files(eval_file_pattern) if eval_file_pattern else train_files
  counts = {}
  if validate:
    counts, num_classes = _validate_splits(train_files, eval_files, image_key, label_key,
                                           num_classes, channels)
  elif label_key and num_classes is None:
    raise ValueError("data.tfrecord with a label_key needs num_classes when validate=False.")
  train = _source(train_files, image_key, label_key, num_classes, counts.get("train"))
  evaluation = _source(eval_files, image_key, label_key, num_classes, counts.get("eval"))
  train = labels_lib.apply_to_stream(train, labels, num_classes)
  info = base.DatasetInfo(
      name=name or file_pattern, image_shape=(resolution, resolution, channels),
      num_classes=num_classes if label_key else None,
      num_train_examples=counts.get("train"), num_eval_examples=counts.get("eval"),
      eval_test_samples=counts.get("eval") or 10_000, soft_labels=train.soft is not None)
  prepare = custom.encoded_prepare(resolution, channels)
  return base.Dataset(info=info, train=base.Split(train, prepare),
                      eval=base.Split(evaluation, prepare))
