"""compare_gan files for every architecture, loss, penalty, optimizer and BN variant train.

Each case is a gin file in compare_gan's format. It is translated, shrunk
with compare_gan2 bindings parsed after it (gin_configs/smoke/tiny.gin widths,
as the runner allows), built, and trained for one step (disc_iters D updates,
one G update) on random images; the step counters, finite losses and moved
weights show it trained. The built objects must carry the compare_gan values
(compare_gan's source at 19922d3 for names and defaults).
"""

import inspect
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import configurables
from compare_gan2 import losses
from compare_gan2 import penalties
from compare_gan2.migration import legacy_gin
from compare_gan2.ops import layers as ops_layers
from compare_gan2.ops import normalization

ROOT = pathlib.Path(__file__).resolve().parents[2]
TINY = ROOT / "gin_configs" / "smoke" / "tiny.gin"
_ADAM = ["ModularGAN.g_optimizer_fn = @tf.train.AdamOptimizer",
         "tf.train.AdamOptimizer.beta1 = 0.5"]


def _legacy(architecture, loss, penalty, norm, optimizer=_ADAM, dataset="cifar10",
            disc_iters=1, extra=()):
  """A compare_gan experiment file (batch 2 per sub-step, z_dim 16)."""
  return "\n".join([
      f'dataset.name = "{dataset}"', f'options.architecture = "{architecture}"',
      "options.batch_size = 2", "options.gan_class = @ModularGAN", "options.lamba = 10",
      "options.training_steps = 5", "options.z_dim = 16", f"options.disc_iters = {disc_iters}",
      f"G.batch_norm_fn = @{norm}", f"loss.fn = @{loss}", f"penalty.fn = @{penalty}",
      *optimizer, *extra]) + "\n"


# (architecture string, loss, penalty, G norm, optimizer bindings, dataset, disc_iters, extra)
CASES = {
    "dcgan": ("dcgan_arch", "non_saturating", "no_penalty", "batch_norm", _ADAM, "cifar10", 1,
              ()),
    "infogan": ("infogan_arch", "least_squares", "dragan_penalty", "batch_norm",
                ["ModularGAN.g_optimizer_fn = @tf.train.GradientDescentOptimizer"], "cifar10", 1,
                ["D.batch_norm_fn = @batch_norm"]),
    "sndcgan": ("sndcgan_arch", "hinge", "l2_penalty", "no_batch_norm",
                ["ModularGAN.g_optimizer_fn = @tf.train.MomentumOptimizer",
                 "tf.train.MomentumOptimizer.momentum = 0.9",
                 "tf.train.MomentumOptimizer.use_nesterov = True"], "cifar10", 1,
                ["D.spectral_norm = True"]),
    "resnet5": ("resnet5_arch", "wasserstein", "wgangp_penalty", "batch_norm", _ADAM, "cifar10",
                2, ()),
    "resnet30": ("resnet30_arch", "hinge", "no_penalty", "batch_norm", _ADAM, "lsun-bedroom", 1,
                 ()),
    "resnet_cifar": ("resnet_cifar_arch", "non_saturating", "no_penalty",
                     "self_modulated_batch_norm", _ADAM, "cifar10", 1,
                     ["D.layer_norm = True", "self_modulated_batch_norm.num_hidden = 8"]),
    "resnet_stl": ("resnet_stl_arch", "least_squares", "no_penalty", "batch_norm", _ADAM,
                   "cifar10", 1, ["z.distribution_fn = @tf.random.truncated_normal",
                                  "z.stddev = 0.5"]),
    "resnet_biggan": ("resnet_biggan_arch", "hinge", "no_penalty", "conditional_batch_norm",
                      _ADAM, "cifar10", 1,
                      ["ModularGAN.conditional = True", "G.spectral_norm = True",
                       "D.spectral_norm = True", "ModularGAN.g_use_ema = True",
                       "z.distribution_fn = @tf.random.normal",
                       "conditional_batch_norm.use_bias = True"]),
    "resnet_biggan_deep": ("resnet_biggan_deep_arch", "hinge", "no_penalty",
                           "conditional_batch_norm", _ADAM, "cifar10", 1,
                           ["ModularGAN.conditional = True", "D.spectral_norm = True"]),
}
# compare_gan2 bindings parsed after the translation for sizes the data cannot give.
OVERRIDES = {"resnet_stl": ["resnet_stl.Generator.image_shape = (48, 48, 3)",
                            "resnet_stl.Discriminator.image_shape = (48, 48, 3)"]}


