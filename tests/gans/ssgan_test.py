"""Tests for compare_gan2.gans.ssgan: SSGAN's losses, batch, head and training.

Losses are pinned against a NumPy reference of Chen et al. 2019 / compare_gan
ssgan.py:123-216 written here, on a stub D whose logits and features are
known functions of its input (features = the flattened image, so rotations
are visible to the head).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import checkpoints
from compare_gan2 import losses
from compare_gan2 import testing
from compare_gan2.architectures import base
from compare_gan2.gans import modular_gan
from compare_gan2.gans import ssgan
from compare_gan2.ops import layers

SHAPE = (4, 4, 3)
SEED = tf.constant([1, 2], tf.int64)


class StubDiscriminator(base.DiscriminatorBase):
  """logits = flat(x)·w + b, features = flat(x); records the y it was given."""

  def __init__(self, **kwargs):
    super().__init__(image_shape=SHAPE, **kwargs)
    self.final_fc = layers.Linear(1, name="final_fc")
    self.seen_y = None

  def build(self, images_shape, y_shape=None):
    self.final_fc.build((None, int(np.prod(SHAPE))))

  def call(self, images, y=None, training=False):
    self.seen_y = y
    flat = tf.reshape(images, [tf.shape(images)[0], -1])
    return base.discriminator_output(self.final_fc(flat), flat)


def flat(x):
  return x.reshape(len(x), -1)


def numpy_cross_entropy(logits, labels):
  p = np.exp(logits - logits.max(1, keepdims=True))
  p /= p.sum(1, keepdims=True)
  return -np.mean(np.log(p[np.arange(len(labels)), labels] + 1e-10))


def reference_rows(images, stride):
  """The rotation rows and labels compare_gan builds, from np.rot90."""
  picked = images[stride - 1::stride]
  rows = np.concatenate([np.rot90(picked, k, axes=(1, 2)) for k in range(4)])
  return rows, np.repeat(np.arange(4), len(picked))


def stub_gan(cls, num_classes=0, **kwargs):
  """A GAN on the stub D with fixed random head and D weights; returns (gan, arrays)."""
  keras.utils.set_random_seed(5)
  g = testing.TinyGenerator(SHAPE, z_dim=3, num_classes=num_classes)
  gan = cls(g, StubDiscriminator(num_classes=num_classes), loss_fn=losses.hinge,
            conditional=num_classes > 0, **kwargs)
  gan.compile(d_optimizer=keras.optimizers.SGD(0.1), g_optimizer=keras.optimizers.SGD(0.1))
  gan.build_networks()
  rng = np.random.RandomState(3)
  w = {"fc": rng.normal(size=(48, 1)).astype(np.float32), "b": np.float32([0.3]),
       "head": rng.normal(size=(48, cls.HEAD_UNITS)).astype(np.float32),
       "head_b": rng.normal(size=cls.HEAD_UNITS).astype(np.float32)}
  d = gan.discriminator
  d.final_fc.kernel.assign(w["fc"])
  d.final_fc.bias.assign(w["b"])
  if gan.self_supervision is not None:  # S3GAN without rotation has none
    gan.self_supervision.head.kernel.assign(w["head"])
    gan.self_supervision.head.bias.assign(w["head_b"])
  rng = np.random.RandomState(9)
  w["real"], w["fake"] = (rng.uniform(size=(4, *SHAPE)).astype(np.float32) for _ in range(2))
  return gan, w


def test_paper_defaults():
  """β = 1.0 (D) and α = 0.2 (G), compare_gan's and the paper's defaults."""
  gan, _ = stub_gan(ssgan.SSGAN, rotated_batch_size=8)
  task = gan.self_supervision
  assert (task.weight_rotation_loss_d, task.weight_rotation_loss_g) == (1.0, 0.2)
  assert task.mode == "rotation_gan"


def test_losses_equal_hand_computed_values():
  """D: hinge + β·CE(real rotations); G: −mean D(fake) + α·CE(fake rotations).

  Sub-batch 4, rotated_batch_size 8 → n = 2 rotated examples (rows 1 and 3).
  """
  gan, w = stub_gan(ssgan.SSGAN, rotated_batch_size=8, weight_rotation_loss_d=0.7,
                    weight_rotation_loss_g=0.3)
  batch = modular_gan.SubBatch(tf.constant(w["real"]), None, tf.zeros([4, 3]), None)
  d_values = gan.discriminator_losses(batch, tf.constant(w["fake"]), SEED)
  g_values = gan.generator_losses(batch, tf.constant(w["fake"]), SEED)
  logit = lambda x: flat(x) @ w["fc"] + w["b"]
  head = lambda x: flat(x) @ w["head"] + w["head_b"]
  hinge_d = np.mean(np.maximum(0, 1 - logit(w["real"]))) + np.mean(np.maximum(0, 1 + logit(w["fake"])))
  real_rows, labels = reference_rows(w["real"], 2)
  fake_rows, _ = reference_rows(w["fake"], 2)
  c_real, c_fake = numpy_cross_entropy(head(real_rows), labels), numpy_cross_entropy(head(fake_rows), labels)
  np.testing.assert_allclose(float(d_values["c_real_loss"]), c_real, rtol=1e-5)
  np.testing.assert_allclose(float(d_values["d_loss"]), hinge_d + 0.7 * c_real, rtol=1e-5)
  np.testing.assert_allclose(float(g_values["c_fake_loss"]), c_fake, rtol=1e-5)
  np.testing.assert_allclose(float(g_values["g_loss"]), -np.mean(logit(w["fake"])) + 0.3 * c_fake,
                             rtol=1e-5)
  accuracy = np.mean(head(real_rows).argmax(1) == labels)
  np.testing.assert_allclose(float(d_values["d_rotation_accuracy"]), accuracy)


def test_rotation_only_drops_the_gan_loss():
  """"rotation_only" keeps only the rotation terms (compare_gan ssgan.py:212-214)."""
  gan, w = stub_gan(ssgan.SSGAN, rotated_batch_fraction=1, self_supervision="rotation_only")
  batch = modular_gan.SubBatch(tf.constant(w["real"]), None, tf.zeros([4, 3]), None)
  d_values = gan.discriminator_losses(batch, tf.constant(w["fake"]), SEED)
  np.testing.assert_allclose(float(d_values["d_loss"]), float(d_values["c_real_loss"]), rtol=1e-6)


def test_rotated_fakes_get_their_own_labels():
  """D sees [y, y of rotated reals, sampled_y, sampled_y of rotated fakes]: the
  compare_gan bug (rotated fakes with the real labels, ssgan.py:166-168) is fixed."""
  gan, w = stub_gan(ssgan.SSGAN, num_classes=3, rotated_batch_size=8)
  y, sampled = np.eye(3, dtype=np.float32)[[0, 1, 2, 0]], np.eye(3, dtype=np.float32)[[1, 2, 2, 1]]
  batch = modular_gan.SubBatch(tf.constant(w["real"]), tf.constant(y), tf.zeros([4, 3]),
                               tf.constant(sampled))
  gan.discriminator_losses(batch, tf.constant(w["fake"]), SEED)
  tile = lambda t: np.tile(t[1::2], [3, 1])
  np.testing.assert_array_equal(gan.discriminator.seen_y.numpy(),
                                np.concatenate([y, tile(y), sampled, tile(sampled)]))


@pytest.mark.parametrize("kwargs, message", [
    ({}, "exactly one of rotated_batch_size"),
    ({"rotated_batch_size": 8, "rotated_batch_fraction": 1}, "exactly one"),
    ({"rotated_batch_size": 8, "self_supervision": "rotation"}, "self_supervision must be"),
])
def test_bad_arguments_are_named(kwargs, message):
  with pytest.raises(ValueError, match=message):
    ssgan.SSGAN(testing.TinyGenerator(SHAPE), testing.TinyDiscriminator(SHAPE), **kwargs)


def test_rotated_batch_that_does_not_fit_is_named():
  gan, w = stub_gan(ssgan.SSGAN, rotated_batch_size=12)  # n = 3 does not divide 4
  with pytest.raises(ValueError, match=r"rotated_batch_size=12 does not fit .* sub-batch of 4"):
    gan.self_supervision.rotated_per_replica(4)


def _batch(size, seed, num_classes=3):
  rng = np.random.RandomState(seed)
  return (rng.uniform(size=(size, *SHAPE)).astype(np.float32),
          rng.randint(0, num_classes, size).astype(np.int32))


def train(cls, strategy, conditional, steps=2, batches=None, **kwargs):
  """`steps` train steps of a tiny conditional-or-not GAN; returns (gan, logs).

  `batches` (images, labels) replaces the default random batches of 16 (S3GAN's
  tests pass ones with unlabelled rows).
  """
  with strategy.scope():
    keras.utils.set_random_seed(7)
    classes = 3 if conditional else 0
    g = testing.TinyGenerator(SHAPE, z_dim=3, num_classes=classes)
    d = testing.TinyDiscriminator(SHAPE, num_classes=classes, spectral_norm=True)
    gan = cls(g, d, loss_fn=losses.hinge, conditional=conditional, seed=3, **kwargs)
    gan.compile(d_optimizer=keras.optimizers.Adam(0.05, beta_1=0.5),
                g_optimizer=keras.optimizers.Adam(0.05, beta_1=0.5))
    gan.build_networks()
  replicas = strategy.num_replicas_in_sync
  step = tf.function(lambda images, labels: strategy.run(
      gan.train_step, args=({"images": images, "labels": labels},)))
  logs = {}
  for data in batches if batches is not None else (_batch(16, seed=i) for i in range(steps)):
    logs = step(*(testing.split_batch(strategy, data) if replicas > 1 else data))
  return gan, {k: float(strategy.reduce("MEAN", v, axis=None)) if replicas > 1 else float(v)
               for k, v in logs.items()}


def assert_same_training(cls, two_replicas, conditional, **kwargs):
  """1 device and 2 replicas end with the same variables and logs."""
  single, single_logs = train(cls, tf.distribute.get_strategy(), conditional, **kwargs)
  mirrored, mirrored_logs = train(cls, two_replicas, conditional, **kwargs)
  assert set(single_logs) == set(single.metric_names())
  for a, b in zip(single.variables, mirrored.variables, strict=True):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=2e-5, atol=2e-6, err_msg=a.path)
  for name in single_logs:
    np.testing.assert_allclose(single_logs[name], mirrored_logs[name], rtol=1e-5, atol=1e-6)
  return single


def test_two_replicas_train_like_one_device(two_replicas):
  """Strided rotation rows: the same examples are rotated on 1 and 2 replicas
  (conditional, so the labels of rotated copies are covered too)."""
  gan = assert_same_training(ssgan.SSGAN, two_replicas, True, rotated_batch_size=8)
  assert int(gan.d_optimizer.iterations) == 2


def assert_head_trained_and_checkpointed(gan, tmp_path):
  """The head is trained by the D optimizer and restored from a checkpoint."""
  head = gan.self_supervision.head
  start = head.kernel.numpy().copy()
  images, labels = _batch(8, 0)
  gan.train_step({"images": images, "labels": labels})
  assert np.abs(head.kernel.numpy() - start).max() > 0
  checkpoint = checkpoints.make_checkpoint(gan)
  path = checkpoint.write(str(tmp_path / "ckpt"))
  names = [name for name, _ in tf.train.list_variables(path)]
  # tf.train.Checkpoint escapes the "/" of the key "score_classify/kernel" as ".S".
  assert "discriminator/score_classify.Skernel/.ATTRIBUTES/VARIABLE_VALUE" in names
  trained = head.kernel.numpy().copy()
  head.kernel.assign(start)
  checkpoint.read(path).assert_consumed()
  np.testing.assert_array_equal(head.kernel.numpy(), trained)


def test_head_is_trained_and_checkpointed(tmp_path):
  """The task's head is D-side: the D optimizer moves it, checkpoints restore it."""
  gan, _ = train(ssgan.SSGAN, tf.distribute.get_strategy(), False, steps=0, rotated_batch_fraction=1)
  assert_head_trained_and_checkpointed(gan, tmp_path)
