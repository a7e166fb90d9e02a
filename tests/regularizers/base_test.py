"""Every registered regularizer as a GAN component: registry, gin, replicas, tracing, GAN classes.

The tests over `regularizers.registered()` cover any regularizer added later;
SETTINGS gives each the settings that make it act within two tiny
train steps (a class missing here runs with its defaults).
"""

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import configurables
from compare_gan2 import losses
from compare_gan2 import regularizers
from compare_gan2 import testing
from compare_gan2.architectures import base as arch_base
from compare_gan2.gans import modular_gan
from compare_gan2.gans import msgan
from compare_gan2.gans import s3gan
from compare_gan2.gans import ssgan

SHAPE = (8, 8, 3)  # flip_and_translate shifts 8-pixel sides by up to one pixel
# LeCam's term counts from step 1 and TopK keeps half the fakes from step 1 on.
SETTINGS = {"LeCam": {"start_step": 0, "decay": 0.5}, "TopK": {"steps_per_epoch": 1, "gamma": 0.5}}
NAMES = sorted(regularizers.registered())


class FlatDiscriminator(testing.TinyDiscriminator):
  """logits = linear(flat(x)), features = flat(x).

  TinyDiscriminator's spatial mean does not change under flips and shifts,
  which would leave CR nothing to regularize.
  """

  def build(self, images_shape, y_shape=None):
    self.final_fc.build((None, int(np.prod(images_shape[1:]))))

  def call(self, images, y=None, training=False):
    flat = tf.reshape(images, [tf.shape(images)[0], -1])
    return arch_base.discriminator_output(self.final_fc(flat, training=training), flat)


def make(name):
  return regularizers.registered()[name](**SETTINGS.get(name, {}))


def with_regularizer(name):
  """A GAN factory for `train`: ModularGAN with a fresh `name` regularizer."""
  return lambda g, d, **kwargs: modular_gan.ModularGAN(g, d, regularizers=[make(name)], **kwargs)


def batch(size=16, seed=0, num_classes=3):
  rng = np.random.RandomState(seed)
  return (rng.uniform(size=(size, *SHAPE)).astype(np.float32),
          rng.randint(0, num_classes, size).astype(np.int32))


def build(cls, strategy=None, conditional=False, spectral_norm=True, **kwargs):
  """A built tiny GAN on FlatDiscriminator, trained by plain SGD.

  SGD rather than Adam: Adam's first step is about lr·sign(gradient), which
  hides how large a regularizer's gradient is and blows float noise on a zero
  gradient up to a full step.
  """
  with (strategy or tf.distribute.get_strategy()).scope():
    keras.utils.set_random_seed(7)
    classes = 3 if conditional else 0
    g = testing.TinyGenerator(SHAPE, z_dim=3, num_classes=classes)
    d = FlatDiscriminator(SHAPE, num_classes=classes, spectral_norm=spectral_norm)
    gan = cls(g, d, loss_fn=losses.hinge, conditional=conditional, seed=3, **kwargs)
    gan.compile(d_optimizer=keras.optimizers.SGD(0.5), g_optimizer=keras.optimizers.SGD(0.5))
    gan.build_networks()
  return gan


def train(cls, strategy, conditional, steps=2, batches=None, **kwargs):
  """`steps` traced train steps of `build(cls, ...)`; returns (gan, logs as floats)."""
  gan = build(cls, strategy, conditional, **kwargs)
  replicas = strategy.num_replicas_in_sync
  step = tf.function(lambda images, labels: strategy.run(
      gan.train_step, args=({"images": images, "labels": labels},)))
  logs = {}
  for data in batches if batches is not None else (batch(seed=i) for i in range(steps)):
    logs = step(*(testing.split_batch(strategy, data) if replicas > 1 else data))
  return gan, {k: float(strategy.reduce("MEAN", v, axis=None)) if replicas > 1 else float(v)
               for k, v in logs.items()}


def d_update(gan, data):
  """What the next train step's D update sees: its reals, its fakes (from G as it is now)
  and D's logits as a NumPy function (FlatDiscriminator without spectral norm)."""
  seed = tf.constant([gan.seed, int(gan.g_optimizer.iterations)], tf.int64)
  sub_batch = gan.split_batch({"images": data[0], "labels": data[1]}, seed)[0]
  fake = gan.generator(sub_batch.z, sub_batch.sampled_y, training=True).numpy()
  fc = gan.discriminator.final_fc
  kernel, bias = fc.kernel.numpy(), fc.bias.numpy()
  return sub_batch.images.numpy(), fake, lambda x: x.reshape(len(x), -1) @ kernel + bias


def hinge(real_logits, fake_logits):
  return np.mean(np.maximum(0, 1 - real_logits)) + np.mean(np.maximum(0, 1 + fake_logits))


def upside_down(images, seed):
  """A deterministic T, so terms can be written by hand."""
  del seed
  return images[:, ::-1]


def test_registry_lists_every_regularizer_for_gin():
  assert set(NAMES) >= {"BCR", "CR", "LeCam", "TopK", "ZCR"}  # the shipped ones, at least
  from compare_gan2 import registry  # pylint: disable=g-import-not-at-top
  selectors = {entry.selector for entry in registry.entries()}
  assert {f"compare_gan2.regularizers.{name}" for name in NAMES} <= selectors


