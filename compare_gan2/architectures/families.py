"""The registry of architecture families: each family module declares itself.

A family is one module that defines a `Generator` and a `Discriminator` and
ends with a `register(Family(...))` call. Nothing else lists the families:
`all_families()` imports every module of this package (a pkgutil walk), so the
registrations run, and returns them by name. compare_gan2.configurables then
registers each family's classes with gin as `<name>.Generator` and
`<name>.Discriminator` (`dcgan.Generator`, `resnet_cifar.Discriminator`, ...),
and tests/architectures/families_test.py checks every family the same way
(docs/extending.md: a new architecture is one file).

This module is plain Python: gin stays at the edge (compare_gan2.configurables),
which learns of families registered later (a module imported after it) through
`on_register`.
"""

import dataclasses
import importlib
import pkgutil
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from compare_gan2.architectures import base

# Where every registered family's classes live for gin (`<GIN_MODULE>.<name>.Generator`):
# the built-in families' own modules, so their selectors are unchanged.
GIN_MODULE = "compare_gan2.architectures"


@dataclasses.dataclass(frozen=True)
class Family:
  """What gin and the generic architecture tests need to know about a family.

  Attributes:
    name: the selector prefix, `<name>.Generator` in gin files; a Python identifier.
    generator: the family's generator class (a `base.GeneratorBase`).
    discriminator: the family's discriminator class (a `base.DiscriminatorBase`).
    resolutions: square sizes both networks support. For a family that takes
      any size (DCGAN), the sizes compare_gan tests it at.
    tiny: the smallest constructor arguments both networks accept (widths such
      as `ch`), so the generic tests build every resolution in seconds.
    tiny_generator: further arguments only the generator takes (`embed_y_dim`).
    generator_options, discriminator_options: options away from their defaults
      that the generic run turns on, so it takes every path of the family's
      `call` (hierarchical z, label projection, attention).
    g_batch_norm, d_batch_norm: whether the network applies the `batch_norm`
      it is given (SNDCGAN's D ignores it, as compare_gan's).
    d_layer_norm: whether the discriminator accepts `layer_norm=True`.
    fixed_g_norms: whether the generator creates norms even with `batch_norm=None`
      (InfoGAN's g_bn*, BigGAN's final norm).
  """
  name: str
  generator: type
  discriminator: type
  resolutions: tuple[int, ...]
  tiny: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  tiny_generator: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  generator_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  discriminator_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  g_batch_norm: bool = True
  d_batch_norm: bool = True
  d_layer_norm: bool = True
  fixed_g_norms: bool = False

  def __post_init__(self):
    # Read-only views: a test that edits them would change every later test.
    for field in ("tiny", "tiny_generator", "generator_options", "discriminator_options"):
      object.__setattr__(self, field, MappingProxyType(dict(getattr(self, field))))
    object.__setattr__(self, "resolutions", tuple(int(r) for r in self.resolutions))

  @property
  def gin_module(self) -> str:
    """The gin module of the two classes; `<name>.Generator` is its unique suffix."""
    return f"{GIN_MODULE}.{self.name}"

  def tiny_kwargs(self, network: type, resolution: int, colors: int = 1) -> dict[str, Any]:
    """Constructor arguments of the tiny `network` (G or D) at a square resolution."""
    kwargs = {**self.tiny, "image_shape": (resolution, resolution, colors)}
    if network is self.generator:
      kwargs.update(self.tiny_generator)
    return kwargs


_FAMILIES: dict[str, Family] = {}
_LISTENERS: list[Callable[[Family], None]] = []


def _check(family: Family) -> None:
  """Raises ValueError or TypeError naming what is wrong with a declaration."""
  where = f"architecture family {family.name!r}"
  if not family.name.isidentifier():
    raise ValueError(f"{where}: the name must be a Python identifier (a gin selector part).")
  if family.name in _FAMILIES and _FAMILIES[family.name] != family:
    known = _FAMILIES[family.name].generator.__module__
    raise ValueError(f"{where} is already registered by {known}.")
  for attribute, expected in (("generator", base.GeneratorBase),
                              ("discriminator", base.DiscriminatorBase)):
    cls = getattr(family, attribute)
    if not (isinstance(cls, type) and issubclass(cls, expected)):
      raise TypeError(f"{where}: {attribute} must be a subclass of base.{expected.__name__}, "
                      f"got {cls!r}.")
  if not family.resolutions:
    raise ValueError(f"{where}: declare at least one resolution.")
  for resolution in family.resolutions:
    for cls in (family.generator, family.discriminator):
      cls.check_resolution((resolution, resolution, 3))  # names the supported sizes


def register(family: Family) -> Family:
  """Adds a family to the registry (idempotent for the same declaration).

  Args:
    family: the declaration, usually the last statement of the family's module.

  Returns:
    `family`, so a module may keep it as `FAMILY = register(Family(...))`.

  Raises:
    ValueError, TypeError: a bad name, a name taken by another family, classes
      that are not a generator and a discriminator, or a resolution one of
      them rejects.
  """
  _check(family)
  if family.name not in _FAMILIES:
    _FAMILIES[family.name] = family
    for listener in list(_LISTENERS):
      listener(family)
  return family


def on_register(listener: Callable[[Family], None]) -> None:
  """Calls `listener(family)` for every family, registered so far and later."""
  _LISTENERS.append(listener)
  for family in list(_FAMILIES.values()):
    listener(family)


def _import_package() -> None:
  package = importlib.import_module(__name__.rpartition(".")[0])
  for info in pkgutil.iter_modules(package.__path__):
    importlib.import_module(f"{package.__name__}.{info.name}")


def all_families() -> dict[str, Family]:
  """Every family, by name: this package's (imported here) and any registered since."""
  _import_package()
  return dict(sorted(_FAMILIES.items()))
