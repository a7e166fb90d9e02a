"""Preemption: runs killed with SIGKILL, also mid-save, end bitwise-identical to a straight run.

Real processes: `python -m compare_gan2.main` on the shipped MNIST demo config,
shrunk to a few steps with a checkpoint every step, with ADA (Karras et al.
2020, arXiv 2006.06676) adjusting its p after every D update and LeCam (Tseng
et al. 2021, arXiv 2104.03310) keeping EMA anchors of D's outputs from step 1,
so a resumed run must also restore both (peers lost them on resume:
NVlabs/stylegan2-ada#106, PyTorch-StudioGAN PR#150). One model_dir is killed
three times at steps drawn at random (the seed is in every failure message;
set COMPARE_GAN2_KILL_SEED to replay one) and restarted after each kill:

1. plain: kill -9 a random 0-0.5 s after ckpt-a appears (mid-step or mid-save);
2. mid-save, files complete: the save of ckpt-b has written its files but not
   yet the `checkpoint` index (the process is paused there, then killed);
3. mid-save, torn: as 2, with ckpt-c's data file cut to half its length as a
   crash during the write would leave it.

Each restart must resume from the newest checkpoint the index lists (b - 1
and c - 1 for kills 2 and 3: a save cut short is never picked) and the last
one must finish. Every variable of the final checkpoint (networks, EMA, both
optimizers' slots and step counters, ADA's p and accumulators, LeCam's
anchors) must equal the uninterrupted run's, and p and the anchors must be
non-zero where each restart resumed (a reset to their initial 0 would then
change what follows).
"""

import os
import pathlib
import random
import re
import signal
import subprocess
import sys
import time

import numpy as np
import tensorflow as tf

ROOT = pathlib.Path(__file__).resolve().parents[1]
TOTAL = 8
ARGS = ["--gin_config", str(ROOT / "gin_configs" / "mnist" / "infogan.gin"),
        "--gin_bindings", "train_lib.train.global_batch_size = 4",
        "--gin_bindings", f"train_lib.Schedule.total_steps = {TOTAL}",
        "--gin_bindings", "train_lib.Schedule.steps_per_loop = 1",
        "--gin_bindings", "train_lib.Schedule.checkpoint_every = 1",
        "--gin_bindings", f"train_lib.Schedule.keep_checkpoints = {TOTAL + 1}",
        "--gin_bindings", f"train_lib.Schedule.sample_every = {TOTAL}",
        "--gin_bindings", "gans.ModularGAN.augment = @augment.ADA()",
        "--gin_bindings", "augment.ADA.interval = 1",
        # The controller's state is what resuming must keep; the blit ops trace in
        # seconds where 'bgc' adds ~40 s to each process.
        "--gin_bindings", 'augment.ADA.pipeline = "blit"',
        # p moves by 2 reals / (0.02 x 1000) = 0.1 per D update (the paper's 500
        # would take 2,500 updates of this batch to move it by 0.01).
        "--gin_bindings", "augment.ADA.kimg = 0.02",
        # LeCam's EMA anchors in use from step 1 (PyTorch-StudioGAN PR#150: not saved).
        "--gin_bindings", "gans.ModularGAN.regularizers = [@regularizers.LeCam()]",
        "--gin_bindings", "regularizers.LeCam.start_step = 1"]
ADA_P = "components/ada.Sp/.ATTRIBUTES/VARIABLE_VALUE"
LECAM_ANCHORS = tuple(f"components/lecam.Salpha_{side}/.ATTRIBUTES/VARIABLE_VALUE"
                      for side in ("real", "fake"))

# The runner, with the save of ckpt-<step> paused after its files are written
# and before the index lists it (CheckpointManager's callback writes the index
# through this function); "torn" also cuts the data file to half its length.
PAUSED_SAVE = """
import os, sys, time
from tensorflow.python.checkpoint import checkpoint_management
step, mode, marker = os.environ["PAUSE_SAVE"].split(",")
record = checkpoint_management.update_checkpoint_state_internal
def paused(save_dir, model_checkpoint_path, *args, **kwargs):
  if os.path.basename(model_checkpoint_path) == "ckpt-" + step:
    if mode == "torn":
      data = model_checkpoint_path + ".data-00000-of-00001"
      os.truncate(data, os.path.getsize(data) // 2)
    open(marker, "w").close()
    time.sleep(600)
  return record(save_dir, model_checkpoint_path, *args, **kwargs)
checkpoint_management.update_checkpoint_state_internal = paused
from compare_gan2 import main
sys.exit(main.main(sys.argv[1:]))
"""


