"""Tests for compare_gan2.migration.checkpoint: compare_gan TF1 checkpoints -> compare_gan2.

Each checkpoint is written in the test as compare_gan's graph holds it:
tf.compat.v1 variables named exactly as compare_gan names them
(`compare_gan_names` of the target model, plus the "/ExponentialMovingAverage"
shadows and step counters), and Adam state made and named by
tf.compat.v1.train.AdamOptimizer as compare_gan builds it (`name="d_opt"` and
`"g_opt"`: slots "<var>/d_opt" and "<var>/d_opt_1", beta powers in the name
scopes of the updates; `testing.save_tf1_checkpoint`), saved with a TF1
Saver, for tiny ResNet-CIFAR (BN + SN, EMA),
BigGAN (conditional BN with standing statistics, SN, non-local block, EMA) and
DCGAN models; the conversion must put every value into its Keras variable,
and the converted networks must compute what a second model given the same
values by hand computes.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import configurables
from compare_gan2 import experiment
from compare_gan2 import testing
from compare_gan2.architectures import base
from compare_gan2.gans import ema as ema_lib
from compare_gan2.gans import modular_gan
from compare_gan2.migration import checkpoint as migration

COMMON = ["train_lib.train.gan = @gans.ModularGAN()",
          "train_lib.train.d_optimizer = @D/keras.optimizers.Adam()",
          "train_lib.train.g_optimizer = @G/keras.optimizers.Adam()",
          "keras.optimizers.Adam.beta_1 = 0.5", "keras.optimizers.Adam.epsilon = 1e-8"]
_CIFAR = "resnet_cifar.Generator.{} = {}", "resnet_cifar.Discriminator.{} = {}"
_BIGGAN = "resnet_biggan.Generator.{} = {}", "resnet_biggan.Discriminator.{} = {}"
CONFIGS = {  # tiny G and D bindings; (G, D) pairs set both
    "resnet_cifar": [
        "gans.ModularGAN.generator = @resnet_cifar.Generator()",
        "gans.ModularGAN.discriminator = @resnet_cifar.Discriminator()",
        "gans.ModularGAN.ema = @gans.EmaConfig()", "gans.ModularGAN.disc_iters = 2",
        "resnet_cifar.Generator.z_dim = 4", "resnet_cifar.Generator.batch_norm = @ops.BatchNorm",
        *[f.format(k, v) for f in _CIFAR for k, v in (("ch", 4), ("spectral_norm", True))]],
    "resnet_biggan": [
        "gans.ModularGAN.generator = @resnet_biggan.Generator()",
        "gans.ModularGAN.discriminator = @resnet_biggan.Discriminator()",
        "gans.ModularGAN.ema = @gans.EmaConfig()", "gans.ModularGAN.conditional = True",
        "resnet_biggan.Generator.z_dim = 8", "resnet_biggan.Generator.embed_y_dim = 4",
        "resnet_biggan.Generator.hierarchical_z = True", "resnet_biggan.Generator.embed_y = True",
        "resnet_biggan.Generator.batch_norm = @ops.ConditionalBatchNorm",
        "ops.ConditionalBatchNorm.use_moving_averages = False",  # standing statistics (accu)
        "ops.BatchNorm.use_moving_averages = False", "resnet_biggan.Discriminator.project_y = True",
        *[f.format(k, v) for f in _BIGGAN for k, v in (
            ("image_shape", (32, 32, 3)), ("num_classes", 3), ("ch", 4), ("spectral_norm", True),
            ("blocks_with_attention", "'B1'"))]],
    "dcgan": ["gans.ModularGAN.generator = @dcgan.Generator()",
              "gans.ModularGAN.discriminator = @dcgan.Discriminator()",
              "dcgan.Generator.image_shape = (16, 16, 1)", "dcgan.Generator.z_dim = 4",
              "dcgan.Generator.batch_norm = @ops.BatchNorm",
              "dcgan.Discriminator.image_shape = (16, 16, 1)"],
}


def _random_value(name, shape, dtype, rng, positive=False):
  """Random values; statistics that must be positive are (BN variances, counters, Adam v)."""
  if dtype.startswith("int"):
    return rng.integers(0, 2, shape).astype(dtype)
  value = rng.normal(0.0, 0.3, shape)
  if "variance" in name or "counter" in name or positive:
    value = np.abs(value) + 0.5
  return value.astype(dtype)


def _slot_names(naming=testing.COMPARE_GAN_ADAM):
  """{"discriminator"/"generator": (m suffix, v suffix)}, e.g. ("/d_opt", "/d_opt_1")."""
  return {owner: (f"/{name}", f"/{name}_1") for name, _, owner in naming}


def _values(gan, seed=0, ema=True, adam=True, g_step=3, naming=testing.COMPARE_GAN_ADAM):
  """What compare_gan's checkpoint of `gan` holds, by TF1 name, with random values.

  The D step is disc_iters × G step (modular_gan_test.py:142-177); the beta
  powers are β^(n+1) after n updates, named as TF1 names them for `naming`.
  """
  rng = np.random.default_rng(seed)
  values = {"global_step": np.int64(g_step), "global_step_disc": np.int32(g_step * gan.disc_iters)}
  # The GAN's heads (a self-supervision task's, S3GAN's) are trained by D's optimizer.
  heads = [(head, "discriminator") for head in gan.discriminator_heads()]
  for network, owner in ((gan.generator, "generator"), (gan.discriminator, "discriminator"),
                         *heads):
    names = base.compare_gan_names(network)
    for variable in network.variables:
      name, shape = names[variable.path], tuple(variable.shape)
      values[name] = _random_value(name, shape, variable.dtype, rng)
      slots = _slot_names(naming)[owner] if variable.trainable and adam else ()
      if variable.trainable and ema and network is gan.generator:
        slots += ("/ExponentialMovingAverage",)
      for slot in slots:
        values[name + slot] = _random_value(name + slot, shape, "float32", rng,
                                            positive=slot.endswith("_1"))
  steps = (g_step * gan.disc_iters, g_step)
  for powers, optimizer, n in zip(testing.beta_power_names(naming),
                                  (gan.d_optimizer, gan.g_optimizer), steps):
    if adam:
      values[powers[0]] = np.float32(optimizer.beta_1 ** (n + 1))
      values[powers[1]] = np.float32(optimizer.beta_2 ** (n + 1))
  return values


def _save(prefix, values, naming=testing.COMPARE_GAN_ADAM):
  """The TF1 checkpoint of `values`, Adam state named by TF1 (see the module docstring)."""
  return testing.save_tf1_checkpoint(prefix, values, naming)


def _tiny_gan(ema=True):
  """compare_gan's dummy networks (fc_noise with SN, final_fc), disc_iters 2, built."""
  gan = modular_gan.ModularGAN(testing.TinyGenerator((2, 2, 1), z_dim=3, spectral_norm=True),
                               testing.TinyDiscriminator((2, 2, 1)), disc_iters=2,
                               ema=ema_lib.EmaConfig() if ema else None)
  gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5, epsilon=1e-8),
              g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5, epsilon=1e-8))
  gan.build_networks()
  return gan


