"""The training loop: restore, run `train_step` under any strategy, save, log.

compare_gan ran a TPUEstimator (`runner_lib.py`, `gans/modular_gan.py:512-604`). Here the
host loop calls one `tf.function` that runs `steps_per_loop` steps through
`strategy.run(gan.train_step, ...)` (compare_gan's iterations_per_loop). The
same path serves the default, Mirrored, MultiWorkerMirrored and TPU strategies;
Keras `fit` fails under MultiWorkerMirroredStrategy (docs/design.md §4).

A step is one G update with its disc_iters D updates (compare_gan's
`training_steps` counts G updates too). Checkpoints are `ckpt-<step>` in
model_dir; a restarted run restores the newest readable one (see
compare_gan2.checkpoints for unreadable ones) and, since the input order is a
pure function of (seed, step), continues exactly where it stopped.

After every call of the loop (each steps_per_loop steps, and always before a
save) the logged losses and every weight and optimizer slot are checked for
NaN and Inf: a diverged run stops with `DivergenceError` before it can
overwrite the last good checkpoint (compare_gan had no such check).

`train` takes an `experiment.Experiment` (GAN, dataset, batch, schedule, input
function). The runner builds it from gin at the edge, where the bindings of
`train_lib.train` (gan, dataset, d_optimizer, g_optimizer, global_batch_size,
allow_fresh_start, export_at_end, schedule: `train_lib.Schedule`) and of
`data.train_input` (the data order's seed) become its fields
(configurables.training_experiment).
"""

import contextlib
import os
from collections.abc import Callable
from typing import Any

from absl import logging
import keras
import numpy as np
import tensorflow as tf

from compare_gan2 import checkpoints
from compare_gan2 import distribute
from compare_gan2 import experiment
from compare_gan2 import export
from compare_gan2 import preemption
from compare_gan2 import summaries


# (the GAN being trained, G step, checkpoint path) after each save.
CheckpointCallback = Callable[[keras.Model, int, str], None]


class DivergenceError(ValueError):
  """A loss or a variable became NaN or Inf; the bad state was not saved."""


# Registered as `train_lib.Schedule` (configurables.py), where gin files have always bound it.
Schedule = experiment.Schedule


def run_steps_fn(gan: keras.Model, strategy: tf.distribute.Strategy,
                 jit_compile: bool = False) -> Callable[[Any, tf.Tensor], None]:
  """The host loop: one `tf.function` running `count` steps from `iterator`.

  It is optimized without Grappler's remapper: on the train-step graph the
  remapper fails every time (TF 2.21 logs "E... remapper failed:
  INVALID_ARGUMENT: Mutation::Apply error" and keeps the graph unfused;
  docs/performance.md "Where the time goes now"), so it is switched off for these
  calls only: the same graph, one error line fewer. Sampling and evaluation graphs, where it succeeds,
  keep it.

  Args:
    gan: the GAN whose `train_step` runs on every replica.
    strategy: the run's strategy.
    jit_compile: compile the replica step with XLA, as TPUStrategy always does
      (the iterator stays on the host); lets a CPU check that a step compiles.
  """
  step = tf.function(gan.train_step, jit_compile=True) if jit_compile else gan.train_step

  @tf.function
  def run_steps(iterator, count):
    for _ in tf.range(count):
      strategy.run(step, args=(next(iterator),))

  def run_without_remapper(iterator, count):
    with without_remapper():
      return run_steps(iterator, count)
  return run_without_remapper


@contextlib.contextmanager
def without_remapper():
  """Switches Grappler's remapper off for the tf.function calls made inside.

  TensorFlow reads the option when a function is called, so a function called
  here is optimized (once) without the remapper and other functions keep it.
  """
  before = tf.config.optimizer.get_experimental_options().get("remapping", True)  # on by default
  tf.config.optimizer.set_experimental_options({"remapping": False})
  try:
    yield
  finally:
    tf.config.optimizer.set_experimental_options({"remapping": before})


