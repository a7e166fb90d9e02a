"""A run killed with SIGKILL and restarted ends bitwise-identical to a straight run.

Real processes: `python -m compare_gan2.main` on the shipped MNIST demo config,
shrunk to a few steps. The first run is killed (kill -9) once it has written a
checkpoint past step 0; the restart resumes from the newest checkpoint and
finishes. Every variable of the final checkpoint (networks, EMA, both
optimizers' slots and step counters) must equal the uninterrupted run's.
"""

import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import tensorflow as tf

ROOT = pathlib.Path(__file__).resolve().parents[1]
TOTAL = 12  # long enough after ckpt-2 that the kill lands mid-run
ARGS = ["--gin_config", str(ROOT / "gin_configs" / "mnist" / "infogan.gin"),
        "--gin_bindings", "train_lib.train.global_batch_size = 4",
        "--gin_bindings", f"train_lib.Schedule.total_steps = {TOTAL}",
        "--gin_bindings", "train_lib.Schedule.steps_per_loop = 1",
        "--gin_bindings", "train_lib.Schedule.checkpoint_every = 1",
        "--gin_bindings", f"train_lib.Schedule.keep_checkpoints = {TOTAL + 1}",
        "--gin_bindings", f"train_lib.Schedule.sample_every = {TOTAL}"]


def _command(model_dir):
  return [sys.executable, "-m", "compare_gan2.main", f"--model_dir={model_dir}", *ARGS]


def _run(model_dir):
  result = subprocess.run(_command(model_dir), capture_output=True, text=True, timeout=600,
                          check=False)
  assert result.returncode == 0, result.stderr[-3000:]


def _kill_after_checkpoint(model_dir, step):
  process = subprocess.Popen(_command(model_dir), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
  deadline = time.monotonic() + 600
  while not (model_dir / f"ckpt-{step}.index").exists():
    assert process.poll() is None, "the run ended before it could be killed"
    assert time.monotonic() < deadline, "no checkpoint appeared in time"
    time.sleep(0.05)
  os.kill(process.pid, signal.SIGKILL)
  process.wait()
  return process.returncode


def _values(path):
  reader = tf.train.load_checkpoint(str(path))
  return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def test_kill_9_then_restart_matches_an_uninterrupted_run(tmp_path):
  straight, killed = tmp_path / "straight", tmp_path / "killed"
  _run(straight)
  assert _kill_after_checkpoint(killed, step=2) == -signal.SIGKILL
  assert not (killed / f"ckpt-{TOTAL}.index").exists()
  _run(killed)
  expected, actual = _values(straight / f"ckpt-{TOTAL}"), _values(killed / f"ckpt-{TOTAL}")
  assert expected.keys() == actual.keys() and len(expected) > 20
  for name, value in expected.items():
    if name.startswith("_CHECKPOINTABLE_OBJECT_GRAPH"):
      continue
    np.testing.assert_array_equal(actual[name], value, err_msg=name)
