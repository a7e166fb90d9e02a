"""Tests for compare_gan2.checkpoints: every variable of G, D and the EMA twin is saved.

Keras 3 networks give tf.train.Checkpoint no children of their own, so a
checkpoint of the model objects silently held only the optimizers (and, through
them, the trainable weights): batch-norm statistics, spectral-norm u vectors
and the EMA generator were lost. These tests restore real architectures into
fresh instances and compare every variable.
"""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import checkpoints
from compare_gan2 import schedules
from compare_gan2 import testing
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
  _, step = checkpoints.restore_newest(fresh, str(tmp_path))
  assert step == 1
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


# -- unreadable checkpoints: fall back, keep the files, never a silent fresh start --

TINY = (4, 4, 1)
DATA = ".data-00000-of-00001"


def _tiny_gan(learning_rate=1e-3):
  gan = modular_gan.ModularGAN(testing.TinyGenerator(TINY), testing.TinyDiscriminator(TINY),
                               ema=ema_lib.EmaConfig(decay=0.5, start_step=0))
  gan.compile(d_optimizer=keras.optimizers.Adam(learning_rate),
              g_optimizer=keras.optimizers.Adam(learning_rate))
  gan.build_networks()
  return gan


def _save_steps(model_dir, steps, learning_rate=1e-3):
  """Checkpoints whose every G weight equals the step, so a restore shows which one it read."""
  gan = _tiny_gan(learning_rate)
  manager = checkpoints.make_manager(gan, str(model_dir), keep=10)
  for step in steps:
    gan.g_optimizer.iterations.assign(step)
    for variable in gan.generator.variables:
      variable.assign(np.full(variable.shape, step, np.float32))
    checkpoints.save(manager, step)


def _restore(model_dir, **kwargs):
  gan = _tiny_gan()
  manager, step = checkpoints.restore_newest(gan, str(model_dir), keep=10, **kwargs)
  weights = {float(np.unique(np.asarray(v))[0]) for v in gan.generator.variables}
  return manager, step, weights