def _gan(config: str) -> keras.Model:  # built as the converter tool builds it
  configurables.parse_gin([], COMMON + CONFIGS[config], finalize=False)
  return configurables.build_experiment(with_dataset=False).gan


def _expected_twin(gan, values):
  """{twin variable path: value}: the shadow for trainable variables, else the raw value."""
  names = base.compare_gan_names(gan.ema.generator)
  return {v.path: values[names[v.path] + "/ExponentialMovingAverage"] if v.trainable
          else values[names[v.path]] for v in gan.ema.generator.variables}


def _assert_network_holds(network, values, expected=None):
  names = base.compare_gan_names(network)
  for variable in network.variables:
    want = values[names[variable.path]] if expected is None else expected[variable.path]
    np.testing.assert_array_equal(variable.numpy(), want, err_msg=variable.path)


def _slot(optimizer, variable, kind):
  """Keras Adam's slot of a variable, found by its name (`<path with _>_<kind>`)."""
  name = f"{variable.path.replace('/', '_')}_{kind}"
  return next(v for v in optimizer.variables if v.name == name)


@pytest.mark.parametrize("config", list(CONFIGS))
def test_every_variable_lands_in_its_keras_variable(config, tmp_path):
  """G, D, the EMA twin (shadows; raw u_var/accu/moving stats), Adam slots and steps."""
  gan = _gan(config)
  values = _values(gan, ema=gan.ema is not None, adam=config != "dcgan", g_step=3)
  report = migration.convert_checkpoint(_save(str(tmp_path / "model.ckpt-3"), values), gan,
                                        include_optimizer=config != "dcgan")
  _assert_network_holds(gan.generator, values)
  _assert_network_holds(gan.discriminator, values)
  assert report.missing == report.unmapped == report.notes == ()
  assert (report.g_step, int(gan.d_optimizer.iterations.numpy())) == (3, 3 * gan.disc_iters)
  if gan.ema is not None:
    _assert_network_holds(gan.ema.generator, values, _expected_twin(gan, values))
    raw = sorted(f"ema_generator/{v.path.split('/', 1)[1]}"
                 for v in gan.ema.generator.variables if not v.trainable)
    assert sorted(report.fallbacks) == raw and any(n.endswith("u_var") for n in raw)
    assert any(n.endswith("accu_mean" if config == "resnet_biggan" else "moving_mean") for n in raw)
  if config != "dcgan":
    _assert_slots_hold(gan, values)