def _build(tmp_path, text, overrides=()):
  path = tmp_path / "legacy.gin"
  path.write_text(text)
  configurables.parse_experiment_files([str(path), str(TINY)], overrides, finalize=False)
  return configurables.build_experiment(with_dataset=False).gan


def _train_one_step(gan, per_step=2):
  """One train_step on random images (`per_step` per D or G update); returns the logs."""
  batch = per_step * (gan.disc_iters + 1)
  images = tf.random.stateless_uniform([batch, *gan.generator.image_shape], [3, 4])
  labels = tf.range(batch) % max(gan.num_classes, 1)
  before = [v.numpy() for v in gan.generator.trainable_variables]
  values = gan.train_step({"images": images, "labels": labels})
  assert all(np.isfinite(float(v)) for v in values.values())
  assert int(gan.g_optimizer.iterations) == 1
  assert int(gan.d_optimizer.iterations) == gan.disc_iters
  moved = [np.abs(v.numpy() - b).max() for v, b in zip(gan.generator.trainable_variables, before)]
  assert max(moved) > 0
  return values


@pytest.mark.parametrize("case", sorted(CASES))
def test_compare_gan_file_trains_one_step(case, tmp_path):
  """Translate, shrink, build and train one step; G is the architecture string's family."""
  arch, loss, penalty, norm, optimizer, dataset, disc_iters, extra = CASES[case]
  gan = _build(tmp_path, _legacy(arch, loss, penalty, norm, optimizer, dataset, disc_iters, extra),
               OVERRIDES.get(case, ()))
  assert type(gan.generator).__module__ == f"compare_gan2.architectures.{case}"
  assert gan.generator.z_dim == 16 and gan.disc_iters == disc_iters
  assert inspect.unwrap(gan.loss_fn) is getattr(losses, loss)
  new_penalty = {"wgangp_penalty": "wgan_gp", "dragan_penalty": "dragan",
                 "l2_penalty": "l2"}.get(penalty, penalty)
  assert inspect.unwrap(gan.penalty_fn) is getattr(penalties, new_penalty)
  assert gan.penalty_weight == 10.0
  _train_one_step(gan)


def test_bn_variants_and_their_settings_reach_the_layers(tmp_path):
  """@batch_norm / @conditional_batch_norm / @self_modulated_batch_norm / @no_batch_norm."""
  expected = {"batch_norm": normalization.BatchNorm,
              "conditional_batch_norm": normalization.ConditionalBatchNorm,
              "self_modulated_batch_norm": normalization.SelfModulatedBatchNorm,
              "no_batch_norm": None}
  for norm, cls in expected.items():
    extra = ["ModularGAN.conditional = True"] * (norm == "conditional_batch_norm") + [
        "standardize_batch.decay = 0.8", "standardize_batch.epsilon = 1e-4"]
    gan = _build(tmp_path, _legacy("resnet_cifar_arch", "hinge", "no_penalty", norm,
                                   extra=extra))
    if cls is None:
      assert gan.generator.batch_norm is None
      continue
    assert issubclass(gan.generator.batch_norm, cls)
    layers = gan.generator._flatten_layers()  # pylint: disable=protected-access
    layers = [l for l in layers if isinstance(l, cls)]
    assert layers and all((l.decay, l.epsilon) == (0.8, 1e-4) for l in layers)


