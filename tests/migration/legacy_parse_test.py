"""How compare_gan gin files are read: selectors, scopes, precedence, macros, detection.

gin 0.1.4 semantics as docs/design.md §12 describes them: any
unique dotted suffix names a configurable, later bindings win, `@S/name`
enters scope S, an architecture class's bindings override G.* / D.*.
"""

import pathlib

import pytest

from compare_gan2 import configurables
from compare_gan2.migration import legacy_gin
from compare_gan2.migration import legacy_parse

ROOT = pathlib.Path(__file__).resolve().parents[2]
BASE = ['dataset.name = "cifar10"', 'options.architecture = "resnet_cifar_arch"',
        "options.batch_size = 2", "options.gan_class = @ModularGAN",
        "options.training_steps = 5"]


def _translate(tmp_path, *lines, bindings=()):
  path = tmp_path / "legacy.gin"
  path.write_text("\n".join(BASE + list(lines)) + "\n")
  return legacy_gin.translate([str(path)], bindings)



@pytest.mark.parametrize("selector, complete", [
    ("loss", "compare_gan.gans.loss_lib.loss"),
    ("loss_lib.loss", "compare_gan.gans.loss_lib.loss"),
    ("compare_gan.gans.loss_lib.loss", "compare_gan.gans.loss_lib.loss"),
    ("__main__.run_config", "compare_gan.main.run_config"),
    ("run_config", "compare_gan.main.run_config"),
    ("AdamOptimizer", "tf.train.AdamOptimizer"),
    ("normal", "tf.random.normal"),
    ("resnet_cifar.Generator", "compare_gan.architectures.resnet_cifar.Generator"),
])
def test_any_unique_suffix_names_the_configurable(selector, complete):
  """Short, partial, complete and operative-config (minimal) selectors (§12.2)."""
  assert legacy_parse.resolve_legacy(selector) == (complete, "")


def test_ambiguous_and_unknown_selectors_are_named():
  """`Generator` needs its module (§12.2); unknown names fail as gin 0.1.4's strict parse did."""
  assert "ambiguous selector 'Generator'" in legacy_parse.resolve_legacy("Generator")[1]
  assert "defines no configurable 'optimizer'" in legacy_parse.resolve_legacy("optimizer")[1]


def test_detection_claims_only_compare_gan_bindings():
  """options.* / G.* / ModularGAN.g_lr are compare_gan's; names valid in both are not claimed."""
  assert legacy_parse.is_legacy_text("options.batch_size = 64")
  assert legacy_parse.is_legacy_text("ModularGAN.g_lr = 0.1")
  assert legacy_parse.is_legacy_text("G.spectral_norm = True")
  assert not legacy_parse.is_legacy_text("ModularGAN.conditional = True")  # both have it
  assert not legacy_parse.is_legacy_text("resnet_cifar.Generator.ch = 16")  # compare_gan2 only
  assert not legacy_parse.is_legacy_text("options.batch_size = ")  # gin reports the syntax
  # A compare_gan2 file with one stray compare_gan binding stays compare_gan2's.
  assert not legacy_parse.is_legacy_text("gans.ModularGAN.disc_iters = 2\n"
                                         "train_lib.train.global_batch_size = 6\n"
                                         "ModularGAN.g_lr = 0.1\n")
  for path in (ROOT / "gin_configs").rglob("*.gin"):
    assert not legacy_parse.is_legacy_text(path.read_text()), path


def test_later_bindings_win_and_bindings_come_after_files(tmp_path):
  """A repeated binding takes the last value; --gin_bindings override the files (§12.1)."""
  translation = _translate(tmp_path, "options.disc_iters = 2", "options.disc_iters = 3",
                           bindings=["options.disc_iters = 4"])
  assert "gans.ModularGAN.disc_iters = 4" in translation.lines
  assert "train_lib.train.global_batch_size = 10" in translation.lines


def test_architecture_class_overrides_g_and_d(tmp_path):
  """resnet_cifar.Generator.* beats G.* whatever the order; other classes' bindings are dead."""
  translation = _translate(tmp_path, "resnet_cifar.Generator.spectral_norm = True",
                           "G.spectral_norm = False", "D.layer_norm = True",
                           "resnet_biggan.Discriminator.layer_norm = False")
  assert "resnet_cifar.Generator.spectral_norm = @ops.SpectralNormConfig()" in translation.lines
  assert "resnet_cifar.Discriminator.layer_norm = True" in translation.lines
  assert any("legacy.gin:9:" in w and "not used by this experiment" in w
             for w in translation.warnings)


