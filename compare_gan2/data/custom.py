"""Your own images: an image folder or a .npz file (TFRecords: records.py).

Gin builders (module compare_gan2.data):

    train.dataset = @data.image_folder()
    data.image_folder.path = "/data/flowers"     # flowers/<class>/*.jpg or flowers/*.jpg
    data.image_folder.resolution = 64
    data.image_folder.channels = 3

    train.dataset = @data.npz()
    data.npz.path = "/data/sprites.npz"          # arrays "images" [N, H, W(, C)], "labels" [N]

Images: JPEG, PNG, GIF (first frame) and BMP; gray, gray+alpha, RGB and RGBA
all convert to `channels` (alpha dropped). Non-square images are
center-cropped to a square, then resized (antialiased bilinear) to
`resolution`. Values end in [0, 1].

Folder labels: if the folder has subfolders with images, each subfolder is a
class, numbered by sorted name (`DatasetInfo.class_names`); images directly
in the folder are then an error. Without subfolders every label is -1.
Files with other extensions and hidden files are ignored; the canonical
order (for soft-label rows) is sorted by class, then relative path.

Splits: with `eval_fraction` = 0 (default) the eval split is the whole train
set (FID against the training images); otherwise a class-balanced,
seeded (`split_seed`) share is held out.

Errors (`DataError`) name the file: an unreadable or corrupt image (every file
is decoded once at build time when `validate=True`; with False a non-image
file still fails by name when read, a truncated one only with TensorFlow's
message), an empty folder or class folder, labels out of range, or arrays
that cannot be converted. Files are only read, never modified.
"""

import os
import zipfile

import numpy as np
import tensorflow as tf

from compare_gan2 import registry
from compare_gan2.data import base
from compare_gan2.data import labels as labels_lib
from compare_gan2.data import transforms

_register = registry.register(module="compare_gan2.data")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".bmp")
_MAX_ARRAY_BYTES = 2**31 - 1  # tf.constant's protobuf limit.


def _is_image(name: str) -> bool:
  return not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)


def _images_under(folder: str) -> list[str]:
  found = []
  for root, dirs, files in os.walk(folder):
    dirs[:] = sorted(d for d in dirs if not d.startswith("."))
    found.extend(os.path.join(root, f) for f in sorted(files) if _is_image(f))
  return found


def list_image_folder(path: str) -> tuple[list[str], np.ndarray, tuple[str, ...] | None]:
  """(files, int32 labels, class names or None) of an image folder, sorted.

  Raises:
    DataError: naming the folder or file, as described in the module docstring.
  """
  if not os.path.isdir(path):
    raise base.DataError(f"{path}: image folder not found (or not a directory).")
  entries = sorted(os.listdir(path))
  top = [os.path.join(path, e) for e in entries
         if _is_image(e) and os.path.isfile(os.path.join(path, e))]
  subfolders = [e for e in entries
                if not e.startswith(".") and os.path.isdir(os.path.join(path, e))]
  per_class = {name: _images_under(os.path.join(path, name)) for name in subfolders}
  if not any(per_class.values()):
    if not top:
      raise base.DataError(f"{path}: no images found (extensions {IMAGE_EXTENSIONS}).")
    return top, np.full(len(top), -1, np.int32), None
  if top:
    raise base.DataError(f"{top[0]}: image next to class subfolders in {path}; move it into "
                         "a class folder (or use a folder without subfolders).")
  for name, files in per_class.items():
    if not files:
      raise base.DataError(f"{os.path.join(path, name)}: class folder without images.")
  files = [f for name in subfolders for f in per_class[name]]
  labels = np.concatenate([np.full(len(per_class[n]), k, np.int32)
                           for k, n in enumerate(subfolders)])
  return files, labels, tuple(subfolders)