def _assert_slots_hold(gan, values, naming=testing.COMPARE_GAN_ADAM):
  for optimizer, network, owner in ((gan.d_optimizer, gan.discriminator, "discriminator"),
                                    (gan.g_optimizer, gan.generator, "generator")):
    names = base.compare_gan_names(network)
    m, v = _slot_names(naming)[owner]
    for variable in network.trainable_variables:
      np.testing.assert_array_equal(_slot(optimizer, variable, "momentum").numpy(),
                                    values[names[variable.path] + m])
      np.testing.assert_array_equal(_slot(optimizer, variable, "velocity").numpy(),
                                    values[names[variable.path] + v])


@pytest.mark.parametrize("config", ["resnet_biggan", "resnet_cifar"])
def test_forward_pass_uses_the_converted_weights(config, tmp_path):
  """G, D and EMA G compute what a second model with hand-assigned values computes."""
  gan = _gan(config)
  reference = _gan(config)
  values = _values(gan, adam=False, seed=1)
  z = tf.random.stateless_uniform([2, gan.generator.z_dim], [0, 1], -1.0, 1.0)
  y = tf.one_hot([0, 2], 3) if gan.conditional else None
  before = gan(z, y).numpy()
  migration.convert_checkpoint(_save(str(tmp_path / "ckpt"), values), gan)
  for network in (reference.generator, reference.discriminator):
    names = base.compare_gan_names(network)
    for variable in network.variables:
      variable.assign(values[names[variable.path]])
  images = reference.generator(z, y).numpy()
  np.testing.assert_allclose(gan.generator(z, y).numpy(), images, rtol=1e-5, atol=1e-6)
  logits = reference.discriminator(images, y).logits.numpy()
  np.testing.assert_allclose(gan.discriminator(images, y).logits.numpy(), logits, rtol=1e-5)
  for variable, value in zip(reference.generator.variables, _expected_twin(gan, values).values()):
    variable.assign(value)
  ema_images = gan(z, y).numpy()  # ModularGAN samples with the EMA twin
  np.testing.assert_allclose(ema_images, reference.generator(z, y).numpy(), rtol=1e-5, atol=1e-6)
  assert np.abs(ema_images - images).max() > 1e-3 and np.abs(images - before).max() > 1e-3
  assert images.std() > 1e-3  # not a saturated, constant picture


