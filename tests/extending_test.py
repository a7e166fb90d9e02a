"""One file per component: a new loss, architecture, regularizer or GAN variant is its own module.

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
from compare_gan2.gans import catalog
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
from compare_gan2.gans import catalog
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


TOY_REGULARIZER = '''
"""Logit decay on the reals D sees: one file, registered through the public catalog."""
import tensorflow as tf

from compare_gan2.regularizers import base as regularizers_base
from compare_gan2.gans import catalog
from compare_gan2.gans import components


@catalog.component(regularizers_base.MODULE)
class LogitDecay(components.Component):
  side = None  # no variables

  def __init__(self, weight: float = 0.1, **kwargs):
    super().__init__(**kwargs)
    self.weight = weight

  def metric_names(self):
    return ("logit_decay_loss",)

  def discriminator_terms(self, view):
    term = tf.reduce_mean(tf.square(view.real.logits))
    return components.Terms(self.weight * term, {"logit_decay_loss": term})
'''

TOY_GAN = '''
"""A ModularGAN that halves G's loss: one file, registered through the public catalog."""
from compare_gan2.gans import catalog
from compare_gan2.gans import modular_gan


@catalog.gan
class HalfGGAN(modular_gan.ModularGAN):

  def gan_generator_losses(self, view):
    values = dict(super().gan_generator_losses(view))
    values["g_loss"] = 0.5 * values["g_loss"]
    return values
'''


@gin.configurable("components", module="extending_test")
def components(loss_fn=None, generator=None, discriminator=None, regularizers=(), gan=None):
  return loss_fn, generator, discriminator, regularizers, gan


@pytest.fixture
def isolated_registries(monkeypatch):
  """The toy components leave the registries (and so every other test) as they were."""
  monkeypatch.setattr(losses, "LOSSES", list(losses.LOSSES))
  monkeypatch.setattr(losses, "_REFERENCES", dict(losses._REFERENCES))  # pylint: disable=protected-access
  monkeypatch.setattr(families, "_FAMILIES", dict(families._FAMILIES))  # pylint: disable=protected-access
  monkeypatch.setattr(registry, "_ENTRIES", list(registry._ENTRIES))  # pylint: disable=protected-access
  monkeypatch.setattr(catalog, "_GANS", dict(catalog._GANS))  # pylint: disable=protected-access
  monkeypatch.setattr(catalog, "_COMPONENTS", dict(catalog._COMPONENTS))  # pylint: disable=protected-access


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
  _, generator, discriminator, _, _ = components()
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


@pytest.mark.usefixtures("isolated_registries")
def test_a_new_regularizer_is_one_file(tmp_path, monkeypatch, two_replicas):
  module, written = _write_and_import(tmp_path, "toy_regularizer", TOY_REGULARIZER, monkeypatch)
  print(f"files written for a new regularizer: {len(written)} ({', '.join(written)})")
  assert written == ["toy_regularizer.py"]
  configurables.parse_gin(bindings=["components.regularizers = [@regularizers.LogitDecay()]",
                                    "regularizers.LogitDecay.weight = 0.5"])
  (regularizer,) = components()[3]
  assert isinstance(regularizer, module.LogitDecay) and regularizer.weight == 0.5
  generic = _generic_tests("regularizers/base_test.py")
  assert "LogitDecay" in generic.NAMES  # every generic test over the registry covers it
  generic.test_two_replicas_train_like_one_device("LogitDecay", two_replicas)
  generic.test_traced_step_equals_eager_step("LogitDecay")


@pytest.mark.usefixtures("isolated_registries")
def test_a_new_gan_variant_is_one_file(tmp_path, monkeypatch):
  module, written = _write_and_import(tmp_path, "toy_gan", TOY_GAN, monkeypatch)
  print(f"files written for a new GAN variant: {len(written)} ({', '.join(written)})")
  assert written == ["toy_gan.py"]
  configurables.parse_gin(bindings=["components.gan = @gans.HalfGGAN"])
  assert issubclass(components()[4], module.HalfGGAN)
  generic = _generic_tests("regularizers/base_test.py")
  strategy = tf.distribute.get_strategy()
  _, halved = generic.train(module.HalfGGAN, strategy, True, steps=1)
  _, plain = generic.train(generic.modular_gan.ModularGAN, strategy, True, steps=1)
  # The same first D update, then G's loss halved: the variant trains through ModularGAN's step.
  assert halved["d_loss"] == pytest.approx(plain["d_loss"])
  assert halved["g_loss"] == pytest.approx(0.5 * plain["g_loss"])
