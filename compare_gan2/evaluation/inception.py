"""The Inception network of compare_gan's FID and IS, loaded offline or from TF-Hub.

FID (Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule
Converge to a Local Nash Equilibrium", eq. 6) compares Gaussians fitted to
Inception `pool_3` activations; the Inception Score (Salimans et al. 2016,
"Improved Techniques for Training GANs", §4) reads its logits. compare_gan
used the frozen 2015-12-05 graph `inceptionv1_for_inception_score.pb` of
`frozen_inception_v1_2015_12_05.tar.gz` (`eval_utils.py:41-49`); TF-GAN's
TF-Hub module `tensorflow/tfgan/eval/inception/1` holds the same weights.

Preprocessing is compare_gan's exactly (`eval_utils.py:144-175`,
docs/design.md §8): x * 255 without rounding, gray tiled to RGB, TF1 bilinear resize to
299x299 (align_corners=False, half_pixel_centers=False; TF2's tf.image.resize
differs by up to 158 levels), then (x - 128) / 128. Modern TF-GAN no longer
does this for float input, and its `classifier_fn_from_tfhub` fails under
Keras 3 (docs/design.md §8), so the network is called directly.

Gin: `evaluation.InceptionConfig.handle` is one of
- a TF-Hub handle / URL (resolved by tensorflow_hub, which honours
  TFHUB_CACHE_DIR), e.g. the default TF-GAN module;
- a SavedModel directory whose call maps [N, 299, 299, 3] in [-1, 1] to a
  dict with "pool_3" and "logits";
- a .tar.gz of such a SavedModel (extracted once into `cache_dir`);
- a frozen GraphDef: a .pb file or compare_gan's tarball, run with input
  "Mul:0" and outputs "pool_3:0", "logits:0" (`eval_utils.py:165-206`).

    evaluation.InceptionConfig.handle = "/data/frozen_inception_v1_2015_12_05.tar.gz"
"""

import dataclasses
import hashlib
import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Mapping
from typing import Any

import tensorflow as tf
from google.protobuf import message as protobuf_message

from compare_gan2 import registry
from compare_gan2.evaluation import extractor

DEFAULT_HANDLE = "https://tfhub.dev/tensorflow/tfgan/eval/inception/1"
CLASSIC_TARBALL_URL = "http://download.tensorflow.org/models/frozen_inception_v1_2015_12_05.tar.gz"
CLASSIC_GRAPH_FILE = "inceptionv1_for_inception_score.pb"
INPUT_TENSOR = "Mul:0"
OUTPUT_TENSORS = ("pool_3:0", "logits:0")
IMAGE_SIZE = 299
NAME = "inception_2015_12_05"
COMPARABLE_NOTE = "comparable with compare_gan / TTUR / mimicry Inception FID"
_TARBALL_SUFFIXES = (".tar.gz", ".tgz", ".tar")
# (images [N, 299, 299, 3] in [-1, 1]) -> (pool_3, logits), unflattened.
Network = Callable[[tf.Tensor], tuple[tf.Tensor, tf.Tensor]]


def preprocess(images: tf.Tensor) -> tf.Tensor:
  """[B, H, W, 1 or 3] in [0, 1] -> Inception input [B, 299, 299, 3] in [-1, 0.9921875].

  compare_gan: x * 255 and tile (`eval_utils.py:158-160`), then TF-GAN's
  `preprocess_image` (tensorflow/gan@466a397 `classifier_metrics.py:109-140`).
  """
  images = tf.convert_to_tensor(images, tf.float32)
  if images.shape[-1] == 1:
    images = tf.tile(images, [1, 1, 1, 3])
  images = images * 255.0
  images = tf.compat.v1.image.resize(images, [IMAGE_SIZE, IMAGE_SIZE],
                                     method=tf.compat.v1.image.ResizeMethod.BILINEAR)
  return (images - 128.0) / 128.0


