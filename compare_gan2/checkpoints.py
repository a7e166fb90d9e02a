"""Checkpoints of a GAN run: G, D, the EMA twin, both optimizers and the step.

compare_gan saved `model.ckpt-<G step>` with every variable (COMPARE_GAN.md
part 2, §5.5). Here a `tf.train.Checkpoint` holds the networks and optimizers
(whose `iterations` are the D and G step counters); the input position needs
no state because the data order is a pure function of (seed, step).
`tf.train.CheckpointManager` writes `ckpt-<G step>` files and only then
updates the `checkpoint` index, so a save interrupted half-way is never
picked as the latest.
"""

import keras
import tensorflow as tf


def make_checkpoint(gan: keras.Model) -> tf.train.Checkpoint:
  """A checkpoint over everything that defines the training state of `gan`."""
  parts = {"generator": gan.generator, "discriminator": gan.discriminator,
           "d_optimizer": gan.d_optimizer, "g_optimizer": gan.g_optimizer}
  if gan.ema is not None:
    parts["ema_generator"] = gan.ema.generator
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