def _steps_until_boundary(step: int, schedule: Schedule) -> int:
  boundaries = [schedule.steps_per_loop - step % schedule.steps_per_loop,
                schedule.checkpoint_every - step % schedule.checkpoint_every,
                schedule.sample_every - step % schedule.sample_every,
                schedule.total_steps - step]
  return max(1, min(boundaries))


def learning_rates(gan: keras.Model) -> dict[str, float]:
  """The rates the next D and G updates use (a schedule's value at the current step)."""
  return {name: float(np.asarray(optimizer.learning_rate))
          for name, optimizer in (("d", gan.d_optimizer), ("g", gan.g_optimizer))}


def _write_scalars(gan: keras.Model, step: int, rate: float) -> dict[str, float]:
  values = {name: float(tracker.result()) for name, tracker in gan.trackers.items()}
  for name, value in values.items():
    tf.summary.scalar(f"loss/{name}", value, step=step)
  for name, value in learning_rates(gan).items():
    tf.summary.scalar(f"learning_rate/{name}", value, step=step)
  tf.summary.scalar("steps_per_sec", rate, step=step)
  for tracker in gan.trackers.values():
    tracker.reset_state()
  return values


def write_samples(gan: keras.Model, model_dir: str, step: int, seed: int = 0,
                  write: bool = True) -> str:
  """A PNG grid from a fixed z (one row per class when conditional), EMA G if any.

  Every worker of a multi-worker run must call it (reading synchronised
  batch-norm statistics is a collective); only the one with write=True writes.
  """
  rows = min(gan.num_classes, 10) if gan.conditional else 8
  z = gan.z_fn([rows * 8, gan.generator.z_dim], tf.constant([seed, 1234567], tf.int64))
  y = tf.one_hot(np.repeat(np.arange(rows), 8), gan.num_classes) if gan.conditional else None
  images = np.asarray(gan(z, y, training=False))
  grid = summaries.image_grid(images, columns=8)
  path = os.path.join(model_dir, "samples", f"step_{step:07d}.png")
  if write:
    tf.summary.image("samples", grid[None], step=step)
    summaries.write_png(path, grid)
  return path


def write_operative_config(model_dir: str, exp: experiment.Experiment) -> str | None:
  """Writes the config the run actually used (`exp.describe()`) to model_dir/operative_config.gin."""
  if exp.describe is None:
    return None
  path = os.path.join(model_dir, experiment.OPERATIVE_CONFIG)
  with tf.io.gfile.GFile(path, "w") as f:
    f.write(exp.describe())
  return path


def _watched_variables(gan: keras.Model) -> dict[str, keras.Variable]:
  """Every float variable of the checkpoint (G, D and its heads, ...) and both optimizers, by name."""
  named = {f"{prefix}/{key}": variable
           for prefix, part in checkpoints.training_variables(gan).items()
           for key, variable in part.items()}
  for optimizer in (gan.d_optimizer, gan.g_optimizer):
    named.update({variable.path: variable for variable in optimizer.variables})
  return {k: v for k, v in named.items() if tf.as_dtype(v.dtype).is_floating}


def _finite_fn(variables: dict[str, keras.Variable]) -> Callable[[], tf.Tensor]:
  """Whether each variable is all finite, as one vector: one host transfer per loop call."""
  @tf.function
  def finite():
    return tf.stack([tf.reduce_all(tf.math.is_finite(v)) for v in variables.values()])
  return finite


def _check_finite(values: dict[str, float], names: list[str], flags: np.ndarray, step: int,
                  first: int, model_dir: str) -> None:
  """Raises DivergenceError if a logged loss or a variable (flags[i] False) is NaN or Inf."""
  losses = [f"{k} is {'NaN' if np.isnan(v) else ('Inf' if v > 0 else '-Inf')}"
            for k, v in values.items() if not np.isfinite(v)]
  weights = [name for name, ok in zip(names, flags, strict=True) if not ok]
  if not losses and not weights:
    return
  span = f"G steps {first}-{step}" if first < step else f"G step {step}"
  parts = [f"{', '.join(losses)} (logged means over {span})"] if losses else []
  if weights:
    parts.append(f"{weights[0]} holds NaN or Inf" if len(weights) == 1 else
                 f"{len(weights)} variables hold NaN or Inf, the first {weights[0]}")
  kept = checkpoints.list_checkpoints(model_dir)
  kept = f"ckpt-{kept[-1][0]} in {model_dir}" if kept else "no checkpoint"
  raise DivergenceError(
      f"Training diverged at G step {step}: {'; '.join(parts)}. Nothing from these steps was "
      f"saved; the last good checkpoint is {kept}. Rerun to resume from it, e.g. with a lower "
      "learning rate or another loss or penalty bound in gin.")