def test_wrong_shape_names_the_variable_and_both_shapes(tmp_path):
  """A wrong shape: an error naming the TF1 variable, both shapes and the target; no change."""
  gan = _tiny_gan()
  values = _values(gan)
  for slot in ("", "/g_opt", "/g_opt_1"):  # a TF1 variable and its slots share a shape
    values["generator/fc_noise/kernel" + slot] = np.ones((3, 5), np.float32)
  before = gan.generator.fc_noise.kernel.numpy()
  with pytest.raises(ValueError, match=r"generator/fc_noise/kernel has shape \(3, 5\) in the "
                     r"checkpoint but generator/fc_noise/kernel has \(3, 4\)"):
    migration.convert_checkpoint(_save(str(tmp_path / "ckpt"), values), gan)
  np.testing.assert_array_equal(gan.generator.fc_noise.kernel.numpy(), before)
  assert int(gan.g_optimizer.iterations.numpy()) == 0


def test_missing_variables_are_refused_unless_partial_is_allowed(tmp_path):
  """Missing variables and counters are listed; allow_partial keeps their initial values."""
  gan = _tiny_gan()
  values = _values(gan, g_step=4)
  for name in ("discriminator/final_fc/bias", "discriminator/final_fc/bias/d_opt",
               "discriminator/final_fc/bias/d_opt_1", "global_step_disc"):
    del values[name]  # a variable goes with its slots
  path = _save(str(tmp_path / "ckpt"), values)
  with pytest.raises(ValueError, match="lacks 2 variables.*discriminator/final_fc/bias, "
                     "global_step_disc. Refusing a partial conversion"):
    migration.convert_checkpoint(path, gan)
  before = gan.discriminator.final_fc.bias.numpy()
  report = migration.convert_checkpoint(path, gan, allow_partial=True)
  assert report.missing == ("discriminator/final_fc/bias", "global_step_disc")
  np.testing.assert_array_equal(gan.discriminator.final_fc.bias.numpy(), before)
  np.testing.assert_array_equal(gan.discriminator.final_fc.kernel.numpy(),
                                values["discriminator/final_fc/kernel"])
  assert (report.g_step, report.d_step) == (4, 0)


def test_missing_ema_shadow_is_missing_and_falls_back_when_partial(tmp_path):
  """A trainable G variable without its shadow is missing; allow_partial uses the raw value."""
  gan = _tiny_gan()
  values = _values(gan)
  del values["generator/fc_noise/bias/ExponentialMovingAverage"]
  path = _save(str(tmp_path / "ckpt"), values)
  with pytest.raises(ValueError, match="generator/fc_noise/bias/ExponentialMovingAverage"):
    migration.convert_checkpoint(path, gan)
  report = migration.convert_checkpoint(path, gan, allow_partial=True)
  assert report.missing == ("generator/fc_noise/bias/ExponentialMovingAverage",)
  assert "ema_generator/fc_noise/bias" in report.fallbacks
  np.testing.assert_array_equal(gan.ema.generator.fc_noise.bias.numpy(),
                                values["generator/fc_noise/bias"])


def test_extra_variables_and_unused_shadows_are_reported(tmp_path):
  """Variables the GAN has no place for are listed as unmapped; shadows without EMA get a note."""
  gan = _tiny_gan(ema=False)
  values = _values(gan, ema=True)
  values["discriminator/rotation_head/kernel"] = np.ones((4, 4), np.float32)
  report = migration.convert_checkpoint(_save(str(tmp_path / "ckpt"), values), gan,
                                        include_optimizer=True)
  assert report.unmapped == ("discriminator/rotation_head/kernel",
                             "generator/fc_noise/bias/ExponentialMovingAverage",
                             "generator/fc_noise/kernel/ExponentialMovingAverage")
  assert any("keeps no EMA" in note for note in report.notes)
  assert "Unmapped (3):\n  discriminator/rotation_head/kernel" in report.summary()


@pytest.mark.parametrize("naming", [testing.COMPARE_GAN_ADAM, testing.DEFAULT_ADAM],
                         ids=["d_opt+g_opt", "Adam"])
def test_adam_state_converts_under_compare_gans_and_default_names(naming, tmp_path):
  """Slots '<var>/d_opt(_1)', '<var>/g_opt(_1)' (compare_gan) or '<var>/Adam(_1)'; no leftovers."""
  gan = _tiny_gan()
  values = _values(gan, g_step=5, naming=naming)
  report = migration.convert_checkpoint(_save(str(tmp_path / "ckpt"), values, naming), gan,
                                        include_optimizer=True)
  assert report.missing == report.unmapped == report.skipped == report.notes == ()
  powers = {name for pair in testing.beta_power_names(naming) for name in pair}
  assert {name for _, name in report.mapped} == set(values) - powers  # powers: checked only
  _assert_slots_hold(gan, values, naming)
  assert (report.g_step, report.d_step) == (5, 10)


