"""Tests for tools/list_configurables: the catalogue and the console command."""

import os
import subprocess
import sys

import pytest

from compare_gan2 import losses
from compare_gan2 import penalties
from compare_gan2 import registry
from tools import list_configurables


def test_catalogue_lists_every_component_with_defaults():
  text = list_configurables.format_catalogue()
  for selector in ("compare_gan2.losses.hinge", "compare_gan2.penalties.wgan_gp",
                   "compare_gan2.ops.BatchNorm", "compare_gan2.ops.SpectralNormConfig",
                   "compare_gan2.ops.NonLocalBlock", "compare_gan2.ops.weight_initializer",
                   "keras.optimizers.Adam", "tf.random.normal"):
    assert f"\n{selector}\n" in f"\n{text}\n"
  assert "    singular_value = 'left'" in text
  assert "    decay = 0.999" in text
  assert "    units = REQUIRED" in text
  assert text.endswith(f"{len(registry.entries())} configurables")


def test_call_time_arguments_are_not_listed():
  text = list_configurables.format_catalogue(match="tf.random.normal")
  assert "shape" not in text and "seed" not in text and "stddev = 1.0" in text
  losses_text = list_configurables.format_catalogue(match="losses.")
  assert "logits" not in losses_text
  assert losses_text.endswith(f"{len(losses.LOSSES)} configurables")


def test_match_filters_case_insensitively():
  text = list_configurables.format_catalogue(match="BATCHNORM")
  selectors = [line for line in text.splitlines() if line and not line.startswith(" ")]
  assert selectors[:-1] == ["compare_gan2.ops.BatchNorm", "compare_gan2.ops.ConditionalBatchNorm",
                            "compare_gan2.ops.SelfModulatedBatchNorm"]


def _console_script():
  path = os.path.join(os.path.dirname(sys.executable), "compare_gan2_list_configurables")
  if not os.path.exists(path):
    pytest.fail(f"console script missing at {path}: run `make venv` (pip install -e .)")
  return path


def test_console_command_runs():
  result = subprocess.run([_console_script(), "--match=penalties"], capture_output=True,
                          text=True, timeout=120, check=False)
  assert result.returncode == 0, result.stderr
  assert "compare_gan2.penalties.dragan" in result.stdout
  assert result.stdout.strip().endswith(f"{len(penalties.PENALTIES)} configurables")


def test_unexpected_arguments_fail_with_usage():
  result = subprocess.run([_console_script(), "surplus"], capture_output=True,
                          text=True, timeout=120, check=False)
  assert result.returncode != 0
  assert "Unexpected arguments: surplus" in result.stderr
