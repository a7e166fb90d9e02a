"""Tests for tools/model_summary: variable tables in compare_gan's naming."""

import os
import pathlib
import subprocess
import sys

import pytest

from compare_gan2 import configurables
from compare_gan2.architectures import families
from tools import model_summary


def _summary(family, *bindings):
  return model_summary.summarize(f"@{family}.Generator()", f"@{family}.Discriminator()",
                                 bindings=bindings)


def test_dcgan_table_totals_and_output_shapes():
  text = _summary("dcgan", "dcgan.Generator.image_shape = (32, 32, 3)",
                  "dcgan.Discriminator.image_shape = (32, 32, 3)")
  assert "== generator: compare_gan2.architectures.dcgan.Generator (image 32x32x3" in text
  assert "generator/g_dc1/kernel" in text and "(5, 5, 256, 512)" in text
  # compare_gan's DCGAN at 32x32x3 (docs/design.md §10).
  assert "trainable parameters: 4,570,243" in text
  assert "trainable parameters: 4,308,609" in text
  assert "-> output (2, 32, 32, 3)" in text
  assert ("-> output DiscriminatorOutput(probabilities=(2, 1), logits=(2, 1), "
          "features=(2, 2, 2, 512))") in text


def test_spectral_norm_vectors_show_with_their_tf1_names():
  text = _summary("sndcgan", "sndcgan.Discriminator.spectral_norm = True")
  row = next(line for line in text.splitlines() if "discriminator/d_conv1/kernel/u_var" in line)
  assert row.split()[-1] == "no"  # u is state, not a trained parameter


def test_unsupported_resolution_is_an_error_naming_the_sizes():
  with pytest.raises(ValueError, match="multiples of 4"):
    _summary("infogan", "infogan.Generator.image_shape = (30, 30, 1)")


def test_unknown_architecture_is_a_gin_error():
  with pytest.raises(configurables.GinConfigError, match="dcgann"):
    model_summary.summarize("@dcgann.Generator()", "@dcgan.Discriminator()")


def _console(*args):
  script = os.path.join(os.path.dirname(sys.executable), "compare_gan2_model_summary")
  if not os.path.exists(script):
    pytest.fail(f"console script missing at {script}: run `make venv` (pip install -e .)")
  return subprocess.run([script, *args], capture_output=True, text=True, timeout=300, check=False)


def test_console_command_exits_1_with_one_paragraph():
  result = _console("--generator=@infogan.Generator()", "--discriminator=@infogan.Discriminator()",
                    "--gin_bindings=infogan.Generator.image_shape = (30, 30, 1)")
  assert result.returncode == 1
  # TF's own start-up lines precede ours on stderr (docs/design.md §8).
  message = result.stderr[result.stderr.index("model_summary:"):]
  assert "multiples of 4" in message and "got 30x30" in message
  assert "Traceback" not in result.stderr


def test_console_command_prints_the_tables():
  result = _console("--generator=@sndcgan.Generator()", "--discriminator=@sndcgan.Discriminator()")
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.count("trainable parameters:") == 2


FAMILIES = families.all_families()


def _tiny_bindings(family: families.Family) -> list[str]:
  """The family's tiny widths at its smallest resolution (BigGAN's D projects labels)."""
  lines = [f"{family.name}.Discriminator.num_classes = 10"]
  for net, cls in (("Generator", family.generator), ("Discriminator", family.discriminator)):
    kwargs = family.tiny_kwargs(cls, min(family.resolutions), colors=3)
    lines += [f"{family.name}.{net}.{key} = {value!r}" for key, value in kwargs.items()]
  return lines


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_summary_works_for_every_family(family):
  text = _summary(family, *_tiny_bindings(FAMILIES[family]))
  assert text.count("trainable parameters:") == 2
  assert f"compare_gan2.architectures.{family}.Generator" in text
  assert "generator/" in text and "discriminator/" in text


# --- networks read from the experiment when --generator/--discriminator are absent ---

ROOT = pathlib.Path(__file__).resolve().parents[2]
TINY = str(ROOT / "gin_configs" / "smoke" / "tiny.gin")