def test_slots_of_two_optimizer_names_are_refused(tmp_path):
  gan = _tiny_gan()
  values = _values(gan)
  values["generator/fc_noise/kernel/Adam"] = values["generator/fc_noise/kernel/g_opt"]
  values["generator/fc_noise/kernel/Adam_1"] = values["generator/fc_noise/kernel/g_opt_1"]
  values.update(beta1_power=np.float32(0.25), beta2_power=np.float32(0.998))
  naming = testing.COMPARE_GAN_ADAM + (("Adam", "", "generator/fc_noise/kernel"),)
  with pytest.raises(ValueError, match=r"g_optimizer's variables have Adam slots of 2 optimizer "
                                       r"names \(Adam, g_opt\)"):
    migration.convert_checkpoint(_save(str(tmp_path / "ckpt"), values, naming), gan,
                                 include_optimizer=True)


def test_without_optimizer_slots_are_skipped_and_steps_still_set(tmp_path):
  """include_optimizer=False: slots and beta powers skipped (with a warning), counters set."""
  gan = _tiny_gan()
  values = _values(gan, g_step=5)
  report = migration.convert_checkpoint(_save(str(tmp_path / "ckpt"), values), gan)
  assert set(report.skipped) == {n for n in values if n.endswith(("_opt", "_opt_1"))} | {
      "disc_step_1/beta1_power", "disc_step_1/beta2_power",
      "gen_step/cond/beta1_power", "gen_step/cond/beta2_power"}
  assert report.unmapped == () and (report.g_step, report.d_step) == (5, 10)
  assert any("oversized first steps" in note for note in report.notes)
  np.testing.assert_array_equal(
      _slot(gan.g_optimizer, gan.generator.fc_noise.kernel, "momentum").numpy(), 0.0)


def test_beta_powers_inconsistent_with_the_steps_are_noted(tmp_path):
  """A beta power that is no β^(n+1) of either counter (e.g. other betas) gets a note."""
  gan = _tiny_gan()
  values = _values(gan, g_step=5)
  values["gen_step/cond/beta1_power"] = np.float32(0.9 ** 6)
  report = migration.convert_checkpoint(_save(str(tmp_path / "ckpt"), values), gan,
                                        include_optimizer=True)
  assert len(report.notes) == 1
  assert report.notes[0].startswith("gen_step/cond/beta1_power = 0.531441")


def test_keras_adam_continues_exactly_as_tf1_adam(tmp_path):
  """After conversion, one Keras G update equals TF1 AdamOptimizer's next update.

  The TF1 side runs tf.compat.v1.train.AdamOptimizer in a graph from the same
  weights, slots and beta powers (β^(n+1) after n = 7 updates).
  """
  gan = _tiny_gan()
  values = _values(gan, g_step=7)
  migration.convert_checkpoint(_save(str(tmp_path / "ckpt"), values), gan,
                               include_optimizer=True)
  names = base.compare_gan_names(gan.generator)
  weights = gan.generator.trainable_variables
  grads = [np.random.default_rng(2).normal(size=v.shape).astype("float32") for v in weights]
  gan.g_optimizer.apply([tf.constant(g) for g in grads], weights)
  with tf.Graph().as_default(), tf.compat.v1.Session() as session:
    tf1_vars = [tf.compat.v1.get_variable(names[v.path], initializer=values[names[v.path]])
                for v in weights]
    adam = tf.compat.v1.train.AdamOptimizer(1e-3, beta1=0.5, beta2=0.999, epsilon=1e-8)
    step = adam.apply_gradients(zip([tf.constant(g) for g in grads], tf1_vars))
    session.run(tf.compat.v1.global_variables_initializer())
    for var in tf1_vars:
      name = var.op.name
      adam.get_slot(var, "m").load(values[name + "/g_opt"], session)
      adam.get_slot(var, "v").load(values[name + "/g_opt_1"], session)
    powers = adam._get_beta_accumulators()  # pylint: disable=protected-access
    for power, name in zip(powers, ("gen_step/cond/beta1_power", "gen_step/cond/beta2_power")):
      power.load(values[name], session)
    session.run(step)
    expected = session.run(tf1_vars)
  for variable, want in zip(weights, expected):
    np.testing.assert_allclose(variable.numpy(), want, rtol=1e-6, atol=1e-7)
    assert np.abs(want - values[names[variable.path]]).max() > 1e-4  # the update moved it


