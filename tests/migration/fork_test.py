"""The DiffAugment fork of compare_gan: its gin files run unchanged.

mit-han-lab/data-efficient-gans (DiffAugment-biggan-imagenet/, commit 0b63395)
is compare_gan plus a `DiffAugment.policy` binding (on ModularGAN.create_loss:
reals and fakes augmented in D and G losses), a "zoomed" ImageNet crop with
flipped training images, and the datasets `imagenet_128_0.5` /
`imagenet_128_0.25` (the first 640,583 / 320,291 training examples). Its six
configs are kept byte for byte in fork_configs/; a TF-Hub generator module the
fork exports (compare_gan's export) converts into the GAN a translated fork
config builds.
"""

import pathlib

import gin
import numpy as np
import pytest

from compare_gan2 import configurables
from compare_gan2 import experiment
from compare_gan2 import testing
from compare_gan2.architectures import base
from compare_gan2.migration import checkpoint as migration
from compare_gan2.migration import legacy_gin
from tools import convert_compare_gan_checkpoint as tool

CONFIGS = pathlib.Path(__file__).with_name("fork_configs")
TINY = pathlib.Path(__file__).resolve().parents[2] / "gin_configs" / "smoke" / "tiny.gin"
SUBSETS = {"": None, "-0.5": 640_583, "-0.25": 320_291}
# Per file (the fork's DiffAugment_configs/): G steps, D's learning rate, DiffAugment policy.
FILES = {
    "biggan-imagenet128.gin": (250_000, 0.0005, None),
    "biggan-imagenet128-0.5.gin": (150_000, 0.0005, None),
    "biggan-imagenet128-0.25.gin": (60_000, 0.0005, None),
    "DiffAugment-biggan-imagenet128.gin": (250_000, 0.0004, "translation"),
    "DiffAugment-biggan-imagenet128-0.5.gin": (150_000, 0.0002, "translation"),
    "DiffAugment-biggan-imagenet128-0.25.gin": (60_000, 0.0002, "translation"),
}
SSGAN = ["options.gan_class = @SSGAN", "SSGAN.rotated_batch_size = 128"]


def _lines(name: str, bindings: tuple[str, ...] = ()) -> dict[str, str]:
  translation = legacy_gin.translate([str(CONFIGS / name)], bindings)
  return dict(line.split(" = ", 1) for line in translation.lines)


def test_the_six_fork_files_are_all_here():
  assert sorted(p.name for p in CONFIGS.glob("*.gin")) == sorted(FILES)


@pytest.mark.parametrize("suffix", SUBSETS)
def test_fork_datasets_become_imagenet_128_subsets_with_the_zoomed_flipped_crop(suffix):
  lines = _lines(f"biggan-imagenet128{suffix}.gin")
  assert lines["train_lib.train.dataset"] == "@data.imagenet_128()"
  assert lines.get("data.imagenet_128.train_examples") == (
      None if SUBSETS[suffix] is None else str(SUBSETS[suffix]))
  assert lines["data.imagenet_128.train_crop"] == '"zoomed"'
  assert lines["data.imagenet_128.train_flip"] == "True"
  assert lines["data.imagenet_128.eval_crop"] == '"middle"'


@pytest.mark.parametrize("name", FILES)
def test_every_fork_file_translates_with_its_schedule_lrs_and_augmentation(name):
  """Strict translation of each file; DiffAugment.policy becomes the GAN's augment."""
  steps, d_lr, policy = FILES[name]
  lines = _lines(name)
  assert lines["train_lib.Schedule.total_steps"] == str(steps)
  assert lines["G/keras.optimizers.Adam.learning_rate"] == "0.0001"
  assert lines["D/keras.optimizers.Adam.learning_rate"] == str(d_lr)
  assert lines["train_lib.train.global_batch_size"] == str(2048 * 3)
  if policy is None:
    assert "gans.ModularGAN.augment" not in lines
    assert not any(key.startswith("augment.") for key in lines)
  else:
    assert lines["gans.ModularGAN.augment"] == "@augment.DiffAugment()"
    assert lines["augment.DiffAugment.policy"] == f'"{policy}"'


def test_diffaugment_mapping_names_the_fork_line():
  translation = legacy_gin.translate([str(CONFIGS / "DiffAugment-biggan-imagenet128.gin")])
  assert any(line.endswith(':10 DiffAugment.policy = "translation" -> gans.ModularGAN.augment = '
                           '@augment.DiffAugment(); augment.DiffAugment.policy = "translation"')
             for line in translation.mapped)


