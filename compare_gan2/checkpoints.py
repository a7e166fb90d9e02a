"""Checkpoints of a GAN run: G, D, the EMA twin, both optimizers and the step.

compare_gan saved `model.ckpt-<G step>` with every variable (its
`hooks.py:28-46`). Here a `tf.train.Checkpoint` holds the networks and optimizers
(whose `iterations` are the D and G step counters); the input position needs
no state because the data order is a pure function of (seed, step).
`tf.train.CheckpointManager` writes `ckpt-<G step>` files and only then
updates the `checkpoint` index (atomically: a temporary file renamed over the
old one), so a save interrupted half-way is never picked as the latest.

Restarting (`restore_newest`) reads every tensor of the newest listed
checkpoint before restoring it, so a corrupt or truncated one (a crash of the
machine after the index was updated, a damaged disk) is detected without
touching the GAN; it falls back to the previous one, moving the bad files to
model_dir/unreadable/<n>/ (never deleting them, and never letting a later save
overwrite them). compare_gan had none of this: TensorFlow's saver restored the
index's latest or failed.
"""

import os
import re

from absl import logging
import keras
import tensorflow as tf

from compare_gan2 import distribute

# Written when training reaches its last step (compare_gan runner_lib.py:124-126);
# continuous evaluation stops once it sees it and nothing is left to score.
TRAIN_DONE = "TRAIN_DONE"
# CheckpointManager's record of the kept checkpoints, oldest first.
INDEX = "checkpoint"
# Where restore_newest moves checkpoints it cannot read.
UNREADABLE = "unreadable"
# What reading a damaged checkpoint raises: TensorFlow's errors, and IndexError
# ("Read less bytes than requested") from a truncated data file.
_READ_ERRORS = (tf.errors.OpError, IndexError, ValueError, OSError)
_FILE = re.compile(r"^ckpt-(\d+)\.(?:index|data-\d{5}-of-\d{5})$")


class UnreadableCheckpointError(ValueError):
  """model_dir holds checkpoints, none of them readable, and no fresh start was asked for."""


class CheckpointWriteError(ValueError):
  """A checkpoint could not be written (disk full, unwritable model_dir)."""


def network_variables(network: keras.layers.Layer) -> dict[str, keras.Variable]:
  """Every variable of a built network, keyed by its path below the network.

  Keras 3 layers hand no children to `tf.train.Checkpoint` (their sublayers and
  weights sit in Keras' own tracked lists, which TF's checkpointing skips), so
  a checkpoint of the network object itself would hold nothing. Keying by
  path ("B1/bn1/moving_mean") also keeps checkpoints readable and independent
  of the network's own name.

  Raises:
    ValueError: if the network is not built or two variables share a path.
  """
  if not network.variables:
    raise ValueError(f"{network.name} has no variables yet: build it before checkpointing.")
  found = {}
  for variable in network.variables:
    key = variable.path.split("/", 1)[-1]
    if key in found:
      raise ValueError(f"{network.name}: two variables at {key!r}; give its layers distinct names.")
    found[key] = variable
  return found


def _keyed(owner: str, layers: list[keras.layers.Layer], found: dict[str, keras.Variable],
           below: bool = True) -> dict[str, keras.Variable]:
  """`found` plus every variable of `layers`, keyed by its path (below the first scope)."""
  for layer in layers:
    for variable in layer.variables:
      key = variable.path.split("/", 1)[-1] if below else variable.path
      if key in found:
        raise ValueError(f"{owner}: two variables at {key!r}; give its layers distinct names.")
      found[key] = variable
  return found


def training_variables(gan: keras.Model) -> dict[str, dict[str, keras.Variable]]:
  """The variables of G, D (with the GAN's D-side heads), the EMA twin and the
  components' state, by part and key.

  Heads the GAN owns (the self-supervision head, S3GAN's classifier and
  projection) are built in D's name scope and keyed with D's variables
  (`score_classify/kernel`), the layout of checkpoints written when they
  were D's sublayers. Components' other state goes to `components`, keyed by full path.
  """
  parts = {"generator": network_variables(gan.generator),
           "discriminator": _keyed(gan.discriminator.name, gan.discriminator_heads(),
                                   network_variables(gan.discriminator))}
  if gan.ema is not None:
    parts["ema_generator"] = network_variables(gan.ema.generator)
  state = [c for c in gan.components() if c.side != "discriminator" and c.variables]
  if state:
    parts["components"] = _keyed("components", state, {}, below=False)
  return parts


