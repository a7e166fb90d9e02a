"""Tests for evaluation.continuous: which checkpoints get scored, once, and when to stop.

A tiny MNIST run is trained once (module fixture). Checkpoints then "appear"
in a second model_dir while the evaluator waits: the fake clock publishes the
next one at each poll, the way a trainer's CheckpointManager does (files
first, then the `checkpoint` index). One test runs a real trainer process
side by side with continuous evaluation.
"""

import dataclasses
import os
import pathlib
import shutil
import subprocess
import sys

import gin
import pytest
import tensorflow as tf

from compare_gan2 import checkpoints
from compare_gan2 import configurables
from compare_gan2 import experiment
from compare_gan2 import main
from compare_gan2.evaluation import continuous
from compare_gan2.evaluation import evaluator as evaluator_lib
from compare_gan2.evaluation import results
from compare_gan2.metrics import classifier_metrics

from .conftest import PoolExtractorConfig

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEMO = str(ROOT / "gin_configs" / "mnist" / "infogan.gin")
TINY = str(ROOT / "gin_configs" / "smoke" / "tiny.gin")
FAST = continuous.EvalSchedule(poll_seconds=0.0, timeout_seconds=30.0)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  """ckpt-0..3 of a tiny MNIST run, all kept."""
  model_dir = tmp_path_factory.mktemp("trained")
  assert main.main([f"--model_dir={model_dir}", f"--gin_config={DEMO}", f"--gin_config={TINY}",
                    "--gin_bindings=train_lib.Schedule.total_steps = 3",
                    "--gin_bindings=train_lib.Schedule.keep_checkpoints = 10"]) == 0
  gin.clear_config()
  return model_dir


def _evaluator(tmp_path):
  return evaluator_lib.Evaluator(metrics=(classifier_metrics.FID(),), num_samples=64,
                                 num_averaging_runs=1, extractor=PoolExtractorConfig(),
                                 real_stats_dir=str(tmp_path / "stats"))


def _experiment(model_dir):
  configurables.parse_gin([experiment.operative_config_path(str(model_dir))], [])
  return configurables.build_experiment()


class Publisher:
  """A fake clock whose every sleep lets the 'trainer' publish its next checkpoint."""

  def __init__(self, source, target, steps):
    self.source, self.target, self.steps, self.sleeps = source, target, list(steps), 0
    shutil.copy(source / "operative_config.gin", target / "operative_config.gin")

  def __call__(self, seconds):
    self.sleeps += 1
    if self.steps:
      step = self.steps.pop(0)
      for path in self.source.glob(f"ckpt-{step}.*"):
        shutil.copy(path, self.target / path.name)
      published = [f"ckpt-{s}" for s, _ in checkpoints.list_checkpoints(str(self.target))]
      tf.compat.v1.train.update_checkpoint_state(str(self.target), f"ckpt-{step}",
                                       published + [f"ckpt-{step}"])


def test_continuous_eval_scores_each_new_checkpoint_once_and_stops_at_the_end(trained, tmp_path):
  """Checkpoints 0..3 appear one per poll; 1..3 are scored in order, 0 skipped; stop at 3."""
  target = tmp_path / "run"
  target.mkdir()
  publish = Publisher(trained, target, [0, 1, 2, 3])
  publish(0)  # ckpt-0 is there when evaluation starts
  exp = _experiment(target)
  done = continuous.evaluate_checkpoints(str(target), exp, _evaluator(tmp_path), FAST, wait=True,
                                         final_step=3, sleep=publish)
  assert done == [1, 2, 3]
  store = results.ResultsStore(str(target))
  assert [row["step"] for row in store.rows] == [1, 2, 3]
  assert store.rows[0]["checkpoint_path"].endswith("ckpt-1")
  # A restarted evaluation finds everything scored and does nothing.
  assert continuous.evaluate_checkpoints(str(target), exp, _evaluator(tmp_path), FAST,
                                         wait=False) == []