def _start(model_dir, log, pause=None):
  env = dict(os.environ)
  command = [sys.executable, "-m", "compare_gan2.main"]
  if pause is not None:
    env["PAUSE_SAVE"] = ",".join(map(str, pause))
    command = [sys.executable, "-c", PAUSED_SAVE]
  return subprocess.Popen([*command, f"--model_dir={model_dir}", *ARGS], stdout=log,
                          stderr=subprocess.STDOUT, env=env, cwd=ROOT)


def _wait_for(path, process, note):
  deadline = time.monotonic() + 300
  while not path.exists():
    assert process.poll() is None, f"{note}: the run ended before it could be killed"
    assert time.monotonic() < deadline, f"{note}: {path.name} did not appear in time"
    time.sleep(0.02)


def _kill(process):
  os.kill(process.pid, signal.SIGKILL)
  assert process.wait() == -signal.SIGKILL


def _listed(model_dir):
  state = tf.train.get_checkpoint_state(str(model_dir))
  return [int(p.rsplit("-", 1)[1]) for p in state.all_model_checkpoint_paths]


def _resumed_from(log_path):
  found = re.findall(r"Resuming from .*ckpt-(\d+) \(G step", log_path.read_text())
  return int(found[-1]) if found else None


def _values(path):
  reader = tf.train.load_checkpoint(str(path))
  return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
          if not name.startswith("_CHECKPOINTABLE_OBJECT_GRAPH")}


def _kill_three_times(model_dir, logs, a, b, c, note):
  """Runs 1-3 of the module docstring; returns the (listed newest, resumed) step of each restart."""
  with open(logs / "1.log", "w") as log:
    process = _start(model_dir, log)
    _wait_for(model_dir / f"ckpt-{a}.index", process, note)
    time.sleep(random.Random(note).uniform(0, 0.5))
    _kill(process)
  seen = []
  for run, (step, mode) in enumerate([(b, "complete"), (c, "torn")], start=2):
    newest = max(_listed(model_dir))
    marker = logs / f"{run}.paused"
    with open(logs / f"{run}.log", "w") as log:
      process = _start(model_dir, log, pause=(step, mode, marker))
      _wait_for(marker, process, note)
      _kill(process)
    assert max(_listed(model_dir)) == step - 1, f"{note}: ckpt-{step} got listed"
    assert (model_dir / f"ckpt-{step}.index").exists()
    seen.append((newest, _resumed_from(logs / f"{run}.log")))
  return seen


def test_kill_9_at_random_steps_and_mid_save_then_restart_matches_a_straight_run(tmp_path):
  seed = int(os.environ.get("COMPARE_GAN2_KILL_SEED", random.SystemRandom().randrange(10**6)))
  rng = random.Random(seed)
  a = rng.randint(1, 2)
  b = rng.randint(a + 3, 5)  # the plain kill may land after ckpt-(a + 1) or (a + 2)
  c = rng.randint(b + 1, TOTAL - 1)
  note = f"COMPARE_GAN2_KILL_SEED={seed} (kills at {a}, {b}, {c})"
  straight, killed, logs = tmp_path / "straight", tmp_path / "killed", tmp_path / "logs"
  logs.mkdir()
  with open(logs / "straight.log", "w") as log:
    reference = _start(straight, log)  # alongside the killed runs: two cores
    seen = _kill_three_times(killed, logs, a, b, c, note)
    with open(logs / "4.log", "w") as last:
      assert _start(killed, last).wait(timeout=600) == 0, (logs / "4.log").read_text()[-3000:]
    assert reference.wait(timeout=600) == 0, (logs / "straight.log").read_text()[-3000:]
  seen.append((c - 1, _resumed_from(logs / "4.log")))
  assert all(newest == resumed for newest, resumed in seen), f"{note}: {seen}"
  p = {step: _values(straight / f"ckpt-{step}")[ADA_P] for step in range(1, TOTAL + 1)}
  assert all(p[resumed] > 0 for _, resumed in seen), f"{note}: ADA's p by step {p}"
  for name in LECAM_ANCHORS:  # moved from their initial 0 where each restart resumed
    anchors = {step: _values(straight / f"ckpt-{step}")[name] for step in range(1, TOTAL + 1)}
    assert all(anchors[resumed] != 0 for _, resumed in seen), f"{note}: {name} {anchors}"
  expected, actual = _values(straight / f"ckpt-{TOTAL}"), _values(killed / f"ckpt-{TOTAL}")
  assert expected.keys() == actual.keys() and len(expected) > 20, note
  for name, value in expected.items():
    np.testing.assert_array_equal(actual[name], value, err_msg=f"{note}: {name}")
