"""The training loop: restore, run `train_step` under any strategy, save, log.

compare_gan ran a TPUEstimator (COMPARE_GAN.md part 2, §3.7-3.8, §5.5). Here the
host loop calls one `tf.function` that runs `steps_per_loop` steps through
`strategy.run(gan.train_step, ...)` (compare_gan's iterations_per_loop). The
same path serves the default, Mirrored, MultiWorkerMirrored and TPU strategies;
Keras `fit` fails under MultiWorkerMirroredStrategy (ENVIRONMENT.md §9).

A step is one G update with its disc_iters D updates (compare_gan's
`training_steps` counts G updates too). Checkpoints are `ckpt-<step>` in
model_dir; a restarted run restores the newest and, since the input order is a
pure function of (seed, step), continues exactly where it stopped.

Gin (bind on `train_lib.train`): gan, dataset, d_optimizer, g_optimizer,
global_batch_size, schedule (`train_lib.Schedule`: total_steps,
steps_per_loop, checkpoint_every, keep_checkpoints, sample_every); the data
order on `data.train_input.seed`.
"""

import dataclasses
import os
from collections.abc import Callable

from absl import logging
import gin
import keras
import numpy as np
import tensorflow as tf

from compare_gan2 import checkpoints
from compare_gan2 import distribute
from compare_gan2 import registry
from compare_gan2 import summaries
from compare_gan2.data import pipeline


# (G step, checkpoint path) after each save.
CheckpointCallback = Callable[[int, str], None]


@registry.register(module="compare_gan2.train_lib")
@dataclasses.dataclass(frozen=True)
class Schedule:
  """How long to train and how often to save and log (steps = G updates)."""
  total_steps: int = 1000
  steps_per_loop: int = 50
  checkpoint_every: int = 500
  keep_checkpoints: int = 3
  sample_every: int = 500


def _run_steps_fn(gan: keras.Model, strategy: tf.distribute.Strategy):
  @tf.function
  def run_steps(iterator, count):
    for _ in tf.range(count):
      strategy.run(gan.train_step, args=(next(iterator),))
  return run_steps


def _steps_until_boundary(step: int, schedule: Schedule) -> int:
  boundaries = [schedule.steps_per_loop - step % schedule.steps_per_loop,
                schedule.checkpoint_every - step % schedule.checkpoint_every,
                schedule.sample_every - step % schedule.sample_every,
                schedule.total_steps - step]
  return max(1, min(boundaries))


def _write_scalars(gan: keras.Model, step: int, rate: float) -> dict[str, float]:
  values = {name: float(tracker.result()) for name, tracker in gan.trackers.items()}
  for name, value in values.items():
    tf.summary.scalar(f"loss/{name}", value, step=step)
  for name, optimizer in (("d", gan.d_optimizer), ("g", gan.g_optimizer)):
    tf.summary.scalar(f"learning_rate/{name}", float(np.asarray(optimizer.learning_rate)), step=step)
  tf.summary.scalar("steps_per_sec", rate, step=step)
  for tracker in gan.trackers.values():
    tracker.reset_state()
  return values


def write_samples(gan: keras.Model, model_dir: str, step: int, seed: int = 0) -> str:
  """A PNG grid from a fixed z (one row per class when conditional), EMA G if any."""
  rows = min(gan.num_classes, 10) if gan.conditional else 8
  z = gan.z_fn([rows * 8, gan.generator.z_dim], tf.constant([seed, 1234567], tf.int64))
  y = tf.one_hot(np.repeat(np.arange(rows), 8), gan.num_classes) if gan.conditional else None
  images = np.asarray(gan(z, y, training=False))
  grid = summaries.image_grid(images, columns=8)
  tf.summary.image("samples", grid[None], step=step)
  path = os.path.join(model_dir, "samples", f"step_{step:07d}.png")
  summaries.write_png(path, grid)
  return path


def write_operative_config(model_dir: str) -> str:
  """Writes the gin settings the run actually used to model_dir/operative_config.gin."""
  path = os.path.join(model_dir, "operative_config.gin")
  with tf.io.gfile.GFile(path, "w") as f:
    f.write(gin.operative_config_str())
  return path


