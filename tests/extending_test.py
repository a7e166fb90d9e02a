"""One file per component: a new loss or architecture is its own module, nothing else.

Each test writes one module in a temporary folder (outside the repository),
imports it, and shows the component is reachable from a gin binding through
`configurables.parse_gin` and passes the generic checks every registered
component passes (tests/losses_test.py, tests/architectures/families_test.py),
run here on the new component. The number of files written is asserted and
printed; docs/extending.md quotes it.
"""

import importlib
import importlib.util
import pathlib
import sys
import textwrap

import gin
import pytest
import tensorflow as tf

from compare_gan2 import configurables
from compare_gan2 import losses
from compare_gan2 import registry
from compare_gan2.architectures import families
from compare_gan2.ops import normalization

TESTS = pathlib.Path(__file__).resolve().parent

TOY_LOSS = '''
"""Hinge with margin 2: one file, registered through the public registry."""
import numpy as np
import tensorflow as tf

from compare_gan2 import losses


def _reference(lr, lf):
  real, fake = np.mean(np.maximum(0, 2 - lr)), np.mean(np.maximum(0, 2 + lf))
  return real + fake, -np.mean(lf), real, fake


@losses.register_loss(_reference)
def wide_hinge(d_real_logits, d_fake_logits):
  losses.check_dimensions(d_real_logits, d_fake_logits)
  real = tf.reduce_mean(tf.nn.relu(2.0 - d_real_logits))
  fake = tf.reduce_mean(tf.nn.relu(2.0 + d_fake_logits))
  return losses.GanLosses(d_loss=real + fake, g_loss=-tf.reduce_mean(d_fake_logits),
                          d_loss_real=real, d_loss_fake=fake)
'''

TOY_ARCHITECTURE = '''
"""A one-layer G and D: one file, registered through the public registry."""
import tensorflow as tf

from compare_gan2.architectures import base
from compare_gan2.architectures import families
from compare_gan2.ops import normalization
from compare_gan2.ops import layers


class Generator(base.GeneratorBase):
  RESOLUTIONS = (4, 8)

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    height, width, colors = self.image_shape
    self.fc = layers.Linear(height * width * colors, name="fc",
                            kernel_initializer=self.kernel_initializer)

  def build(self, z_shape, y_shape=None):
    self.fc.build(z_shape)

  def call(self, z, y=None, training=False):
    return tf.reshape(tf.sigmoid(self.fc(z, training=training)), [-1, *self.image_shape])


class Discriminator(base.DiscriminatorBase):
  RESOLUTIONS = (4, 8)

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    self.fc = layers.Linear(1, spectral_norm=self.spectral_norm, name="fc",
                            kernel_initializer=self.kernel_initializer)

  def build(self, images_shape, y_shape=None):
    self.fc.build((images_shape[0], images_shape[-1]))

  def call(self, images, y=None, training=False):
    features = tf.reduce_mean(images, axis=[1, 2])
    return base.discriminator_output(self.fc(features, training=training), features)


# Both networks ignore the `batch_norm` they are given (the generic checks need to know).
families.register(families.Family("toy", Generator, Discriminator, resolutions=(4, 8),
                                  g_batch_norm=False, d_batch_norm=False))
'''


@gin.configurable("components", module="extending_test")
def components(loss_fn=None, generator=None, discriminator=None):
  return loss_fn, generator, discriminator


@pytest.fixture
def isolated_registries(monkeypatch):
  """The toy components leave the registries (and so every other test) as they were."""
  monkeypatch.setattr(losses, "LOSSES", list(losses.LOSSES))
  monkeypatch.setattr(losses, "_REFERENCES", dict(losses._REFERENCES))  # pylint: disable=protected-access
  monkeypatch.setattr(families, "_FAMILIES", dict(families._FAMILIES))  # pylint: disable=protected-access
  monkeypatch.setattr(registry, "_ENTRIES", list(registry._ENTRIES))  # pylint: disable=protected-access


def _write_and_import(folder: pathlib.Path, name: str, text: str, monkeypatch):
  """Writes the component's one file and imports it; returns (module, files written)."""
  (folder / f"{name}.py").write_text(textwrap.dedent(text))
  monkeypatch.syspath_prepend(str(folder))
  module = importlib.import_module(name)
  monkeypatch.setitem(sys.modules, name, module)  # dropped at teardown: a rerun imports afresh
  return module, sorted(p.name for p in folder.iterdir())


def _generic_tests(path: str):
  """A generic test module, loaded now so its registry snapshot holds the new component."""
  spec = importlib.util.spec_from_file_location(f"generic_{pathlib.Path(path).stem}", TESTS / path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


@pytest.mark.usefixtures("isolated_registries")
def test_a_new_loss_is_one_file(tmp_path, monkeypatch, two_replicas):
  module, written = _write_and_import(tmp_path, "toy_loss", TOY_LOSS, monkeypatch)
  print(f"files written for a new loss: {len(written)} ({', '.join(written)})")
  assert written == ["toy_loss.py"]
  configurables.parse_gin(bindings=["components.loss_fn = @losses.wide_hinge"])
  assert components()[0].__wrapped__ is module.wide_hinge
  generic = _generic_tests("losses_test.py")
  generic.test_loss_equals_its_declared_numpy_reference(module.wide_hinge)
  generic.test_tfgan_total_relates_to_the_parts_as_in_the_reference(module.wide_hinge)
  generic.test_generic_invariants(module.wide_hinge)
  generic.test_same_value_under_tf_function(module.wide_hinge)
  generic.test_each_replica_gets_its_local_mean(module.wide_hinge, two_replicas)


@pytest.mark.usefixtures("isolated_registries")
def test_a_new_architecture_is_one_file(tmp_path, monkeypatch, two_replicas):
  module, written = _write_and_import(tmp_path, "toy_architecture", TOY_ARCHITECTURE,
                                      monkeypatch)
  print(f"files written for a new architecture: {len(written)} ({', '.join(written)})")
  assert written == ["toy_architecture.py"]
  configurables.parse_gin(bindings=[
      "components.generator = @toy.Generator()", "toy.Generator.image_shape = (8, 8, 1)",
      "toy.Generator.z_dim = 4", "components.discriminator = @toy.Discriminator()",
      "toy.Discriminator.image_shape = (8, 8, 1)", "toy.Discriminator.spectral_norm = True"])
  _, generator, discriminator = components()
  assert isinstance(generator, module.Generator) and generator.z_dim == 4
  assert isinstance(discriminator, module.Discriminator) and discriminator.spectral_norm
  assert discriminator(generator(tf.zeros([2, 4]))).logits.shape == (2, 1)
  generic = _generic_tests("architectures/families_test.py")
  assert "toy" in generic.FAMILIES
  for resolution in (4, 8):
    generic.test_builds_at_every_declared_resolution_and_reports_its_parameters("toy", resolution)
  generic.test_eager_function_and_two_replicas_agree("toy", two_replicas)
  gin.clear_config()  # parse_gin locked it; the contract test binds the norms' settings
  contract = _generic_tests("architectures/base_test.py")
  for net, norm_class in (("Generator", None), ("Discriminator", normalization.BatchNorm)):
    contract.test_gin_settings_reach_every_norm_and_spectral_norm("toy", net, norm_class)
