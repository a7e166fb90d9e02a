"""Tests for tools/convert_compare_gan_checkpoint: TF1 checkpoint or hub module -> a run.

The source is the shipped MNIST demo (InfoGAN networks with BN, bundled data)
shrunk by gin_configs/smoke/tiny.gin, written as compare_gan would hold it:
tf.compat.v1 variables named by `compare_gan_names`, step counters, and the
Adam state of compare_gan's optimizers `d_opt` and `g_opt` as
tf.compat.v1.train.AdamOptimizer names it (`testing.save_tf1_checkpoint`).
The converted model_dir restores with `experiment.restore`, Adam moments
included, and the runner resumes it for one more step; bad requests exit
with a message naming the problem.
"""

import glob
import os
import pathlib

import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import configurables
from compare_gan2 import experiment
from compare_gan2 import main as runner
from compare_gan2 import testing
from compare_gan2.architectures import base
from tools import convert_compare_gan_checkpoint as tool

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIG = [f"--gin_config={ROOT / 'gin_configs' / 'mnist' / 'infogan.gin'}",
          f"--gin_config={ROOT / 'gin_configs' / 'smoke' / 'tiny.gin'}"]
G_STEP = 4


def _fresh_gan():
  configurables.parse_gin([c.split("=", 1)[1] for c in CONFIG], finalize=False)
  return configurables.build_experiment(with_dataset=False).gan


def _compare_gan_values(gan, seed=0):
  """compare_gan's checkpoint of `gan` at G step 4: weights, Adam state, counters."""
  rng = np.random.default_rng(seed)
  d_step = G_STEP * gan.disc_iters
  (d_beta1, d_beta2), (g_beta1, g_beta2) = testing.beta_power_names(testing.COMPARE_GAN_ADAM)
  values = {"global_step": np.int64(G_STEP), "global_step_disc": np.int32(d_step),
            d_beta1: np.float32(0.5 ** (d_step + 1)), d_beta2: np.float32(0.999 ** (d_step + 1)),
            g_beta1: np.float32(0.5 ** (G_STEP + 1)), g_beta2: np.float32(0.999 ** (G_STEP + 1))}
  for network, opt in ((gan.generator, "g_opt"), (gan.discriminator, "d_opt")):
    for variable in network.variables:
      name = base.compare_gan_names(network)[variable.path]
      shape = tuple(variable.shape)
      values[name] = np.abs(rng.normal(0.5, 0.2, shape)).astype(variable.dtype)
      if variable.trainable:
        values[f"{name}/{opt}"] = rng.normal(0, 0.1, shape).astype("float32")
        values[f"{name}/{opt}_1"] = np.abs(rng.normal(0, 0.1, shape)).astype("float32")
  return values


def _save_tf1(prefix, values):
  """The TF1 checkpoint of `values`, Adam state named as compare_gan's graph names it."""
  os.makedirs(os.path.dirname(prefix), exist_ok=True)
  return testing.save_tf1_checkpoint(prefix, values)


def _moments(optimizer, network):
  """{TF1 variable name: (Keras Adam momentum, velocity)} of the network's trainable variables."""
  names = base.compare_gan_names(network)
  slots = {v.name: v.numpy() for v in optimizer.variables}
  return {names[v.path]: tuple(slots[f"{v.path.replace('/', '_')}_{kind}"]
                               for kind in ("momentum", "velocity"))
          for v in network.trainable_variables}


@pytest.fixture(scope="module")
def source(tmp_path_factory):
  """(the TF1 checkpoint prefix, its values by name), written once for the module."""
  values = _compare_gan_values(_fresh_gan())
  return _save_tf1(str(tmp_path_factory.mktemp("old") / "model.ckpt-4"), values), values


def test_converted_run_restores_and_the_runner_resumes_it(source, tmp_path, capsys):
  """Exit 0 with a report; ckpt-4 restores exactly; the runner trains step 5 from it."""
  path, values = source
  model_dir = str(tmp_path / "run")
  assert tool.main(["tool", f"--tf1_checkpoint={path}", *CONFIG, f"--model_dir={model_dir}",
                    "--include_optimizer"]) == 0
  out = capsys.readouterr().out
  assert "G step 4, D step 4." in out and "Missing" not in out and "Unmapped" not in out
  assert f"Wrote {model_dir}/ckpt-4 (G step 4)" in out
  gan = _fresh_gan()
  assert experiment.restore(gan, os.path.join(model_dir, "ckpt-4")) == G_STEP
  names = base.compare_gan_names(gan.generator)
  for variable in gan.generator.variables:
    np.testing.assert_array_equal(variable.numpy(), values[names[variable.path]])
  assert int(gan.d_optimizer.iterations.numpy()) == G_STEP
  for optimizer, network, opt in ((gan.d_optimizer, gan.discriminator, "d_opt"),
                                  (gan.g_optimizer, gan.generator, "g_opt")):
    for name, (m, v) in _moments(optimizer, network).items():
      np.testing.assert_array_equal(m, values[f"{name}/{opt}"])
      np.testing.assert_array_equal(v, values[f"{name}/{opt}_1"])
  assert runner.main([f"--model_dir={model_dir}", *CONFIG,
                      "--gin_bindings=train_lib.Schedule.total_steps = 5"]) == 0
  steps = sorted(int(p.rsplit("-", 1)[1].split(".")[0])
                 for p in glob.glob(os.path.join(model_dir, "ckpt-*.index")))
  assert steps == [4, 5]  # resumed at 4: no fresh ckpt-0
  # Step 5 continued the moments: v = β2·v4 + (1−β2)·g² >= β2·v4 (with zero moments
  # it would be (1−β2)·g², about 1000 times smaller than the converted v4).
  gin.clear_config()  # the runner locked it
  resumed = _fresh_gan()
  assert experiment.restore(resumed, os.path.join(model_dir, "ckpt-5")) == G_STEP + 1
  for name, (_, v) in _moments(resumed.g_optimizer, resumed.generator).items():
    assert (v >= 0.999 * values[f"{name}/g_opt_1"] * (1 - 1e-6)).all(), name