def _flatten(tensor: tf.Tensor) -> tf.Tensor:
  """[B, ...] -> [B, prod(...)], keeping the width static (TF-GAN `run_inception`)."""
  width = tensor.shape[1:].num_elements()
  return tf.reshape(tensor, [-1, width if width is not None else -1])


class InceptionExtractor:
  """Inception pool_3 features (2048) and logits (1008) of images in [0, 1].

  Built by `InceptionConfig.load()`; a `extractor.FeatureExtractor`.
  """
  comparable_note = COMPARABLE_NOTE

  def __init__(self, network: Network, name: str, source: str, keep_alive: Any = None):
    self._network = network
    self._keep_alive = keep_alive  # Restored variables die with their object.
    self.name = name
    self.source = source
    try:  # A wrong network fails here, at load time, not deep in an evaluation.
      probe_features, probe_logits = self._network(tf.zeros([2, IMAGE_SIZE, IMAGE_SIZE, 3]))
    except (ValueError, TypeError, tf.errors.OpError) as e:
      raise extractor.ModelUnavailableError(
          f"{source}: calling it on images [2, 299, 299, 3] failed: {type(e).__name__}: {e}") from e
    probe_features, probe_logits = _flatten(probe_features), _flatten(probe_logits)
    if probe_features.shape[0] != 2 or probe_logits.shape[0] != 2:
      raise extractor.ModelUnavailableError(
          f"{source}: the network maps a batch of 2 to {probe_features.shape[0]} features "
          "(a graph with a fixed batch size?); it needs a free batch dimension.")
    self.feature_dim = int(probe_features.shape[1])
    self.num_logits = int(probe_logits.shape[1])

  def __call__(self, images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """float32 [B, H, W, 1 or 3] in [0, 1] -> (pool_3 [B, 2048], logits [B, 1008])."""
    pool_3, logits = self._network(preprocess(extractor.check_images(images, self.name)))
    return _flatten(pool_3), _flatten(logits)


@registry.register(module="compare_gan2.evaluation")
@dataclasses.dataclass(frozen=True)
class InceptionConfig:
  """Where the Inception network comes from; `load()` builds the extractor.

  Attributes:
    handle: TF-Hub handle/URL, SavedModel directory, SavedModel or GraphDef
      tarball, or .pb GraphDef (see the module docstring).
    cache_dir: where tarballs are extracted; default $TFHUB_CACHE_DIR, else
      <tmp>/compare_gan2_models.
    name: the extractor's name (real-statistics cache key); change it only
      when `handle` holds weights other than the 2015-12-05 Inception.
  """
  handle: str = DEFAULT_HANDLE
  cache_dir: str | None = None
  name: str = NAME

  def load(self) -> InceptionExtractor:
    """Resolves, loads and probes the network.

    Raises:
      extractor.ModelUnavailableError: when the handle cannot be resolved or
        does not hold an Inception network; the message says how to provide it.
    """
    try:
      path = resolve(self.handle, self.cache_dir)
      network, keep_alive = _load_network(path)
      return InceptionExtractor(network, self.name, self.handle, keep_alive)
    except extractor.ModelUnavailableError as e:
      raise extractor.ModelUnavailableError(_how_to_provide(self.handle, str(e))) from e


def _how_to_provide(handle: str, problem: str) -> str:
  hub_dir = hashlib.sha1(handle.encode("utf8")).hexdigest()
  return (
      f"Cannot load the Inception network from {handle!r}: {problem}\n"
      "Provide it in one of these ways (no internet needed at run time):\n"
      f"  - download {CLASSIC_TARBALL_URL} (or the TF-Hub module {DEFAULT_HANDLE}) "
      "elsewhere, copy it here and bind\n"
      '      evaluation.InceptionConfig.handle = "/path/to/frozen_inception_v1_2015_12_05.tar.gz"\n'
      "    (a .tar.gz, a .pb GraphDef or an extracted SavedModel directory all work);\n"
      f"  - or set TFHUB_CACHE_DIR=<dir> and put the extracted module of this handle in "
      f"<dir>/{hub_dir}/.")


def default_cache_dir() -> str:
  """$TFHUB_CACHE_DIR, else <tmp>/compare_gan2_models."""
  return os.environ.get("TFHUB_CACHE_DIR") or os.path.join(tempfile.gettempdir(),
                                                          "compare_gan2_models")


def resolve(handle: str, cache_dir: str | None = None) -> str:
  """A local SavedModel directory or .pb file for `handle`.

  URLs go through tensorflow_hub (its cache, TFHUB_CACHE_DIR); tarballs are
  extracted once into `cache_dir`.

  Raises:
    extractor.ModelUnavailableError: nothing usable at `handle`.
  """
  if "://" in handle and not handle.startswith("file://"):
    return _hub_resolve(handle)
  path = handle.removeprefix("file://")
  if os.path.isdir(path):
    return path
  if not os.path.isfile(path):
    raise extractor.ModelUnavailableError(f"no such file or directory: {path}")
  if os.path.basename(path) == "saved_model.pb":
    return os.path.dirname(path)
  if path.endswith(".pb"):
    return path
  if path.endswith(_TARBALL_SUFFIXES):
    return extract_tarball(path, cache_dir or default_cache_dir())
  raise extractor.ModelUnavailableError(
      f"{path} is neither a directory, a .pb file nor a tarball ({', '.join(_TARBALL_SUFFIXES)}).")


def _hub_resolve(handle: str) -> str:
  """tensorflow_hub's download-and-cache; imported only here, as it is slow to import."""
  try:
    import tensorflow_hub as hub  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise extractor.ModelUnavailableError(
        f"resolving a URL needs tensorflow-hub (pip install tensorflow-hub==0.16.1): {e}") from e
  try:
    return hub.resolve(handle)
  except (OSError, ValueError, tf.errors.OpError) as e:
    raise extractor.ModelUnavailableError(
        f"tensorflow_hub could not fetch it ({type(e).__name__}: {e}).") from e


def extract_tarball(path: str, cache_dir: str) -> str:
  """Extracts `path` once into `cache_dir`; returns the extracted directory.

  The directory is keyed by the tarball's path, size and modification time,
  filled in a temporary sibling and renamed into place, so concurrent
  evaluators and interrupted runs never see a half-extracted model.

  Raises:
    extractor.ModelUnavailableError: an unreadable or corrupt tarball.
  """
  stat = os.stat(path)
  key = hashlib.sha1(f"{os.path.realpath(path)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
  stem = os.path.basename(path)
  for suffix in _TARBALL_SUFFIXES:
    stem = stem.removesuffix(suffix)
  target = os.path.join(cache_dir, f"{stem}-{key.hexdigest()[:16]}")
  if os.path.isdir(target):
    return target
  os.makedirs(cache_dir, exist_ok=True)
  temporary = tempfile.mkdtemp(prefix=f".{stem}-extracting-", dir=cache_dir)
  try:
    with tarfile.open(path) as tar:
      tar.extractall(temporary, filter="data")
    os.rename(temporary, target)
  except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
    if not os.path.isdir(target):  # Else another process won the race.
      raise extractor.ModelUnavailableError(
          f"cannot extract the tarball {path}: {type(e).__name__}: {e}") from e
  finally:
    shutil.rmtree(temporary, ignore_errors=True)
  return target


def _find_model(directory: str) -> tuple[str, str]:
  """("saved_model" | "graph_def", path) of the model inside a resolved directory."""
  saved_models, graphs = [], []
  for root, _, files in sorted(tf.io.gfile.walk(directory)):  # gfile: gs:// too.
    if "saved_model.pb" in files:
      saved_models.append(root)
    graphs += [os.path.join(root, f) for f in sorted(files)
               if f.endswith(".pb") and f != "saved_model.pb"]
  if saved_models:
    return "saved_model", min(saved_models, key=len)
  classic = [g for g in graphs if os.path.basename(g) == CLASSIC_GRAPH_FILE]
  if classic or len(graphs) == 1:
    return "graph_def", (classic or graphs)[0]
  raise extractor.ModelUnavailableError(
      f"{directory} holds no saved_model.pb and no single GraphDef .pb "
      f"(found {[os.path.relpath(g, directory) for g in graphs]}).")


def _load_network(path: str) -> tuple[Network, Any]:
  """(network, object to keep alive) from a resolved directory or .pb file."""
  kind, path = ("graph_def", path) if path.endswith(".pb") else _find_model(path)
  if kind == "graph_def":
    return _graph_def_network(path)
  return _saved_model_network(path)


def _saved_model_network(path: str) -> tuple[Network, Any]:
  """A TF2 SavedModel called as TF-GAN's `classifier_fn_from_tfhub` does."""
  try:
    loaded = tf.saved_model.load(path)
  except (OSError, ValueError, tf.errors.OpError, protobuf_message.DecodeError) as e:
    raise extractor.ModelUnavailableError(
        f"cannot load the SavedModel {path}: {type(e).__name__}: {e}") from e
  function = loaded if callable(loaded) else _only_signature(loaded, path)

  def network(images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """(pool_3, logits) of the module's output dict, checked."""
    outputs = function(images)
    if not isinstance(outputs, Mapping) or not {"pool_3", "logits"} <= set(outputs):
      got = sorted(outputs) if isinstance(outputs, Mapping) else type(outputs).__name__
      raise extractor.ModelUnavailableError(
          f"the SavedModel {path} returns {got}, not a dict with 'pool_3' and 'logits'.")
    return outputs["pool_3"], outputs["logits"]

  return network, loaded


def _only_signature(loaded: Any, path: str) -> Callable[[tf.Tensor], Any]:
  """The "default" (or only) signature, fed by its single input's keyword."""
  signatures = dict(getattr(loaded, "signatures", {}))
  signature = signatures.get("default") or (
      next(iter(signatures.values())) if len(signatures) == 1 else None)
  inputs = signature.structured_input_signature[1] if signature is not None else {}
  if len(inputs) != 1:
    raise extractor.ModelUnavailableError(
        f"the SavedModel {path} is not callable and has no single-input signature "
        f"(signatures: {sorted(signatures)}).")
  (keyword,) = inputs
  return lambda images: signature(**{keyword: images})


def _graph_def_network(path: str) -> tuple[Network, Any]:
  """compare_gan's frozen graph, fed at "Mul:0" (TF-GAN `run_image_classifier`)."""
  try:
    with tf.io.gfile.GFile(path, "rb") as f:
      graph_def = tf.compat.v1.GraphDef.FromString(f.read())
  except (OSError, tf.errors.OpError, protobuf_message.DecodeError) as e:
    raise extractor.ModelUnavailableError(
        f"cannot read the GraphDef {path}: {type(e).__name__}: {e}") from e

  def imported(images: tf.Tensor) -> list[tf.Tensor]:
    """The frozen graph, imported into the wrapping function's graph, fed `images`."""
    return tf.graph_util.import_graph_def(
        graph_def, input_map={INPUT_TENSOR: images}, return_elements=list(OUTPUT_TENSORS),
        name="inception")

  spec = tf.TensorSpec([None, IMAGE_SIZE, IMAGE_SIZE, 3], tf.float32)
  try:
    function = tf.compat.v1.wrap_function(imported, [spec])
  except (ValueError, KeyError, tf.errors.OpError) as e:
    raise extractor.ModelUnavailableError(
        f"{path} is not an Inception GraphDef with {INPUT_TENSOR} and "
        f"{', '.join(OUTPUT_TENSORS)}: {e}") from e
  return (lambda images: tuple(function(images))), function

