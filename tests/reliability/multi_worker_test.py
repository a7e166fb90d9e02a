"""Two `python -m compare_gan2.main --strategy=multi_worker` processes sharing one model_dir.

Real runner processes on 127.0.0.1 (TF_CONFIG per worker, ports picked free),
the shipped MNIST demo config shrunk by gin_configs/smoke/tiny.gin to TOTAL
steps, a checkpoint every 2 and a sample grid at the end:

- one writer: the chief alone writes checkpoints, summaries, samples,
  operative_config.gin, the export and TRAIN_DONE; the other worker's
  temporary directory is gone; both exit 0;
- the two workers end with the weights of one process trained on the same
  global batch (to the tolerance of tests/distribute_test.py), for
  no_penalty, wgan_gp and dragan, with synchronised batch norm;
- kill -9 of worker 1 mid-run, a restart of the cluster, SIGTERM to worker 1
  (both save at the next loop boundary and exit 42), a second restart: the
  final checkpoint equals the uninterrupted two-worker run's bit for bit;
- SIGTERM on one host (default strategy) likewise;
- train_and_eval: both workers score each checkpoint, the chief alone
  writes scores.csv.

Every process has a timeout and is killed when a test fails.
"""

import contextlib
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import testing

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOTAL = 4
TIMEOUT = 600  # seconds per run; a loaded 2-core machine imports TensorFlow slowly
ARGS = ["--gin_config", str(ROOT / "gin_configs" / "mnist" / "infogan.gin"),
        "--gin_config", str(ROOT / "gin_configs" / "smoke" / "tiny.gin"),
        "--gin_bindings", f"train_lib.Schedule.total_steps = {TOTAL}",
        "--gin_bindings", "train_lib.Schedule.checkpoint_every = 2",
        "--gin_bindings", f"train_lib.Schedule.sample_every = {TOTAL}",
        # Synchronised batch norm in G and D: without it (compare_gan's default
        # off TPU) each worker normalises its half of the batch alone.
        "--gin_bindings", "infogan.Generator.batch_norm = @ops.BatchNorm",
        "--gin_bindings", "ops.BatchNorm.cross_replica = True"]
PENALTY = "gans.ModularGAN.penalty_fn = @penalties.{}"
EXIT_PREEMPTED = 42  # compare_gan2.preemption.EXIT_CODE


class Cluster:
  """Runner processes started together; logs in log_dir/<name>-<index>.log."""

  def __init__(self, model_dir: pathlib.Path, log_dir: pathlib.Path, name: str, workers: int,
               penalty: str = "no_penalty", extra: tuple[str, ...] = ()):
    addresses = [f"127.0.0.1:{p}" for p in testing.free_ports(workers)]
    self.logs = [log_dir / f"{name}-{i}.log" for i in range(workers)]
    self.processes = []
    for index, log in enumerate(self.logs):
      env = dict(os.environ)
      strategy = "default"
      if workers > 1:
        strategy = "multi_worker"
        env["TF_CONFIG"] = json.dumps({"cluster": {"worker": addresses},
                                       "task": {"type": "worker", "index": index}})
      with open(log, "w") as out:
        self.processes.append(subprocess.Popen(
            [sys.executable, "-m", "compare_gan2.main", f"--model_dir={model_dir}",
             f"--strategy={strategy}", *ARGS, "--gin_bindings", PENALTY.format(penalty), *extra],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT))

  def wait(self, expected: int = 0) -> None:
    """Waits for every process; asserts each exit code (with its log's tail)."""
    for process, log in zip(self.processes, self.logs):
      code = process.wait(timeout=TIMEOUT)
      assert code == expected, f"{log.name} exited {code}:\n{log.read_text()[-3000:]}"

  def wait_for_log(self, index: int, text: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while text not in self.logs[index].read_text():
      assert self.processes[index].poll() is None, self.logs[index].read_text()[-3000:]
      assert time.monotonic() < deadline, f"{text!r} not in {self.logs[index].name} in time"
      time.sleep(0.1)

  def kill(self) -> None:
    for process in self.processes:
      if process.poll() is None:
        process.kill()
        process.wait()


@contextlib.contextmanager
def _clusters():
  """Yields a list to append Clusters to; kills whatever still runs on the way out."""
  started = []
  try:
    yield started
  finally:
    for cluster in started:
      cluster.kill()


def _values(path: pathlib.Path) -> dict[str, np.ndarray]:
  reader = tf.train.load_checkpoint(str(path))
  return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
          if not name.startswith("_CHECKPOINTABLE_OBJECT_GRAPH") and "save_counter" not in name}


