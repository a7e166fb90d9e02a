"""compare_gan's dataset catalogue on TFDS (`datasets.py:332-640`).

One gin builder per compare_gan `dataset.name` (a '-' becomes '_'), in
module compare_gan2.data: `train.dataset = @data.cifar10()`.

| dataset.name | TFDS name | train / eval split | H×W×C | classes | FID samples |
|---|---|---|---|---|---|
| mnist, fashion-mnist | mnist, fashion_mnist | train / test | 28×28×1 | 10 | 10k |
| cifar10 | cifar10 | train / test | 32×32×3 | 10 | 10k |
| celeb_a | celeb_a | train / test | 64×64×3 | none | 10k |
| lsun-bedroom | lsun/bedroom | train[:99%] / train[99%:] | 128×128×3 | none | 30k |
| imagenet_{64,128,256,512} | imagenet2012 | train / validation | R×R×3 | 1000 | 50k |
| imagenet_512_hq400 | imagenet2012 | train with min(H, W) ≥ 400 / validation | 512×512×3 | 1000 | 50k |
| labeled_only_imagenet_128 | imagenet2012 | train, label ≥ 0 / validation | 128×128×3 | 1000 | 50k |
| single_class_imagenet_128 | imagenet2012 | train / validation, label 0 | 128×128×3 | 1 | 50k |
| random_class_imagenet_128 | imagenet2012 | train / validation, random label | 128×128×3 | 1000 | 50k |
| soft_labeled_imagenet_128 | imagenet2012 | train / validation + soft labels | 128×128×3 | 1000 | 50k |

Preprocessing as compare_gan (`datasets.py`): MNIST-likes and
CIFAR-10 only scale to [0, 1] (`mnist` and `fashion_mnist` take compare_gan2's
`resolution`/`channels`/`upscale` options as `data.bundled_mnist` does);
CelebA crops or pads to 160×160, then resizes to 64 with TF1 bilinear; LSUN
crops or pads to 128×128 with no resize; ImageNet crops ("distorted" in train,
"middle" in eval; `train_crop` / `eval_crop` are compare_gan's
`train_imagenet_transform.crop_method` / `eval_imagenet_transform.crop_method`)
then resizes to R with TF1 bilinear. `imagenet_128` also takes
`train_examples` (the first N train examples: the DiffAugment fork's
`imagenet_128_0.5` / `_0.25`) and `train_flip`, and every ImageNet builder
the fork's "zoomed" crop. Every builder takes `data_dir`
(compare_gan's `--tfds_data_dir`) and `labels` (`@data.LabelOptions()`).

Differences from compare_gan, on purpose:
- Datasets without classes (CelebA, LSUN) give label -1, not 0.
- LSUN's eval split is the contiguous `train[99%:]`; legacy TFDS's
  `subsplit([99, 1])` took every 100th example, a different set.
- `random_class_imagenet_128` works (compare_gan's omits `shape`,
  `datasets.py:583`); the label is redrawn every time an image is read.
- `labeled_only_imagenet_128` reports its name as such, not "imagenet_128".
- `soft_labeled_imagenet_128` keeps hard labels = argmax of the soft labels in
  "labels" and the probabilities in "soft_labels"; compare_gan replaced the
  label by the probability vector.
TFDS is read with shuffle_files=False and images stay encoded until the
pipeline has ordered them. DatasetInfo's sizes come from the table below,
never from `info.splits` (empty under `tfds.testing.mock_data`); only a
resumed run asks TFDS metadata for the epoch length, and counts the split by
reading it when the metadata is empty. Preparing the data is TFDS's job on
first use: LSUN needs `tensorflow-io` for that (TFDS reads its LMDB files with
it; not a dependency of compare_gan2) and ImageNet a manual download into
TFDS's `manual_dir`; reading already-prepared data needs neither.
"""

import dataclasses

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from compare_gan2 import registry
from compare_gan2.data import base
from compare_gan2.data import bundled
from compare_gan2.data import labels as labels_lib
from compare_gan2.data import transforms

_register = registry.register(module="compare_gan2.data")
LabelOptions = labels_lib.LabelOptions

# TFDS split sizes (tensorflow-datasets 4.9 catalogue); train[:99%] rounds to
# the closest example, as TFDS slicing does.
_SIZES = {
    ("mnist", "train"): 60_000, ("mnist", "test"): 10_000,
    ("fashion_mnist", "train"): 60_000, ("fashion_mnist", "test"): 10_000,
    ("cifar10", "train"): 50_000, ("cifar10", "test"): 10_000,
    ("celeb_a", "train"): 162_770, ("celeb_a", "test"): 19_962,
    ("lsun/bedroom", "train[:99%]"): 3_002_712, ("lsun/bedroom", "train[99%:]"): 30_330,
    ("imagenet2012", "train"): 1_281_167, ("imagenet2012", "validation"): 50_000,
}


def _split_size(tfds_name: str, split: str, data_dir: str | None) -> int | None:
  """The split's size from TFDS metadata when it has any (exact for the installed version)."""
  try:
    splits = tfds.builder(tfds_name, data_dir=data_dir).info.splits
    return splits[split].num_examples if splits else None
  except Exception:  # pylint: disable=broad-except  # Metadata is only a shortcut.
    return None


