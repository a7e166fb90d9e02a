"""Tests for compare_gan2.gans.components: the seam augmentations and regularizers plug into.

Two test doubles stand for issue 22's pieces: `scale_augment` (a
differentiable augmentation with a per-global-example draw) and `ToyAnchor`
(a regularizer with EMA state, like LeCam, that also keeps only the top half
of the fakes for G's loss, like top-k). On ssgan_test's stub D (logits =
flat(x)·w + b) every term they add can be written out by hand.
"""

import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import checkpoints
from compare_gan2 import configurables
from compare_gan2 import global_batch
from compare_gan2 import losses
from compare_gan2 import registry
from compare_gan2 import self_supervision
from compare_gan2 import testing
from compare_gan2.gans import components
from compare_gan2.gans import modular_gan
from compare_gan2.gans import s3gan
from compare_gan2.gans import ssgan
from tests.gans import ssgan_test as helpers

SEED = helpers.SEED


def scale_augment(images, seed):
  """x · (1 + u), u ~ U[0, 1) per global example: differentiable, replica-independent."""
  u = global_batch.uniform(tf.stack([tf.shape(images)[0], 1, 1, 1]), seed)
  return images * (1.0 + u)


class ToyAnchor(components.Component):
  """weight·mean((D(real) − a)²) in D's loss, a ← EMA of the global mean D(real); G's loss
  over the top half of this replica's fake logits (a per-replica choice, so top_half=False
  where replicas must agree)."""

  side = None

  def __init__(self, weight=0.5, decay=0.5, top_half=True, **kwargs):
    super().__init__(name="toy_anchor", **kwargs)
    self.weight, self.decay, self.top_half = weight, decay, top_half

  def build_for(self, gan):
    del gan
    self.anchor = self.add_weight(name="anchor", shape=(), initializer="zeros", trainable=False,
                                  aggregation="mean")
    self.built = True

  def metric_names(self):
    return ("anchor_loss",)

  def discriminator_terms(self, view):
    term = tf.reduce_mean(tf.square(view.real.logits - self.anchor))
    return components.Terms(self.weight * term, {"anchor_loss": term})

  def generator_logits(self, real, fake, view):
    del view
    if not self.top_half:
      return real, fake
    k = fake.shape[0] // 2
    return real[:k], tf.math.top_k(fake[:, 0], k=k).values[:, None]

  def update(self, view):
    if view.phase == "discriminator":
      mean, _ = global_batch.moments(view.real.logits)
      self.anchor.assign(self.decay * self.anchor + (1.0 - self.decay) * mean)


def stub(**kwargs):
  """ssgan_test's stub-D GAN as a ModularGAN with the given components."""
  make = lambda g, d, **kw: modular_gan.ModularGAN(g, d, **kw, **kwargs)
  make.HEAD_UNITS = self_supervision.Rotation.HEAD_UNITS  # stub_gan draws a head of this width
  return helpers.stub_gan(make)


def sub_batch(w):
  return modular_gan.SubBatch(tf.constant(w["real"]), None, tf.zeros([4, 3]), None)


def test_augmentation_reaches_every_image_d_sees():
  """D's loss is the hinge of D on the augmented reals and fakes, each with its own seed."""
  gan, w = stub(augment=scale_augment)
  values = gan.discriminator_losses(sub_batch(w), tf.constant(w["fake"]), SEED)
  logit = lambda x: helpers.flat(x) @ w["fc"] + w["b"]
  real = scale_augment(w["real"], components.augment_seed(SEED, 0)).numpy()
  fake = scale_augment(w["fake"], components.augment_seed(SEED, 1)).numpy()
  assert not np.allclose(real, w["real"])
  expected = np.mean(np.maximum(0, 1 - logit(real))) + np.mean(np.maximum(0, 1 + logit(fake)))
  np.testing.assert_allclose(float(values["d_loss"]), expected, rtol=1e-5)


def test_generator_gradient_flows_through_the_augmentation():
  """G's gradient is D's through x·(1 + u): doubling the augmentation doubles it."""
  def g_grads(augment):
    gan, w = stub(augment=augment)
    batch = sub_batch(w)._replace(z=tf.constant(np.random.RandomState(0).normal(size=(4, 3)),
                                                tf.float32))
    with tf.GradientTape() as tape:
      fake = gan.generator(batch.z, None, training=True)
      loss = gan.generator_losses(batch, fake, SEED)["g_loss"]
    return [g.numpy() for g in tape.gradient(loss, gan.generator.trainable_variables)]
  once = g_grads(scale_augment)
  twice = g_grads(lambda x, s: 2.0 * scale_augment(x, s))
  assert max(np.abs(g).max() for g in once) > 0
  for a, b in zip(once, twice, strict=True):
    np.testing.assert_allclose(b, 2.0 * a, rtol=1e-4, atol=1e-7)


