"""Checkpoints of a GAN run: G, D, the EMA twin, both optimizers and the step.

compare_gan saved `model.ckpt-<G step>` with every variable (COMPARE_GAN.md
part 2, §5.5). Here a `tf.train.Checkpoint` holds the networks and optimizers
(whose `iterations` are the D and G step counters); the input position needs
no state because the data order is a pure function of (seed, step).
`tf.train.CheckpointManager` writes `ckpt-<G step>` files and only then
updates the `checkpoint` index, so a save interrupted half-way is never
picked as the latest.
"""

import os

import keras
import tensorflow as tf

# Written when training reaches its last step (compare_gan runner_lib.py:124-126);
# continuous evaluation stops once it sees it and nothing is left to score.
TRAIN_DONE = "TRAIN_DONE"


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


def make_checkpoint(gan: keras.Model) -> tf.train.Checkpoint:
  """A checkpoint over everything that defines the training state of `gan`.

  G, D and the EMA twin contribute all their variables, trainable or not
  (batch-norm statistics, spectral-norm u vectors, standing accumulators);
  the optimizers their slots, step counters and learning rates.
  """
  parts = {"generator": network_variables(gan.generator),
           "discriminator": network_variables(gan.discriminator),
           "d_optimizer": gan.d_optimizer, "g_optimizer": gan.g_optimizer}
  if gan.ema is not None:
    parts["ema_generator"] = network_variables(gan.ema.generator)
  return tf.train.Checkpoint(**parts)


def make_manager(gan: keras.Model, model_dir: str, keep: int = 3) -> tf.train.CheckpointManager:
  """Saves `ckpt-<G step>` under model_dir, keeping the newest `keep`."""
  return tf.train.CheckpointManager(make_checkpoint(gan), model_dir, max_to_keep=keep,
                                    step_counter=gan.g_optimizer.iterations)


def restore_latest(manager: tf.train.CheckpointManager) -> int:
  """Restores the newest checkpoint if there is one; returns the G step.

  The GAN must be built (`build_networks`) first, so every saved value has a
  variable to go to and the restore can be checked exactly (ENVIRONMENT.md §3).
  """
  path = manager.latest_checkpoint
  if path is None:
    return 0
  manager.checkpoint.restore(path).assert_existing_objects_matched()
  return int(manager.checkpoint.g_optimizer.iterations.numpy())


def list_checkpoints(model_dir: str) -> list[tuple[int, str]]:
  """The (G step, path) of every checkpoint the index of model_dir lists, by step.

  Only the `checkpoint` index counts: `CheckpointManager` updates it after the
  files are complete, so a checkpoint still being written is never listed.
  """
  state = tf.train.get_checkpoint_state(model_dir)
  if state is None:
    return []
  found = []
  for path in state.all_model_checkpoint_paths:
    if not path.startswith("/") and "://" not in path:
      path = f"{model_dir.rstrip('/')}/{path}"
    found.append((int(path.rsplit("-", 1)[1]), path))
  return sorted(found)


def mark_training_done(model_dir: str, done: bool = True) -> None:
  """Writes (or, with done=False, removes) model_dir/TRAIN_DONE."""
  path = os.path.join(model_dir, TRAIN_DONE)
  if done:
    with tf.io.gfile.GFile(path, "w") as f:
      f.write("")
  elif tf.io.gfile.exists(path):
    tf.io.gfile.remove(path)