def _restore_or_start(gan: keras.Model, model_dir: str,
                      schedule: Schedule) -> tuple[tf.train.CheckpointManager, int]:
  manager = checkpoints.make_manager(gan, model_dir, schedule.keep_checkpoints)
  step = checkpoints.restore_latest(manager)
  if step == 0:
    manager.save(checkpoint_number=0)  # compare_gan saves the initial state too
  return manager, step


def _loop(gan: keras.Model, strategy: tf.distribute.Strategy, iterator,
          manager: tf.train.CheckpointManager, schedule: Schedule, model_dir: str,
          step: int, on_checkpoint: CheckpointCallback | None) -> dict[str, float]:
  """Runs to total_steps in calls of up to steps_per_loop steps; saves and logs."""
  run_steps = _run_steps_fn(gan, strategy)
  progress = summaries.Progress(step, schedule.total_steps)
  # A console bar with ETA; the logged line below is for non-interactive logs.
  bar = keras.utils.Progbar(schedule.total_steps, stateful_metrics=list(gan.trackers))
  bar.update(step)
  values = {}
  with tf.summary.create_file_writer(model_dir).as_default():
    while step < schedule.total_steps:
      count = _steps_until_boundary(step, schedule)
      run_steps(iterator, tf.constant(count))
      if not values:  # gin lists only what ran: write the record after a first call
        write_operative_config(model_dir)
      step += count
      line, rate = progress.line(step)
      values = _write_scalars(gan, step, rate)
      logging.info("%s  %s", line, "  ".join(f"{k} {v:.4f}" for k, v in values.items()))
      bar.update(step, list(values.items()))
      if step % schedule.checkpoint_every == 0 or step == schedule.total_steps:
        path = manager.save(checkpoint_number=step)
        if on_checkpoint is not None:
          on_checkpoint(step, path)
      if step % schedule.sample_every == 0 or step == schedule.total_steps:
        write_samples(gan, model_dir, step)
  return values


@registry.register(module="compare_gan2.train_lib",
                   denylist=("model_dir", "strategy", "on_checkpoint"))
def train(model_dir: str, strategy: tf.distribute.Strategy | None = None, gan=gin.REQUIRED,
          dataset=gin.REQUIRED, d_optimizer=gin.REQUIRED, g_optimizer=gin.REQUIRED,
          global_batch_size: int = 64, schedule: Schedule = Schedule(),
          on_checkpoint: CheckpointCallback | None = None) -> dict[str, float]:
  """Trains `gan` on `dataset` until `schedule.total_steps`, resuming if possible.

  Call it inside `strategy.scope()` so gin builds the GAN and optimizers there.
  The input pipeline is `data.train_input`, reached through gin so its bindings
  (`data.train_input.seed`, `.shuffle_window`) apply.

  Args:
    model_dir: where checkpoints, summaries and samples go.
    strategy: the distribution strategy (default: the current one).
    gan: a ModularGAN (or variant), not yet compiled.
    dataset: a compare_gan2.data dataset.
    d_optimizer: the discriminator's optimizer.
    g_optimizer: the generator's optimizer.
    global_batch_size: real examples per step over all replicas; each replica
      splits its share into disc_iters + 1 sub-batches.
    schedule: steps and save/log frequencies.
    on_checkpoint: called as on_checkpoint(step, path) after each save of the
      loop (train_and_eval evaluates there, on the live GAN).

  Returns:
    The last logged values.
  """
  strategy = strategy or tf.distribute.get_strategy()
  distribute.per_replica_batch_size(strategy, global_batch_size, gan.disc_iters + 1)
  gan.compile(d_optimizer=d_optimizer, g_optimizer=g_optimizer)
  gan.build_networks()
  manager, step = _restore_or_start(gan, model_dir, schedule)
  checkpoints.mark_training_done(model_dir, done=False)
  train_input = gin.get_configurable(pipeline.train_input)
  iterator = iter(train_input(dataset, strategy, global_batch_size, start_step=step))
  values = _loop(gan, strategy, iterator, manager, schedule, model_dir, step, on_checkpoint)
  checkpoints.mark_training_done(model_dir)
  return values