def test_gan_class_bindings_override_modular_gan(tmp_path):
  """GPUModularGAN (first gin release) is a ModularGAN whose own bindings win (§12.5, §12.10)."""
  path = tmp_path / "legacy.gin"
  path.write_text("\n".join(BASE[:3] + ["options.gan_class = @GPUModularGAN",
                                        "options.training_steps = 5", "ModularGAN.g_lr = 0.1",
                                        "GPUModularGAN.g_lr = 0.2"]))
  translation = legacy_gin.translate([str(path)])
  assert "G/keras.optimizers.Adam.learning_rate = 0.2" in translation.lines
  assert any("GPUModularGAN" in w for w in translation.warnings)


def test_scoped_references_take_their_scope_bindings(tmp_path):
  """@G/... and @D/... optimizers read G/ and D/ scoped bindings (§12.4); unreached scopes warn."""
  translation = _translate(
      tmp_path, "ModularGAN.g_optimizer_fn = @G/tf.train.AdamOptimizer",
      "ModularGAN.d_optimizer_fn = @D/tf.train.AdamOptimizer",
      "tf.train.AdamOptimizer.beta2 = 0.99", "G/tf.train.AdamOptimizer.beta1 = 0.0",
      "D/tf.train.AdamOptimizer.beta1 = 0.5", "E/weights.initializer = 'orthogonal'")
  lines = translation.lines
  assert "G/keras.optimizers.Adam.beta_1 = 0.0" in lines
  assert "D/keras.optimizers.Adam.beta_1 = 0.5" in lines
  assert "G/keras.optimizers.Adam.beta_2 = 0.99" in lines
  assert "D/keras.optimizers.Adam.beta_2 = 0.99" in lines
  assert "resnet_cifar.Generator.kernel_initializer = \"normal\"" in lines
  assert any("legacy.gin:11:" in w for w in translation.warnings)


def test_macros_constants_and_includes(tmp_path):
  """`X = 1` / `%X`, `%tf.float32`, and `include` as gin 0.1.4 (§12.7)."""
  (tmp_path / "base.gin").write_text("\n".join(BASE) + "\nSTEPS = 7\n")
  path = tmp_path / "main.gin"
  path.write_text("include 'base.gin'\noptions.training_steps = %STEPS\n"
                  "z.distribution_fn = @tf.random.normal\ntf.random.normal.dtype = %tf.float32\n")
  translation = legacy_gin.translate([str(path)])
  assert "train_lib.Schedule.total_steps = 7" in translation.lines
  assert "gans.ModularGAN.z_fn = @gans.normal_latent" in translation.lines
  path.write_text("include 'base.gin'\ntf.random.normal.dtype = %tf.float16\n"
                  "z.distribution_fn = @tf.random.normal\noptions.z_dim = %UNDEFINED\n")
  with pytest.raises(configurables.GinConfigError) as error:
    legacy_gin.translate([str(path)])
  assert "main.gin:2: `tf.random.normal.dtype = %tf.float16`" in str(error.value)
  assert "main.gin:4: `options.z_dim = %UNDEFINED`: undefined macro %UNDEFINED" in str(
      error.value)


def test_syntax_errors_and_calls_are_reported(tmp_path):
  """A gin syntax error names the line; `@fn()` where compare_gan wants a factory fails."""
  path = tmp_path / "bad.gin"
  path.write_text("\n".join(BASE) + "\nloss.fn = @hinge()\n")
  with pytest.raises(configurables.GinConfigError, match=r"bad.gin:6: `loss.fn = @hinge\(\)`"):
    legacy_gin.translate([str(path)])
  path.write_text("options.batch_size = = 3\n")
  with pytest.raises(configurables.GinConfigError, match="bad.gin:1: gin syntax error"):
    legacy_gin.translate([str(path)])


def test_runner_leaves_compare_gan2_sources_alone(tmp_path):
  """split_legacy: no compare_gan source -> nothing translated; mixed -> only legacy ones."""
  new = str(ROOT / "gin_configs" / "smoke" / "tiny.gin")
  assert legacy_gin.split_legacy([new], ["train_lib.Schedule.total_steps = 3"]) == (
      None, [new], ["train_lib.Schedule.total_steps = 3"])
  legacy = tmp_path / "legacy.gin"
  legacy.write_text("\n".join(BASE) + "\n")
  translation, files, bindings = legacy_gin.split_legacy(
      [new, str(legacy)], ["options.z_dim = 8", "resnet_cifar.Generator.ch = 4"])
  assert files == [new] and bindings == ["resnet_cifar.Generator.ch = 4"]
  assert "resnet_cifar.Generator.z_dim = 8" in translation.lines
