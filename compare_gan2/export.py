"""Generator export as a TF2 SavedModel, and one sampling interface for live and exported G.

compare_gan exported every evaluated checkpoint as a TF-Hub module whose "gen"
signature takes `z` float32 [B, z_dim] (plus `labels` int32 [B], one-hot inside,
for conditional models) and returns `generated`, images in [0, 1], from the
EMA weights when `g_use_ema` and with `is_training=False`
(`gans/modular_gan.py:225-306`); its colabs load
that module and sample from it (`colabs/s3gan_demo.ipynb`). `export_generator` writes the same
signature as a TF2 SavedModel ("serving_default" and "generate"), loadable with
`tf.saved_model.load` or `tensorflow_hub.load`, plus:

- `sample_z(batch_size, seed)`: the run's own stateless z distribution;
- `generate_onehot(z, y)`: the same generator fed float one-hot rows, so
  class vectors can be mixed (interpolating the class embedding);
- metadata variables `z_dim`, `num_classes` (0 when unconditional),
  `image_shape` [H, W, C] and `ema_weights`.

`live_generator(gan)` and `load_generator(export_dir)` give the same small
`SamplingGenerator` interface, so sampling code is written once
(compare_gan2.sampling).
"""

import os
import uuid
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from compare_gan2 import checkpoints
from compare_gan2 import experiment

SIGNATURES = ("serving_default", "generate")


def _network(gan: keras.Model, use_ema: bool) -> keras.Model:
  # The EMA twin is what compare_gan exported when g_use_ema (modular_gan.py:264-285).
  return gan.ema.generator if use_ema and gan.ema is not None else gan.generator


