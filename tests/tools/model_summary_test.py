"""Tests for tools/model_summary: variable tables in compare_gan's naming."""

import os
import subprocess
import sys

import pytest

from compare_gan2 import configurables
from tools import model_summary


def _summary(family, *bindings):
  return model_summary.summarize(f"@{family}.Generator()", f"@{family}.Discriminator()",
                                 bindings=bindings)


def test_dcgan_table_totals_and_output_shapes():
  text = _summary("dcgan", "dcgan.Generator.image_shape = (32, 32, 3)",
                  "dcgan.Discriminator.image_shape = (32, 32, 3)")
  assert "== generator: compare_gan2.architectures.dcgan.Generator (image 32x32x3" in text
  assert "generator/g_dc1/kernel" in text and "(5, 5, 256, 512)" in text
  # compare_gan's DCGAN at 32x32x3 (COMPARE_GAN.md §4.7).
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
  # TF's own start-up lines precede ours on stderr (ENVIRONMENT.md §8).
  message = result.stderr[result.stderr.index("model_summary:"):]
  assert "multiples of 4" in message and "got 30x30" in message
  assert "Traceback" not in result.stderr


def test_console_command_prints_the_tables():
  result = _console("--generator=@sndcgan.Generator()", "--discriminator=@sndcgan.Discriminator()")
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.count("trainable parameters:") == 2


# Bindings that make each family's defaults buildable (BigGAN D projects labels).
FAMILIES = {
    "dcgan": (), "infogan": (), "sndcgan": (), "resnet5": (), "resnet30": (),
    "resnet_cifar": (), "resnet_stl": (),
    "resnet_biggan": ("resnet_biggan.Discriminator.num_classes = 10",
                      "resnet_biggan.Generator.ch = 16", "resnet_biggan.Discriminator.ch = 16"),
    "resnet_biggan_deep": ("resnet_biggan_deep.Discriminator.num_classes = 10",
                           "resnet_biggan_deep.Generator.ch = 16",
                           "resnet_biggan_deep.Discriminator.ch = 16"),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_summary_works_for_every_family(family):
  text = _summary(family, *FAMILIES[family])
  assert text.count("trainable parameters:") == 2
  assert f"compare_gan2.architectures.{family}.Generator" in text
  assert "generator/" in text and "discriminator/" in text