def _restore_or_start(exp: experiment.Experiment, model_dir: str,
                      strategy: tf.distribute.Strategy) -> tuple[tf.train.CheckpointManager, int]:
  """Checks the batch, builds the GAN and restores it or saves its initial state.

  Returns:
    The checkpoint manager and the G step to start from.
  """
  gan = exp.gan
  distribute.per_replica_batch_size(strategy, exp.global_batch_size, gan.disc_iters + 1)
  experiment.built(exp)
  manager, step = checkpoints.restore_newest(gan, model_dir, exp.schedule.keep_checkpoints,
                                             exp.allow_fresh_start, strategy)
  chief = distribute.is_chief(strategy)
  if step == 0:
    checkpoints.save(manager, 0, model_dir)  # compare_gan saves the initial state too
    # A first record now, so a run stopped before its first step is still
    # described; rewritten after the first call with everything that ran.
    if chief:
      write_operative_config(model_dir, exp)
  if chief:
    checkpoints.mark_training_done(model_dir, done=False)
  return manager, step


def _save_and_sample(gan: keras.Model, manager: tf.train.CheckpointManager, schedule: Schedule,
                     model_dir: str, step: int, chief: bool,
                     on_checkpoint: CheckpointCallback | None) -> None:
  """The saves and sample grids due at `step` (every worker; files from the chief)."""
  if step % schedule.checkpoint_every == 0 or step == schedule.total_steps:
    path = checkpoints.save(manager, step, model_dir)
    if on_checkpoint is not None:
      on_checkpoint(gan, step, path)
  if step % schedule.sample_every == 0 or step == schedule.total_steps:
    write_samples(gan, model_dir, step, write=chief)


def _stop_if_preempted(watcher: preemption.SigtermWatcher, strategy: tf.distribute.Strategy,
                       manager: tf.train.CheckpointManager, schedule: Schedule, model_dir: str,
                       step: int) -> None:
  """Saves ckpt-<step> (unless just saved) and raises Preempted if any worker got SIGTERM."""
  if not watcher.requested(strategy):
    return
  path = os.path.join(model_dir, f"ckpt-{step}")
  if step % schedule.checkpoint_every and step != schedule.total_steps:
    path = checkpoints.save(manager, step, model_dir)
  raise preemption.Preempted(step, path)


def _loop(exp: experiment.Experiment, strategy: tf.distribute.Strategy, iterator,
          manager: tf.train.CheckpointManager, model_dir: str, step: int,
          on_checkpoint: CheckpointCallback | None) -> dict[str, float]:
  """Runs to total_steps in calls of up to steps_per_loop steps; saves and logs.

  Every worker runs all of it, in the same order (anything reading
  synchronised state is a collective); files are written by the chief only.
  Raises preemption.Preempted after saving, when a worker got SIGTERM.
  """
  gan, schedule = exp.gan, exp.schedule
  run_steps = run_steps_fn(gan, strategy)
  watched = _watched_variables(gan)
  finite = _finite_fn(watched)
  # The one progress display: a logged line per loop call (step, rate, ETA, losses),
  # readable on a terminal and in a log file alike (a Keras Progbar writes \r and \b).
  progress = summaries.Progress(step, schedule.total_steps)
  values = {}
  chief = distribute.is_chief(strategy)
  writer = tf.summary.create_file_writer(model_dir) if chief else tf.summary.create_noop_writer()
  # Closed on the way out, also on an error: a traceback that keeps this frame
  # alive must not keep the events file open (a full disk cannot be unmounted).
  with contextlib.closing(writer), writer.as_default(), \
      preemption.SigtermWatcher() as watcher:
    while step < schedule.total_steps:
      count = _steps_until_boundary(step, schedule)
      run_steps(iterator, tf.constant(count))
      if not values and chief:  # gin lists only what ran: write the record after a first call
        write_operative_config(model_dir, exp)
      step += count
      line, rate = progress.line(step)
      values = _write_scalars(gan, step, rate)
      logging.info("%s  %s  %s", line, "  ".join(f"{k} {v:.4f}" for k, v in values.items()),
                   "  ".join(f"lr_{k} {v:.4g}" for k, v in learning_rates(gan).items()))
      # Before the save, so a diverged state never replaces the last good checkpoint.
      _check_finite(values, list(watched), np.asarray(finite()), step, step - count + 1,
                    model_dir)
      _save_and_sample(gan, manager, schedule, model_dir, step, chief, on_checkpoint)
      _stop_if_preempted(watcher, strategy, manager, schedule, model_dir, step)
  return values


