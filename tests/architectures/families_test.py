"""Generic tests over compare_gan2.architectures.families: every family, one way.

A family module declares itself with `families.register(Family(...))`; these
tests then build it at every resolution it declares (tiny widths) and report
its parameter count, and run G into D at its smallest resolution eagerly,
under tf.function and on two replicas (with conditional BN in G and spectral
norm in D). These replace the families' own three-way tests. A
new family needs no edit here (docs/extending.md).
"""

import importlib
import pkgutil

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import architectures
from compare_gan2 import testing
from compare_gan2.architectures import base
from compare_gan2.architectures import families
from compare_gan2.ops import normalization

FAMILIES = families.all_families()
CLASSES = 3
# BigGAN's hierarchical z splits z into 4 to 8 chunks (32 to 512 px): lcm(4, ..., 8).
Z_DIM = 840


def _tiny(family: families.Family, resolution: int, z_dim: int = Z_DIM, rich: bool = False,
          seed: int = 3) -> tuple[base.Network, base.Network]:
  """G and D of `family` at a square resolution, built, with seeded weights.

  With `rich`, G normalizes with a ConditionalBatchNorm (every family passes y
  or z to its norms) and D has spectral norm, both with the family's declared
  options; otherwise both have their defaults (fewer weights to build). D's
  plain norms add cost, not paths (their modes: tests/ops; their settings:
  base_test).
  """
  keras.utils.set_random_seed(seed)
  g_kwargs = family.tiny_kwargs(family.generator, resolution, colors=3)
  d_kwargs = family.tiny_kwargs(family.discriminator, resolution, colors=3)
  g_kwargs.setdefault("z_dim", z_dim)
  if rich:
    # Signal-preserving weights: at the default N(0, 0.02) a deep tiny G puts out a constant.
    for kwargs in (g_kwargs, d_kwargs):
      kwargs["kernel_initializer"] = keras.initializers.VarianceScaling(seed=seed)
    g_kwargs.update(family.generator_options, batch_norm=normalization.ConditionalBatchNorm)
    d_kwargs.update(family.discriminator_options, spectral_norm=True)
  networks = (family.generator(num_classes=CLASSES, **g_kwargs),
              family.discriminator(num_classes=CLASSES, **d_kwargs))
  for network in networks:
    network.build_variables(batch_size=2)
  return networks


def _inputs(z_dim: int = Z_DIM, batch: int = 2) -> list[np.ndarray]:
  rng = np.random.default_rng(0)
  return [rng.normal(size=(batch, z_dim)).astype(np.float32),
          np.eye(CLASSES, dtype=np.float32)[rng.integers(CLASSES, size=batch)]]


def _g_into_d(networks, z, y):
  generator, discriminator = networks
  images = generator(z, y, training=False)
  return images, discriminator(images, y, training=False)


def test_every_module_with_a_generator_and_a_discriminator_is_registered():
  """A family module that forgot its `register` call would escape gin and these tests."""
  modules = {}
  for info in pkgutil.iter_modules(architectures.__path__):
    module = importlib.import_module(f"compare_gan2.architectures.{info.name}")
    if hasattr(module, "Generator") and hasattr(module, "Discriminator"):
      modules[info.name] = (module.Generator, module.Discriminator)
  assert modules == {name: (f.generator, f.discriminator) for name, f in FAMILIES.items()
                     if f.generator.__module__.startswith("compare_gan2.architectures.")}


@pytest.mark.parametrize("name,resolution",
                         [(name, r) for name, f in FAMILIES.items() for r in f.resolutions])
def test_builds_at_every_declared_resolution_and_reports_its_parameters(name, resolution):
  """Built from shapes alone: every layer's shapes fit at every size (the run is below)."""
  for network in _tiny(FAMILIES[name], resolution):
    count = network.parameter_count()
    print(f"{name} {resolution}px {network.name}: {count:,} trainable parameters")
    assert count == sum(v.numpy().size for v in network.trainable_variables) > 0


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_eager_function_and_two_replicas_agree(name, two_replicas):
  """G into D at the family's smallest resolution; each replica gets one example."""
  family = FAMILIES[name]
  resolution = min(family.resolutions)
  results = testing.run_three_ways(lambda: _tiny(family, resolution, z_dim=8, rich=True),
                                   _g_into_d, _inputs(z_dim=8), two_replicas)
  images, (probabilities, logits, features) = results["eager"][0]
  assert images.shape == (2, resolution, resolution, 3) and images.std() > 0
  assert images.min() >= 0.0 and images.max() <= 1.0
  assert logits.shape == (2, 1) and features.shape[0] == 2
  np.testing.assert_allclose(probabilities, tf.sigmoid(logits), rtol=1e-6)
  for mode in ("function", "mirrored"):
    for got, want in zip(tf.nest.flatten(results[mode][0]), tf.nest.flatten(results["eager"][0]),
                         strict=True):
      # Deep families (resnet30: 35 blocks) compare relative to each output's scale.
      scale = max(np.abs(want).max(), 1e-6)
      np.testing.assert_allclose(got / scale, want / scale, atol=1e-5, err_msg=mode)


def test_parameter_count_needs_a_built_network():
  family = FAMILIES["resnet_cifar"]
  generator = family.generator(**family.tiny_kwargs(family.generator, 32))
  with pytest.raises(ValueError, match="build it first"):
    generator.parameter_count()


class _NotAGenerator(keras.Model):
  pass


@pytest.mark.parametrize("change,message", [
    ({"name": "my-family"}, "Python identifier"),
    ({"name": "dcgan"}, "already registered by compare_gan2.architectures.dcgan"),
    ({"generator": _NotAGenerator}, "subclass of base.GeneratorBase"),
    ({"resolutions": ()}, "at least one resolution"),
    ({"resolutions": (32, 40)}, "supports square images of 32 px; got 40x40"),
])
def test_bad_declarations_name_the_problem(change, message):
  sndcgan = FAMILIES["sndcgan"]
  fields = {"name": "bad_declaration", "generator": FAMILIES["resnet_cifar"].generator,
            "discriminator": FAMILIES["resnet_cifar"].discriminator, "resolutions": (32,)}
  if change.get("name") == "dcgan":
    fields.update(generator=sndcgan.generator, discriminator=sndcgan.discriminator)
  with pytest.raises((ValueError, TypeError), match=message):
    families.register(families.Family(**{**fields, **change}))
  assert "bad_declaration" not in families.all_families()


def test_registering_the_same_declaration_again_is_harmless():
  family = FAMILIES["dcgan"]
  assert families.register(family) is family
  assert families.all_families()["dcgan"] is family
