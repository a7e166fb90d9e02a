"""ImageNet 2012 datasets of compare_gan and S3GAN (`datasets.py:430-640`).

Gin builders (module compare_gan2.data): `data.imagenet_64`, `data.imagenet_128`,
`data.imagenet_256`, `data.imagenet_512`, `data.imagenet_512_hq400`, and the
S3GAN variants `data.labeled_only_imagenet_128`, `data.single_class_imagenet_128`,
`data.random_class_imagenet_128`, `data.soft_labeled_imagenet_128`. Each takes
`data_dir`, `labels` (`@data.LabelOptions()`), `train_crop` ("distorted") and
`eval_crop` ("middle"); see named.py for the table and the differences from
compare_gan. The plain `imagenet_<R>` builders also take `train_examples` and
`train_flip`, for the DiffAugment fork's subsets (`imagenet_128_0.5`,
`imagenet_128_0.25`) and its flipped training images.

Semi-supervised S3GAN at 10% labels (Lucic et al. 2019, arXiv 1903.02271 §5):

    train.dataset = @data.imagenet_128()
    data.imagenet_128.labels = @data.LabelOptions()
    data.LabelOptions.fraction = 0.1

BIGGAN-k% (labelled examples only) is `data.labeled_only_imagenet_128` with
the same `LabelOptions`. The pipeline streams TFDS; see pipeline.py for what
resuming a run costs.
"""

import dataclasses

import tensorflow as tf

from compare_gan2 import registry
from compare_gan2.data import base
from compare_gan2.data import labels as labels_lib
from compare_gan2.data import named
from compare_gan2.data import transforms

_register = registry.register(module="compare_gan2.data")
LabelOptions = labels_lib.LabelOptions
RESOLUTIONS = (64, 128, 256, 512)  # compare_gan `datasets.py:504-505`.
NUM_CLASSES = 1000
HQ_MIN_SIDE = 400


def imagenet_prepare(resolution: int, crop: str, flip: bool = False) -> base.PrepareFn:
  """Decode, scale to [0, 1], crop, TF1-resize to `resolution` (`datasets.py:430-477`).

  `flip`: then a random left-right flip, as the DiffAugment fork's training
  transform (data-efficient-gans DiffAugment-biggan-imagenet/compare_gan/
  datasets.py at 0b63395, `random_flip=True`); compare_gan never flips.
  """
  if crop not in transforms.CROP_METHODS:
    raise ValueError(f"crop method must be one of {transforms.CROP_METHODS}, got {crop!r}")

  def prepare(raw: base.RawElement, seed: tf.Tensor) -> tf.Tensor:
    """The crop uses `seed` (random methods only)."""
    image = transforms.to_unit_float(transforms.decode(raw["image"], 3))
    image = transforms.legacy_resize(transforms.crop_imagenet(image, crop, seed), resolution)
    return tf.ensure_shape(image, [resolution, resolution, 3])

  return named.flipped(prepare) if flip else prepare


def min_side(contents: tf.Tensor) -> tf.Tensor:
  """min(H, W) of an encoded image, from the JPEG header when it is one."""
  shape = tf.cond(tf.io.is_jpeg(contents),
                  lambda: tf.io.extract_jpeg_shape(contents),
                  lambda: tf.shape(tf.io.decode_image(contents, channels=3,
                                                      expand_animations=False)))
  return tf.minimum(shape[0], shape[1])


def _imagenet(name: str, resolution: int, data_dir: str | None, labels: LabelOptions | None,
              train_crop: str, eval_crop: str, num_classes: int = NUM_CLASSES,
              train_flip: bool = False, **hooks) -> base.Dataset:
  """An ImageNet dataset; `hooks` are named.tfds_dataset's keep/label_fn/relabel/train_examples."""
  if resolution not in RESOLUTIONS:
    raise ValueError(f"ImageNet resolution must be one of {RESOLUTIONS}, got {resolution}.")
  prepare = (imagenet_prepare(resolution, train_crop, train_flip),
             imagenet_prepare(resolution, eval_crop))
  return named.tfds_dataset(
      name, "imagenet2012", ("train", "validation"), (resolution, resolution, 3), num_classes,
      50_000, prepare, data_dir, labels, **hooks)


@_register
def imagenet_64(data_dir: str | None = None, labels: LabelOptions | None = None,
                train_crop: str = "distorted", eval_crop: str = "middle",
                train_examples: int | None = None, train_flip: bool = False) -> base.Dataset:
  """ImageNet at 64×64 (`datasets.py:500-532`); arguments as `imagenet_128`."""
  return _imagenet("imagenet_64", 64, data_dir, labels, train_crop, eval_crop,
                   train_flip=train_flip, train_examples=train_examples)


