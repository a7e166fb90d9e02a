"""A small MNIST classifier shipped in the package, for offline FD / KID / IS on MNIST.

compare_gan scored MNIST with Inception on gray images tiled to RGB
(`eval_utils.py:158-160`); that needs the Inception download. This CNN,
trained by `tools/train_mnist_classifier.py` on the 9,000 train images of the
bundled MNIST (`data.bundled_mnist`), gives the same kind of numbers offline:
the Fréchet distance of its 128-d penultimate features (the FID formula of
Heusel et al. 2017, eq. 6), KID (Bińkowski et al. 2018, eq. 3) and the
Inception Score formula (Salimans et al. 2016, §4) on its 10 logits. The
scores are NOT comparable with Inception FID / IS of any paper; they compare
runs scored with the same weights (`name` "mnist_classifier_v1").

Weights: `mnist_classifier.weights.npz` (arrays keyed by Keras variable path)
with `mnist_classifier.weights.json` beside it (held-out accuracy on the
1,000 bundled eval images, seed, date), read with importlib.resources.

    evaluate.feature_extractor = @evaluation.MnistClassifierConfig()
    evaluation.MnistClassifierConfig.upscale = "pad"   # as data.bundled_mnist
"""

import dataclasses
import importlib.resources
import io
import json
import pathlib
import zipfile
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from compare_gan2 import registry
from compare_gan2.evaluation import extractor

WEIGHTS_FILE = "mnist_classifier.weights.npz"
INFO_FILE = "mnist_classifier.weights.json"
NAME = "mnist_classifier_v1"
COMPARABLE_NOTE = "MNIST classifier features: NOT comparable with Inception FID"
RESOLUTION = 28
FEATURE_DIM = 128
NUM_CLASSES = 10


def build_model() -> keras.Model:
  """images [B, 28, 28, 1] in [0, 1] -> (features [B, 128] post-ReLU, logits [B, 10]).

  conv32-pool-conv64-pool-conv128(valid)-pool-dense128-dense10: 160k
  parameters (640 kB in float32). Dropout acts only in training.
  """
  layers = keras.layers
  inputs = keras.Input([RESOLUTION, RESOLUTION, 1], name="images")
  x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv1")(inputs)
  x = layers.MaxPooling2D(2, name="pool1")(x)  # 14x14
  x = layers.Conv2D(64, 3, padding="same", activation="relu", name="conv2")(x)
  x = layers.MaxPooling2D(2, name="pool2")(x)  # 7x7
  x = layers.Conv2D(128, 3, activation="relu", name="conv3")(x)  # 5x5
  x = layers.MaxPooling2D(2, name="pool3")(x)  # 2x2
  x = layers.Flatten(name="flatten")(layers.Dropout(0.25, name="dropout1")(x))
  features = layers.Dense(FEATURE_DIM, activation="relu", name="features")(x)
  logits = layers.Dense(NUM_CLASSES, name="logits")(layers.Dropout(0.5, name="dropout2")(features))
  return keras.Model(inputs, [features, logits], name="mnist_classifier")


def save_weights(model: keras.Model, path: str) -> None:
  """Writes every variable of `model` to an .npz keyed by its Keras path ("conv1/kernel")."""
  arrays = {v.path: np.asarray(v) for v in model.weights}
  with open(path, "wb") as f:
    np.savez_compressed(f, **arrays)


def load_weights(model: keras.Model, data: bytes, where: str) -> None:
  """Assigns the arrays of an .npz (as bytes) to `model`'s variables by path.

  Raises:
    extractor.ModelUnavailableError: unreadable file, or variables that do not
      match the architecture (names or shapes), naming `where`.
  """
  try:
    with np.load(io.BytesIO(data)) as npz:
      arrays = {name: npz[name] for name in npz.files}
  except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
    raise extractor.ModelUnavailableError(f"{where}: not a readable .npz: {e}") from e
  wanted = {v.path: tuple(v.shape) for v in model.weights}
  got = {name: tuple(a.shape) for name, a in arrays.items()}
  if wanted != got:
    raise extractor.ModelUnavailableError(
        f"{where}: the weights do not fit the MNIST classifier; expected {wanted}, got {got}.")
  for variable in model.weights:
    variable.assign(arrays[variable.path])