def test_hub_module_becomes_a_step_0_run(source, tmp_path, capsys):
  """--hub_module: G's variables from module/variables, as ckpt-0 the run's own config restores."""
  _, values = source
  module = tmp_path / "module"
  _save_tf1(str(module / "variables" / "variables"),
            {n: v for n, v in values.items()
             if n.startswith("generator/") and not n.endswith(("/g_opt", "/g_opt_1"))})
  assert tool.main(["tool", f"--hub_module={module}", *CONFIG,
                    f"--model_dir={tmp_path / 'run'}"]) == 0
  assert "Wrote" in capsys.readouterr().out
  # What evaluation and tools.sample do: rebuild from the run's operative_config.gin.
  gin.clear_config()
  configurables.parse_gin([experiment.operative_config_path(str(tmp_path / "run"))])
  gan = configurables.build_experiment(with_dataset=False).gan
  assert experiment.restore(gan, str(tmp_path / "run" / "ckpt-0")) == 0
  kernel = gan.generator.variables[0]
  np.testing.assert_array_equal(
      kernel.numpy(), values[base.compare_gan_names(gan.generator)[kernel.path]])


def test_partial_conversion_is_refused_unless_allowed(source, tmp_path, capsys):
  """A GAN with EMA needs shadows the source lacks: exit 1 naming them; --allow_partial lists."""
  path, _ = source
  args = ["tool", f"--tf1_checkpoint={path}", *CONFIG, f"--model_dir={tmp_path / 'run'}",
          "--gin_bindings=gans.ModularGAN.ema = @gans.EmaConfig()"]
  assert tool.main(args) == 1
  err = capsys.readouterr().err
  assert "the configured GAN needs: generator/g_fc1/kernel/ExponentialMovingAverage" in err
  assert "Refusing a partial conversion" in err and not os.path.exists(tmp_path / "run")
  assert tool.main([*args, "--allow_partial"]) == 0
  out = capsys.readouterr().out
  assert "Missing (" in out and "  generator/g_fc1/bias/ExponentialMovingAverage" in out
  assert "Skipped (" in out and "oversized first steps" in out  # no --include_optimizer


def test_existing_checkpoints_need_overwrite(source, tmp_path, capsys):
  """A model_dir with ckpt-* files is refused (exit 1) unless --overwrite."""
  path, _ = source
  model_dir = tmp_path / "run"
  model_dir.mkdir()
  (model_dir / "ckpt-7.index").write_text("")
  args = ["tool", f"--tf1_checkpoint={path}", *CONFIG, f"--model_dir={model_dir}"]
  assert tool.main(args) == 1
  assert "already has checkpoints (steps 7)" in capsys.readouterr().err
  assert tool.main([*args, "--overwrite"]) == 0
  assert sorted(os.listdir(model_dir)) == ["checkpoint", "ckpt-4.data-00000-of-00001",
                                           "ckpt-4.index", "operative_config.gin"]


@pytest.mark.parametrize("args, problem", [
    ([], "exactly one source: --tf1_checkpoint or --hub_module; got neither"),
    (["--tf1_checkpoint=a", "--hub_module=b"], "got both"),
    (["--hub_module=b", "--include_optimizer"], "a hub module has no optimizer state"),
])
def test_bad_flags_exit_2_with_the_reason(args, problem, tmp_path, capsys):
  """Source flags are checked before anything is built."""
  assert tool.main(["tool", *CONFIG, f"--model_dir={tmp_path}", *args]) == 2
  assert problem in capsys.readouterr().err


def test_missing_gin_config_and_help(capsys):
  """--gin_config is required; --help prints the module docstring."""
  assert tool.main(["tool", "--model_dir=/tmp/x", "--tf1_checkpoint=a"]) == 2
  assert "--gin_config is required" in capsys.readouterr().err
  assert tool.main(["tool", "--help"]) == 0
  assert "TF-Hub generator module" in capsys.readouterr().out
