"""Tests for tools/export_generator: a run's checkpoint to a generator SavedModel.

A tiny conditional run (ResNet-CIFAR G with conditional BN, EMA on, checkpoints
at G steps 3 and 5, written directly rather than trained, for speed) is
exported from the newest checkpoint, a given step or path, with or without EMA,
and each export reproduces that checkpoint's generator.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

from compare_gan2 import checkpoints
from compare_gan2 import configurables
from compare_gan2 import experiment
from compare_gan2 import export
from tools import export_generator

RUN_CONFIG = """import compare_gan2.configurables
train_lib.train.gan = @gans.ModularGAN()
train_lib.train.d_optimizer = @D/keras.optimizers.Adam()
train_lib.train.g_optimizer = @G/keras.optimizers.Adam()
gans.ModularGAN.generator = @resnet_cifar.Generator()
gans.ModularGAN.discriminator = @resnet_cifar.Discriminator()
gans.ModularGAN.conditional = True
gans.ModularGAN.ema = @gans.EmaConfig()
resnet_cifar.Generator.ch = 4
resnet_cifar.Generator.z_dim = 4
resnet_cifar.Generator.num_classes = 3
resnet_cifar.Generator.batch_norm = @ops.ConditionalBatchNorm
resnet_cifar.Discriminator.ch = 4
resnet_cifar.Discriminator.num_classes = 3
"""
Z = np.random.RandomState(0).normal(size=(4, 4)).astype(np.float32)
LABELS = np.array([0, 1, 2, 0], np.int32)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
  """(model_dir, {step: {"ema": images, "raw": images}}) of Z and LABELS at steps 3 and 5."""
  model_dir = str(tmp_path_factory.mktemp("run"))
  with open(os.path.join(model_dir, experiment.OPERATIVE_CONFIG), "w") as f:
    f.write(RUN_CONFIG)
  configurables.parse_gin([experiment.operative_config_path(model_dir)], finalize=False)
  gan = configurables.build_experiment(with_dataset=False).gan
  manager = checkpoints.make_manager(gan, model_dir)
  images = {}
  for step in (3, 5):  # weights large enough for pictures that are not a flat gray
    rng = np.random.RandomState(step)
    for raw, shadow in zip(gan.generator.trainable_variables,
                           gan.ema.generator.trainable_variables):
      raw.assign(rng.normal(0.0, 0.3, raw.shape))
      shadow.assign(raw + rng.normal(0.0, 0.1, raw.shape))  # EMA differs from the raw weights
    gan.g_optimizer.iterations.assign(step)
    manager.save(checkpoint_number=step)
    images[step] = {"ema": export.live_generator(gan).generate(Z, LABELS),
                    "raw": export.live_generator(gan, use_ema=False).generate(Z, LABELS)}
  for kind in ("ema", "raw"):  # each export below is told apart from the others
    assert np.abs(images[3][kind] - images[5][kind]).max() > 0.1
  assert np.abs(images[5]["ema"] - images[5]["raw"]).max() > 0.01
  return model_dir, images


KINDS = ["ema", "raw"]


def _exported_images(path):
  return export.load_generator(path).generate(Z, LABELS)


@pytest.mark.parametrize("kind", KINDS)
def test_exports_the_newest_checkpoint(run, tmp_path, kind):
  """Defaults: newest checkpoint (step 5), EMA weights, model_dir/export/<step>."""
  model_dir, images = run
  if kind == "ema":
    step, path = export_generator.export_run(model_dir)
    assert path == os.path.join(model_dir, "export", "5")
  else:
    step, path = export_generator.export_run(model_dir, str(tmp_path / "raw"), use_ema=False)
  assert step == 5
  np.testing.assert_allclose(_exported_images(path), images[5][kind], atol=1e-6)


@pytest.mark.parametrize("checkpoint", ["3", "ckpt-3"])
def test_checkpoint_by_step_or_path(run, tmp_path, checkpoint):
  """--checkpoint takes a G step or a checkpoint path."""
  model_dir, images = run
  checkpoint = os.path.join(model_dir, checkpoint) if checkpoint.startswith("ckpt") else checkpoint
  step, path = export_generator.export_run(model_dir, str(tmp_path / "e"), checkpoint,
                                           use_ema=False)
  assert step == 3
  np.testing.assert_allclose(_exported_images(path), images[3]["raw"], atol=1e-6)


def test_errors_name_the_checkpoint_run_or_export(run, tmp_path):
  """A missing step lists the available ones; a non-run and an existing export are refused."""
  model_dir, _ = run
  with pytest.raises(ValueError, match="No checkpoint of step 4.*available steps: 3, 5"):
    export_generator.export_run(model_dir, str(tmp_path / "e"), "4")
  with pytest.raises(ValueError, match="not a compare_gan2 training directory"):
    export_generator.export_run(str(tmp_path))
  (tmp_path / "e").mkdir()
  (tmp_path / "e" / "saved_model.pb").write_text("an earlier export")
  with pytest.raises(ValueError, match="exists and is not empty"):
    export_generator.export_run(model_dir, str(tmp_path / "e"))
  assert (tmp_path / "e" / "saved_model.pb").read_text() == "an earlier export"


def test_main_exit_codes_and_messages(run, tmp_path, capsys):
  """0 and a line naming the export; 1 with a one-paragraph error; 2 for bad flags."""
  model_dir, images = run
  argv = ["export_generator", f"--model_dir={model_dir}", "--checkpoint=5", "--no_ema",
          f"--export_dir={tmp_path / 'e'}"]
  assert export_generator.main(argv) == 0
  assert f"step 5 to {tmp_path / 'e'}" in capsys.readouterr().out
  np.testing.assert_allclose(_exported_images(str(tmp_path / "e")), images[5]["raw"], atol=1e-6)
  assert export_generator.main(argv) == 1
  err = capsys.readouterr().err
  assert err.startswith("export_generator: ") and "not empty" in err and "Traceback" not in err
  assert export_generator.main(["export_generator", "--checkpoint=3"]) == 2
  assert "--model_dir is required" in capsys.readouterr().err
  assert export_generator.main(["export_generator", f"--model_dir={model_dir}", "--bogus"]) == 2
  assert "bogus" in capsys.readouterr().err


def test_script_runs_and_prints_help():
  """`python -m tools.export_generator --help` runs the module entry point and lists the flags."""
  root = os.path.dirname(os.path.dirname(export_generator.__file__))
  result = subprocess.run([sys.executable, "-m", "tools.export_generator", "--help"], cwd=root,
                          capture_output=True, text=True, timeout=120, check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  assert "--[no]no_ema" in result.stdout and "--checkpoint" in result.stdout
