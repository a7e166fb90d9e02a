"""compare_gan's five example configs run unchanged: they translate, build and keep their values.

The example files are rebuilt line for line from
(google/compare_gan example_configs/ at 19922d3): each binding sits on the
line the reference gives it, the other lines hold comments. The expected
values are the reference's, not the translator's output.
"""

import inspect
import logging
import pathlib

import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import configurables
from compare_gan2 import losses
from compare_gan2 import main
from compare_gan2 import penalties
from compare_gan2.migration import legacy_gin
from compare_gan2.ops import normalization

_BIGGAN = {
    10: 'dataset.name = "imagenet_128"', 11: "options.z_dim = 120",
    13: 'options.architecture = "resnet_biggan_arch"', 14: "ModularGAN.conditional = True",
    15: "options.batch_size = 2048", 16: "options.gan_class = @ModularGAN",
    17: "options.lamba = 1", 18: "options.training_steps = 250000",
    19: 'weights.initializer = "orthogonal"', 20: 'spectral_norm.singular_value = "auto"',
    23: "G.batch_norm_fn = @conditional_batch_norm", 24: "G.spectral_norm = True",
    25: "ModularGAN.g_use_ema = True", 26: "resnet_biggan.Generator.hierarchical_z = True",
    27: "resnet_biggan.Generator.embed_y = True", 28: "standardize_batch.decay = 0.9",
    29: "standardize_batch.epsilon = 1e-5", 30: "standardize_batch.use_moving_averages = False",
    33: "options.disc_iters = 2", 34: "D.spectral_norm = True",
    35: "resnet_biggan.Discriminator.project_y = True", 38: "loss.fn = @hinge",
    39: "penalty.fn = @no_penalty", 40: "ModularGAN.g_lr = 0.0001",
    41: "ModularGAN.g_optimizer_fn = @tf.train.AdamOptimizer", 42: "ModularGAN.d_lr = 0.0005",
    43: "ModularGAN.d_optimizer_fn = @tf.train.AdamOptimizer",
    44: "tf.train.AdamOptimizer.beta1 = 0.0", 45: "tf.train.AdamOptimizer.beta2 = 0.999",
    47: "z.distribution_fn = @tf.random.normal", 48: "eval_z.distribution_fn = @tf.random.normal",
    50: "run_config.iterations_per_loop = 500", 51: "run_config.save_checkpoints_steps = 2500",
}


def _gpu_config(dataset, architecture, lamba, steps, disc_iters, d_sn, loss, penalty, lr, beta2):
  """The shared layout of the four single-GPU example configs."""
  return {
      4: f'dataset.name = "{dataset}"', 5: f'options.architecture = "{architecture}"',
      6: "options.batch_size = 64", 7: "options.gan_class = @ModularGAN",
      8: f"options.lamba = {lamba}", 9: f"options.training_steps = {steps}",
      10: "options.z_dim = 128", 13: "G.batch_norm_fn = @batch_norm",
      14: "standardize_batch.decay = 0.9", 15: "standardize_batch.epsilon = 1e-5",
      18: f"options.disc_iters = {disc_iters}", 19: f"D.spectral_norm = {d_sn}",
      22: f"loss.fn = @{loss}", 23: f"penalty.fn = @{penalty}", 24: f"ModularGAN.g_lr = {lr}",
      25: "ModularGAN.g_optimizer_fn = @tf.train.AdamOptimizer",
      26: "tf.train.AdamOptimizer.beta1 = 0.5", 27: f"tf.train.AdamOptimizer.beta2 = {beta2}",
  }