def _flip_a_byte(path):
  data = bytearray(path.read_bytes())
  data[len(data) // 2] ^= 0xFF
  path.write_bytes(bytes(data))


CORRUPTIONS = {
    "truncated data": lambda p: os.truncate(p.with_name(p.name + DATA), 10),
    "empty data": lambda p: os.truncate(p.with_name(p.name + DATA), 0),
    "truncated index": lambda p: os.truncate(p.with_name(p.name + ".index"), 20),
    "garbage index": lambda p: p.with_name(p.name + ".index").write_bytes(b"\x00garbage" * 50),
    "flipped byte in data": lambda p: _flip_a_byte(p.with_name(p.name + DATA)),
    "missing data": lambda p: p.with_name(p.name + DATA).unlink(),
}


def _files(model_dir):
  return {p.relative_to(model_dir).as_posix(): p.read_bytes()
          for p in sorted(model_dir.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_a_damaged_latest_checkpoint_falls_back_to_the_previous(tmp_path, corruption, caplog):
  """ckpt-3 damaged: ckpt-2 is restored, ckpt-3's files move intact to unreadable/1/."""
  _save_steps(tmp_path, [1, 2, 3])
  CORRUPTIONS[corruption](tmp_path / "ckpt-3")
  damaged = {name: data for name, data in _files(tmp_path).items() if name.startswith("ckpt-3")}
  manager, step, weights = _restore(tmp_path)
  assert step == 2 and weights == {2.0}
  assert [s for s, _ in checkpoints.list_checkpoints(str(tmp_path))] == [1, 2]
  assert manager.latest_checkpoint.endswith("ckpt-2")
  moved = _files(tmp_path / "unreadable" / "1")
  assert moved == damaged and not list(tmp_path.glob("ckpt-3*"))
  assert f"{tmp_path / 'ckpt-3'} is unreadable" in caplog.text


def test_two_damaged_checkpoints_fall_back_two_steps(tmp_path):
  """Each unreadable one is skipped, newest first."""
  _save_steps(tmp_path, [1, 2, 3])
  CORRUPTIONS["truncated data"](tmp_path / "ckpt-3")
  CORRUPTIONS["garbage index"](tmp_path / "ckpt-2")
  _, step, weights = _restore(tmp_path)
  assert step == 1 and weights == {1.0}
  assert sorted(_files(tmp_path / "unreadable" / "1")) == [
      "ckpt-2.data-00000-of-00001", "ckpt-2.index", "ckpt-3.data-00000-of-00001", "ckpt-3.index"]


def test_a_damaged_or_lost_index_falls_back_to_the_files(tmp_path, caplog):
  """A garbage `checkpoint` index must not look like an empty model_dir (a fresh start)."""
  _save_steps(tmp_path, [1, 2])
  (tmp_path / "checkpoint").write_text("garbage {{{")
  _, step, weights = _restore(tmp_path)
  assert step == 2 and weights == {2.0} and "index" in caplog.text
  assert (tmp_path / "unreadable" / "1" / "checkpoint").read_text() == "garbage {{{"
  assert [s for s, _ in checkpoints.list_checkpoints(str(tmp_path))] == [1, 2]
  (tmp_path / "checkpoint").unlink()
  assert _restore(tmp_path)[1] == 2


def test_no_readable_checkpoint_is_an_error_that_moves_nothing(tmp_path):
  """Every checkpoint damaged: a clear error naming each file; model_dir byte-for-byte as it was."""
  _save_steps(tmp_path, [1, 2])
  CORRUPTIONS["truncated data"](tmp_path / "ckpt-2")
  CORRUPTIONS["missing data"](tmp_path / "ckpt-1")
  before = _files(tmp_path)
  with pytest.raises(checkpoints.UnreadableCheckpointError,
                     match=r"No readable checkpoint in .*ckpt-2: .*ckpt-1: .*allow_fresh_start"):
    _restore(tmp_path)
  assert _files(tmp_path) == before


def test_a_fresh_start_when_asked_keeps_the_unreadable_files(tmp_path):
  """allow_fresh_start: step 0 and an empty index; the damaged files and index sit in unreadable/1/."""
  _save_steps(tmp_path, [1, 2])
  CORRUPTIONS["flipped byte in data"](tmp_path / "ckpt-2")
  CORRUPTIONS["truncated index"](tmp_path / "ckpt-1")
  before = _files(tmp_path)
  manager, step, _ = _restore(tmp_path, allow_fresh_start=True)
  assert step == 0 and manager.latest_checkpoint is None
  assert _files(tmp_path / "unreadable" / "1") == before


def test_a_damaged_initial_checkpoint_alone_is_recreated(tmp_path):
  """A kill during the very first save leaves only ckpt-0: it holds no training, start over."""
  _save_steps(tmp_path, [0])
  (tmp_path / "checkpoint").unlink()
  CORRUPTIONS["truncated data"](tmp_path / "ckpt-0")
  _, step, _ = _restore(tmp_path)
  assert step == 0 and (tmp_path / "unreadable" / "1" / "ckpt-0.index").exists()


def test_a_failed_save_names_the_directory_and_keeps_the_index(tmp_path, monkeypatch):
  """Disk full during a save: CheckpointWriteError with the OS error; ckpt-1 and the index intact."""
  _save_steps(tmp_path, [1])
  before = _files(tmp_path)
  gan = _tiny_gan()
  manager = checkpoints.make_manager(gan, str(tmp_path))

  def disk_full(self, prefix, options=None):
    raise tf.errors.ResourceExhaustedError(None, None, f"{prefix}.index; No space left on device")

  monkeypatch.setattr(tf.train.Checkpoint, "_write", disk_full)
  with pytest.raises(checkpoints.CheckpointWriteError,
                     match=rf"ckpt-2 to {tmp_path}: .*No space left on device.*ckpt-1 is the newest"):
    checkpoints.save(manager, 2)
  assert _files(tmp_path) == before


def test_the_configured_learning_rate_wins_over_the_saved_one(tmp_path):
  """Keras saves a constant rate as a variable; a run restarted after diverging must be able to
  lower it (compare_gan read it from gin at every start)."""
  _save_steps(tmp_path, [1], learning_rate=1e30)
  saved = tf.train.load_checkpoint(str(tmp_path / "ckpt-1"))
  assert saved.get_tensor("g_optimizer/_learning_rate/.ATTRIBUTES/VARIABLE_VALUE") == np.float32(1e30)
  manager, step, _ = _restore(tmp_path)  # configured: 1e-3
  assert step == 1
  for optimizer in (manager.checkpoint.d_optimizer, manager.checkpoint.g_optimizer):
    assert np.asarray(optimizer.learning_rate) == np.float32(1e-3)


@pytest.mark.parametrize("saved, configured, was", [
    (1e-3, schedules.LinearDecay(1e-3, 0, 10), "a constant"),
    (schedules.LinearDecay(1e-3, 0, 10), 1e-3, "a schedule"),
])
def test_a_rate_changed_between_constant_and_schedule_is_named(tmp_path, saved, configured, was):
  """Keras lays the optimizer out differently for the two, so a restore would misplace slots."""
  gan = _tiny_gan(saved)
  checkpoints.save(checkpoints.make_manager(gan, str(tmp_path)), 1)
  with pytest.raises(ValueError, match=f"ckpt-1: its d_optimizer was saved with {was} learning "
                                       "rate.*keep the kind"):
    checkpoints.restore_newest(_tiny_gan(configured), str(tmp_path))


def test_listed_paths_work_for_a_relative_model_dir(tmp_path, monkeypatch):
  """`make demo` passes model_dir=demo_run: listed paths must open from the working directory."""
  monkeypatch.chdir(tmp_path)
  gan = _gan(0)
  manager = checkpoints.make_manager(gan, "run")
  for step in (1, 2):
    manager.save(checkpoint_number=step)
  listed = checkpoints.list_checkpoints("run")
  assert listed == [(1, os.path.join("run", "ckpt-1")), (2, os.path.join("run", "ckpt-2"))]
  assert all(tf.io.gfile.exists(path + ".index") for _, path in listed)


def _worker(task_id):
  """A stand-in for MultiWorkerMirroredStrategy as seen by worker `task_id` (0 is the chief)."""
  import types  # pylint: disable=import-outside-toplevel
  return types.SimpleNamespace(extended=types.SimpleNamespace(should_checkpoint=task_id == 0),
                               cluster_resolver=types.SimpleNamespace(task_id=task_id))


def test_only_the_chief_writes_model_dir_the_others_a_temp_dir_they_delete(tmp_path):
  gan = _gan(0)
  model_dir = str(tmp_path)
  chief = checkpoints.make_manager(gan, model_dir, strategy=_worker(0))
  other = checkpoints.make_manager(gan, model_dir, strategy=_worker(1))
  assert other.directory == os.path.join(model_dir, "workertemp_1")
  chief_path = checkpoints.save(chief, 3, model_dir)
  other_path = checkpoints.save(other, 3, model_dir)
  # Both name the chief's checkpoint; the other worker's save left nothing behind.
  assert chief_path == other_path == os.path.join(model_dir, "ckpt-3")
  assert sorted(os.listdir(model_dir)) == ["checkpoint", "ckpt-3.data-00000-of-00001",
                                           "ckpt-3.index"]
  assert checkpoints.save(other, 4, model_dir) == os.path.join(model_dir, "ckpt-4")
  assert not os.path.exists(other.directory)


def test_a_temp_dir_left_by_a_killed_worker_is_cleared(tmp_path):
  leftover = tmp_path / "workertemp_1"
  leftover.mkdir()
  (leftover / "ckpt-7_temp").write_text("half a save")
  checkpoints.make_manager(_gan(0), str(tmp_path), strategy=_worker(1))
  assert not leftover.exists()
