"""Tests for compare_gan2.export: the generator SavedModel and the sampling interface.

An export reproduces the live GAN (EMA weights when it has them) for the same z
and labels, carries compare_gan's "gen" signature and the run's z distribution,
loads with tensorflow_hub, and is written atomically: never over an existing
export unless asked, and a failed export leaves the previous one intact.
"""

import functools
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub

from compare_gan2 import checkpoints
from compare_gan2 import export
from compare_gan2 import testing
from compare_gan2.architectures import base
from compare_gan2.gans import ema as ema_lib
from compare_gan2.gans import modular_gan
from compare_gan2.ops import layers

Z_DIM, CLASSES, SHAPE = 3, 4, (2, 2, 1)
SEED = np.array([5, 6], np.int64)


class LabelGenerator(base.GeneratorBase):
  """Pixel (0, 0) is y · (1, ..., K)/(K + 1), showing the class; the rest is sigmoid(fc(z))."""

  def __init__(self, image_shape=SHAPE, **kwargs):
    super().__init__(image_shape=image_shape, **kwargs)
    self.fc = layers.Linear(int(np.prod(self.image_shape)), name="fc")

  def build(self, z_shape, y_shape=None):
    self.fc.build(z_shape)

  def call(self, z, y=None, training=False):
    images = tf.sigmoid(self.fc(z, training=training))
    if y is not None:
      codes = tf.range(1, self.num_classes + 1, dtype=tf.float32) / (self.num_classes + 1)
      images = tf.concat([tf.reduce_sum(y * codes, 1, keepdims=True), images[:, 1:]], 1)
    return tf.reshape(images, [-1, *self.image_shape])


def _gan(conditional=False, use_ema=True, z_fn=modular_gan.uniform_latent):
  keras.utils.set_random_seed(3)
  classes = CLASSES if conditional else 0
  generator = (LabelGenerator(z_dim=Z_DIM, num_classes=classes) if conditional
               else testing.TinyGenerator(SHAPE, z_dim=Z_DIM))
  gan = modular_gan.ModularGAN(generator, testing.TinyDiscriminator(SHAPE, num_classes=classes),
                               conditional=conditional, z_fn=z_fn,
                               ema=ema_lib.EmaConfig() if use_ema else None)
  gan.compile(d_optimizer=keras.optimizers.Adam(), g_optimizer=keras.optimizers.Adam())
  gan.build_networks()
  if use_ema:  # the twin starts as a copy; make it tell apart from the raw weights
    for variable in gan.ema.generator.trainable_variables:
      variable.assign(variable + 0.5)
  return gan


def _z(n=5):
  return np.random.RandomState(0).uniform(-1, 1, (n, Z_DIM)).astype(np.float32)


LABELS = np.array([0, 3, 1, 2, 3], np.int32)


@pytest.mark.parametrize("conditional", [False, True])
def test_export_reproduces_the_live_ema_generator(tmp_path, conditional):
  """Same z (and labels) give the live GAN's images (its EMA twin) within 1e-6."""
  gan = _gan(conditional)
  loaded = export.load_generator(export.export_generator(gan, str(tmp_path / "gen")))
  labels = LABELS if conditional else None
  y = tf.one_hot(labels, CLASSES) if conditional else None
  want = gan.ema.generator(_z(), y).numpy()
  np.testing.assert_allclose(loaded.generate(_z(), labels), want, atol=1e-6)
  assert loaded.ema_weights
  assert np.abs(want - gan.generator(_z(), y).numpy()).max() > 1e-2  # EMA != raw here
  if conditional:  # one-hot inside: pixel (0, 0) encodes the class
    np.testing.assert_allclose(loaded.generate(_z(), labels)[:, 0, 0, 0],
                               (LABELS + 1) / (CLASSES + 1), rtol=1e-6)


def test_use_ema_false_exports_the_raw_weights(tmp_path):
  """use_ema=False exports G itself, and says so in the metadata."""
  gan = _gan()
  loaded = export.load_generator(export.export_generator(gan, str(tmp_path / "g"), use_ema=False))
  np.testing.assert_allclose(loaded.generate(_z()), gan.generator(_z()).numpy(), atol=1e-6)
  assert not loaded.ema_weights