def make_checkpoint(gan: keras.Model) -> tf.train.Checkpoint:
  """A checkpoint over everything that defines the training state of `gan`.

  G, D (with its heads), the EMA twin and the components contribute all their
  variables, trainable or not (batch-norm statistics, spectral-norm u vectors,
  standing accumulators, a regularizer's averages); the optimizers their
  slots, step counters and learning rates.
  """
  return tf.train.Checkpoint(**training_variables(gan), d_optimizer=gan.d_optimizer,
                             g_optimizer=gan.g_optimizer)


def make_manager(gan: keras.Model, model_dir: str, keep: int = 3,
                 strategy: tf.distribute.Strategy | None = None) -> tf.train.CheckpointManager:
  """Saves `ckpt-<G step>` under model_dir, keeping the newest `keep`.

  Under MultiWorkerMirroredStrategy every worker saves (reading synchronised
  variables is a collective all must join), but only the chief writes to
  model_dir: the manager of any other worker writes to its own
  `distribute.worker_temp_dir`, which `save` deletes after each save.
  """
  directory = model_dir
  if strategy is not None and not distribute.is_chief(strategy):
    directory = distribute.worker_temp_dir(model_dir, strategy)
    if tf.io.gfile.exists(directory):  # left by a worker killed mid-save
      tf.io.gfile.rmtree(directory)
  return tf.train.CheckpointManager(make_checkpoint(gan), directory, max_to_keep=keep,
                                    step_counter=gan.g_optimizer.iterations)


def save(manager: tf.train.CheckpointManager, step: int, model_dir: str | None = None) -> str:
  """Writes ckpt-<step> and lists it in the index; returns its path in model_dir.

  Args:
    manager: from `make_manager`.
    step: the G step.
    model_dir: the run's directory, when it is not manager.directory (a
      non-chief worker's manager): the temporary save is deleted and the
      chief's path returned.

  Raises:
    CheckpointWriteError: the directory or the OS error, and the newest
      checkpoint that is still complete (a failed save leaves the earlier
      files and the index as they were).
  """
  try:
    path = manager.save(checkpoint_number=step)
  except (tf.errors.OpError, OSError) as e:
    listed = list_checkpoints(manager.directory)
    kept = f"ckpt-{listed[-1][0]} is the newest complete one" if listed else "none was complete"
    raise CheckpointWriteError(
        f"Could not write checkpoint ckpt-{step} to {manager.directory}: {_first_line(e)}. "
        f"The earlier checkpoints are untouched ({kept}); free space or fix the directory's "
        "permissions, then rerun the same command to resume.") from e
  if model_dir is None or os.path.abspath(model_dir) == os.path.abspath(manager.directory):
    return path
  tf.io.gfile.rmtree(manager.directory)
  return os.path.join(model_dir, os.path.basename(path))


def check_readable(path: str) -> None:
  """Reads every tensor of the checkpoint at `path` (checksums included).

  Raises:
    tf.errors.OpError, IndexError, ValueError or OSError: what TensorFlow's
      reader raises for a missing, truncated or corrupt file.
  """
  reader = tf.train.load_checkpoint(path)
  for name in reader.get_variable_to_shape_map():
    reader.get_tensor(name)


def restore_newest(gan: keras.Model, model_dir: str, keep: int = 3, allow_fresh_start: bool = False,
                   strategy: tf.distribute.Strategy | None = None
                   ) -> tuple[tf.train.CheckpointManager, int]:
  """Restores the newest readable checkpoint of model_dir; returns its manager and G step.

  The GAN must be built (`build_networks`) first, so every saved value has a
  variable to go to and the restore can be checked exactly (docs/design.md §6).
  Unreadable checkpoints newer than the restored one are moved to
  model_dir/unreadable/<n>/ with a warning; the index is rewritten without them.

  Args:
    gan: the built GAN.
    model_dir: the training directory.
    keep: how many checkpoints the manager keeps.
    allow_fresh_start: when checkpoints past step 0 exist but none is
      readable, move them aside and start at step 0 instead of raising.
    strategy: under multi-worker, all must pick one checkpoint; the chief moves bad ones.

  Returns:
    The manager and the restored G step; 0 with no checkpoint, or only unreadable
    step-0 ones (a kill in the first save: moved aside and re-created).

  Raises:
    UnreadableCheckpointError: none readable past step 0, no allow_fresh_start (nothing moved).
    ValueError: the checkpoint does not match the GAN, or the workers disagree.
  """
  listed, index_ok = _candidates(model_dir)
  good, bad = _newest_readable(listed)
  _check_workers_agree(strategy, listed, good)  # before anything is moved
  if good is None and any(step > 0 for step, _, _ in bad) and not allow_fresh_start:
    raise UnreadableCheckpointError(_unreadable_message(model_dir, bad))
  if (bad or not index_ok) and distribute.is_chief(strategy or tf.distribute.get_strategy()):
    _tidy(model_dir, listed, {step for step, _, _ in bad}, index_ok)
  manager = make_manager(gan, model_dir, keep, strategy)
  if good is None:
    return manager, 0
  _restore_keeping_learning_rates(gan, manager.checkpoint, good)
  step = int(gan.g_optimizer.iterations.numpy())
  logging.info("Resuming from %s (G step %d).", good, step)
  return manager, step