def test_regularizer_terms_reach_both_losses():
  """D: hinge + weight·mean((D(real) − a)²); G: −mean of the top half of D(fake)."""
  toy = ToyAnchor(weight=0.5)
  gan, w = stub(regularizers=[toy])
  toy.anchor.assign(0.25)
  d_values = gan.discriminator_losses(sub_batch(w), tf.constant(w["fake"]), SEED)
  g_values = gan.generator_losses(sub_batch(w), tf.constant(w["fake"]), SEED)
  logit = lambda x: (helpers.flat(x) @ w["fc"] + w["b"])[:, 0]
  real, fake = logit(w["real"]), logit(w["fake"])
  anchor = np.mean((real - 0.25) ** 2)
  hinge = np.mean(np.maximum(0, 1 - real)) + np.mean(np.maximum(0, 1 + fake))
  np.testing.assert_allclose(float(d_values["anchor_loss"]), anchor, rtol=1e-5)
  np.testing.assert_allclose(float(d_values["d_loss"]), hinge + 0.5 * anchor, rtol=1e-5)
  np.testing.assert_allclose(float(g_values["g_loss"]), -np.mean(np.sort(fake)[2:]), rtol=1e-5)
  assert "anchor_loss" in gan.metric_names()


def _with_components(g, d, **kwargs):
  return modular_gan.ModularGAN(g, d, augment=scale_augment,
                                regularizers=[ToyAnchor(top_half=False)], **kwargs)


def test_two_replicas_train_like_one_device(two_replicas):
  """Augmented, regularized, with state updated from D's outputs: 1 device = 2 replicas."""
  gan = helpers.assert_same_training(_with_components, two_replicas, True)
  assert float(gan.regularizers[0].anchor) != 0.0


def test_component_state_is_checkpointed_not_trained(tmp_path):
  """State goes to `components/<path>` in the checkpoint, not to an optimizer."""
  gan, _ = helpers.train(_with_components, tf.distribute.get_strategy(), False, steps=1)
  anchor = gan.regularizers[0].anchor
  assert all(v is not anchor for v in gan.discriminator_trainable_variables())
  checkpoint = checkpoints.make_checkpoint(gan)
  path = checkpoint.write(str(tmp_path / "ckpt"))
  names = [name for name, _ in tf.train.list_variables(path)]
  assert "components/toy_anchor.Sanchor/.ATTRIBUTES/VARIABLE_VALUE" in names
  trained = float(anchor)
  anchor.assign(0.0)
  checkpoint.read(path).assert_consumed()
  assert float(anchor) == trained != 0.0


def test_trainable_state_without_a_side_is_refused():
  class Stray(components.Component):
    side = None

    def build_for(self, gan):
      del gan
      self.add_weight(name="w", shape=(), initializer="zeros")
      self.built = True

  with pytest.raises(ValueError, match="trainable variables but side None"):
    stub(regularizers=[Stray()])


def test_rotation_bound_on_modular_gan_is_ssgan():
  """`ModularGAN(self_supervision=Rotation(...))` computes SSGAN's losses exactly."""
  task = lambda: self_supervision.Rotation(0.7, 0.3, rotated_batch_size=8)
  bound, w = stub(self_supervision=task())
  named, _ = helpers.stub_gan(ssgan.SSGAN, rotated_batch_size=8, weight_rotation_loss_d=0.7,
                              weight_rotation_loss_g=0.3)
  for gan in (bound, named):
    gan.self_supervision.head.kernel.assign(w["head"])
    gan.self_supervision.head.bias.assign(w["head_b"])
  for losses_of in ("discriminator_losses", "generator_losses"):
    a = getattr(bound, losses_of)(sub_batch(w), tf.constant(w["fake"]), SEED)
    b = getattr(named, losses_of)(sub_batch(w), tf.constant(w["fake"]), SEED)
    assert a.keys() == b.keys()
    for key in a:
      np.testing.assert_allclose(float(a[key]), float(b[key]), rtol=1e-6, err_msg=key)


def test_s3gan_takes_the_multi_class_game():
  """Any task composes with any GAN class: S3GAN with MS-GAN's game logs its terms."""
  task = self_supervision.MultiClassMinimax(rotated_batch_fraction=1)
  gan, logs = helpers.train(s3gan.S3GAN, tf.distribute.get_strategy(), True, steps=1,
                            self_supervision=task)
  assert task.head.kernel.shape[-1] == 5
  assert {"ms_real_loss", "ms_g_loss", "label_fraction"} <= set(logs)
  assert all(np.isfinite(v) for v in logs.values())


def test_gin_binds_a_task_on_any_gan_class():
  """`gans.ModularGAN.self_supervision = @self_supervision.Rotation()` builds the component."""
  selectors = {entry.selector for entry in registry.entries()}
  assert {"compare_gan2.gans.ModularGAN", "compare_gan2.gans.SSGAN", "compare_gan2.gans.MSGAN",
          "compare_gan2.gans.S3GAN", "compare_gan2.self_supervision.Rotation",
          "compare_gan2.self_supervision.MultiClassMinimax"} <= selectors
  configurables.parse_gin([], ["gans.ModularGAN.self_supervision = @self_supervision.Rotation()",
                               "self_supervision.Rotation.rotated_batch_fraction = 2",
                               "self_supervision.Rotation.weight_rotation_loss_d = 0.5"],
                          finalize=False)
  gan = gin.get_configurable(modular_gan.ModularGAN)(
      testing.TinyGenerator(helpers.SHAPE), testing.TinyDiscriminator(helpers.SHAPE),
      loss_fn=losses.hinge)
  task = gan.self_supervision
  assert isinstance(task, self_supervision.Rotation)
  assert (task.rotated_batch_fraction, task.weight_rotation_loss_d) == (2, 0.5)