# A compare_gan file (resnet_cifar10.gin's bindings, as tests/tools/migrate_gin_test.py).
LEGACY = """dataset.name = "cifar10"
options.architecture = "resnet_cifar_arch"
options.batch_size = 64
options.gan_class = @ModularGAN
options.lamba = 1
options.training_steps = 40000
options.z_dim = 128
G.batch_norm_fn = @batch_norm
options.disc_iters = 5
D.spectral_norm = True
loss.fn = @non_saturating
penalty.fn = @no_penalty
ModularGAN.g_lr = 0.0002
ModularGAN.g_optimizer_fn = @tf.train.AdamOptimizer
"""


def _module(*args):
  """`python -m tools.model_summary`: run(), the console script's entry, with this checkout."""
  return subprocess.run([sys.executable, "-m", "tools.model_summary", *args], cwd=ROOT,
                        capture_output=True, text=True, timeout=300, check=False)


def test_console_reads_the_networks_of_a_new_style_experiment():
  """imagenet128/biggan.gin binds both networks in gans.ModularGAN: no flag is needed."""
  result = _module(f"--gin_config={ROOT / 'gin_configs' / 'imagenet128' / 'biggan.gin'}",
                   f"--gin_config={TINY}")  # tiny.gin narrows ch: the sizes stay the config's
  assert result.returncode == 0, result.stderr[-2000:]
  out = result.stdout
  assert "== generator: compare_gan2.architectures.resnet_biggan.Generator " \
         "(image 128x128x3, classes 1000)" in out
  # conditional=True: both networks take the one-hot labels.
  assert "input [(2, 120), (2, 1000)] -> output (2, 128, 128, 3)" in out
  assert "input [(2, 128, 128, 3), (2, 1000)] -> output DiscriminatorOutput" in out
  assert "generator/embed_y/kernel" in out and "discriminator/final_fc/kernel" in out


def test_console_reads_the_networks_of_a_compare_gan_file(tmp_path):
  """A compare_gan file is translated as the runner translates it (options.architecture)."""
  (tmp_path / "old.gin").write_text(LEGACY)
  result = _module(f"--gin_config={tmp_path / 'old.gin'}")
  assert result.returncode == 0, result.stderr[-2000:]
  out = result.stdout
  assert "== generator: compare_gan2.architectures.resnet_cifar.Generator (image 32x32x3" in out
  assert "input [(2, 128)] -> output (2, 32, 32, 3)" in out  # options.z_dim = 128
  assert "discriminator/" in out and "/kernel/u_var" in out  # D.spectral_norm = True
  assert out.count("trainable parameters:") == 2


def test_experiment_discriminator_carries_the_variants_heads():
  """SSGAN's D is shown as training builds it: with its 4-way rotation head."""
  text = model_summary.summarize(gin_files=[str(ROOT / "gin_configs" / "cifar10" / "ssgan.gin"),
                                            TINY])
  d_table = text[text.index("== discriminator"):]
  row = next(line for line in d_table.splitlines()
             if line.startswith("discriminator/score_classify/kernel "))
  assert row.split()[1:3] == ["(16,", "4)"]  # D's 16 features (tiny ch) -> 4 rotations


def test_a_flag_replaces_only_its_network():
  text = model_summary.summarize(
      generator_ref="@dcgan.Generator()",
      gin_files=[str(ROOT / "gin_configs" / "cifar10" / "ssgan.gin"), TINY],
      bindings=["dcgan.Generator.image_shape = (32, 32, 3)"])
  assert "== generator: compare_gan2.architectures.dcgan.Generator" in text
  assert "== discriminator: compare_gan2.architectures.resnet_cifar.Discriminator" in text


def test_no_flag_and_no_gan_is_an_error_naming_both(tmp_path, capsys):
  (tmp_path / "widths.gin").write_text("resnet_cifar.Generator.ch = 16\n")
  assert model_summary.main(["model_summary", f"--gin_config={tmp_path / 'widths.gin'}"]) == 1
  message = capsys.readouterr().err
  assert message.startswith("model_summary: --generator and --discriminator not given, and the "
                            "gin config binds no train_lib.train.gan")
  assert model_summary.main(["model_summary", "--discriminator=@dcgan.Discriminator()",
                             f"--gin_config={tmp_path / 'widths.gin'}"]) == 1
  assert "model_summary: --generator not given" in capsys.readouterr().err