def test_a_gan_without_ema_exports_its_generator(tmp_path):
  """No EMA twin: the generator's own weights, ema_weights False."""
  gan = _gan(use_ema=False)
  loaded = export.load_generator(export.export_generator(gan, str(tmp_path / "g")))
  np.testing.assert_allclose(loaded.generate(_z()), gan(_z()).numpy(), atol=1e-6)
  assert not loaded.ema_weights


def test_signature_and_metadata_are_compare_gans_gen(tmp_path):
  """serving_default/generate: z float32 [None, z_dim] + labels int32 [None] -> generated."""
  path = export.export_generator(_gan(conditional=True), str(tmp_path / "g"))
  module = tf.saved_model.load(path)
  for name in export.SIGNATURES:
    _, inputs = module.signatures[name].structured_input_signature
    assert inputs["z"].shape.as_list() == [None, Z_DIM] and inputs["z"].dtype == tf.float32
    assert inputs["labels"].shape.as_list() == [None] and inputs["labels"].dtype == tf.int32
    assert list(module.signatures[name].structured_outputs) == ["generated"]
  assert int(module.z_dim) == Z_DIM and int(module.num_classes) == CLASSES
  assert module.image_shape.numpy().tolist() == list(SHAPE)
  unconditional = tf.saved_model.load(export.export_generator(_gan(), str(tmp_path / "u")))
  assert int(unconditional.num_classes) == 0
  assert set(unconditional.signatures["serving_default"].structured_input_signature[1]) == {"z"}


def test_tensorflow_hub_loads_the_export(tmp_path):
  """hub.load gives a module whose default signature is the generator."""
  gan = _gan(conditional=True)
  module = hub.load(export.export_generator(gan, str(tmp_path / "g")))
  images = module.signatures["serving_default"](z=tf.constant(_z()), labels=tf.constant(LABELS))
  np.testing.assert_allclose(images["generated"].numpy(),
                             gan(_z(), tf.one_hot(LABELS, CLASSES)).numpy(), atol=1e-6)


@pytest.mark.parametrize("z_fn, reference", [
    (modular_gan.uniform_latent,
     lambda shape, seed: tf.random.stateless_uniform(shape, seed, -1.0, 1.0)),
    (functools.partial(modular_gan.normal_latent, stddev=0.5),
     lambda shape, seed: 0.5 * tf.random.stateless_normal(shape, seed)),
], ids=["uniform", "normal_stddev_0.5"])
def test_sample_z_is_the_runs_z_distribution(tmp_path, z_fn, reference):
  """sample_z(n, seed) of the export and of the live GAN equal z_fn([n, z_dim], seed)."""
  gan = _gan(z_fn=z_fn)
  loaded = export.load_generator(export.export_generator(gan, str(tmp_path / "g")))
  want = reference([7, Z_DIM], SEED).numpy()
  np.testing.assert_allclose(loaded.sample_z(7, SEED), want, rtol=1e-6)
  np.testing.assert_allclose(export.live_generator(gan).sample_z(7, SEED), want, rtol=1e-6)
  np.testing.assert_allclose(gan.z_fn([7, Z_DIM], SEED).numpy(), want, rtol=1e-6)
  assert not np.allclose(loaded.sample_z(7, [5, 7]), want)


def test_live_and_loaded_generators_agree(tmp_path):
  """The two adapters give the same z and images, so sampling code is written once."""
  gan = _gan(conditional=True)
  live = export.live_generator(gan)
  loaded = export.load_generator(export.export_generator(gan, str(tmp_path / "g")))
  assert (live.z_dim, live.num_classes, live.image_shape) == (Z_DIM, CLASSES, SHAPE)
  assert (loaded.z_dim, loaded.num_classes, loaded.image_shape) == (Z_DIM, CLASSES, SHAPE)
  z = live.sample_z(5, SEED)
  np.testing.assert_array_equal(loaded.sample_z(5, SEED), z)
  np.testing.assert_allclose(loaded.generate(z, LABELS), live.generate(z, LABELS), atol=1e-6)
  mix = np.full([5, CLASSES], 1.0 / CLASSES, np.float32)  # soft labels: generate_onehot
  np.testing.assert_allclose(loaded.generate(z, mix), live.generate(z, mix), atol=1e-6)
  np.testing.assert_allclose(loaded.generate(z, mix)[:, 0, 0, 0], 0.5, rtol=1e-6)