@_register
def imagenet_128(data_dir: str | None = None, labels: LabelOptions | None = None,
                 train_crop: str = "distorted", eval_crop: str = "middle",
                 train_examples: int | None = None, train_flip: bool = False) -> base.Dataset:
  """ImageNet at 128×128 (BigGAN / S3GAN).

  Args:
    data_dir, labels, train_crop, eval_crop: as every ImageNet builder.
    train_examples: train on the first N examples of the train split in TFDS
      order only (the DiffAugment fork's `imagenet_128_0.5` is 640,583 and
      `imagenet_128_0.25` 320,291: data-efficient-gans
      DiffAugment-biggan-imagenet/compare_gan/datasets.py at 0b63395).
    train_flip: flip training images left-right at random (the fork does).
  """
  return _imagenet("imagenet_128", 128, data_dir, labels, train_crop, eval_crop,
                   train_flip=train_flip, train_examples=train_examples)


@_register
def imagenet_256(data_dir: str | None = None, labels: LabelOptions | None = None,
                 train_crop: str = "distorted", eval_crop: str = "middle",
                 train_examples: int | None = None, train_flip: bool = False) -> base.Dataset:
  """ImageNet at 256×256; arguments as `imagenet_128`."""
  return _imagenet("imagenet_256", 256, data_dir, labels, train_crop, eval_crop,
                   train_flip=train_flip, train_examples=train_examples)


@_register
def imagenet_512(data_dir: str | None = None, labels: LabelOptions | None = None,
                 train_crop: str = "distorted", eval_crop: str = "middle",
                 train_examples: int | None = None, train_flip: bool = False) -> base.Dataset:
  """ImageNet at 512×512; arguments as `imagenet_128`."""
  return _imagenet("imagenet_512", 512, data_dir, labels, train_crop, eval_crop,
                   train_flip=train_flip, train_examples=train_examples)


@_register
def imagenet_512_hq400(data_dir: str | None = None, labels: LabelOptions | None = None,
                       train_crop: str = "distorted", eval_crop: str = "middle") -> base.Dataset:
  """ImageNet at 512, training only on images with min(H, W) ≥ 400 (`datasets.py:535-549`).

  The filter reads the raw image size before any crop; eval is unfiltered.
  """
  return _imagenet("imagenet_512_hq400", 512, data_dir, labels, train_crop, eval_crop,
                   keep=lambda raw: min_side(raw["image"]) >= HQ_MIN_SIDE)


@_register
def labeled_only_imagenet_128(data_dir: str | None = None, labels: LabelOptions | None = None,
                              train_crop: str = "distorted",
                              eval_crop: str = "middle") -> base.Dataset:
  """ImageNet 128 trained on labelled examples only (`datasets.py:517-522`).

  With all labels it is `imagenet_128`; with `LabelOptions.fraction = k` it is
  S3GAN's BIGGAN-k% baseline. Eval is unfiltered.
  """
  labels = dataclasses.replace(labels or LabelOptions(), drop_unlabelled=True)
  return _imagenet("labeled_only_imagenet_128", 128, data_dir, labels, train_crop, eval_crop)


@_register
def single_class_imagenet_128(data_dir: str | None = None, train_crop: str = "distorted",
                              eval_crop: str = "middle") -> base.Dataset:
  """ImageNet 128 with every label 0 and num_classes 1 (S3GAN SINGLE LABEL, `:552-568`)."""
  return _imagenet("single_class_imagenet_128", 128, data_dir, None, train_crop, eval_crop,
                   num_classes=1, label_fn=lambda label, index: tf.zeros_like(label))


def _random_label(label: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
  return tf.random.stateless_uniform([], seed, minval=0, maxval=NUM_CLASSES,
                                     dtype=label.dtype)


@_register
def random_class_imagenet_128(data_dir: str | None = None, train_crop: str = "distorted",
                              eval_crop: str = "middle") -> base.Dataset:
  """ImageNet 128 with a uniform random label, redrawn at every read (S3GAN RANDOM LABEL).

  compare_gan's version (`datasets.py:571-584`) raises a TypeError; the draw
  here is stateless, keyed by (seed, global example index).
  """
  return _imagenet("random_class_imagenet_128", 128, data_dir, None, train_crop, eval_crop,
                   relabel=_random_label)


@_register
def soft_labeled_imagenet_128(soft_labels_file: str, data_dir: str | None = None,
                              labels: LabelOptions | None = None,
                              train_crop: str = "distorted",
                              eval_crop: str = "middle") -> base.Dataset:
  """ImageNet 128 with pre-computed soft labels (`datasets.py:587-617`, S2GAN).

  Args:
    soft_labels_file: logits [1281167, 1000] (.npy or .npz, see labels.py),
      row c for the c-th train example in TFDS order.
    data_dir, labels, train_crop, eval_crop: as `imagenet_128`; train
      "labels" become the argmax of the soft labels before any label subset,
      eval keeps the true labels.
  """
  labels = dataclasses.replace(labels or LabelOptions(), soft_labels_file=soft_labels_file,
                               labels_from_soft=True)
  return _imagenet("soft_labeled_imagenet_128", 128, data_dir, labels, train_crop, eval_crop)
