"""The MNIST test set shipped inside the package: the offline default dataset.

Gin: `data.bundled_mnist` with `resolution` (28; 32 zero-pads the digits to
32x32), `channels` (1, or 3 to tile gray to RGB), `upscale` ("pad" or
"resize", for resolutions above 28) and `labels` (`@data.LabelOptions()`).

    train.dataset = @data.bundled_mnist()
    data.bundled_mnist.resolution = 32

The files are the 10,000 MNIST test images and labels (Y. LeCun, C. Cortes,
C. J. C. Burges; CC BY-SA 3.0), unchanged, as `compare_gan2/data/bundled/
t10k-{images-idx3,labels-idx1}-ubyte.gz`, read with importlib.resources.

Split (fixed, independent of every user seed): eval holds 100 images of each
class (1,000), the ones of lowest rank by a hash of their index with seed 0
(`labels.ranks`); train holds the other 9,000. Train class counts are MNIST's
test counts minus 100: 880, 1035, 932, 910, 882, 792, 858, 928, 874, 909.
"""

import functools
import gzip
import importlib.resources

import numpy as np
import tensorflow as tf

from compare_gan2 import registry
from compare_gan2.data import base
from compare_gan2.data import labels as labels_lib
from compare_gan2.data import transforms

IMAGES_FILE = "t10k-images-idx3-ubyte.gz"
LABELS_FILE = "t10k-labels-idx1-ubyte.gz"
EVAL_PER_CLASS = 100
NUM_TRAIN, NUM_EVAL = 9_000, 1_000
_SPLIT_SEED = 0


def _read_idx(name: str, magic: int, dims: int) -> np.ndarray:
  """Parses one gzip IDX file of the bundled folder (big-endian header)."""
  resource = importlib.resources.files("compare_gan2.data").joinpath("bundled", name)
  try:
    data = gzip.decompress(resource.read_bytes())
  except (OSError, EOFError) as e:
    raise base.DataError(f"{resource}: cannot read the bundled MNIST file: {e}") from e
  header = np.frombuffer(data, ">i4", count=1 + dims)
  if header[0] != magic:
    raise base.DataError(f"{resource}: IDX magic {header[0]}, expected {magic}.")
  shape = tuple(int(d) for d in header[1:])
  body = np.frombuffer(data, np.uint8, offset=4 * (1 + dims))
  if body.size != np.prod(shape):
    raise base.DataError(f"{resource}: {body.size} bytes of data for shape {shape}.")
  return body.reshape(shape)


@functools.cache
def load_bundled_mnist() -> tuple[np.ndarray, np.ndarray]:
  """All 10,000 bundled images, uint8 [10000, 28, 28, 1], and int32 labels [10000]."""
  images = _read_idx(IMAGES_FILE, 2051, 3)[..., np.newaxis]
  labels = _read_idx(LABELS_FILE, 2049, 1).astype(np.int32)
  images.setflags(write=False)
  labels.setflags(write=False)
  return images, labels


def _split_score(index: np.ndarray) -> np.ndarray:
  # The split shipped with the MNIST classifier's weights (trained on the other
  # 9,000): fixed by this keyed permutation, kept when unit_hash changed.
  key = tf.constant([_SPLIT_SEED, 7919], tf.int64)
  span = tf.constant(2**32 - 1, tf.int64)
  return tf.random.experimental.index_shuffle(tf.constant(index, tf.int64), key, span).numpy()


def eval_mask() -> np.ndarray:
  """Bool [10000]: which bundled examples form the eval split (100 per class)."""
  _, labels = load_bundled_mnist()
  return labels_lib.ranks_by_score(labels, _split_score(np.arange(len(labels)))) < EVAL_PER_CLASS


def mnist_prepare(resolution: int, channels: int, upscale: str) -> base.PrepareFn:
  """uint8 [28, 28, 1] (or its PNG bytes) -> float32 [resolution, resolution, channels].

  Shared with the TFDS `mnist` and `fashion-mnist` datasets.
  """
  def prepare(raw: base.RawElement, seed: tf.Tensor) -> tf.Tensor:
    """Decodes if encoded (TFDS), scales, pads or resizes, converts channels."""
    del seed  # Deterministic preprocessing.
    image = raw["image"]
    if image.dtype == tf.string:
      image = transforms.decode(image, 1, raw.get("file", ""))
    image = tf.ensure_shape(image, [28, 28, 1])
    image = transforms.pad_or_resize(transforms.to_unit_float(image), resolution, upscale)
    image = transforms.convert_channels(image, channels)
    return tf.ensure_shape(image, [resolution, resolution, channels])

  transforms.pad_or_resize(tf.zeros([28, 28, 1]), resolution, upscale)  # Fail early on bad args.
  return prepare


@registry.register(module="compare_gan2.data")
def bundled_mnist(resolution: int = 28, channels: int = 1, upscale: str = "pad",
                  labels: labels_lib.LabelOptions | None = None,
                  train_examples: int | None = None) -> base.Dataset:
  """The bundled MNIST test set as a 9,000 / 1,000 train / eval dataset, offline.

  Args:
    resolution: output side; 28 is native, larger pads (or resizes).
    channels: 1, or 3 for RGB models.
    upscale: "pad" (zero-pad, keeps the digit size) or "resize".
    labels: label subset / soft-label options for the train split.
    train_examples: train on the first N of the 9,000 only (limited-data
      studies); the eval split stays the same 1,000 images.

  Raises:
    ValueError: train_examples outside [1, 9000].
  """
  images, all_labels = load_bundled_mnist()
  is_eval = eval_mask()
  prepare = mnist_prepare(resolution, channels, upscale)
  count = NUM_TRAIN if train_examples is None else train_examples
  if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= NUM_TRAIN:
    raise ValueError(f"data.bundled_mnist.train_examples must be an integer in [1, {NUM_TRAIN}],"
                     f" got {train_examples!r}.")
  train = base.ArraySource(items=images[~is_eval][:count], labels=all_labels[~is_eval][:count])
  train = labels_lib.apply_to_array(train, labels, 10)
  evaluation = base.ArraySource(items=images[is_eval], labels=all_labels[is_eval])
  info = base.DatasetInfo(
      name="bundled_mnist", image_shape=(resolution, resolution, channels), num_classes=10,
      num_train_examples=count, num_eval_examples=NUM_EVAL, eval_test_samples=NUM_EVAL,
      soft_labels=train.soft is not None)
  return base.Dataset(info=info, train=base.Split(train, prepare),
                      eval=base.Split(evaluation, prepare))