def test_empty_policy_augments_nothing_and_other_policies_pass_through():
  """"" is the fork's default (no augmentation); a CIFAR-style policy is kept as written."""
  lines = _lines("DiffAugment-biggan-imagenet128.gin", ('DiffAugment.policy = ""',))
  assert "gans.ModularGAN.augment" not in lines and "augment.DiffAugment.policy" not in lines
  lines = _lines("biggan-imagenet128.gin", ('DiffAugment.policy = "color,translation,cutout"',))
  assert lines["augment.DiffAugment.policy"] == '"color,translation,cutout"'


def test_policy_under_ssgan_had_no_effect_in_the_fork_and_is_not_translated():
  """The fork's SSGAN overrides create_loss without DiffAugment: a warning, no binding."""
  translation = legacy_gin.translate([str(CONFIGS / "DiffAugment-biggan-imagenet128.gin")],
                                     SSGAN)
  lines = dict(line.split(" = ", 1) for line in translation.lines)
  assert lines["train_lib.train.gan"] == "@gans.SSGAN()"
  assert "gans.SSGAN.augment" not in lines and "augment.DiffAugment.policy" not in lines
  assert any("DiffAugment.policy" in w and "SSGAN.create_loss does not call DiffAugment" in w
             for w in translation.warnings)


@pytest.mark.parametrize("policy, problem", [
    ("translation, cutout", r"unknown entries \[' cutout'\]"),
    ("flip", r"unknown entries \['flip'\]"),
    (1, "must be a string, got 1"),
])
def test_a_policy_the_fork_could_not_run_is_refused_with_its_source(policy, problem):
  binding = f"DiffAugment.policy = {policy!r}".replace("'", '"')
  with pytest.raises(configurables.GinConfigError, match=f"gin binding.*{problem}"):
    legacy_gin.translate([str(CONFIGS / "biggan-imagenet128.gin")], (binding,))


def _fork_gan(name: str):
  gin.clear_config()
  configurables.parse_experiment_files([str(CONFIGS / name), str(TINY)], finalize=False)
  return configurables.build_experiment(with_dataset=False).gan


def test_fork_hub_module_converts_into_the_translated_gan(tmp_path, capsys):
  """The fork exports G as compare_gan does (module/variables with EMA shadows, since
  g_use_ema): the tool fills G with the raw values and its EMA twin with the shadows.

  The fork file runs unchanged, shrunk by tiny.gin (parsed after its translation).
  """
  name = "DiffAugment-biggan-imagenet128-0.25.gin"
  gan = _fork_gan(name)
  assert gan.augment.policy == "translation"
  assert gan.ema is not None and gan.generator.z_dim == 120
  rng = np.random.default_rng(0)
  values = {}
  for variable in gan.generator.variables:
    tf1 = base.compare_gan_names(gan.generator)[variable.path]
    values[tf1] = rng.normal(0, 0.1, tuple(variable.shape)).astype(variable.dtype)
    if variable.trainable:
      values[tf1 + migration.EMA_SUFFIX] = rng.normal(0, 0.1, tuple(variable.shape)).astype(
          variable.dtype)
  module = tmp_path / "tfhub" / "60000"
  (module / "variables").mkdir(parents=True)
  testing.save_tf1_checkpoint(str(module / "variables" / "variables"), values)
  run = tmp_path / "run"
  assert tool.main(["tool", f"--hub_module={module}", f"--gin_config={CONFIGS / name}",
                    f"--gin_config={TINY}", f"--model_dir={run}"]) == 0
  assert "Missing" not in capsys.readouterr().out
  gin.clear_config()
  configurables.parse_gin([experiment.operative_config_path(str(run))], finalize=False)
  converted = configurables.build_experiment(with_dataset=False).gan
  assert experiment.restore(converted, str(run / "ckpt-0")) == 0
  names = base.compare_gan_names(converted.generator)
  for variable, twin in zip(converted.generator.variables, converted.ema.generator.variables):
    tf1 = names[variable.path]
    np.testing.assert_array_equal(variable.numpy(), values[tf1])
    np.testing.assert_array_equal(twin.numpy(), values.get(tf1 + migration.EMA_SUFFIX,
                                                           values[tf1]))