def test_infogan_fixed_norms_get_standardize_batch_and_d_its_spectral_norm(tmp_path):
  """compare_gan's InfoGAN G calls batch_norm directly: standardize_batch.* reach
  those three norms as D's (standing statistics too), and spectral_norm.* D's SN."""
  extra = ["D.batch_norm_fn = @batch_norm", "D.spectral_norm = True",
           "standardize_batch.decay = 0.9", "standardize_batch.epsilon = 1e-5",
           "standardize_batch.use_moving_averages = False",
           'spectral_norm.singular_value = "auto"']
  gan = _build(tmp_path, _legacy("infogan_arch", "non_saturating", "no_penalty", "no_batch_norm",
                                 extra=extra))
  for network, count in ((gan.generator, 3), (gan.discriminator, 2)):
    sublayers = network._flatten_layers()  # pylint: disable=protected-access
    norms = [l for l in sublayers if isinstance(l, normalization.BatchNorm)]
    assert len(norms) == count
    assert all((n.decay, n.epsilon, n.use_moving_averages) == (0.9, 1e-5, False) for n in norms)
  kernels = [l for l in gan.discriminator._flatten_layers()  # pylint: disable=protected-access
             if isinstance(l, ops_layers.KernelLayer)]
  assert len(kernels) == 4 and all(k.spectral_norm.singular_value == "auto" for k in kernels)


def test_optimizers_keep_tf1_settings(tmp_path):
  """Adam betas and TF1's epsilon 1e-8; Momentum's momentum / nesterov; TTUR learning rates."""
  gan = _build(tmp_path, _legacy("dcgan_arch", "hinge", "no_penalty", "batch_norm", [
      "ModularGAN.g_optimizer_fn = @tf.train.MomentumOptimizer",
      "ModularGAN.d_optimizer_fn = @tf.train.AdamOptimizer",
      "tf.train.MomentumOptimizer.momentum = 0.7", "AdamOptimizer.beta2 = 0.9",
      "ModularGAN.g_lr = 0.001", "ModularGAN.d_lr = 0.004"]))
  g, d = gan.g_optimizer, gan.d_optimizer
  assert isinstance(g, keras.optimizers.SGD) and (g.momentum, g.nesterov) == (0.7, False)
  assert isinstance(d, keras.optimizers.Adam)
  assert (d.beta_1, d.beta_2, d.epsilon) == (0.9, 0.9, 1e-8)
  np.testing.assert_allclose([float(np.asarray(o.learning_rate)) for o in (g, d)],
                             [0.001, 0.004], rtol=1e-6)


def test_raw_default_optimizer_ignores_adam_bindings_as_compare_gan_did(tmp_path):
  """Without g_optimizer_fn = @tf.train.AdamOptimizer, beta1 bindings never reached Adam.

  compare_gan's default is the raw TF class (docs/design.md §12.6): beta1
  stays 0.9, and the binding gets a warning.
  """
  path = tmp_path / "raw.gin"
  path.write_text(_legacy("dcgan_arch", "hinge", "no_penalty", "batch_norm",
                          ["tf.train.AdamOptimizer.beta1 = 0.5"]))
  translation = legacy_gin.translate([str(path)])
  assert "keras.optimizers.Adam.beta_1 = 0.9" in translation.lines
  assert "keras.optimizers.Adam.epsilon = 1e-08" in translation.lines
  assert any("raw.gin:12:" in w and "raw tf.train.AdamOptimizer class" in w
             for w in translation.warnings)


def test_dead_bindings_warn_and_are_not_written(tmp_path):
  """weights.stddev, z.stddev with uniform noise, a penalty weight without penalty, eval_z."""
  path = tmp_path / "dead.gin"
  path.write_text(_legacy("dcgan_arch", "hinge", "no_penalty", "batch_norm", extra=[
      "weights.stddev = 0.05", "z.stddev = 3.0", "eval_z.distribution_fn = @tf.random.normal",
      "resnet_biggan.Generator.ch = 32", "BigGanDeepResNetBlock.scale = 'up'"]))
  translation = legacy_gin.translate([str(path)])
  warnings = "\n".join(translation.warnings)
  for line, text in ((5, "penalty is no_penalty"), (14, "every layer passes its own stddev"),
                     (15, "tf.random.uniform does not take stddev"),
                     (16, "compare_gan2 evaluates with the training z_fn"),
                     (17, "not used by this experiment"), (18, "not used by this experiment")):
    assert f"dead.gin:{line}:" in warnings and text in warnings
  assert not any("stddev" in line or "resnet_biggan" in line for line in translation.lines)