def _read_shipped(file_name: str) -> bytes:
  resource = importlib.resources.files("compare_gan2.evaluation").joinpath(file_name)
  try:
    return resource.read_bytes()
  except OSError as e:
    raise extractor.ModelUnavailableError(
        f"the shipped {file_name} is missing from compare_gan2/evaluation ({e}); reinstall "
        "compare_gan2 or rebuild it with `python -m tools.train_mnist_classifier`.") from e


def to_resolution(images: tf.Tensor, upscale: str) -> tf.Tensor:
  """[B, S, S, 1] -> [B, 28, 28, 1], undoing `data.bundled_mnist`'s `upscale`.

  "pad" digits (bundled_mnist's default) are center-cropped back exactly, with
  `resize_with_crop_or_pad`'s offsets; "resize" digits, and sizes below 28,
  are resized with the antialiased bilinear resize `pad_or_resize` uses.

  Raises:
    ValueError: non-square or unknown spatial size, or a bad `upscale`.
  """
  if upscale not in ("pad", "resize"):
    raise ValueError(f"MnistClassifier: upscale must be 'pad' or 'resize', got {upscale!r}.")
  height, width = images.shape[1], images.shape[2]
  if height is None or height != width:
    raise ValueError(f"MnistClassifier: images must be square with a known size, "
                     f"got shape {images.shape}.")
  if height == RESOLUTION:
    return images
  if upscale == "pad" and height > RESOLUTION:
    return tf.image.resize_with_crop_or_pad(images, RESOLUTION, RESOLUTION)
  return tf.image.resize(images, [RESOLUTION, RESOLUTION], antialias=True)


class MnistClassifier:
  """Features (128) and logits (10) of the shipped MNIST CNN; a FeatureExtractor.

  Attributes:
    info: the training record (held-out accuracy, seed, date, ...), or None.
  """
  feature_dim = FEATURE_DIM
  num_logits = NUM_CLASSES
  comparable_note = COMPARABLE_NOTE

  def __init__(self, model: keras.Model, name: str = NAME, upscale: str = "pad",
               info: dict[str, Any] | None = None):
    to_resolution(tf.zeros([1, RESOLUTION, RESOLUTION, 1]), upscale)  # Fail early on bad args.
    self._model = model
    self.name = name
    self.upscale = upscale
    self.info = info

  def __call__(self, images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """float32 [B, S, S, 1 or 3] in [0, 1] -> (features [B, 128], logits [B, 10]).

    RGB input is averaged to gray (gray tiled to RGB comes back unchanged).
    """
    images = extractor.check_images(images, self.name)
    if images.shape[-1] == 3:
      images = tf.reduce_mean(images, axis=-1, keepdims=True)
    features, logits = self._model(to_resolution(images, self.upscale), training=False)
    return features, logits


@registry.register(module="compare_gan2.evaluation")
@dataclasses.dataclass(frozen=True)
class MnistClassifierConfig:
  """Which MNIST classifier weights to load; `load()` builds the extractor.

  Attributes:
    upscale: how images larger than 28 px were made from MNIST ("pad" or
      "resize", as `data.bundled_mnist.upscale`).
    weights_path: an .npz written by tools/train_mnist_classifier.py; None for
      the shipped weights.
    name: the extractor's name; default "mnist_classifier_v1" for the shipped
      weights ("_resize" appended for upscale="resize", as features differ),
      and the file name for other weights.
  """
  upscale: str = "pad"
  weights_path: str | None = None
  name: str | None = None

  def load(self) -> MnistClassifier:
    """Builds the CNN and loads the weights.

    Raises:
      extractor.ModelUnavailableError: missing or mismatched weights file.
      ValueError: a bad `upscale`.
    """
    if self.weights_path is None:
      data, where = _read_shipped(WEIGHTS_FILE), f"compare_gan2/evaluation/{WEIGHTS_FILE}"
      info_text, name = _read_shipped(INFO_FILE), NAME
    else:
      where = pathlib.Path(self.weights_path)
      if not where.is_file():
        raise extractor.ModelUnavailableError(f"no such MNIST classifier weights file: {where}")
      data, info_path = where.read_bytes(), where.with_suffix(".json")
      info_text = info_path.read_bytes() if info_path.is_file() else None
      name = where.stem
    if self.upscale == "resize":
      name += "_resize"
    model = build_model()
    load_weights(model, data, str(where))
    info = json.loads(info_text) if info_text else None
    return MnistClassifier(model, self.name or name, self.upscale, info)
