"""Tests for tools/sample: sheets, class sheets and interpolations as PNG.

A tiny conditional run (ResNet-CIFAR G with conditional BN, checkpoints at G
steps 3 and 5, written directly rather than trained, for speed) and an export of
its step-5 generator: both sources give the same pictures, every mode has the
documented layout, the PNG holds the grid exactly, and bad requests exit with a
message naming the problem.
"""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import checkpoints
from compare_gan2 import configurables
from compare_gan2 import experiment
from compare_gan2 import export
from compare_gan2 import sampling
from compare_gan2 import testing
from compare_gan2.gans import modular_gan
from tools import sample

RUN_CONFIG = """import compare_gan2.configurables
train_lib.train.gan = @gans.ModularGAN()
train_lib.train.d_optimizer = @D/keras.optimizers.Adam()
train_lib.train.g_optimizer = @G/keras.optimizers.Adam()
gans.ModularGAN.generator = @resnet_cifar.Generator()
gans.ModularGAN.discriminator = @resnet_cifar.Discriminator()
gans.ModularGAN.conditional = True
resnet_cifar.Generator.ch = 4
resnet_cifar.Generator.z_dim = 4
resnet_cifar.Generator.num_classes = 3
resnet_cifar.Generator.batch_norm = @ops.ConditionalBatchNorm
resnet_cifar.Discriminator.ch = 4
resnet_cifar.Discriminator.num_classes = 3
"""


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
  """{"run": model_dir, "export": its step 5 exported, "unconditional": a tiny G's export}."""
  root = tmp_path_factory.mktemp("sources")
  model_dir = str(root / "run")
  os.makedirs(model_dir)
  with open(os.path.join(model_dir, experiment.OPERATIVE_CONFIG), "w") as f:
    f.write(RUN_CONFIG)
  configurables.parse_gin([experiment.operative_config_path(model_dir)], finalize=False)
  gan = configurables.build_experiment(with_dataset=False).gan
  manager = checkpoints.make_manager(gan, model_dir)
  for step in (3, 5):  # weights large enough for pictures that are not a flat gray
    rng = np.random.RandomState(step)
    for variable in gan.generator.trainable_variables:
      variable.assign(rng.normal(0.0, 0.3, variable.shape))
    gan.g_optimizer.iterations.assign(step)
    manager.save(checkpoint_number=step)
  keras.utils.set_random_seed(0)
  unconditional = modular_gan.ModularGAN(testing.TinyGenerator((4, 4, 3), z_dim=2),
                                         testing.TinyDiscriminator((4, 4, 3)))
  unconditional.compile(d_optimizer=keras.optimizers.Adam(), g_optimizer=keras.optimizers.Adam())
  unconditional.build_networks()
  return {"run": model_dir, "export": export.export_generator(gan, str(root / "export")),
          "unconditional": export.export_generator(unconditional, str(root / "unconditional"))}


def test_sources_are_exactly_one_of_run_and_export(sources):
  """Neither or both sources, run flags on an export, a missing checkpoint or export: named."""
  with pytest.raises(ValueError, match="exactly one source.*got neither"):
    sample.open_generator()
  with pytest.raises(ValueError, match="exactly one source.*got both"):
    sample.open_generator(sources["run"], sources["export"])
  with pytest.raises(ValueError, match="apply to --model_dir, not --export_dir"):
    sample.open_generator(export_dir=sources["export"], checkpoint="3")
  with pytest.raises(ValueError, match="No checkpoint of step 4.*available steps: 3, 5"):
    sample.open_generator(sources["run"], checkpoint="4")
  with pytest.raises(ValueError, match="No SavedModel"):
    sample.open_generator(export_dir=os.path.join(sources["run"], "nothing"))


def test_every_mode_has_its_layout_and_run_and_export_agree(sources):
  """sheet rows x columns, classes one row per class (default all 3), interpolate rows x steps."""
  from_run = sample.open_generator(sources["run"])  # newest checkpoint: step 5
  from_export = sample.open_generator(export_dir=sources["export"])
  for mode, shape in (("sheet", (2 * 32, 3 * 32, 3)), ("classes", (3 * 32, 3 * 32, 3)),
                      ("interpolate", (2 * 32, 4 * 32, 3))):
    grids = [sample.draw(g, mode, rows=2, columns=3, steps=4, seed=1, truncation=0.8)
             for g in (from_run, from_export)]
    assert grids[0].shape == grids[1].shape == shape and grids[0].dtype == np.uint8
    assert np.abs(grids[0].astype(int) - grids[1].astype(int)).max() <= 1  # bin edges
  older = sample.draw(sample.open_generator(sources["run"], checkpoint="3"), "sheet", 2, 3)
  assert np.abs(older.astype(int) - sample.draw(from_run, "sheet", 2, 3)).max() > 1


