"""Tests for compare_gan2.checkpoints: every variable of G, D and the EMA twin is saved.

Keras 3 networks give tf.train.Checkpoint no children of their own, so a
checkpoint of the model objects silently held only the optimizers (and, through
them, the trainable weights): batch-norm statistics, spectral-norm u vectors
and the EMA generator were lost. These tests restore real architectures into
fresh instances and compare every variable.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import checkpoints
from compare_gan2.architectures import resnet_cifar
from compare_gan2.gans import ema as ema_lib
from compare_gan2.gans import modular_gan
from compare_gan2.ops import normalization


def _gan(seed):
  keras.utils.set_random_seed(seed)
  generator = resnet_cifar.Generator(image_shape=(32, 32, 3), z_dim=8, ch=8,
                                     batch_norm=normalization.BatchNorm)
  discriminator = resnet_cifar.Discriminator(image_shape=(32, 32, 3), ch=8, spectral_norm=True)
  gan = modular_gan.ModularGAN(generator, discriminator,
                               ema=ema_lib.EmaConfig(decay=0.5, start_step=0))
  gan.compile(d_optimizer=keras.optimizers.Adam(), g_optimizer=keras.optimizers.Adam())
  gan.build_networks()
  return gan


def _all_variables(gan):
  return {f"{prefix}/{key}": np.asarray(v) for prefix, network in (
      ("g", gan.generator), ("d", gan.discriminator), ("ema", gan.ema.generator))
          for key, v in checkpoints.network_variables(network).items()}


def test_every_variable_round_trips(tmp_path):
  """Train one step (so BN statistics, u and EMA move), save, restore into a fresh GAN."""
  gan = _gan(0)
  batch = {"images": np.random.RandomState(0).uniform(size=(4, 32, 32, 3)).astype(np.float32)}
  gan.train_step(batch)
  manager = checkpoints.make_manager(gan, str(tmp_path))
  manager.save(checkpoint_number=1)
  saved = _all_variables(gan)
  assert any("moving_mean" in k for k in saved) and any("u_var" in k for k in saved)
  fresh = _gan(1)
  assert checkpoints.restore_latest(checkpoints.make_manager(fresh, str(tmp_path))) == 1
  restored = _all_variables(fresh)
  assert restored.keys() == saved.keys()
  for key, value in saved.items():
    np.testing.assert_array_equal(restored[key], value, err_msg=key)


def test_checkpoint_keys_are_paths_below_the_network(tmp_path):
  """Readable keys, independent of the network's own name."""
  gan = _gan(0)
  path = checkpoints.make_manager(gan, str(tmp_path)).save(checkpoint_number=0)
  names = {name for name, _ in tf.train.list_variables(path)}
  assert "generator/B1.Sbn1.Smoving_mean/.ATTRIBUTES/VARIABLE_VALUE" in names
  assert "ema_generator/fc_noise.Skernel/.ATTRIBUTES/VARIABLE_VALUE" in names


def test_an_unbuilt_network_is_refused():
  generator = resnet_cifar.Generator(image_shape=(32, 32, 3), z_dim=8, ch=8)
  with pytest.raises(ValueError, match="build it before checkpointing"):
    checkpoints.network_variables(generator)