def validate_images(files: list[str], channels: int) -> None:
  """Decodes every file once (in parallel); raises DataError naming the bad ones."""
  def shape(i: tf.Tensor, path: tf.Tensor) -> tuple:
    """Fails (and is dropped by ignore_errors) for an unreadable file."""
    return i, tf.shape(transforms.decode(tf.io.read_file(path), channels, path))

  ds = tf.data.Dataset.from_tensor_slices(files).enumerate()
  ds = ds.map(shape, num_parallel_calls=tf.data.AUTOTUNE).ignore_errors().batch(1024)
  readable = np.zeros(len(files), bool)
  for indices, _ in ds.as_numpy_iterator():
    readable[indices] = True
  bad = [files[i] for i in np.flatnonzero(~readable)]
  if bad:
    more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
    raise base.DataError(f"{bad[0]}: unreadable or corrupt image{more} "
                         f"(first ones: {bad[:5]}).")


def _eval_mask(labels: np.ndarray, eval_fraction: float, split_seed: int) -> np.ndarray:
  if not 0.0 <= eval_fraction < 1.0:
    raise ValueError(f"eval_fraction must be in [0, 1), got {eval_fraction}.")
  # Unlabelled examples form one group, so the split is balanced either way.
  return labels_lib.select(np.maximum(labels, 0), eval_fraction, split_seed)


def _dataset(name: str, source: base.ArraySource, prepare: base.PrepareFn,
             shape: tuple[int, int, int], num_classes: int | None, eval_fraction: float,
             split_seed: int, labels: labels_lib.LabelOptions | None,
             class_names: tuple[str, ...] | None = None) -> base.Dataset:
  """Splits an ArraySource into train / eval and applies the label options."""
  is_eval = _eval_mask(source.labels, eval_fraction, split_seed)
  if eval_fraction > 0:
    train = base.ArraySource(source.items[~is_eval], source.labels[~is_eval], source.read)
    evaluation = base.ArraySource(source.items[is_eval], source.labels[is_eval], source.read)
  else:
    train = evaluation = source
  train = labels_lib.apply_to_array(train, labels, num_classes)
  info = base.DatasetInfo(
      name=name, image_shape=shape, num_classes=num_classes,
      num_train_examples=len(train.items), num_eval_examples=len(evaluation.items),
      eval_test_samples=len(evaluation.items), soft_labels=train.soft is not None,
      class_names=class_names)
  return base.Dataset(info=info, train=base.Split(train, prepare),
                      eval=base.Split(evaluation, prepare))


def _read_file(path: tf.Tensor) -> base.RawElement:
  return {"image": tf.io.read_file(path), "file": path}


def encoded_prepare(resolution: int, channels: int) -> base.PrepareFn:
  """Encoded image bytes (+ "file" for errors) -> fitted float image."""
  def prepare(raw: base.RawElement, seed: tf.Tensor) -> tf.Tensor:
    """Decodes (naming the file on failure) and fits the image."""
    del seed
    image = transforms.decode(raw["image"], channels, raw.get("file", ""))
    return transforms.fit_image(image, resolution, channels)

  return prepare


@_register
def image_folder(path: str, resolution: int = 64, channels: int = 3,
                 eval_fraction: float = 0.0, split_seed: int = 0, validate: bool = True,
                 labels: labels_lib.LabelOptions | None = None,
                 name: str | None = None) -> base.Dataset:
  """A folder of images, optionally one subfolder per class.

  Args:
    path: the folder.
    resolution: side of the square output images.
    channels: 1 (gray) or 3 (RGB).
    eval_fraction: share held out for eval; 0 evaluates on the train images.
    split_seed: which images are held out.
    validate: decode every file once now, naming any unreadable one.
    labels: label subset / soft-label options for the train split.
    name: DatasetInfo.name; defaults to the folder's name.
  """
  files, folder_labels, class_names = list_image_folder(path)
  if validate:
    validate_images(files, channels)
  source = base.ArraySource(items=np.array(files), labels=folder_labels, read=_read_file)
  num_classes = len(class_names) if class_names else None
  return _dataset(name or os.path.basename(os.path.normpath(path)), source,
                  encoded_prepare(resolution, channels), (resolution, resolution, channels),
                  num_classes, eval_fraction, split_seed, labels, class_names)