def test_eval_every_steps_and_train_done(trained, tmp_path):
  """Only multiples of eval_every_steps; TRAIN_DONE with nothing new ends the wait."""
  target = tmp_path / "run"
  target.mkdir()
  publish = Publisher(trained, target, [0, 1, 2, 3])
  for _ in range(4):
    publish(0)
  checkpoints.mark_training_done(str(target))
  schedule = dataclasses.replace(FAST, eval_every_steps=2)
  done = continuous.evaluate_checkpoints(str(target), _experiment(target), _evaluator(tmp_path),
                                         schedule, wait=True)
  assert done == [2]


def test_timeout_without_new_checkpoints(trained, tmp_path, monkeypatch):
  """compare_gan's timeout: no checkpoint for timeout_seconds ends continuous_eval."""
  target = tmp_path / "run"
  target.mkdir()
  Publisher(trained, target, [])
  exp = _experiment(target)
  clock = iter(range(0, 10_000, 50))
  monkeypatch.setattr(continuous.time, "monotonic", lambda: next(clock))
  sleeps = []
  done = continuous.evaluate_checkpoints(
      str(target), exp, _evaluator(tmp_path),
      dataclasses.replace(FAST, timeout_seconds=120), wait=True, sleep=sleeps.append)
  assert done == [] and len(sleeps) == 2


def test_a_checkpoint_deleted_by_retention_is_skipped(trained, tmp_path):
  """The trainer may retire a listed checkpoint before it is read: a warning, not a crash."""
  target = tmp_path / "run"
  target.mkdir()
  publish = Publisher(trained, target, [1, 2])
  publish(0), publish(0)
  for path in target.glob("ckpt-1.*"):
    path.unlink()
  done = continuous.evaluate_checkpoints(str(target), _experiment(target), _evaluator(tmp_path),
                                         FAST, wait=False)
  assert done == [2]


def test_diverged_checkpoint_gets_a_nan_row(trained, tmp_path, monkeypatch):
  """compare_gan aborted the job on NaN samples; here the row records NaN and the error."""
  target = tmp_path / "run"
  target.mkdir()
  publish = Publisher(trained, target, [1])
  publish(0)

  def diverged(self, gan, dataset):
    raise evaluator_lib.NonFiniteSamplesError("The generator produced NaN/Inf in run 0, batch 0")

  monkeypatch.setattr(evaluator_lib.Evaluator, "evaluate", diverged)
  continuous.evaluate_checkpoints(str(target), _experiment(target), _evaluator(tmp_path), FAST,
                                  wait=False)
  row = results.ResultsStore(str(target)).rows[0]
  assert row["step"] == 1 and row["fid_score_mean"] != row["fid_score_mean"]  # NaN
  assert "NaN/Inf" in row["error"]


def test_continuous_eval_next_to_a_real_trainer(tmp_path):
  """A trainer process writes checkpoints while continuous evaluation scores them."""
  model_dir = tmp_path / "live"
  trainer = subprocess.Popen(
      [sys.executable, "-m", "compare_gan2.main", f"--model_dir={model_dir}",
       f"--gin_config={DEMO}", f"--gin_config={TINY}",
       "--gin_bindings=train_lib.Schedule.total_steps = 6"],
      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
  try:
    publisher_wait = 0
    while not (model_dir / "operative_config.gin").exists():
      assert trainer.poll() is None, trainer.stderr.read()[-2000:]
      publisher_wait += 1
      subprocess.run(["sleep", "0.2"], check=True)
    exp = _experiment(model_dir)
    schedule = dataclasses.replace(FAST, poll_seconds=0.2, timeout_seconds=120)
    done = continuous.evaluate_checkpoints(str(model_dir), exp, _evaluator(tmp_path), schedule,
                                           wait=True, final_step=6)
  finally:
    assert trainer.wait(timeout=300) == 0
  assert done[-1] == 6 and done == sorted(set(done)) and 0 not in done
  assert os.path.exists(model_dir / "plots" / "fid_score.png")