class SamplingGenerator:
  """What sampling needs of a generator, live or exported.

  Attributes:
    z_dim: width of z.
    num_classes: number of classes of a conditional generator, 0 otherwise.
    image_shape: (H, W, C) of the images.
  """

  def __init__(self, z_dim: int, num_classes: int, image_shape: Sequence[int]):
    self.z_dim, self.num_classes = int(z_dim), int(num_classes)
    self.image_shape = tuple(int(d) for d in image_shape)

  @property
  def conditional(self) -> bool:
    """Whether `generate` needs labels."""
    return self.num_classes > 0

  def sample_z(self, n: int, seed: Sequence[int]) -> np.ndarray:
    """z [n, z_dim] float32 from the run's stateless z distribution and a seed pair."""
    seed = np.asarray(seed)
    if seed.shape != (2,) or not np.issubdtype(seed.dtype, np.integer):
      raise ValueError(f"seed must be two integers (a stateless seed pair), got {seed!r}.")
    if int(n) < 1:
      raise ValueError(f"sample_z needs n >= 1, got {n}.")
    return np.asarray(self._sample_z(int(n), tf.constant(seed, tf.int64)), np.float32)

  def generate(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """Images [n, H, W, C] float32 in [0, 1], inference mode.

    Args:
      z: [n, z_dim] latents.
      labels: for conditional generators, int class ids [n] or float rows
        [n, num_classes] (one-hot or a mix of one-hots); None otherwise.
    """
    z = np.asarray(z, np.float32)
    if z.ndim != 2 or z.shape[1] != self.z_dim:
      raise ValueError(f"z must have shape [n, {self.z_dim}], got {z.shape}.")
    if not self.conditional:
      if labels is not None:
        raise ValueError("labels were given to an unconditional generator.")
      return np.asarray(self._generate(z, None), np.float32)
    return np.asarray(self._generate(z, self._one_hot(labels, len(z))), np.float32)

  def _one_hot(self, labels: np.ndarray | None, n: int) -> np.ndarray:
    if labels is None:
      raise ValueError(f"This generator is conditional ({self.num_classes} classes): "
                       "pass labels.")
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape == (n, self.num_classes):
      return labels.astype(np.float32)
    if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
      raise ValueError(f"labels must be {n} integer class ids or a float array "
                       f"[{n}, {self.num_classes}], got shape {labels.shape} ({labels.dtype}).")
    if labels.min() < 0 or labels.max() >= self.num_classes:
      raise ValueError(f"labels must lie in [0, {self.num_classes}), got {labels.min()} .. "
                       f"{labels.max()}.")
    return np.eye(self.num_classes, dtype=np.float32)[labels]

  def _sample_z(self, n: int, seed: tf.Tensor) -> tf.Tensor:
    raise NotImplementedError  # Abstract: the live GAN or the export draws z.

  def _generate(self, z: np.ndarray, y: np.ndarray | None) -> tf.Tensor:
    raise NotImplementedError  # Abstract: the live GAN or the export generates.


class LiveGenerator(SamplingGenerator):
  """A ModularGAN in memory behind the `SamplingGenerator` interface."""

  def __init__(self, gan: keras.Model, use_ema: bool = True):
    self.network, self.z_fn = _network(gan, use_ema), gan.z_fn
    super().__init__(gan.generator.z_dim, gan.num_classes if gan.conditional else 0,
                     gan.generator.image_shape)

  def _sample_z(self, n: int, seed: tf.Tensor) -> tf.Tensor:
    return self.z_fn([n, self.z_dim], seed)

  def _generate(self, z: np.ndarray, y: np.ndarray | None) -> tf.Tensor:
    return self.network(tf.constant(z), None if y is None else tf.constant(y), training=False)


class LoadedGenerator(SamplingGenerator):
  """An export of `export_generator` behind the `SamplingGenerator` interface.

  Attributes:
    module: the object `tf.saved_model.load` returned.
    ema_weights: whether the export holds EMA weights.
  """

  def __init__(self, module: tf.Module):
    self.module = module
    self.ema_weights = bool(module.ema_weights.numpy())
    super().__init__(module.z_dim.numpy(), module.num_classes.numpy(), module.image_shape.numpy())

  def _sample_z(self, n: int, seed: tf.Tensor) -> tf.Tensor:
    return self.module.sample_z(tf.constant(n, tf.int32), seed)

  def _generate(self, z: np.ndarray, y: np.ndarray | None) -> tf.Tensor:
    if y is None:
      return self.module.generate(tf.constant(z))["generated"]
    return self.module.generate_onehot(tf.constant(z), tf.constant(y))["generated"]


def live_generator(gan: keras.Model, use_ema: bool = True) -> LiveGenerator:
  """A built ModularGAN as a `SamplingGenerator` (EMA weights when it has them and use_ema)."""
  return LiveGenerator(gan, use_ema)


def _export_module(gan: keras.Model, use_ema: bool) -> tuple[tf.Module, dict]:
  """The module to save and its signatures (compare_gan's "gen")."""
  network, z_fn = _network(gan, use_ema), gan.z_fn
  z_dim = gan.generator.z_dim
  classes = gan.num_classes if gan.conditional else 0
  z_spec = tf.TensorSpec([None, z_dim], tf.float32, name="z")
  module = tf.Module()
  # The variables alone, not the Keras object: its object graph is of no use
  # to a loader and makes saving slower.
  module.generator_variables = [v.value for v in network.variables]
  module.z_dim = tf.Variable(z_dim, trainable=False, dtype=tf.int32, name="z_dim")
  module.num_classes = tf.Variable(classes, trainable=False, dtype=tf.int32, name="num_classes")
  module.image_shape = tf.Variable(gan.generator.image_shape, trainable=False, dtype=tf.int32,
                                   name="image_shape")
  module.ema_weights = tf.Variable(network is not gan.generator, trainable=False,
                                   name="ema_weights")

  def generated(z, y):
    return {"generated": network(z, y, training=False)}

  if classes:
    module.generate = tf.function(
        lambda z, labels: generated(z, tf.one_hot(labels, classes)),
        input_signature=[z_spec, tf.TensorSpec([None], tf.int32, name="labels")])
    module.generate_onehot = tf.function(
        generated, input_signature=[z_spec, tf.TensorSpec([None, classes], tf.float32, name="y")])
  else:
    module.generate = tf.function(lambda z: generated(z, None), input_signature=[z_spec])

  def sample_z(batch_size, seed):
    z = z_fn(tf.stack([batch_size, z_dim]), seed)
    return tf.ensure_shape(tf.cast(z, tf.float32), [None, z_dim])

  module.sample_z = tf.function(sample_z, input_signature=[
      tf.TensorSpec([], tf.int32, name="batch_size"), tf.TensorSpec([2], tf.int64, name="seed")])
  concrete = module.generate.get_concrete_function()
  return module, dict.fromkeys(SIGNATURES, concrete)


def _is_nonempty_dir(path: str) -> bool:
  return tf.io.gfile.isdir(path) and bool(tf.io.gfile.listdir(path))


def check_export_dir(export_dir: str, overwrite: bool = False) -> None:
  """Raises ValueError if export_dir is a file, or a non-empty directory and not overwrite."""
  if tf.io.gfile.exists(export_dir) and not tf.io.gfile.isdir(export_dir):
    raise ValueError(f"export_dir {export_dir} is a file, not a directory.")
  if _is_nonempty_dir(export_dir) and not overwrite:
    raise ValueError(f"export_dir {export_dir} exists and is not empty; pass overwrite=True "
                     "(--overwrite) to replace it.")


def export_generator(gan: keras.Model, export_dir: str, *, use_ema: bool = True,
                     overwrite: bool = False) -> str:
  """Writes the generator of a built GAN as a SavedModel at export_dir.

  The export is written to a hidden sibling directory and renamed into place,
  so a reader sees the previous export or the complete new one (on a local
  file system; for an instant, while the old one is moved aside, neither),
  and a failed export leaves any previous one untouched.

  Args:
    gan: a built ModularGAN (restored from a checkpoint, or live).
    export_dir: the SavedModel directory to create.
    use_ema: export the EMA weights when the GAN keeps them.
    overwrite: replace an existing non-empty export_dir.

  Returns:
    export_dir.

  Raises:
    ValueError: export_dir is a file, or non-empty and overwrite is False.
  """
  export_dir = export_dir.rstrip("/")
  check_export_dir(export_dir, overwrite)
  parent, name = os.path.split(os.path.abspath(export_dir))
  tf.io.gfile.makedirs(parent)
  staging = os.path.join(parent, f".{name}.tmp-{uuid.uuid4().hex}")
  try:
    module, signatures = _export_module(gan, use_ema)
    tf.saved_model.save(module, staging, signatures=signatures)
    _move_into_place(staging, export_dir)
  finally:
    if tf.io.gfile.exists(staging):
      tf.io.gfile.rmtree(staging)
  return export_dir


def _move_into_place(staging: str, export_dir: str) -> None:
  """Renames staging to export_dir, restoring the previous export if that fails."""
  backup = None
  if _is_nonempty_dir(export_dir):
    backup = f"{staging}.previous"
    tf.io.gfile.rename(export_dir, backup)
  elif tf.io.gfile.exists(export_dir):
    tf.io.gfile.rmtree(export_dir)  # empty: nothing to keep
  try:
    tf.io.gfile.rename(staging, export_dir)
  except Exception:
    if backup is not None:
      tf.io.gfile.rename(backup, export_dir)
    raise
  if backup is not None:
    tf.io.gfile.rmtree(backup)


def load_generator(export_dir: str) -> LoadedGenerator:
  """Loads an export of `export_generator` as a `SamplingGenerator`.

  Raises:
    ValueError: export_dir holds no SavedModel, or one without this export's functions.
  """
  if not tf.io.gfile.exists(os.path.join(export_dir, "saved_model.pb")):
    raise ValueError(f"No SavedModel at {export_dir} (no saved_model.pb); write one with "
                     "compare_gan2.export.export_generator or tools/export_generator.py.")
  module = tf.saved_model.load(export_dir)
  missing = [a for a in ("generate", "sample_z", "z_dim", "num_classes", "image_shape",
                         "ema_weights") if not hasattr(module, a)]
  if missing:
    raise ValueError(f"{export_dir} is a SavedModel but not a compare_gan2 generator export "
                     f"(missing {', '.join(missing)}).")
  return LoadedGenerator(module)


def find_checkpoint(model_dir: str, checkpoint: str | int | None = None) -> str:
  """The path of a run's checkpoint: the newest, one of a G step, or a given path.

  Args:
    model_dir: the training directory.
    checkpoint: None for the newest, a G step (int or digits), or a checkpoint path.

  Raises:
    ValueError: no checkpoint matches (the message lists those available).
  """
  listed = checkpoints.list_checkpoints(model_dir)
  available = ", ".join(str(step) for step, _ in listed) or "none"
  if checkpoint is None or checkpoint == "":
    if not listed:
      raise ValueError(f"No checkpoints in {model_dir} (its `checkpoint` index lists none).")
    return listed[-1][1]
  if isinstance(checkpoint, int) or str(checkpoint).isdigit():
    for step, path in listed:
      if step == int(checkpoint):
        return path
    raise ValueError(f"No checkpoint of step {checkpoint} in {model_dir}; available steps: "
                     f"{available}.")
  if not tf.io.gfile.exists(f"{checkpoint}.index"):
    raise ValueError(f"Checkpoint {checkpoint} not found (no {checkpoint}.index); steps in "
                     f"{model_dir}: {available}.")
  return str(checkpoint)


def restore_gan(exp: experiment.Experiment, model_dir: str,
                checkpoint: str | int | None = None) -> tuple[keras.Model, int]:
  """Builds the experiment's GAN and restores a checkpoint of model_dir into it.

  `exp` is the run's experiment (built from `experiment.operative_config_path`
  at the edge: `configurables.build_experiment`).

  Returns:
    (the GAN, its G step).
  """
  path = find_checkpoint(model_dir, checkpoint)
  gan = experiment.built(exp).gan
  return gan, experiment.restore(gan, path)