def _check_workers_agree(strategy: tf.distribute.Strategy | None,
                         listed: list[tuple[int, str]], good: str | None) -> None:
  """Raises ValueError unless every worker chose the same checkpoint step (a collective)."""
  if strategy is None:
    return
  chosen = -1 if good is None else dict((path, step) for step, path in listed)[good]
  distribute.check_same_on_every_worker(strategy, chosen, "the checkpoint to resume from")


def _restore_keeping_learning_rates(gan: keras.Model, checkpoint: tf.train.Checkpoint,
                                    path: str) -> None:
  """Restores `path`, then puts back the configured (constant) learning rates.

  Keras saves a constant learning rate as an optimizer variable; compare_gan's
  came from gin at every start, and a run restarted after diverging must be
  able to lower it.
  """
  optimizers = {"d_optimizer": gan.d_optimizer, "g_optimizer": gan.g_optimizer}
  configured = {name: opt.learning_rate.numpy() for name, opt in optimizers.items()
                if isinstance(opt.learning_rate, keras.Variable)}
  _check_learning_rate_kinds(path, list(optimizers), set(configured))
  try:
    checkpoint.restore(path).assert_existing_objects_matched()
  except AssertionError as e:
    raise ValueError(f"{path} does not match the configured GAN: {e}") from e
  for name, rate in configured.items():
    saved = optimizers[name].learning_rate.numpy()
    if saved != rate:
      logging.info("%s: learning rate %g (configured) replaces %g (saved in %s).", name, rate,
                   saved, path)
      optimizers[name].learning_rate.assign(rate)


def _check_learning_rate_kinds(path: str, names: list[str], constant: set[str]) -> None:
  """Raises a clear ValueError when an optimizer's rate changed between a constant and a schedule.

  Keras keeps a constant rate as the first optimizer variable and a schedule
  as none, so every later slot would be restored into the wrong variable
  (a shape error naming a momentum).
  """
  saved = {key.split("/", 1)[0] for key in tf.train.load_checkpoint(path).get_variable_to_shape_map()
           if "/_learning_rate/" in key}
  for name in names:
    if (name in saved) != (name in constant):
      was, now = ("a constant", "a schedule") if name in saved else ("a schedule", "a constant")
      raise ValueError(
          f"{path}: its {name} was saved with {was} learning rate, the configured one has {now}. "
          "Keras stores the two differently, so the run cannot resume across that change: keep "
          "the kind (any rate within it may change; a constant as a schedule is "
          "@schedules.Constant()) or start a new model_dir.")


def _candidates(model_dir: str) -> tuple[list[tuple[int, str]], bool]:
  """(step, path) of the checkpoints to consider, oldest first, and whether the index was usable.

  The index's list when it can be read (files it does not list are saves that
  never completed); otherwise every ckpt-<N> on disk, since an unreadable or
  lost index must not look like an empty directory.
  """
  index = os.path.join(model_dir, INDEX)
  if not tf.io.gfile.exists(index):
    on_disk = _on_disk(model_dir)
    if on_disk:
      logging.warning("%s has ckpt-* files but no checkpoint index; considering them all.",
                      model_dir)
    return on_disk, not on_disk
  try:
    state = tf.train.get_checkpoint_state(model_dir)
  except ValueError:  # an index naming no checkpoint
    state = None
  if state is None:
    logging.warning("The checkpoint index %s is unreadable; looking for ckpt-* files instead.",
                    index)
    return _on_disk(model_dir), False
  return list_checkpoints(model_dir), True