EXAMPLES = {
    "biggan_imagenet128.gin": _BIGGAN,
    "dcgan_celeba64.gin": _gpu_config("celeb_a", "dcgan_arch", 1, 100000, 1, False,
                                      "non_saturating", "no_penalty", 0.0002, 0.999),
    "resnet_cifar10.gin": _gpu_config("cifar10", "resnet_cifar_arch", 1, 40000, 5, True,
                                      "non_saturating", "no_penalty", 0.0002, 0.999),
    "resnet_lsun-bedroom128.gin": _gpu_config("lsun-bedroom", "resnet5_arch", 10, 40000, 5, False,
                                              "wasserstein", "wgangp_penalty", 0.0001, 0.9),
    "sndcgan_celebahq128.gin": _gpu_config("celeb_a_hq_128", "sndcgan_arch", 1, 100000, 1, True,
                                           "non_saturating", "no_penalty", 0.0002, 0.999),
}
# What each example sets, from compare_gan's example_configs: family,
# image shape, classes (conditional), global batch = batch_size x (disc_iters + 1),
# G steps, disc_iters, loss, penalty and weight, G / D lr, Adam beta1 / beta2,
# z normal?, G norm, D spectral norm, BN decay / epsilon / moving averages, EMA.
EXPECTED = {
    "biggan_imagenet128.gin": dict(
        family="resnet_biggan", shape=(128, 128, 3), classes=1000, batch=6144, steps=250000,
        disc_iters=2, loss=losses.hinge, penalty=penalties.no_penalty, weight=1.0, lr=(1e-4, 5e-4),
        betas=(0.0, 0.999), normal_z=True, g_norm=normalization.ConditionalBatchNorm, d_sn="auto",
        bn=(0.9, 1e-5, False), ema=True, loop=500, checkpoint=2500, init="orthogonal"),
    "dcgan_celeba64.gin": dict(
        family="dcgan", shape=(64, 64, 3), classes=0, batch=128, steps=100000, disc_iters=1,
        loss=losses.non_saturating, penalty=penalties.no_penalty, weight=1.0, lr=(2e-4, 2e-4),
        betas=(0.5, 0.999), normal_z=False, g_norm=normalization.BatchNorm, d_sn=None,
        bn=(0.9, 1e-5, True), ema=False, loop=1000, checkpoint=5000, init="normal"),
    "resnet_cifar10.gin": dict(
        family="resnet_cifar", shape=(32, 32, 3), classes=0, batch=384, steps=40000,
        disc_iters=5, loss=losses.non_saturating, penalty=penalties.no_penalty, weight=1.0,
        lr=(2e-4, 2e-4), betas=(0.5, 0.999), normal_z=False, g_norm=normalization.BatchNorm,
        d_sn="left", bn=(0.9, 1e-5, True), ema=False, loop=1000, checkpoint=5000, init="normal"),
    "resnet_lsun-bedroom128.gin": dict(
        family="resnet5", shape=(128, 128, 3), classes=0, batch=384, steps=40000, disc_iters=5,
        loss=losses.wasserstein, penalty=penalties.wgan_gp, weight=10.0, lr=(1e-4, 1e-4),
        betas=(0.5, 0.9), normal_z=False, g_norm=normalization.BatchNorm, d_sn=None,
        bn=(0.9, 1e-5, True), ema=False, loop=1000, checkpoint=5000, init="normal"),
    "sndcgan_celebahq128.gin": dict(
        family="sndcgan", shape=(128, 128, 3), classes=0, batch=128, steps=100000, disc_iters=1,
        loss=losses.non_saturating, penalty=penalties.no_penalty, weight=1.0, lr=(2e-4, 2e-4),
        betas=(0.5, 0.999), normal_z=False, g_norm=normalization.BatchNorm, d_sn="left",
        bn=(0.9, 1e-5, True), ema=False, loop=1000, checkpoint=5000, init="normal"),
}
# compare_gan's widths (its architecture sources): (G ch, D ch, G attention, D attention).
WIDTHS = {"resnet_biggan": (96, 96, "B4", "B1"), "resnet_cifar": (256, 128, None, None),
          "resnet5": (64, 64, None, None)}
# Only widths shrink: every other value stays the example's.
NARROW = ["resnet_biggan.Generator.ch = 8", "resnet_biggan.Discriminator.ch = 8",
          "resnet_biggan.Generator.embed_y_dim = 8", "resnet_cifar.Generator.ch = 8",
          "resnet_cifar.Discriminator.ch = 8", "resnet5.Generator.ch = 4",
          "resnet5.Discriminator.ch = 4"]
ROOT = pathlib.Path(__file__).resolve().parents[2]


def _example(tmp_path, name):
  last = max(EXAMPLES[name])
  path = tmp_path / name
  path.write_text("\n".join(EXAMPLES[name].get(i, "# (comment)") for i in range(1, last + 1)))
  return str(path)


def _query(parameter):
  return configurables.bound(parameter)


def _assert_real_sizes(family, expected):
  """Widths, batch, steps and schedule as the example has them (before shrinking)."""
  assert _query("train_lib.train.global_batch_size") == expected["batch"]
  schedule = _query("train_lib.train.schedule")
  assert (schedule.total_steps, schedule.steps_per_loop, schedule.checkpoint_every,
          schedule.keep_checkpoints) == (expected["steps"], expected["loop"],
                                         expected["checkpoint"], 1000)
  if family in WIDTHS:
    g_ch, d_ch, g_att, d_att = WIDTHS[family]
    assert (_query(f"{family}.Generator.ch"), _query(f"{family}.Discriminator.ch")) == (g_ch, d_ch)
    if g_att:
      assert _query(f"{family}.Generator.blocks_with_attention") == g_att
      assert _query(f"{family}.Discriminator.blocks_with_attention") == d_att