def tfds_source(tfds_name: str, split: str, data_dir: str | None,
                has_labels: bool) -> base.StreamSource:
  """A TFDS split as raw {"image": encoded bytes, "label": int32} in TFDS order."""

  def open_split() -> tf.data.Dataset:
    """tfds.load in file order, images left encoded."""
    ds = tfds.load(tfds_name, split=split, data_dir=data_dir, shuffle_files=False,
                   decoders={"image": tfds.decode.SkipDecoding()})
    return ds.map(lambda ex: {
        "image": ex["image"],
        "label": tf.cast(ex["label"], tf.int32) if has_labels else tf.constant(-1, tf.int32)})

  def identity() -> str:
    """The prepared data's versioned directory and the split (a cache key)."""
    return f"tfds {tfds.builder(tfds_name, data_dir=data_dir).data_dir} split={split}"

  return base.StreamSource(open=open_split, identity=identity,
                           count=lambda: _split_size(tfds_name, split, data_dir))


def subset_examples(source: base.StreamSource, count: int, available: int,
                    seed: int | None = None) -> base.StreamSource:
  """`count` examples of a stream: its first ones, or a seeded uniform choice.

  Args:
    source: the full split.
    count: how many examples to keep, in [1, available].
    available: the split's size.
    seed: None keeps the first `count` in canonical order (the DiffAugment
      fork's ImageNet subsets, `ds.take(N)`); an int keeps
      `numpy.random.RandomState(seed).choice(available, count, replace=False)`
      as the DiffAugment authors' CIFAR subsets do (data-efficient-gans
      DiffAugment-biggan-cifar/datasets.py at 0b63395). Their indices address
      the CIFAR pickle files' order, not TFDS's, so the same seed picks other
      images here: same size and sampling, not the same set.

  Returns:
    A source that is the subset, canonical indices 0..count-1 in the split's
    order (label subsets and caches treat it as a split of its own).

  Raises:
    ValueError: if count is not in [1, available].
  """
  if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= available:
    raise ValueError(f"train_examples must be an integer in [1, {available}] (the split's "
                     f"size), got {count!r}.")
  parent_identity = source.identity
  identity = None if parent_identity is None else (
      lambda: f"{parent_identity()} examples={count} subset_seed={seed}")
  parent_open = source.open
  if seed is None:
    subset_open = lambda: parent_open().take(count)  # noqa: E731
  else:
    chosen = np.zeros([available], bool)
    chosen[np.random.RandomState(seed).choice(available, count, replace=False)] = True
    mask = tf.constant(chosen)
    subset_open = lambda: parent_open().enumerate().filter(  # noqa: E731
        lambda index, raw: tf.gather(mask, index)).map(lambda index, raw: raw)
  return dataclasses.replace(source, open=subset_open, count=lambda: count,
                             num_examples=None if source.keep else count, identity=identity)


def tfds_dataset(name: str, tfds_name: str, splits: tuple[str, str],
                 shape: tuple[int, int, int], num_classes: int | None, fid_samples: int,
                 prepare: tuple[base.PrepareFn, base.PrepareFn], data_dir: str | None,
                 labels: LabelOptions | None, keep=None, label_fn=None,
                 relabel: base.RelabelFn | None = None, train_examples: int | None = None,
                 train_subset_seed: int | None = None) -> base.Dataset:
  """A TFDS dataset of compare_gan's catalogue.

  Args:
    name, tfds_name, splits, shape, num_classes: as in the module table.
    fid_samples: compare_gan's `eval_test_samples`.
    prepare: (train, eval) preprocessing.
    data_dir: TFDS data directory (None: TFDS's default).
    labels: label options, applied to the train split.
    keep: train-only filter on raw examples (compare_gan's `_train_filter_fn`).
    label_fn: (label, index) -> label in both splits, before `labels`.
    relabel: (label, seed) -> label at every read, in both splits.
    train_examples, train_subset_seed: N examples, before `keep` and labels (`subset_examples`).
  """
  has_labels = num_classes is not None
  train_source = tfds_source(tfds_name, splits[0], data_dir, has_labels)
  if train_examples is not None:
    train_source = subset_examples(train_source, train_examples,
                                   _SIZES[(tfds_name, splits[0])], train_subset_seed)
  split_identity = train_source.identity
  # The dataset's name stands for its label_fn in cache keys of labels passes.
  train_source = dataclasses.replace(train_source, keep=keep, label_fn=label_fn,
                                     num_examples=None if keep else train_source.num_examples,
                                     identity=lambda: f"{split_identity()} dataset={name}")
  eval_source = dataclasses.replace(tfds_source(tfds_name, splits[1], data_dir, has_labels),
                                    label_fn=label_fn)
  train_source = labels_lib.apply_to_stream(train_source, labels, num_classes)
  filtered = train_source.keep is not None
  info = base.DatasetInfo(
      name=name, image_shape=shape, num_classes=num_classes,
      num_train_examples=None if filtered else train_examples or _SIZES[(tfds_name, splits[0])],
      num_eval_examples=_SIZES[(tfds_name, splits[1])], eval_test_samples=fid_samples,
      soft_labels=train_source.soft is not None)
  return base.Dataset(info=info, train=base.Split(train_source, prepare[0], relabel),
                      eval=base.Split(eval_source, prepare[1], relabel))


