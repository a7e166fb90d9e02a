"""Tests for compare_gan2.main, the runner, end to end at tiny scale.

The shipped MNIST demo config, shrunk by gin_configs/smoke/tiny.gin, trains,
resumes, and writes its record; bad input exits 1 with a one-paragraph error.
"""

import csv
import glob
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

from compare_gan2 import export
from compare_gan2 import main

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEMO = str(ROOT / "gin_configs" / "mnist" / "infogan.gin")
TINY = str(ROOT / "gin_configs" / "smoke" / "tiny.gin")


def _run(model_dir, *extra):
  return main.main([f"--model_dir={model_dir}", f"--gin_config={DEMO}", f"--gin_config={TINY}",
                    *extra])


def _steps(model_dir):
  return sorted(int(p.rsplit("-", 1)[1].split(".")[0])
                for p in glob.glob(os.path.join(model_dir, "ckpt-*.index")))


def test_trains_resumes_and_writes_the_record(tmp_path, capsys):
  assert _run(tmp_path) == 0
  assert _steps(tmp_path) == [0, 1, 2]
  assert "train done" in capsys.readouterr().out
  operative = (tmp_path / "operative_config.gin").read_text()
  assert "ModularGAN.generator = @infogan.Generator()" in operative
  assert "Generator.z_dim = 64" in operative
  assert os.listdir(tmp_path / "samples") == ["step_0000002.png"]
  # The final generator is exported with compare_gan's hub signature.
  exported = export.load_generator(str(tmp_path / "export" / "2"))
  assert exported.z_dim == 64 and exported.generate(np.zeros((2, 64), np.float32)).shape == (
      2, 28, 28, 1)
  # A longer schedule resumes from ckpt-2 instead of starting over.
  assert _run(tmp_path, "--gin_bindings=train_lib.Schedule.total_steps = 3") == 0
  assert _steps(tmp_path) == [1, 2, 3]  # ckpt-3 added; keep_checkpoints = 3 retires ckpt-0


QUICK_EVAL = ("--gin_bindings=evaluation.Evaluator.num_samples = 64",
              "--num_eval_averaging_runs=2")


def _scored_steps(model_dir):
  with open(os.path.join(model_dir, "scores.csv")) as f:
    return [int(row["step"]) for row in csv.DictReader(f)]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
  monkeypatch.setenv("COMPARE_GAN2_CACHE", str(tmp_path / "cache"))


def test_eval_after_train_scores_every_kept_checkpoint(tmp_path, capsys):
  """Train, then score ckpt-1 and ckpt-2 (step 0 skipped) with the MNIST classifier."""
  model_dir = tmp_path / "run"
  assert _run(model_dir, "--schedule=eval_after_train", *QUICK_EVAL) == 0
  assert _scored_steps(model_dir) == [1, 2]
  out = capsys.readouterr().out
  assert "NOT comparable with Inception FID" in out and "fid_score_mean=" in out
  with open(model_dir / "scores.csv") as f:
    row = next(csv.DictReader(f))
  assert row["extractor"] == "mnist_classifier_v1" and len(row["fid_score_list"].split("_")) == 2
  assert (model_dir / "TRAIN_DONE").exists() and (model_dir / "plots" / "fid_score.png").exists()
  # continuous_eval on the finished run finds nothing new and returns at once.
  assert _run(model_dir, "--schedule=continuous_eval", *QUICK_EVAL) == 0
  assert _scored_steps(model_dir) == [1, 2]


def test_train_and_eval_scores_the_live_gan_at_checkpoints(tmp_path):
  """Interleaved: each checkpoint the schedule selects is scored as training reaches it."""
  model_dir = tmp_path / "run"
  assert _run(model_dir, "--schedule=train_and_eval", "--eval_every_steps=2", *QUICK_EVAL) == 0
  assert _scored_steps(model_dir) == [2]
  # The record still says what was trained, so tools can rebuild the run from it.
  operative = (model_dir / "operative_config.gin").read_text()
  assert "train.gan = @gans.ModularGAN()" in operative
  assert "train.dataset = @data.bundled_mnist()" in operative


def test_a_typo_in_a_binding_is_named(tmp_path, capsys):
  assert _run(tmp_path, "--gin_bindings=gans.ModularGAN.disc_itres = 2") == 1
  err = capsys.readouterr().err
  assert "disc_itres" in err and "gin binding" in err


def test_missing_model_dir_is_a_usage_error():
  with pytest.raises(SystemExit) as exit_info:
    main.main([f"--gin_config={DEMO}"])
  assert exit_info.value.code == 2


def test_module_entry_point_runs_with_a_clean_console(tmp_path):
  """A healthy run prints one progress line per logged step and no ERROR-level line.

  (TensorFlow's CPU start-up lines and the train step's Grappler remapper error
  used to be E-level lines here, and a Keras progress bar repeated each step.)
  """
  result = subprocess.run([sys.executable, "-m", "compare_gan2.main", f"--model_dir={tmp_path}",
                           f"--gin_config={DEMO}", f"--gin_config={TINY}"],
                          capture_output=True, text=True, timeout=300, check=False,
                          env={k: v for k, v in os.environ.items() if k != "COMPARE_GAN2_VERBOSE"})
  assert result.returncode == 0, result.stderr[-2000:]
  assert "train done" in result.stdout
  console = (result.stdout + result.stderr).replace("\r", "\n").splitlines()
  assert not [line for line in console if re.match(r"E\d{4} ", line)], result.stderr
  steps = [re.search(r"\b(\d+)/2\b", line).group(1) for line in console
           if re.search(r"\b\d+/2\b", line)]
  assert steps == ["1", "2"], console  # tiny.gin: 2 steps, logged after each