def export_final(gan: keras.Model, model_dir: str, step: int,
                 strategy: tf.distribute.Strategy) -> str | None:
  """Exports the (EMA) generator to model_dir/export/<step> once.

  compare_gan exported a TF-Hub module per evaluated checkpoint; here the
  final generator is exported when training ends (export.py: compare_gan's
  hub signature), and `compare_gan2_export_generator` exports any other.
  Every worker exports (saving reads synchronised variables, a collective);
  the chief to model_dir, the others to their temporary directory, deleted
  after (TensorFlow's multi-worker SavedModel pattern).
  """
  export_dir = os.path.join(model_dir, "export", str(step))
  # Agreed before anyone exports: all skip alike when an earlier run exported.
  if distribute.any_worker(strategy, tf.io.gfile.exists(export_dir)):
    return None
  if not distribute.is_chief(strategy):
    temp_dir = distribute.worker_temp_dir(model_dir, strategy)
    export.export_generator(gan, os.path.join(temp_dir, "export"), overwrite=True)
    tf.io.gfile.rmtree(temp_dir)
    return None
  export.export_generator(gan, export_dir)
  logging.info("Exported the generator of step %d to %s", step, export_dir)
  return export_dir


def _finish(gan: keras.Model, model_dir: str, step: int, strategy: tf.distribute.Strategy,
            export_at_end: bool) -> None:
  """Exports, writes TRAIN_DONE (chief) and waits until every worker got here."""
  if export_at_end:
    export_final(gan, model_dir, step, strategy)
  if distribute.is_chief(strategy):
    checkpoints.mark_training_done(model_dir)
  distribute.any_worker(strategy, False)  # a last collective: no worker leaves early


def train(exp: experiment.Experiment, model_dir: str,
          strategy: tf.distribute.Strategy | None = None,
          on_checkpoint: CheckpointCallback | None = None) -> dict[str, float]:
  """Trains `exp.gan` on `exp.dataset` until `exp.schedule.total_steps`, resuming if possible.

  Call it inside the `strategy.scope()` that built the experiment's GAN and
  optimizers. Returns the last logged values.

  Args:
    exp: the experiment (`experiment.make`, or from gin:
      `configurables.training_experiment`).
    model_dir: where checkpoints, summaries and samples go.
    strategy: the distribution strategy (default: the current one).
    on_checkpoint: on_checkpoint(gan, step, path) after each save (train_and_eval).

  Raises:
    DivergenceError: a loss or variable became NaN or Inf (not saved).
    checkpoints.UnreadableCheckpointError: nothing readable to resume from.
    checkpoints.CheckpointWriteError: a save failed (disk full, unwritable).
    preemption.Preempted: a worker got SIGTERM; the state was saved first.
  """
  strategy = strategy or tf.distribute.get_strategy()
  manager, step = _restore_or_start(exp, model_dir, strategy)
  iterator = iter(exp.input_fn(exp.dataset, strategy, exp.global_batch_size, start_step=step))
  values = _loop(exp, strategy, iterator, manager, model_dir, step, on_checkpoint)
  _finish(exp.gan, model_dir, exp.schedule.total_steps, strategy, exp.export_at_end)
  return values