def _on_disk(model_dir: str) -> list[tuple[int, str]]:
  if not tf.io.gfile.isdir(model_dir):
    return []
  steps = {int(m.group(1)) for m in map(_FILE.match, tf.io.gfile.listdir(model_dir)) if m}
  return [(step, os.path.join(model_dir, f"ckpt-{step}")) for step in sorted(steps)]


def _newest_readable(listed: list[tuple[int, str]]
                     ) -> tuple[str | None, list[tuple[int, str, Exception]]]:
  """The newest checkpoint that reads completely, and the unreadable ones newer than it."""
  bad = []
  for step, path in reversed(listed):
    try:
      check_readable(path)
    except _READ_ERRORS as e:
      logging.warning("Checkpoint %s is unreadable (%s); trying the one before.", path,
                      _first_line(e))
      bad.append((step, path, e))
      continue
    return path, bad
  return None, bad


def _unreadable_message(model_dir: str, bad: list[tuple[int, str, Exception]]) -> str:
  details = "; ".join(f"{os.path.basename(path)}: {_first_line(e)}" for _, path, e in bad)
  return (f"No readable checkpoint in {model_dir} ({details}). Refusing to start training "
          "from scratch over them. Restore them from a backup, point --model_dir elsewhere, "
          "or bind `train_lib.train.allow_fresh_start = True` to move them to "
          f"{os.path.join(model_dir, UNREADABLE)}/ and start at step 0.")


def _tidy(model_dir: str, listed: list[tuple[int, str]], bad_steps: set[int],
          index_ok: bool) -> None:
  """Moves the unreadable checkpoints (and a bad or emptied index) aside; rewrites the index."""
  remaining = [f"ckpt-{step}" for step, _ in listed if step not in bad_steps]
  _set_aside(model_dir, bad_steps, move_index=not index_ok or not remaining)
  _write_index(model_dir, remaining)


def _set_aside(model_dir: str, steps: set[int], move_index: bool) -> None:
  """Moves the files of the checkpoints of `steps` (and the index) to unreadable/<n>/.

  Moved rather than left: a later save of the same step would overwrite them.
  """
  files = [os.path.join(model_dir, name) for name in tf.io.gfile.listdir(model_dir)
           if (m := _FILE.match(name)) and int(m.group(1)) in steps]
  if move_index and tf.io.gfile.exists(os.path.join(model_dir, INDEX)):
    files.append(os.path.join(model_dir, INDEX))
  if not files:
    return
  number = 1
  while tf.io.gfile.exists(os.path.join(model_dir, UNREADABLE, str(number))):
    number += 1
  target = os.path.join(model_dir, UNREADABLE, str(number))
  tf.io.gfile.makedirs(target)
  for path in files:
    tf.io.gfile.rename(path, os.path.join(target, os.path.basename(path)))
  logging.warning("Moved %s to %s; they are kept there, not deleted.",
                  ", ".join(os.path.basename(p) for p in files), target)


def _write_index(model_dir: str, names: list[str]) -> None:
  """Writes the index listing ckpt-<N> `names` (oldest first), as CheckpointManager would."""
  if not names:
    return
  stamps = [os.path.join(model_dir, f"{name}.index") for name in names]
  times = [tf.io.gfile.stat(p).mtime_nsec / 1e9 if tf.io.gfile.exists(p) else 0.0
           for p in stamps]
  tf.__internal__.train.update_checkpoint_state(
      model_dir, names[-1], all_model_checkpoint_paths=names,
      all_model_checkpoint_timestamps=times, last_preserved_timestamp=min(times) - 1,
      save_relative_paths=True)


def _first_line(error: Exception) -> str:
  return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]


def list_checkpoints(model_dir: str) -> list[tuple[int, str]]:
  """The (G step, path) of every checkpoint the index of model_dir lists, by step.

  Only the `checkpoint` index counts: `CheckpointManager` updates it after the
  files are complete, so a checkpoint still being written is never listed.
  """
  state = tf.train.get_checkpoint_state(model_dir)
  if state is None:
    return []
  # get_checkpoint_state already joins relative entries with model_dir.
  return sorted((int(path.rsplit("-", 1)[1]), path) for path in state.all_model_checkpoint_paths)


def mark_training_done(model_dir: str, done: bool = True) -> None:
  """Writes (or, with done=False, removes) model_dir/TRAIN_DONE."""
  path = os.path.join(model_dir, TRAIN_DONE)
  if done:
    with tf.io.gfile.GFile(path, "w") as f:
      f.write("")
  elif tf.io.gfile.exists(path):
    tf.io.gfile.remove(path)
