"""One experiment as a value: what train, evaluate, export and the tools run.

The runner and the tools build an `Experiment` from their gin config at the
edge (`configurables.training_experiment()` for training, with every
`train_lib.train.*` binding applied; `configurables.build_experiment()` for
evaluation, sampling and export, from the same bindings without training) and
hand it down. Nothing below reads gin: a test or a script builds one with
`make(...)` from Python objects alone.
"""

import dataclasses
import os
from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf

from compare_gan2 import checkpoints
from compare_gan2.data import pipeline

OPERATIVE_CONFIG = "operative_config.gin"


@dataclasses.dataclass(frozen=True)
class Schedule:
  """How long to train and how often to save and log (steps = G updates)."""
  total_steps: int = 1000
  steps_per_loop: int = 50
  checkpoint_every: int = 500
  keep_checkpoints: int = 3
  sample_every: int = 500


@dataclasses.dataclass(frozen=True, eq=False)
class Experiment:
  """A GAN, its data and how to train and evaluate it.

  Attributes:
    gan: the GAN, compiled with its D and G optimizers (not yet built: training
      checks the batch first; `built()` builds it for restoring a checkpoint).
    dataset: a compare_gan2.data dataset (None when only the GAN is needed).
    global_batch_size: real examples per step over all replicas.
    schedule: steps and save/sample cadence.
    input_fn: input_fn(dataset, strategy, global_batch_size, start_step=) -> a
      distributed dataset (`data.train_input` with its bindings applied).
    allow_fresh_start: start over if no checkpoint is readable.
    export_at_end: export the final generator when training ends.
    evaluator: what evaluation computes (`evaluation.Evaluator`), if evaluated.
    eval_schedule: which checkpoints evaluation scores (`evaluation.EvalSchedule`).
    precision: the Keras dtype policy the networks were built under.
    describe: the text of the config the run used, written to
      model_dir/operative_config.gin after the first loop call (None: not written).
  """
  gan: keras.Model
  dataset: Any = None
  global_batch_size: int = 64
  schedule: Schedule = Schedule()
  input_fn: Callable[..., Any] = pipeline.train_input
  allow_fresh_start: bool = False
  export_at_end: bool = True
  evaluator: Any = None
  eval_schedule: Any = None
  precision: str = "float32"
  describe: Callable[[], str] | None = None


def make(gan: keras.Model, dataset: Any, d_optimizer: keras.optimizers.Optimizer,
         g_optimizer: keras.optimizers.Optimizer, **fields: Any) -> Experiment:
  """Compiles `gan` with its optimizers and wraps it with the other fields.

  Call it in the strategy scope that created `gan` (the optimizers' variables
  are made there). `fields` are the other `Experiment` attributes.
  """
  gan.compile(d_optimizer=d_optimizer, g_optimizer=g_optimizer)
  fields.setdefault("precision", keras.mixed_precision.dtype_policy().name)
  return Experiment(gan=gan, dataset=dataset, **fields)


def built(exp: Experiment) -> Experiment:
  """`exp` with its GAN (networks, heads, EMA twin, optimizer slots) built.

  A training checkpoint holds the optimizers' slots, so every value of one
  restores into the built GAN exactly. Call it in the strategy scope; a built
  GAN is left as it is.
  """
  if not exp.gan.built:
    exp.gan.build_networks()
  return exp


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
