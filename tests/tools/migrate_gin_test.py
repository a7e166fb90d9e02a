"""Tests for tools/migrate_gin: the translated file, the guide, exit statuses.

The input is a compare_gan file (compare_gan's
example_configs/resnet_cifar10.gin); the written file must parse with compare_gan2
and say in its header what each binding became.
"""

import gin

from compare_gan2 import configurables
from compare_gan2.migration import guide
from tools import migrate_gin

LEGACY = """dataset.name = "cifar10"
options.architecture = "resnet_cifar_arch"
options.batch_size = 64
options.gan_class = @ModularGAN
options.lamba = 1
options.training_steps = 40000
options.z_dim = 128
G.batch_norm_fn = @batch_norm
standardize_batch.decay = 0.9
standardize_batch.epsilon = 1e-5
options.disc_iters = 5
D.spectral_norm = True
loss.fn = @non_saturating
penalty.fn = @no_penalty
ModularGAN.g_lr = 0.0002
ModularGAN.g_optimizer_fn = @tf.train.AdamOptimizer
tf.train.AdamOptimizer.beta1 = 0.5
tf.train.AdamOptimizer.beta2 = 0.999
weights.stddev = 0.01
"""


def test_writes_a_compare_gan2_file_with_the_mapping_in_its_header(tmp_path, capsys):
  """The output parses with compare_gan2 and keeps the experiment's values."""
  (tmp_path / "old.gin").write_text(LEGACY)
  out = tmp_path / "new.gin"
  assert migrate_gin.main(["migrate_gin", f"--gin_config={tmp_path / 'old.gin'}",
                           f"--output={out}"]) == 0
  text = out.read_text()
  assert f"#   {tmp_path / 'old.gin'}:3 options.batch_size = 64 -> " \
         "train_lib.train.global_batch_size = 384" in text
  assert f"#   {tmp_path / 'old.gin'}:19: `weights.stddev = 0.01`: no effect" in text
  assert "19 bindings mapped, 1 warnings" in capsys.readouterr().err
  gin.clear_config()
  configurables.parse_gin([str(out)], finalize=False)
  assert configurables.bound("train_lib.train.global_batch_size") == 384
  assert gin.query_parameter("keras.optimizers.Adam.epsilon") == 1e-8
  assert gin.query_parameter("resnet_cifar.Discriminator.ch") == 128


def test_untranslatable_file_exits_1_naming_the_line(tmp_path, capsys):
  """SSGAN without its REQUIRED rotated_batch_size: status 1 and the file:line; --lenient
  writes the rest with a warning."""
  (tmp_path / "old.gin").write_text(LEGACY.replace("@ModularGAN", "@SSGAN"))
  argv = ["migrate_gin", f"--gin_config={tmp_path / 'old.gin'}", f"--output={tmp_path / 'n.gin'}"]
  assert migrate_gin.main(argv) == 1
  assert "old.gin:4: `options.gan_class = @SSGAN`: SSGAN.rotated_batch_size must be bound " \
         "(REQUIRED in compare_gan)" in capsys.readouterr().err
  assert migrate_gin.main(argv + ["--lenient"]) == 0
  assert "NOT TRANSLATED" in (tmp_path / "n.gin").read_text()


def test_flags_and_the_guide(tmp_path, capsys):
  """No --output nor --write_guide is a flag error (2); --write_guide renders the guide."""
  assert migrate_gin.main(["migrate_gin"]) == 2
  assert "--output is required" in capsys.readouterr().err
  assert migrate_gin.main(["migrate_gin", f"--write_guide={tmp_path / 'docs' / 'M.md'}"]) == 0
  assert (tmp_path / "docs" / "M.md").read_text() == guide.render()