def test_existing_export_is_not_overwritten_unless_asked(tmp_path):
  """A non-empty export_dir is refused; overwrite=True replaces it; an empty one is used."""
  path = str(tmp_path / "g")
  gan = _gan()
  export.export_generator(gan, path)
  with pytest.raises(ValueError, match="exists and is not empty.*overwrite=True"):
    export.export_generator(gan, path)
  for variable in gan.ema.generator.trainable_variables:
    variable.assign(variable * 2.0)
  export.export_generator(gan, path, overwrite=True)
  np.testing.assert_allclose(export.load_generator(path).generate(_z()), gan(_z()).numpy(),
                             atol=1e-6)
  os.makedirs(tmp_path / "empty")
  export.export_generator(gan, str(tmp_path / "empty"))
  assert sorted(os.listdir(tmp_path)) == ["empty", "g"]  # no staging directories left


def test_failed_export_leaves_the_previous_one_intact(tmp_path, monkeypatch):
  """If saving fails, the old export still loads with its old images and nothing is left over."""
  path = str(tmp_path / "g")
  gan = _gan()
  export.export_generator(gan, path)
  before = export.load_generator(path).generate(_z())

  def failing_save(*args, **kwargs):
    raise RuntimeError("disk full")

  monkeypatch.setattr(tf.saved_model, "save", failing_save)
  for variable in gan.ema.generator.trainable_variables:
    variable.assign(variable * 2.0)
  with pytest.raises(RuntimeError, match="disk full"):
    export.export_generator(gan, path, overwrite=True)
  np.testing.assert_array_equal(export.load_generator(path).generate(_z()), before)
  assert os.listdir(tmp_path) == ["g"]


def test_bad_input_is_named(tmp_path):
  """Wrong z width, missing / extra / out-of-range labels, bad seeds and paths: ValueErrors."""
  conditional = export.live_generator(_gan(conditional=True))
  unconditional = export.live_generator(_gan())
  with pytest.raises(ValueError, match=r"z must have shape \[n, 3\]"):
    unconditional.generate(np.zeros([2, 4], np.float32))
  with pytest.raises(ValueError, match="unconditional"):
    unconditional.generate(_z(), LABELS)
  with pytest.raises(ValueError, match="conditional.*pass labels"):
    conditional.generate(_z())
  with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\)"):
    conditional.generate(_z(2), [0, 4])
  with pytest.raises(ValueError, match="seed must be two integers"):
    conditional.sample_z(2, [1, 2, 3])
  with pytest.raises(ValueError, match="No SavedModel"):
    export.load_generator(str(tmp_path))
  (tmp_path / "file").write_text("x")
  with pytest.raises(ValueError, match="is a file"):
    export.export_generator(_gan(), str(tmp_path / "file"))


def test_find_checkpoint_by_default_step_and_path(tmp_path):
  """Newest by default, a step (int or digits) or a path; a missing one lists those available."""
  gan = _gan()
  manager = checkpoints.make_manager(gan, str(tmp_path))
  for step in (3, 5):
    gan.g_optimizer.iterations.assign(step)
    manager.save(checkpoint_number=step)  # as train_lib numbers them
  assert export.find_checkpoint(str(tmp_path)).endswith("ckpt-5")
  assert export.find_checkpoint(str(tmp_path), 3).endswith("ckpt-3")
  assert export.find_checkpoint(str(tmp_path), "3").endswith("ckpt-3")
  path = str(tmp_path / "ckpt-3")
  assert export.find_checkpoint(str(tmp_path), path) == path
  with pytest.raises(ValueError, match="No checkpoint of step 4.*available steps: 3, 5"):
    export.find_checkpoint(str(tmp_path), 4)
  with pytest.raises(ValueError, match="ckpt-9 not found"):
    export.find_checkpoint(str(tmp_path), str(tmp_path / "ckpt-9"))
  with pytest.raises(ValueError, match="No checkpoints in"):
    export.find_checkpoint(str(tmp_path / "elsewhere"))