def test_write_saves_a_checkpoint_that_restores_and_refuses_to_clobber(tmp_path):
  """write: ckpt-<G step> restores into a fresh GAN; existing checkpoints need overwrite."""
  gan = _tiny_gan()
  migration.convert_checkpoint(_save(str(tmp_path / "ckpt"), _values(gan, g_step=6)), gan,
                               include_optimizer=True)
  model_dir = str(tmp_path / "run")
  path = migration.write(gan, model_dir)
  assert path.endswith("ckpt-6")
  fresh = _tiny_gan()
  assert experiment.restore(fresh, path) == 6
  for a, b in zip(fresh.variables, gan.variables):
    np.testing.assert_array_equal(a.numpy(), b.numpy())
  for a, b in zip(fresh.g_optimizer.variables, gan.g_optimizer.variables):
    np.testing.assert_array_equal(a.numpy(), b.numpy())
  with pytest.raises(ValueError, match=r"already has checkpoints \(steps 6\)"):
    migration.write(gan, model_dir)
  with pytest.raises(ValueError, match="step 5 is not the GAN's G step 6"):
    migration.write(gan, str(tmp_path / "other"), 5)
  gan.g_optimizer.iterations.assign(2)
  assert migration.write(gan, model_dir, 2, overwrite=True).endswith("ckpt-2")
  assert [s for s, _ in migration.checkpoints.list_checkpoints(model_dir)] == [2]
  assert not tf.io.gfile.glob(f"{model_dir}/ckpt-6*")


def test_not_a_checkpoint_is_named(tmp_path):
  """A path without a checkpoint, or a directory without an index, is named in the error."""
  gan = _tiny_gan()
  with pytest.raises(ValueError, match=f"No TF1 checkpoint at {tmp_path}/nope"):
    migration.convert_checkpoint(str(tmp_path / "nope"), gan)
  with pytest.raises(ValueError, match="directory without a TF checkpoint index"):
    migration.convert_checkpoint(str(tmp_path), gan)


def _hub_module(tmp_path, values):
  """A compare_gan TF1 hub module's variables (no step counters, no optimizer state)."""
  values = {n: v for n, v in values.items() if not n.startswith("global_step")}
  (tmp_path / "module" / "variables").mkdir(parents=True)
  _save(str(tmp_path / "module" / "variables" / "variables"), values)
  return str(tmp_path / "module")


def test_hub_module_fills_generator_and_twin_with_its_sampling_weights(tmp_path):
  """Raw values -> G, shadows (raw u_var) -> EMA twin; D is skipped and keeps its weights."""
  gan = _tiny_gan()
  values = _values(gan, adam=False)
  d_before = [v.numpy() for v in gan.discriminator.variables]
  report = migration.convert_hub_module(_hub_module(tmp_path, values), gan)
  _assert_network_holds(gan.generator, values)
  _assert_network_holds(gan.ema.generator, values, _expected_twin(gan, values))
  assert report.fallbacks == ("ema_generator/fc_noise/u_var",)
  assert report.skipped == ("discriminator/final_fc/bias", "discriminator/final_fc/kernel")
  assert report.unmapped == () and report.missing == () and report.g_step == 0
  for variable, before in zip(gan.discriminator.variables, d_before):
    np.testing.assert_array_equal(variable.numpy(), before)