def _mnist_like(name: str, tfds_name: str, resolution: int, channels: int, upscale: str,
                data_dir: str | None, labels: LabelOptions | None) -> base.Dataset:
  prepare = bundled.mnist_prepare(resolution, channels, upscale)
  return tfds_dataset(name, tfds_name, ("train", "test"), (resolution, resolution, channels), 10,
                10_000, (prepare, prepare), data_dir, labels)


@_register
def mnist(resolution: int = 28, channels: int = 1, upscale: str = "pad",
          data_dir: str | None = None, labels: LabelOptions | None = None) -> base.Dataset:
  """MNIST from TFDS (`datasets.py:332-343`); 28×28×1 unless resized."""
  return _mnist_like("mnist", "mnist", resolution, channels, upscale, data_dir, labels)


@_register
def fashion_mnist(resolution: int = 28, channels: int = 1, upscale: str = "pad",
                  data_dir: str | None = None, labels: LabelOptions | None = None) -> base.Dataset:
  """Fashion-MNIST from TFDS (`datasets.py:346-357`; compare_gan name "fashion-mnist")."""
  return _mnist_like("fashion-mnist", "fashion_mnist", resolution, channels, upscale,
                     data_dir, labels)


def _cifar_prepare(raw: base.RawElement, seed: tf.Tensor) -> tf.Tensor:
  del seed
  image = tf.ensure_shape(transforms.decode(raw["image"], 3), [32, 32, 3])
  return transforms.to_unit_float(image)


@_register
def cifar10(data_dir: str | None = None, labels: LabelOptions | None = None,
            train_examples: int | None = None, train_subset_seed: int | None = None,
            train_flip: bool = False) -> base.Dataset:
  """CIFAR-10 from TFDS (`datasets.py:360-371`): 32×32×3, 10 classes.

  Args:
    data_dir, labels: as every builder.
    train_examples, train_subset_seed: train on a subset (`subset_examples`);
      the DiffAugment paper's 10% / 20% CIFAR-10 are 5,000 / 10,000 examples
      drawn with seed 0.
    train_flip: random left-right flips of training images (BigGAN-PyTorch's
      `--mirror_augment`, which the DiffAugment CIFAR runs use).
  """
  train_prepare = flipped(_cifar_prepare) if train_flip else _cifar_prepare
  return tfds_dataset("cifar10", "cifar10", ("train", "test"), (32, 32, 3), 10, 10_000,
                      (train_prepare, _cifar_prepare), data_dir, labels,
                      train_examples=train_examples, train_subset_seed=train_subset_seed)


def flipped(prepare: base.PrepareFn) -> base.PrepareFn:
  """`prepare`, then a random left-right flip keyed by the example's seed."""

  def prepare_and_flip(raw: base.RawElement, seed: tf.Tensor) -> tf.Tensor:
    image = prepare(raw, seed)
    flip_seed = tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int64), 1)
    return tf.image.stateless_random_flip_left_right(image, flip_seed)

  return prepare_and_flip


def _celeba_prepare(raw: base.RawElement, seed: tf.Tensor) -> tf.Tensor:
  """Crop/pad 218×178 to 160×160, TF1-resize to 64 (`datasets.py:387-396`)."""
  del seed
  image = tf.image.resize_with_crop_or_pad(transforms.decode(raw["image"], 3), 160, 160)
  image = transforms.legacy_resize(tf.cast(image, tf.float32), 64) / 255.0
  return tf.ensure_shape(image, [64, 64, 3])


@_register
def celeb_a(data_dir: str | None = None) -> base.Dataset:
  """CelebA from TFDS: train / test, 64×64×3, no classes (label -1)."""
  return tfds_dataset("celeb_a", "celeb_a", ("train", "test"), (64, 64, 3), None, 10_000,
                (_celeba_prepare, _celeba_prepare), data_dir, None)


def _lsun_prepare(raw: base.RawElement, seed: tf.Tensor) -> tf.Tensor:
  """A 128×128 center crop (pad if smaller), no resize (`datasets.py:420-427`)."""
  del seed
  image = tf.image.resize_with_crop_or_pad(transforms.decode(raw["image"], 3), 128, 128)
  return tf.ensure_shape(transforms.to_unit_float(image), [128, 128, 3])


@_register
def lsun_bedroom(data_dir: str | None = None) -> base.Dataset:
  """LSUN bedrooms (compare_gan name "lsun-bedroom"): 99% / 1% of TFDS train."""
  return tfds_dataset("lsun-bedroom", "lsun/bedroom", ("train[:99%]", "train[99%:]"),
                (128, 128, 3), None, 30_000, (_lsun_prepare, _lsun_prepare), data_dir, None)
