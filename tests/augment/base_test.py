"""Tests for compare_gan2.augment.base: every augmentation as a GAN component.

`gans.<GAN>.augment = @augment.<Name>()` from gin on every GAN class; ADA's
controller driven by the GAN (D's logits on the augmented reals after each D
update), logged, and restored from the GAN's checkpoint; 1 device = 2 replicas
for every registered augmentation; G's gradient through the augmentation.
"""

import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import augment
from compare_gan2 import checkpoints
from compare_gan2 import configurables
from compare_gan2 import testing
from compare_gan2.gans import catalog
from compare_gan2.gans import modular_gan
from tests.gans import components_test
from tests.gans import ssgan_test as helpers

# What each GAN class needs beyond G and D on ssgan_test's tiny 4x4x3 networks.
GAN_OPTIONS = {"ModularGAN": {}, "SSGAN": {"rotated_batch_fraction": 1},
               "MSGAN": {"rotated_batch_fraction": 1},
               "S3GAN": {"rotated_batch_fraction": 1, "conditional": True}}
# Each augmentation as it augments: ADA at p = 0.5 (p = 0 would be the identity),
# adjusting it every D update by (8 images) / (kimg 1 x 1000), so p moves each step.
ACTIVE = {"DiffAugment": dict(policy="color,translation,cutout"),
          "ADA": dict(initial_p=0.5, interval=1, kimg=1.0)}


def train(make, strategy, conditional=False, steps=2, **kwargs):
  """ssgan_test.train's GAN and batches, its train steps run eagerly: tracing
  ADA's pipeline in four places of a train step takes far longer than running it."""
  gan, _ = helpers.train(make, strategy, conditional, steps=0, **kwargs)
  replicas, logs = strategy.num_replicas_in_sync, {}
  for i in range(steps):
    data = helpers._batch(16, seed=i)  # pylint: disable=protected-access
    images, labels = testing.split_batch(strategy, data) if replicas > 1 else data
    logs = strategy.run(gan.train_step, args=({"images": images, "labels": labels},))
  return gan, {k: float(strategy.reduce("MEAN", v, axis=None)) for k, v in logs.items()}


def test_every_registered_augmentation_has_an_active_setting():
  assert sorted(ACTIVE) == augment.names()
  assert sorted(GAN_OPTIONS) == sorted(catalog.gans())


@pytest.mark.parametrize("gan_name", sorted(GAN_OPTIONS))
def test_gin_binds_ada_on_every_gan_class_and_the_gan_drives_it(gan_name):
  """The controller observes each D update (steps counts them) and p, r_t are logged."""
  configurables.parse_gin([], [f"gans.{gan_name}.augment = @augment.ADA()",
                               "augment.ADA.initial_p = 0.5", "augment.ADA.interval = 3"],
                          finalize=False)
  options = dict(GAN_OPTIONS[gan_name])
  conditional = options.pop("conditional", False)
  make = gin.get_configurable(catalog.gans()[gan_name])
  gan, logs = train(make, tf.distribute.get_strategy(), conditional, **options)
  assert isinstance(gan.augment, augment.ADA) and gan.augment in gan.components()
  assert (gan.augment.interval, int(gan.augment.steps)) == (3, 2)  # 2 D updates observed
  assert logs["ada/p"] == pytest.approx(0.5) and "ada/rt" in logs
  assert {"ada/p", "ada/rt"} <= set(gan.metric_names())


def test_gin_names_every_augmentation():
  configurables.parse_gin([], [f"gans.ModularGAN.augment = @augment.{name}()"
                               for name in augment.names()], finalize=False)
  gan = gin.get_configurable(modular_gan.ModularGAN)(
      testing.TinyGenerator(helpers.SHAPE), testing.TinyDiscriminator(helpers.SHAPE))
  assert isinstance(gan.augment, augment.get(augment.names()[-1]))


def _with(name):
  return lambda g, d, **kw: modular_gan.ModularGAN(g, d, augment=augment.get(name)(**ACTIVE[name]),
                                                   **kw)