def _train_pair(tmp_path: pathlib.Path, penalty: str) -> tuple[pathlib.Path, pathlib.Path]:
  """Trains two workers on one model_dir and one process alongside; returns both model_dirs."""
  shared, single = tmp_path / "two_workers", tmp_path / "one_process"
  with _clusters() as started:
    started.append(Cluster(shared, tmp_path, "worker", 2, penalty))
    started.append(Cluster(single, tmp_path, "single", 1, penalty))
    for cluster in started:
      cluster.wait()
  return shared, single


# Biases feeding a batch norm (architectures/infogan.py: g_fc1 -> g_bn1, ...):
# the normalisation cancels them, so their gradient is zero up to rounding,
# which Adam rescales to +-learning rate per step. They are checked to stay at
# that noise level in both runs instead of against each other.
PRE_NORM_BIASES = ("generator/g_fc1.Sbias", "generator/g_fc2.Sbias", "generator/g_dc3.Sbias",
                   "discriminator/d_conv2.Sbias", "discriminator/d_fc3.Sbias")
LARGEST_LEARNING_RATE = 1e-3  # G's in gin_configs/mnist/infogan.gin (D: 2e-4)


def _assert_close_to_one_process(shared: pathlib.Path, single: pathlib.Path) -> None:
  two, one = _values(shared / f"ckpt-{TOTAL}"), _values(single / f"ckpt-{TOTAL}")
  assert two.keys() == one.keys() and len(two) > 20
  noise = {k for k in one if k.startswith(PRE_NORM_BIASES)}
  assert len(noise) == len(PRE_NORM_BIASES), sorted(one)
  worst = max(float(np.max(np.abs(two[k].astype(np.float64) - one[k]), initial=0.0))
              for k in set(two) - noise)
  print(f"\ntwo workers vs one process, ckpt-{TOTAL}: {len(two) - len(noise)} tensors, "
        f"max |difference| {worst:.3g}")
  for name, value in one.items():
    if name in noise:
      for run in (value, two[name]):
        assert np.abs(run).max() <= TOTAL * LARGEST_LEARNING_RATE * 1.01, name
    else:
      # atol: 1% of G's Adam step; a few near-zero gradients flip sign with the
      # summation order (measured up to 5.7e-6 after 4 steps).
      np.testing.assert_allclose(two[name], value, rtol=2e-5, atol=1e-5, err_msg=name)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[pathlib.Path, pathlib.Path]:
  """Uninterrupted no_penalty runs: (two workers' model_dir, one process's model_dir)."""
  return _train_pair(tmp_path_factory.mktemp("reference"), "no_penalty")


def test_the_chief_alone_writes_and_both_workers_finish(reference):
  shared, single = reference
  written = sorted(p.relative_to(shared).as_posix() for p in shared.rglob("*") if p.is_file())
  assert not [p for p in written if p.startswith("workertemp_")], written
  assert [p for p in written if p.startswith("ckpt-") and p.endswith(".index")] == [
      "ckpt-0.index", "ckpt-2.index", "ckpt-4.index"]
  assert len([p for p in written if "tfevents" in p]) == 1, written
  assert f"samples/step_{TOTAL:07d}.png" in written
  assert f"export/{TOTAL}/saved_model.pb" in written
  assert {"TRAIN_DONE", "operative_config.gin", "checkpoint"} <= set(written)
  assert (single / "TRAIN_DONE").exists()


def test_two_workers_match_one_process_no_penalty(reference):
  _assert_close_to_one_process(*reference)


@pytest.mark.parametrize("penalty", ["wgan_gp", "dragan"])
def test_two_workers_match_one_process_with_gradient_penalties(tmp_path, penalty):
  # The penalty points must be drawn per global example for this to hold.
  _assert_close_to_one_process(*_train_pair(tmp_path, penalty))