def test_unconditional_biggan_needs_projection_and_embedding_off(tmp_path):
  """compare_gan's BigGAN raises without labels unless project_y and embed_y are False."""
  path = tmp_path / "biggan.gin"
  path.write_text(_legacy("resnet_biggan_arch", "hinge", "no_penalty", "batch_norm"))
  with pytest.raises(configurables.GinConfigError, match=r"biggan.gin:2: .*project_y = True "
                     r"needs ModularGAN.conditional = True"):
    legacy_gin.translate([str(path)])
  path.write_text(_legacy("resnet_biggan_arch", "hinge", "no_penalty", "batch_norm", extra=[
      "resnet_biggan.Discriminator.project_y = False", "resnet_biggan.Generator.embed_y = False"]))
  gan = _build(tmp_path, path.read_text())
  assert not gan.conditional and not gan.discriminator.project_y
  _train_one_step(gan)


def test_compare_gan_ssgan_file_trains_as_gans_ssgan(tmp_path):
  """options.gan_class = @SSGAN: SSGAN.* and ModularGAN.* bindings reach gans.SSGAN."""
  text = _legacy("resnet_cifar_arch", "non_saturating", "no_penalty", "batch_norm", extra=[
      "options.gan_class = @SSGAN", "SSGAN.rotated_batch_size = 8",
      'SSGAN.self_supervision = "rotation_only"', "SSGAN.weight_rotation_loss_g = 0.5",
      "ModularGAN.g_lr = 0.001"])
  gan = _build(tmp_path, text, ["gans.SSGAN.rotated_batch_size = 4"])  # tiny sub-batches of 2
  task = gan.self_supervision
  assert type(gan).__name__ == "SSGAN" and task.mode == "rotation_only"
  assert (task.weight_rotation_loss_d, task.weight_rotation_loss_g) == (1.0, 0.5)
  assert float(gan.g_optimizer.learning_rate) == pytest.approx(0.001)
  assert gan.penalty_weight == 10.0
  values = _train_one_step(gan)
  assert float(values["d_loss"]) == pytest.approx(float(values["c_real_loss"]), rel=1e-5)


def test_compare_gan_s3gan_file_trains_as_gans_s3gan(tmp_path):
  """options.gan_class = @S3GAN (S3GAN-CO); its penalty is dropped as compare_gan ignored it."""
  text = _legacy("resnet_biggan_arch", "hinge", "wgangp_penalty", "conditional_batch_norm",
                 disc_iters=2, extra=[
                     "options.gan_class = @S3GAN", "options.batch_size = 4",
                     "ModularGAN.conditional = True", "S3GAN.rotated_batch_fraction = 1",
                     "S3GAN.project_y = True", "S3GAN.use_predictor = True",
                     "S3GAN.use_soft_pred = True", "S3GAN.weight_class_loss = 0.4",
                     "D.spectral_norm = True"])
  path = tmp_path / "s3gan.gin"
  path.write_text(text)
  translation = legacy_gin.translate([str(path)])
  assert any("S3GAN never adds the penalty" in w for w in translation.warnings)
  gan = _build(tmp_path, text)
  assert type(gan).__name__ == "S3GAN" and gan.use_predictor and gan.use_soft_pred
  assert gan.weight_class_loss == 0.4 and gan.self_supervision is not None and gan.disc_iters == 2
  assert inspect.unwrap(gan.penalty_fn) is penalties.no_penalty
  values = _train_one_step(gan, per_step=4)
  assert {"class_loss_real", "c_real_loss", "c_fake_loss"} <= set(values)


@pytest.mark.parametrize("extra, message", [
    (["options.gan_class = @S3GAN", "S3GAN.rotated_batch_fraction = 1"],
     "S3GAN needs ModularGAN.conditional = True"),
    (["options.gan_class = @S3GAN", "ModularGAN.conditional = True",
      "S3GAN.rotated_batch_fraction = 1", 'S3GAN.self_supervision = "rotation_gan"'],
     'S3GAN.self_supervision must be "rotation" or "none"'),
    (["options.gan_class = @SSGAN"], "SSGAN.rotated_batch_size must be bound"),
])
def test_bad_self_supervised_bindings_are_named(extra, message, tmp_path):
  path = tmp_path / "bad.gin"
  path.write_text(_legacy("resnet_biggan_arch", "hinge", "no_penalty", "conditional_batch_norm",
                          extra=extra))
  with pytest.raises(configurables.GinConfigError, match=message):
    legacy_gin.translate([str(path)])
