"""An experiment as its gin config describes it, rebuilt for evaluation or sampling.

Training reads its parts from the bindings of `train_lib.train` (gan, dataset,
optimizers). Evaluation, sampling and export need the same objects without
training: `build()` makes them from the current gin config (parse the run's
own files, or `model_dir/operative_config.gin`, first), compiled and built so
that a training checkpoint restores into them exactly.
"""

import dataclasses
import os
from typing import Any

import gin
import keras
import tensorflow as tf

from compare_gan2 import checkpoints

OPERATIVE_CONFIG = "operative_config.gin"


@dataclasses.dataclass(frozen=True, eq=False)
class Experiment:
  """Attributes:
    gan: the GAN of `train_lib.train.gan`, compiled with its optimizers and built.
    dataset: the compare_gan2.data dataset of `train_lib.train.dataset`.
  """
  gan: keras.Model
  dataset: Any


def configured(parameter: str) -> Any:
  """The value gin binds to `parameter`, with `@name()` references called.

  Raises:
    ValueError: if the config does not bind `parameter`.
  """
  try:
    value = gin.query_parameter(parameter)
  except ValueError as e:
    raise ValueError(f"The gin config does not bind {parameter}, which evaluation and sampling "
                     "read to rebuild the experiment (parse the run's gin files or its "
                     f"{OPERATIVE_CONFIG} first).") from e
  if isinstance(value, gin.config.ConfigurableReference):
    return value.scoped_configurable_fn() if value.evaluate else value.scoped_configurable_fn
  return value


def build(with_dataset: bool = True) -> Experiment:
  """Builds the configured GAN (and dataset); call it in the strategy scope.

  The optimizers are built too, so a training checkpoint (which holds their
  slots) restores with every value matched.
  """
  gan = configured("train_lib.train.gan")
  gan.compile(d_optimizer=configured("train_lib.train.d_optimizer"),
              g_optimizer=configured("train_lib.train.g_optimizer"))
  gan.build_networks()
  dataset = configured("train_lib.train.dataset") if with_dataset else None
  return Experiment(gan=gan, dataset=dataset)


def operative_config_path(model_dir: str) -> str:
  """model_dir/operative_config.gin, or a ValueError naming what is missing."""
  path = os.path.join(model_dir, OPERATIVE_CONFIG)
  if not tf.io.gfile.exists(path):
    raise ValueError(f"{path} does not exist: {model_dir} is not a compare_gan2 training "
                     "directory (or training never ran a step); pass the run's gin files instead.")
  return path


def restore(gan: keras.Model, checkpoint_path: str) -> int:
  """Restores a training checkpoint into a built GAN; returns its G step.

  Raises:
    ValueError: if the checkpoint is missing or does not match the GAN.
  """
  if not tf.io.gfile.exists(checkpoint_path + ".index"):
    raise ValueError(f"No checkpoint at {checkpoint_path} (no {checkpoint_path}.index).")
  checkpoint = checkpoints.make_checkpoint(gan)
  try:
    checkpoint.restore(checkpoint_path).assert_existing_objects_matched()
  except AssertionError as e:
    raise ValueError(f"{checkpoint_path} does not match the configured GAN: {e}") from e
  return int(gan.g_optimizer.iterations.numpy())