def test_classes_choose_the_rows(sources):
  """--classes: the rows of "classes"; row r's class in "sheet" and "interpolate"."""
  gen = sample.open_generator(export_dir=sources["export"])
  np.testing.assert_array_equal(sample.draw(gen, "classes", columns=2, classes=["2", "0"]),
                                sampling.class_sheet(gen, [2, 0], 2, seed=0))
  np.testing.assert_array_equal(sample.draw(gen, "sheet", rows=2, columns=2, classes=["1", "2"]),
                                sampling.sample_sheet(gen, 2, 2, 0, labels=[1, 1, 2, 2]))
  np.testing.assert_array_equal(
      sample.draw(gen, "interpolate", rows=3, steps=2, classes=["1", "2"]),
      sampling.interpolate(gen, 2, 3, 0, labels=[1, 2, 1]))
  with pytest.raises(ValueError, match="integer class ids"):
    sample.draw(gen, "classes", classes=["cat"])
  with pytest.raises(ValueError, match=r"classes \[3\] are out of range"):
    sample.draw(gen, "classes", classes=["3"])


def test_classes_on_an_unconditional_generator_are_an_error(sources):
  """Mode "classes" or --classes on an unconditional generator: ValueError saying so."""
  gen = sample.open_generator(export_dir=sources["unconditional"])
  with pytest.raises(ValueError, match="needs a conditional generator"):
    sample.draw(gen, "classes")
  with pytest.raises(ValueError, match="needs a conditional generator"):
    sample.draw(gen, "sheet", classes=["0"])
  assert sample.draw(gen, "sheet", rows=2, columns=5).shape == (8, 20, 3)


def test_main_writes_the_grid_as_png(sources, tmp_path, capsys):
  """The PNG holds the uint8 grid exactly; the run source works through main too."""
  output = tmp_path / "out" / "classes.png"
  argv = ["sample", f"--export_dir={sources['export']}", "--mode=classes", "--classes=2,0",
          "--columns=3", "--truncation=0.5", "--seed=4", f"--output={output}"]
  assert sample.main(argv) == 0
  assert str(output) in capsys.readouterr().out
  png = tf.io.decode_png(tf.io.read_file(str(output))).numpy()
  gen = sample.open_generator(export_dir=sources["export"])
  np.testing.assert_array_equal(png, sampling.class_sheet(gen, [2, 0], 3, 4, truncation=0.5))
  output = tmp_path / "interpolate.png"
  assert sample.main(["sample", f"--model_dir={sources['run']}", "--checkpoint=3",
                      "--mode=interpolate", "--rows=2", "--steps=3", "--interpolation=lerp",
                      f"--output={output}"]) == 0
  assert tf.io.decode_png(tf.io.read_file(str(output))).shape == (64, 96, 3)


def test_main_errors_exit_1_with_a_message_and_2_for_bad_flags(sources, tmp_path, capsys):
  """Both sources, classes of an unconditional model, a missing checkpoint: 1; bad flags: 2."""
  output = f"--output={tmp_path / 'x.png'}"
  cases = [([f"--model_dir={sources['run']}", f"--export_dir={sources['export']}"],
            "exactly one source"),
           ([], "exactly one source"),
           ([f"--export_dir={sources['unconditional']}", "--mode=classes"],
            "needs a conditional generator"),
           ([f"--model_dir={sources['run']}", "--checkpoint=7"], "No checkpoint of step 7")]
  for flags, message in cases:
    assert sample.main(["sample", *flags, output]) == 1, flags
    err = capsys.readouterr().err
    assert err.startswith("sample: ") and message in err and "Traceback" not in err
  assert sample.main(["sample", f"--export_dir={sources['export']}"]) == 2
  assert "--output" in capsys.readouterr().err
  assert sample.main(["sample", f"--export_dir={sources['export']}", "--mode=grid", output]) == 2
  assert not os.path.exists(tmp_path / "x.png")


def test_script_runs_and_prints_help():
  """`python -m tools.sample --help` runs the module entry point and lists the flags."""
  root = os.path.dirname(os.path.dirname(sample.__file__))
  result = subprocess.run([sys.executable, "-m", "tools.sample", "--help"], cwd=root,
                          capture_output=True, text=True, timeout=120, check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  assert "--mode" in result.stdout and "--truncation" in result.stdout
