"""Disk full or unwritable model_dir during a save: a clear error, earlier checkpoints intact.

The fault strikes the save of ckpt-6, after ckpt-0 and ckpt-3 are written
(the tiny run's on_checkpoint arms it at step 3). Each variant must raise
CheckpointWriteError naming model_dir and the OS error, and leave ckpt-0,
ckpt-3 and the `checkpoint` index byte-for-byte as they were. After the two
real faults (no patching: a file where the writer needs a directory, and a
really full tmpfs) the fault is removed and a rerun must resume from ckpt-3
and end exactly like an uninterrupted run.
"""

import os
import subprocess

import pytest
import tensorflow as tf
from tensorflow.python.lib.io import file_io  # pylint: disable=g-direct-tensorflow-import

from compare_gan2 import checkpoints

FULL = "No space left on device"


def _full_during_the_data_write(monkeypatch, model_dir):
  """TensorFlow's own write runs, then its merged .index is cut short, as a full disk left it."""
  del model_dir
  write = tf.train.Checkpoint._write  # pylint: disable=protected-access

  def write_then_fail(self, prefix, options=None):
    write(self, prefix, options=None)  # without the callback that would update the index
    os.truncate(f"{prefix}.index", 7)
    raise tf.errors.ResourceExhaustedError(None, None, f"{prefix}.index; {FULL}")

  monkeypatch.setattr(tf.train.Checkpoint, "_write", write_then_fail)
  return FULL


def _full_during_the_index_write(monkeypatch, model_dir):
  """The files are complete; writing the new `checkpoint` index fails."""
  del model_dir

  def fail(path, contents, overwrite=True):
    raise tf.errors.ResourceExhaustedError(None, None, f"{path}.tmp; {FULL}")

  monkeypatch.setattr(file_io, "atomic_write_string_to_file", fail)
  return FULL


def _a_file_where_the_writer_needs_a_directory(monkeypatch, model_dir):
  """No patching: the real writer meets a real OS error (ENOTDIR) in model_dir."""
  del monkeypatch
  (model_dir / "ckpt-6_temp").write_text("in the way")
  return "Not a directory"


FAULTS = {"full during the data write": _full_during_the_data_write,
          "full during the index write": _full_during_the_index_write,
          "real OS error from the writer": _a_file_where_the_writer_needs_a_directory}


def _fail_then_resume(model_dir, tiny, straight_run, same_state, arm, disarm=None):
  """Runs to 6 with the fault armed after ckpt-3 and checks the error and the files; then,
  if `disarm` is given, removes the fault and checks that a rerun resumes exactly."""
  kept, os_error = {}, []

  def at_checkpoint(gan, step, path):
    del gan, path
    if step == 3:
      kept.update(tiny.checkpoint_files(model_dir))
      os_error.append(arm())

  with pytest.raises(checkpoints.CheckpointWriteError) as error:
    tiny.train(model_dir, 6, on_checkpoint=at_checkpoint)
  message = str(error.value)
  assert f"ckpt-6 to {model_dir}: " in message and os_error[0] in message
  assert "ckpt-3 is the newest complete one" in message
  assert sorted(kept) == ["checkpoint", "ckpt-0.data-00000-of-00001", "ckpt-0.index",
                          "ckpt-3.data-00000-of-00001", "ckpt-3.index"]
  now = tiny.checkpoint_files(model_dir)
  assert {name: now.get(name) for name in kept} == kept
  assert [s for s, _ in checkpoints.list_checkpoints(str(model_dir))] == [0, 3]
  if disarm is None:
    return
  disarm()
  same_state(straight_run, tiny.state(tiny.train(model_dir, 6)))


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_failed_save_keeps_the_earlier_checkpoints(tmp_path, fault, monkeypatch, tiny,
                                                     straight_run, same_state):
  """Each fault: the error and intact files; after the real OS error (the file in the way
  removed) the rerun resumes from ckpt-3 and matches the straight run."""
  blocker = tmp_path / "ckpt-6_temp"
  disarm = blocker.unlink if fault == "real OS error from the writer" else None
  _fail_then_resume(tmp_path, tiny, straight_run, same_state,
                    arm=lambda: FAULTS[fault](monkeypatch, tmp_path), disarm=disarm)


@pytest.fixture
def small_disk(tmp_path):
  """A 4 MiB tmpfs (needs root and mount rights; skipped otherwise), unmounted afterwards."""
  disk = tmp_path / "disk"
  disk.mkdir()
  mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)],
                           capture_output=True, check=False)
  if mounted.returncode:
    pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
  try:
    yield disk
  finally:
    subprocess.run(["umount", str(disk)], check=True)


def test_a_really_full_disk_keeps_the_earlier_checkpoints(small_disk, tiny, straight_run,
                                                          same_state):
  """No injection: after ckpt-3 a filler takes every free byte; TensorFlow's writer then hits
  ENOSPC for real. Freeing the space lets the rerun resume from ckpt-3."""
  model_dir, filler = small_disk / "run", small_disk / "filler"

  def fill():
    with open(filler, "wb") as f:
      try:
        while True:
          f.write(b"\0" * 65536)
          f.flush()
      except OSError:
        pass
    return FULL

  _fail_then_resume(model_dir, tiny, straight_run, same_state, arm=fill, disarm=filler.unlink)