def _assert_same_final_checkpoint(expected_dir: pathlib.Path, actual_dir: pathlib.Path) -> None:
  expected, actual = (_values(d / f"ckpt-{TOTAL}") for d in (expected_dir, actual_dir))
  assert expected.keys() == actual.keys()
  for name, value in expected.items():
    np.testing.assert_array_equal(actual[name], value, err_msg=name)


def test_kill_9_then_sigterm_then_finish_equals_the_uninterrupted_run(tmp_path, reference):
  model_dir = tmp_path / "run"
  with _clusters() as started:
    started.append(first := Cluster(model_dir, tmp_path, "first", 2))
    first.wait_for_log(1, "step 1/")  # mid-run, after ckpt-0
    os.kill(first.processes[1].pid, signal.SIGKILL)
    first.kill()  # the restart of the whole cluster
    started.append(second := Cluster(model_dir, tmp_path, "second", 2))
    second.wait_for_log(1, "step 1/")  # the SIGTERM watcher is installed
    second.processes[1].send_signal(signal.SIGTERM)
    second.wait(expected=EXIT_PREEMPTED)
    saved = tf.train.latest_checkpoint(str(model_dir))
    assert saved is not None and int(saved.rsplit("-", 1)[1]) >= 1, saved
    assert not (model_dir / "TRAIN_DONE").exists()
    started.append(third := Cluster(model_dir, tmp_path, "third", 2))
    third.wait()
  assert f"Resuming from {saved}" in third.logs[0].read_text()
  _assert_same_final_checkpoint(reference[0], model_dir)


def test_sigterm_on_one_host_saves_exits_42_and_resumes_exactly(tmp_path, reference):
  model_dir = tmp_path / "run"
  with _clusters() as started:
    started.append(first := Cluster(model_dir, tmp_path, "first", 1))
    first.wait_for_log(0, "step 1/")
    first.processes[0].send_signal(signal.SIGTERM)
    first.wait(expected=EXIT_PREEMPTED)
    assert "Preempted (SIGTERM): saved" in first.logs[0].read_text()
    saved = tf.train.latest_checkpoint(str(model_dir))
    started.append(second := Cluster(model_dir, tmp_path, "second", 1))
    second.wait()
  assert f"Resuming from {saved}" in second.logs[0].read_text()
  _assert_same_final_checkpoint(reference[1], model_dir)


def test_train_and_eval_scores_on_both_workers_and_the_chief_writes(tmp_path):
  model_dir = tmp_path / "run"
  small_eval = ("--schedule=train_and_eval", "--num_eval_averaging_runs=1",
                "--gin_bindings", "evaluation.Evaluator.num_samples = 100",
                "--gin_bindings", "metrics.KID.max_block_size = 50",
                "--gin_bindings", f"train_lib.Schedule.total_steps = {TOTAL // 2}")
  with _clusters() as started:
    started.append(cluster := Cluster(model_dir, tmp_path, "worker", 2, extra=small_eval))
    cluster.wait()
  rows = (model_dir / "scores.csv").read_text().splitlines()
  assert [row.split(",")[1] for row in rows[1:]] == [str(TOTAL // 2)], rows
  assert not list(model_dir.glob("workertemp_*"))
  # Both workers computed the scores (continuous.score_and_record logs them).
  assert all(f"Step {TOTAL // 2}: fid_score" in log.read_text() for log in cluster.logs)


def test_continuous_eval_is_one_process_reading_the_shared_model_dir(tmp_path, reference):
  # The evaluation job of a multi-worker run: one default-strategy process on the
  # same model_dir, scoring the checkpoints the cluster wrote and stopping at TRAIN_DONE.
  model_dir = tmp_path / "shared"
  shutil.copytree(reference[0], model_dir)
  small_eval = ("--schedule=continuous_eval", "--num_eval_averaging_runs=1",
                "--gin_bindings", "evaluation.Evaluator.num_samples = 100",
                "--gin_bindings", "metrics.KID.max_block_size = 50")
  with _clusters() as started:
    started.append(job := Cluster(model_dir, tmp_path, "eval", 1, extra=small_eval))
    job.wait()
  rows = (model_dir / "scores.csv").read_text().splitlines()
  assert str(TOTAL) in [row.split(",")[1] for row in rows[1:]], rows
