"""Shared pieces of the fault tests: a tiny GAN trained on bundled MNIST, file snapshots.

Test modules cannot import each other, so the run that every fault test
interrupts lives here: tests/train_lib_test.py's tiny GAN (hinge loss, 2 D
steps per G step, EMA) with steps_per_loop 2 and a checkpoint every 3 steps:
the loop is called at G steps 2, 3, 4, 6 and a 6-step run saves ckpt-0,
ckpt-3 and ckpt-6.
"""

import pathlib
import types
from collections.abc import Callable

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import experiment
from compare_gan2 import losses
from compare_gan2 import testing
from compare_gan2 import train_lib
from compare_gan2.data import bundled
from compare_gan2.gans import ema as ema_lib
from compare_gan2.gans import modular_gan

SHAPE = (28, 28, 1)


def _gan(configure: Callable[[modular_gan.ModularGAN], None] | None = None,
         built: bool = False) -> modular_gan.ModularGAN:
  """The tiny GAN with fixed initial weights (call in the strategy scope).

  configure(gan) runs on it first (to plant a fault); built: compiled with the
  run's optimizers and built, ready for a restore.
  """
  keras.utils.set_random_seed(2)
  # No SN: on MNIST's single channel the D kernel is 1x1 (see train_lib_test.py).
  gan = modular_gan.ModularGAN(
      testing.TinyGenerator(SHAPE, z_dim=8), testing.TinyDiscriminator(SHAPE),
      loss_fn=losses.hinge, disc_iters=2, ema=ema_lib.EmaConfig(decay=0.9, start_step=2), seed=4)
  if configure is not None:
    configure(gan)
  if built:
    gan.compile(*_optimizers())
    gan.build_networks()
  return gan


def _optimizers() -> tuple[keras.optimizers.Optimizer, keras.optimizers.Optimizer]:
  return keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3)


def _train(model_dir: pathlib.Path, total_steps: int, strategy=None,
           configure: Callable[[modular_gan.ModularGAN], None] | None = None,
           sample_every: int = 100, on_checkpoint=None, **kwargs) -> modular_gan.ModularGAN:
  """Trains (or resumes) the tiny GAN in model_dir to total_steps; returns it.

  on_checkpoint goes to train_lib.train; kwargs are further fields of the
  experiment (experiment.Experiment).
  """
  strategy = strategy or tf.distribute.get_strategy()
  with strategy.scope():
    gan = _gan(configure)
    d_optimizer, g_optimizer = _optimizers()
    schedule = train_lib.Schedule(total_steps=total_steps, steps_per_loop=2, checkpoint_every=3,
                                  keep_checkpoints=5, sample_every=sample_every)
    exp = experiment.make(gan, bundled.bundled_mnist(), d_optimizer, g_optimizer,
                          global_batch_size=12, schedule=schedule, **kwargs)
    train_lib.train(exp, str(model_dir), strategy, on_checkpoint=on_checkpoint)
  return gan


def _variables(gan: modular_gan.ModularGAN) -> list[keras.Variable]:
  """Every variable of the GAN and its optimizers, in a fixed order."""
  return gan.variables + gan.d_optimizer.variables + gan.g_optimizer.variables


def _state(gan: modular_gan.ModularGAN) -> list[np.ndarray]:
  """The values of _variables(gan) (the primary copy under a MirroredStrategy)."""
  return [np.asarray(v) for v in _variables(gan)]


def _files(model_dir: pathlib.Path) -> dict[str, bytes]:
  """The bytes of every file below model_dir, by relative path."""
  return {p.relative_to(model_dir).as_posix(): p.read_bytes()
          for p in sorted(model_dir.rglob("*")) if p.is_file()}


def _checkpoint_files(model_dir: pathlib.Path) -> dict[str, bytes]:
  """The bytes of the ckpt-* files and the `checkpoint` index of model_dir."""
  return {name: data for name, data in _files(model_dir).items()
          if name.startswith("ckpt-") or name == "checkpoint"}


@pytest.fixture(scope="session")
def tiny() -> types.SimpleNamespace:
  """tiny.train(model_dir, total_steps, strategy=None, configure=None, sample_every=100, **kw),
  tiny.gan(configure=None, built=False), tiny.variables(gan), tiny.state(gan),
  tiny.files(model_dir), tiny.checkpoint_files(model_dir)."""
  return types.SimpleNamespace(train=_train, gan=_gan, variables=_variables, state=_state,
                               files=_files, checkpoint_files=_checkpoint_files)


@pytest.fixture(scope="session")
def straight_run(tmp_path_factory, tiny) -> list[np.ndarray]:
  """The state after an uninterrupted 6-step run on one device: what a resumed run must equal."""
  return tiny.state(tiny.train(tmp_path_factory.mktemp("straight"), 6))


def assert_same_state(expected: list[np.ndarray], actual: list[np.ndarray]) -> None:
  """Bitwise equality of two `state` lists."""
  assert len(expected) == len(actual)
  for index, (a, b) in enumerate(zip(expected, actual)):
    np.testing.assert_array_equal(b, a, err_msg=f"variable {index}")


@pytest.fixture(scope="session")
def same_state() -> Callable[[list[np.ndarray], list[np.ndarray]], None]:
  """assert_same_state(expected, actual): bitwise equality of two tiny.state lists."""
  return assert_same_state
