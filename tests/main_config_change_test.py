"""Resuming a model_dir with a changed config through the runner (issue 10, item 5).

One tiny MNIST run (2 steps) is trained once per module; each test resumes a
copy of it with a changed config and pins what happens: an architecture or
method change stops before training and leaves the run untouched, a learning
rate change resumes and rewrites the record (keeping the replaced one), and
--allow_config_change lets a blocked change through.
"""

import glob
import os
import pathlib
import shutil

import pytest

from compare_gan2 import main

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEMO = str(ROOT / "gin_configs" / "mnist" / "infogan.gin")
TINY = str(ROOT / "gin_configs" / "smoke" / "tiny.gin")
ONE_MORE_STEP = "--gin_bindings=train_lib.Schedule.total_steps = 3"


def _run(model_dir, *extra):
  return main.main([f"--model_dir={model_dir}", f"--gin_config={DEMO}", f"--gin_config={TINY}",
                    *extra])


def _snapshot(model_dir):
  """Every file of the run with its bytes (the record and the checkpoints)."""
  return {os.path.relpath(p, model_dir): pathlib.Path(p).read_bytes()
          for p in glob.glob(os.path.join(model_dir, "**"), recursive=True) if os.path.isfile(p)}


@pytest.fixture(scope="module", name="trained")
def _trained(tmp_path_factory):
  model_dir = tmp_path_factory.mktemp("trained") / "run"
  assert _run(model_dir) == 0
  return model_dir


@pytest.fixture(name="run_dir")
def _run_dir(trained, tmp_path):
  copy = tmp_path / "run"
  shutil.copytree(trained, copy)
  return copy


def test_an_architecture_change_stops_before_training(run_dir, capsys):
  """disc_iters and z_dim changed: exit 1 naming both, and not one byte of the run changes."""
  before = _snapshot(run_dir)
  assert _run(run_dir, ONE_MORE_STEP, "--gin_bindings=gans.ModularGAN.disc_iters = 2",
              "--gin_bindings=infogan.Generator.z_dim = 32") == 1
  err = capsys.readouterr().err
  assert err.startswith("compare_gan2: ") and "Traceback" not in err
  for part in ("gans.ModularGAN.disc_iters: 1 -> 2", "infogan.Generator.z_dim: 64 -> 32",
               str(run_dir / "operative_config.gin"), "--allow_config_change"):
    assert part in err
  assert _snapshot(run_dir) == before


def test_a_learning_rate_change_resumes_and_rewrites_the_record(run_dir):
  """G's rate lowered after step 2: training continues, the record says which rate ran when."""
  assert _run(run_dir, ONE_MORE_STEP,
              "--gin_bindings=G/keras.optimizers.Adam.learning_rate = 5e-4") == 0
  assert os.path.exists(run_dir / "ckpt-3.index")
  assert "G/Adam.learning_rate = 0.0005" in (run_dir / "operative_config.gin").read_text()
  replaced = (run_dir / "operative_config.before_step_2.gin").read_text()
  assert "G/Adam.learning_rate = 0.001" in replaced


def test_allow_config_change_lets_a_blocked_change_through(run_dir, capsys):
  """A new data order is refused, then accepted with the flag and recorded."""
  new_seed = "--gin_bindings=data.train_input.seed = 1"
  assert _run(run_dir, ONE_MORE_STEP, new_seed) == 1
  assert "data.train_input.seed: 547 -> 1" in capsys.readouterr().err
  assert _run(run_dir, ONE_MORE_STEP, new_seed, "--allow_config_change") == 0
  assert "train_input.seed = 1" in (run_dir / "operative_config.gin").read_text()
  assert "train_input.seed = 547" in (run_dir / "operative_config.before_step_2.gin").read_text()