def test_hub_module_without_shadows_or_gan_without_ema(tmp_path):
  """EMA values under the raw names fill G and twin alike; a GAN without EMA takes the shadows."""
  gan = _tiny_gan()
  values = _values(gan, ema=False, adam=False)
  migration.convert_hub_module(_hub_module(tmp_path / "raw", values), gan)
  _assert_network_holds(gan.generator, values)
  _assert_network_holds(gan.ema.generator, values)
  plain = _tiny_gan(ema=False)
  values = _values(plain, ema=True, adam=False)
  report = migration.convert_hub_module(_hub_module(tmp_path / "ema", values), plain)
  for name in ("kernel", "bias"):
    np.testing.assert_array_equal(getattr(plain.generator.fc_noise, name).numpy(),
                                  values[f"generator/fc_noise/{name}/ExponentialMovingAverage"])
  assert any("took the module's EMA shadows" in note for note in report.notes)
  assert report.unmapped == () and "generator/fc_noise/kernel" in report.skipped


def test_hub_module_errors_name_the_problem(tmp_path):
  """Not a TF1 module, or a module missing generator variables, is refused by name."""
  gan = _tiny_gan()
  with pytest.raises(ValueError, match="not a TF1 TF-Hub module.*variables/variables.index"):
    migration.convert_hub_module(str(tmp_path), gan)
  values = _values(gan, adam=False)
  del values["generator/fc_noise/kernel/u_var"]
  with pytest.raises(ValueError, match="lacks 1 variables.*generator/fc_noise/kernel/u_var"):
    migration.convert_hub_module(_hub_module(tmp_path, values), gan)


# compare_gan's names of the S3GAN heads (compare_gan
# ssgan.py:80-102, s3gan.py:124-172), written out rather than derived.
S3GAN_HEADS = {
    "discriminator/score_classify/kernel": "discriminator_rotation/score_classify/kernel",
    "discriminator/score_classify/kernel/u_var":
        "discriminator_rotation/score_classify/kernel/u_var",
    "discriminator/score_classify/bias": "discriminator_rotation/score_classify/bias",
    "discriminator/predictor_linear/kernel": "discriminator_predictor/predictor_linear/kernel",
    "discriminator/predictor_linear/kernel/u_var":
        "discriminator_predictor/predictor_linear/kernel/u_var",
    "discriminator/predictor_linear/bias": "discriminator_predictor/predictor_linear/bias",
    "discriminator/projection/kernel": "discriminator_projection/kernel",
    "discriminator/projection/kernel/u_var": "discriminator_projection/kernel/u_var",
}


def _legacy_head_name(name):
  slot = next((s for s in ("/d_opt_1", "/d_opt", "/g_opt_1", "/g_opt") if name.endswith(s)), "")
  variable = name[:len(name) - len(slot)]
  return S3GAN_HEADS.get(variable, variable) + slot


def test_s3gan_heads_come_from_compare_gans_head_scopes(tmp_path):
  """SSGAN/S3GAN heads (rotation, predictor, projection, with SN) convert from their scopes."""
  s3gan = [b.replace("gans.ModularGAN", "gans.S3GAN") for b in COMMON + CONFIGS["resnet_biggan"]]
  configurables.parse_gin([], s3gan + [
      "gans.S3GAN.rotated_batch_fraction = 1", "gans.S3GAN.project_y = True",
      "gans.S3GAN.use_predictor = True", "resnet_biggan.Discriminator.project_y = False"],
      finalize=False)
  gan = configurables.build_experiment(with_dataset=False).gan
  values = _values(gan, adam=True)
  legacy = {_legacy_head_name(name): value for name, value in values.items()}
  assert len(legacy) == len(values) and set(S3GAN_HEADS.values()) <= set(legacy)
  report = migration.convert_checkpoint(_save(str(tmp_path / "model.ckpt-3"), legacy), gan,
                                        include_optimizer=True)
  assert report.missing == report.unmapped == ()
  for layer in (gan.discriminator, *gan.discriminator_heads()):
    _assert_network_holds(layer, values)
  head = gan.projection_head
  np.testing.assert_array_equal(_slot(gan.d_optimizer, head.kernel, "velocity").numpy(),
                                values["discriminator/projection/kernel/d_opt_1"])