@pytest.mark.parametrize("name", augment.names())
def test_two_replicas_train_like_one_device(name, two_replicas):
  """Per-global-example draws and ADA's all-reduced statistic: the replica count
  does not matter, within ssgan_test's tolerance (rtol 2e-5 on the variables,
  1e-5 on the logs). DiffAugment's ops are exact per example; ADA's resampling
  and color matrices round differently on 1 and 2 replicas, by ~1e-5."""
  single, single_logs = train(_with(name), tf.distribute.get_strategy(), steps=3)
  mirrored, mirrored_logs = train(_with(name), two_replicas, steps=3)
  assert set(single_logs) == set(single.metric_names()) == set(mirrored_logs)
  for a, b in zip(single.variables, mirrored.variables, strict=True):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=2e-5, atol=2e-6, err_msg=a.path)
  for key in single_logs:
    np.testing.assert_allclose(single_logs[key], mirrored_logs[key], rtol=1e-5, atol=1e-6)
  if name == "ADA":  # 3 adjustments of +-0.008 cannot return to 0.5: the controller ran
    assert float(single.augment.p.numpy()) != 0.5


def _trained_ada(steps=3):
  return train(_with("ADA"), tf.distribute.get_strategy(), steps=steps)[0]


def test_ada_state_is_in_the_gan_checkpoint_and_restores_into_a_fresh_gan(tmp_path):
  """NVlabs/stylegan2-ada#106: p must survive a restart, not come back at 0."""
  gan = _trained_ada()
  trained = {v.path: v.numpy() for v in gan.augment.variables}
  assert trained["ada/p"] not in (0.0, 0.5)
  path = checkpoints.make_checkpoint(gan).write(str(tmp_path / "ckpt"))
  names = [name for name, _ in tf.train.list_variables(path)]
  assert "components/ada.Sp/.ATTRIBUTES/VARIABLE_VALUE" in names
  fresh, _ = train(_with("ADA"), tf.distribute.get_strategy(), steps=0)
  assert float(fresh.augment.p) == 0.5
  checkpoints.make_checkpoint(fresh).read(path).assert_consumed()
  assert {v.path: v.numpy() for v in fresh.augment.variables} == trained


def _g_loss_and_gradient(make_augment, generator_weights=None):
  """G's loss on stub-D's GAN (the function _g_step differentiates) and its gradient."""
  gan, w = components_test.stub(augment=make_augment())
  if generator_weights is not None:
    for v, value in zip(gan.generator.trainable_variables, generator_weights, strict=True):
      v.assign(value)
  batch = components_test.sub_batch(w)._replace(
      z=tf.constant(np.random.RandomState(0).normal(size=(4, 3)), tf.float32))
  with tf.GradientTape() as tape:
    fake = gan.generator(batch.z, None, training=True)
    loss = gan.generator_losses(batch, fake, helpers.SEED)["g_loss"]
  variables = gan.generator.trainable_variables
  grads = tape.gradient(loss, variables)
  return float(loss), [g.numpy() for g in grads], [v.numpy() for v in variables]


@pytest.mark.parametrize("name", augment.names())
def test_generator_gradient_flows_through_each_augmentation(name):
  """G's gradient is non-zero, differs from no augmentation, and is the loss's
  derivative: a central difference along it equals its squared norm."""
  make = lambda: augment.get(name)(**{**ACTIVE[name], "initial_p": 1.0} if name == "ADA"
                                   else ACTIVE[name])
  _, plain, _ = _g_loss_and_gradient(lambda: None)
  _, grads, weights = _g_loss_and_gradient(make)
  norm2 = sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads)
  assert norm2 > 1e-6
  assert max(np.abs(a - b).max() for a, b in zip(grads, plain)) > 1e-4
  eps = 1e-2 / np.sqrt(norm2)
  up, _, _ = _g_loss_and_gradient(make, [v + eps * g for v, g in zip(weights, grads)])
  down, _, _ = _g_loss_and_gradient(make, [v - eps * g for v, g in zip(weights, grads)])
  assert (up - down) / (2 * eps) == pytest.approx(norm2, rel=2e-2)


@pytest.mark.parametrize("name", augment.names())
def test_a_train_step_updates_g_through_the_augmentation(name):
  """In a real train step G moves, and otherwise than without augmentation."""
  def g_delta(make):
    gan, _ = helpers.train(make, tf.distribute.get_strategy(), False, steps=0)
    start = [v.numpy() for v in gan.generator.trainable_variables]
    images, labels = helpers._batch(16, seed=0)  # pylint: disable=protected-access
    gan.train_step({"images": images, "labels": labels})
    return [v.numpy() - s for v, s in zip(gan.generator.trainable_variables, start)]
  plain = g_delta(lambda g, d, **kw: modular_gan.ModularGAN(g, d, **kw))
  augmented = g_delta(_with(name))
  assert max(np.abs(d).max() for d in augmented) > 1e-4
  assert max(np.abs(a - b).max() for a, b in zip(augmented, plain)) > 1e-4