def _assert_built(gan, expected):
  """The built GAN, networks and optimizers carry the example's values."""
  assert type(gan.generator).__module__.endswith("." + expected["family"])
  assert tuple(gan.generator.image_shape) == expected["shape"]
  assert (gan.conditional, gan.num_classes) == (expected["classes"] > 0, expected["classes"])
  assert gan.disc_iters == expected["disc_iters"]
  # gin passes its wrapper of the referenced function
  assert inspect.unwrap(gan.loss_fn) is expected["loss"]
  assert inspect.unwrap(gan.penalty_fn) is expected["penalty"]
  assert gan.penalty_weight == expected["weight"]
  for optimizer, lr in zip((gan.g_optimizer, gan.d_optimizer), expected["lr"]):
    assert type(optimizer).__name__ == "Adam"
    np.testing.assert_allclose(float(np.asarray(optimizer.learning_rate)), lr, rtol=1e-6)
    assert (optimizer.beta_1, optimizer.beta_2, optimizer.epsilon) == (*expected["betas"], 1e-8)
  assert issubclass(gan.generator.batch_norm, expected["g_norm"])
  assert gan.discriminator.batch_norm is None
  sn = gan.discriminator.spectral_norm
  assert (sn.singular_value if sn else None) == expected["d_sn"]
  assert gan.generator.kernel_initializer_arg == expected["init"]
  layers = gan.generator._flatten_layers()  # pylint: disable=protected-access
  norms = [l for l in layers if isinstance(l, normalization.BatchNorm)]
  assert norms and all((n.decay, n.epsilon, n.use_moving_averages) == expected["bn"]
                       for n in norms)
  assert (gan.ema is not None) == expected["ema"]
  z = gan.z_fn([20000, 2], tf.constant([1, 2], tf.int64)).numpy()
  if expected["normal_z"]:  # N(0, 1): std 1, tails beyond 1
    assert abs(z.std() - 1.0) < 0.03 and np.abs(z).max() > 2.0
  else:  # U[-1, 1): std 1/sqrt(3), within the interval
    assert abs(z.std() - 3 ** -0.5) < 0.02 and z.min() >= -1.0 and z.max() < 1.0


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_keeps_its_architecture_sizes_losses_rates_steps_and_batch(name, tmp_path):
  """Each example translates without error and the built experiment has its values."""
  translation = legacy_gin.translate([_example(tmp_path, name)])
  expected = EXPECTED[name]
  configurables.parse_gin([], [translation.text()], finalize=False)
  _assert_real_sizes(expected["family"], expected)
  configurables.parse_gin([], NARROW, finalize=False)
  _assert_built(configurables.build_experiment(with_dataset=False).gan, expected)


def test_example_translations_warn_only_where_compare_gan_differs(tmp_path):
  """BigGAN's decay is dead (no moving averages); celeb_a_hq_128 is not a compare_gan dataset."""
  warnings = {name: legacy_gin.translate([_example(tmp_path, name)]).warnings for name in EXAMPLES}
  assert warnings["biggan_imagenet128.gin"] == (
      f"{tmp_path}/biggan_imagenet128.gin:28: `standardize_batch.decay = 0.9`: no effect in "
      "compare_gan: use_moving_averages is False (written anyway, unused)",)
  assert len(warnings["sndcgan_celebahq128.gin"]) == 1
  assert "sndcgan_celebahq128.gin:4:" in warnings["sndcgan_celebahq128.gin"][0]
  assert "data.image_folder.path" in warnings["sndcgan_celebahq128.gin"][0]
  assert all(not w for n, w in warnings.items() if n.startswith(("dcgan", "resnet")))


def test_every_sub_step_sees_batch_size_images(tmp_path):
  """options.batch_size is per D/G sub-step: the step batch splits into disc_iters + 1 of them.

  compare_gan's unrolled step takes batch_size x (disc_iters + 1) examples and
  splits them into disc_iters + 1 equal chunks (compare_gan modular_gan.py:428-442;
  BigGAN: 2048 x 3 = 6144).
  """
  path = tmp_path / "c.gin"
  path.write_text("\n".join(EXAMPLES["dcgan_celeba64.gin"].values()).replace(
      "options.batch_size = 64", "options.batch_size = 3").replace(
          "options.disc_iters = 1", "options.disc_iters = 3"))
  configurables.parse_gin([], [legacy_gin.translate([str(path)]).text()], finalize=False)
  batch = _query("train_lib.train.global_batch_size")
  assert batch == 12
  gan = configurables.build_experiment(with_dataset=False).gan
  images = tf.reshape(tf.range(batch, dtype=tf.float32), [batch, 1, 1, 1]) * tf.ones([1, 64, 64, 3])
  sub_batches = gan.split_batch({"images": images}, tf.constant([0, 0], tf.int64))
  assert [s.images.shape[0] for s in sub_batches] == [3, 3, 3, 3]
  seen = np.concatenate([s.images[:, 0, 0, 0].numpy() for s in sub_batches])
  assert sorted(seen) == list(range(batch))  # disjoint sub-batches