def _load_npz(path: str, images_key: str, labels_key: str) -> tuple:
  if not os.path.isfile(path):
    raise base.DataError(f"{path}: .npz file not found.")
  try:
    with np.load(path, allow_pickle=False) as archive:
      if images_key not in archive:
        raise base.DataError(f"{path}: no array {images_key!r} (found {archive.files}).")
      images = archive[images_key]
      found = archive[labels_key] if labels_key in archive else None
  except base.DataError:
    raise
  except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
    raise base.DataError(f"{path}: cannot read the .npz file: {e}") from e
  return images, found


def _check_npz_images(images: np.ndarray, path: str) -> np.ndarray:
  if images.ndim == 3:
    images = images[..., np.newaxis]
  if images.ndim != 4 or images.shape[-1] not in (1, 2, 3, 4) or not len(images):
    raise base.DataError(f"{path}: images must be [N, H, W] or [N, H, W, C] with C in "
                         f"1-4 and N > 0, got shape {images.shape}.")
  if images.dtype != np.uint8 and not np.issubdtype(images.dtype, np.floating):
    raise base.DataError(f"{path}: images must be uint8 or float in [0, 1], got {images.dtype}.")
  if images.dtype != np.uint8 and (images.min() < 0 or images.max() > 1):
    raise base.DataError(f"{path}: float images must lie in [0, 1], found "
                         f"[{images.min()}, {images.max()}].")
  if images.nbytes > _MAX_ARRAY_BYTES:
    raise base.DataError(f"{path}: {images.nbytes / 2**30:.1f} GiB of images is more than an "
                         "in-memory source holds (2 GiB); use image_folder or tfrecord.")
  return images


def _npz_labels(found: np.ndarray | None, count: int, num_classes: int | None, path: str,
                key: str) -> tuple[np.ndarray, int | None]:
  """(int32 labels, num_classes or max + 1); all -1 when the file has none."""
  if found is None:
    return np.full(count, -1, np.int32), num_classes
  if found.shape != (count,):
    raise base.DataError(f"{path}: {key!r} has shape {found.shape}; "
                         f"expected ({count},) to match the images.")
  checked = labels_lib.check_labels(found, num_classes, path)
  if num_classes is None and checked.max() >= 0:
    num_classes = int(checked.max()) + 1
  return checked, num_classes


@_register
def npz(path: str, resolution: int | None = None, channels: int | None = None,
        images_key: str = "images", labels_key: str = "labels",
        num_classes: int | None = None, eval_fraction: float = 0.0, split_seed: int = 0,
        labels: labels_lib.LabelOptions | None = None, name: str | None = None) -> base.Dataset:
  """Images (and optional labels) from a .npz file, held in memory.

  Args:
    path: the .npz file: images uint8 [0, 255] or float [0, 1], shaped
      [N, H, W] or [N, H, W, C]; labels int [N] in [-1, num_classes).
    resolution: output side; None keeps min(H, W).
    channels: 1 or 3; None keeps the file's (alpha dropped).
    images_key, labels_key: array names in the file (labels are optional).
    num_classes: defaults to max(label) + 1.
    eval_fraction, split_seed, labels, name: as `image_folder`.
  """
  images, found = _load_npz(path, images_key, labels_key)
  images = _check_npz_images(images, path)
  channels = channels or (1 if images.shape[-1] <= 2 else 3)
  resolution = resolution or min(images.shape[1:3])
  example_labels, num_classes = _npz_labels(found, len(images), num_classes, path, labels_key)
  try:
    transforms.convert_channels(tf.zeros([1, 1, images.shape[-1]]), channels)
  except ValueError as e:
    raise base.DataError(f"{path}: {e}") from e

  def prepare(raw: base.RawElement, seed: tf.Tensor) -> tf.Tensor:
    """Fits the array image (channels, center crop, resize)."""
    del seed
    return transforms.fit_image(raw["image"], resolution, channels)

  source = base.ArraySource(items=images, labels=example_labels)
  return _dataset(name or os.path.splitext(os.path.basename(path))[0], source, prepare,
                  (resolution, resolution, channels), num_classes, eval_fraction, split_seed,
                  labels)