@pytest.mark.parametrize("name", NAMES)
def test_two_replicas_train_like_one_device(name, two_replicas):
  """Two conditional train steps: the same weights, state and logs on 1 device and 2 replicas."""
  single, single_logs = train(with_regularizer(name), tf.distribute.get_strategy(), True)
  mirrored, mirrored_logs = train(with_regularizer(name), two_replicas, True)
  assert set(single_logs) == set(single.metric_names()) >= set(single.regularizers[0].metric_names())
  for a, b in zip(single.variables, mirrored.variables, strict=True):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=2e-5, atol=2e-6, err_msg=a.path)
  for key, value in single_logs.items():
    np.testing.assert_allclose(mirrored_logs[key], value, rtol=1e-5, atol=1e-6, err_msg=key)


@pytest.mark.parametrize("name", NAMES)
def test_traced_step_equals_eager_step(name):
  """One train step under tf.function gives the eager step's weights and logs."""
  results = []
  for wrap in (lambda f: f, tf.function):
    gan = build(with_regularizer(name), conditional=True)
    images, labels = batch()
    logs = wrap(gan.train_step)({"images": images, "labels": labels})
    results.append((gan, {k: float(v) for k, v in logs.items()}))
  (eager, eager_logs), (traced, traced_logs) = results
  assert eager_logs.keys() == traced_logs.keys() >= set(eager.regularizers[0].metric_names())
  for name_ in eager_logs:
    np.testing.assert_allclose(traced_logs[name_], eager_logs[name_], rtol=1e-5, atol=1e-6)
  for a, b in zip(eager.variables, traced.variables, strict=True):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.path)


@pytest.mark.parametrize("cls", [ssgan.SSGAN, msgan.MSGAN], ids=lambda c: c.__name__)
def test_regularizers_compose_with_rotation_tasks(cls):
  """Rotation rows and three regularizers around one D call: every term logged, finite."""
  gan, logs = train(cls, tf.distribute.get_strategy(), False, rotated_batch_size=8,
                    regularizers=[make("CR"), make("LeCam"), make("TopK")])
  assert set(gan.self_supervision.metric_names()) <= set(logs)
  assert {"cr_loss", "lecam_loss", "lecam_anchor_real", "topk_k"} <= set(logs)
  assert all(np.isfinite(v) for v in logs.values())
  assert logs["cr_loss"] > 0 and logs["topk_k"] == 6.0  # k = 8, then 4, averaged by the logs
  assert float(gan.regularizers[1].alpha_real) != 0.0


def test_cr_compares_logits_scored_as_s3gan_scores_them():
  """S3GAN adds a projection of labels to D's logits: CR with T = identity must give 0,
  which holds only if D(T(x)) is scored by the GAN as D(x) was. (Without spectral norm: its
  power iteration moves σ between two training calls.)"""
  identity = regularizers.CR(augment=lambda images, seed: images)
  images, labels = batch()
  labels[::3] = -1  # some unlabelled reals: projected with the predictor's classes
  _, logs = train(s3gan.S3GAN, tf.distribute.get_strategy(), True, batches=[(images, labels)],
                  project_y=True, use_predictor=True, self_supervision="rotation",
                  rotated_batch_fraction=1, regularizers=[identity, make("BCR"), make("ZCR")],
                  spectral_norm=False)
  assert logs["cr_loss"] == pytest.approx(0.0, abs=1e-10)
  assert logs["bcr_real_loss"] > 0 and logs["zcr_d_loss"] > 0 and "class_loss_real" in logs
  assert all(np.isfinite(v) for v in logs.values())


def test_gin_binds_regularizers_on_any_gan_class():
  """`gans.ModularGAN.regularizers = [@regularizers.LeCam()]` builds the component."""
  configurables.parse_gin([], ["gans.ModularGAN.regularizers = [@regularizers.LeCam(), "
                               "@regularizers.CR()]",
                               "regularizers.LeCam.start_step = 5",
                               "regularizers.CR.augment = @regularizers.flip_and_translate",
                               "regularizers.flip_and_translate.ratio = 0.25"], finalize=False)
  gan = gin.get_configurable(modular_gan.ModularGAN)(
      testing.TinyGenerator(SHAPE), testing.TinyDiscriminator(SHAPE),
      loss_fn=losses.hinge)
  lecam, cr = gan.regularizers
  assert isinstance(lecam, regularizers.LeCam) and isinstance(cr, regularizers.CR)
  assert lecam.start_step == 5 and lecam.weight == 0.3
  assert {"lecam_loss", "cr_loss"} <= set(gan.metric_names())
  images = tf.reshape(tf.range(64 * 8 * 8, dtype=tf.float32), [64, 8, 8, 1])
  seed = tf.constant([1, 2], tf.int64)
  # ratio 0.25 of 8 pixels shifts by up to 2; the unbound default (0.125) by up to 1.
  bound, default = cr.augment(images, seed), regularizers.flip_and_translate(images, seed)
  assert not np.array_equal(bound.numpy(), default.numpy())