def test_runner_trains_an_unmodified_compare_gan_file(tmp_path, caplog):
  """`compare_gan2.main --gin_config=<compare_gan file>` trains; the mapping is logged.

  A compare_gan binding (--gin_bindings) merges into the translation as in
  compare_gan (after the files); compare_gan2 bindings and files given with it
  (bundled MNIST instead of the TFDS download, the smoke overlay) override it.
  """
  caplog.set_level(logging.INFO)
  config = _example(tmp_path, "resnet_cifar10.gin")
  code = main.main([f"--model_dir={tmp_path / 'run'}", f"--gin_config={config}",
                    f"--gin_config={ROOT / 'gin_configs' / 'smoke' / 'tiny.gin'}",
                    "--gin_bindings=train_lib.train.dataset = @data.bundled_mnist()",
                    "--gin_bindings=data.bundled_mnist.resolution = 32",
                    "--gin_bindings=data.bundled_mnist.channels = 3",
                    "--gin_bindings=train_lib.Schedule.total_steps = 1",
                    "--gin_bindings=options.disc_iters = 1"])
  assert code == 0
  assert (tmp_path / "run" / "ckpt-1.index").exists()
  log = caplog.text
  assert (f"{config}:6 options.batch_size = 64 -> train_lib.train.global_batch_size = 128"
          in log)
  assert "gin binding 'options.disc_iters = 1':1 options.disc_iters = 1 ->" in log
  assert f"{config}:22 loss.fn = @non_saturating -> gans.ModularGAN.loss_fn" in log
  operative = (tmp_path / "run" / "operative_config.gin").read_text()
  assert "Adam.beta_1 = 0.5" in operative and "Adam.epsilon = 1e-08" in operative


def test_untranslatable_bindings_fail_naming_file_line_and_binding(tmp_path):
  """Every problem is listed in one GinConfigError, each with its file and line."""
  lines = dict(EXAMPLES["resnet_cifar10.gin"])
  lines.update({7: "options.gan_class = @S3GAN", 25: "ModularGAN.g_optimizer_fn = "
                "@tf.train.RMSPropOptimizer", 28: "ModularGAN.deprecated_split_disc_calls = True",
                29: "options.lambda = 1", 30: "Generator.ch = 3"})
  path = tmp_path / "bad.gin"
  path.write_text("\n".join(lines.get(i, "#") for i in range(1, 31)))
  with pytest.raises(configurables.GinConfigError) as error:
    legacy_gin.translate([str(path)])
  message = str(error.value)
  for line, text in ((7, "S3GAN.rotated_batch_fraction must be bound"),
                     (25, "@tf.train.RMSPropOptimizer"),
                     (28, "compare_gan2 supports only False here"),
                     (29, "has no parameter 'lambda'"), (30, "ambiguous selector 'Generator'")):
    assert f"{path}:{line}: `{lines[line]}`" in message and text in message
  gin.clear_config()
  with pytest.raises(configurables.GinConfigError, match=r"bad.gin:30: .*ambiguous selector"):
    configurables.parse_experiment_files([str(path)])  # the runner's parse fails the same way
  gin.clear_config()
  # Translation is the runner's pre-step: parse_gin reads compare_gan2 gin only.
  with pytest.raises(configurables.GinConfigError, match="No configurable matching 'dataset'"):
    configurables.parse_gin([str(path)])


def test_missing_required_options_and_lenient_mode(tmp_path):
  """Unbound REQUIRED options are errors; strict=False reports every error as a warning."""
  path = tmp_path / "partial.gin"
  path.write_text('dataset.name = "cifar10"\noptions.architecture = "resnet_cifar_arch"\n'
                  "options.gan_class = @ModularGAN\nG.batch_norm_fn = @conditional_batch_norm\n")
  with pytest.raises(configurables.GinConfigError) as error:
    legacy_gin.translate([str(path)])
  assert "options.batch_size must be bound (REQUIRED in compare_gan)" in str(error.value)
  assert "options.training_steps must be bound" in str(error.value)
  assert f"{path}:4: `G.batch_norm_fn = @conditional_batch_norm`: conditional_batch_norm " \
         "needs ModularGAN.conditional = True" in str(error.value)
  translation = legacy_gin.translate([str(path)], strict=False)
  assert sum(w.startswith("NOT TRANSLATED") for w in translation.warnings) == 3
  assert "gans.ModularGAN.generator = @resnet_cifar.Generator()" in translation.lines
