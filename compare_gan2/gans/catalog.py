"""The GAN classes and GAN components, registered by their modules (no gin here).

`compare_gan2.configurables` registers everything listed here with gin: GAN
classes under `gans.<Class>` (`@gans.ModularGAN()`, `@gans.SSGAN()`, ...),
components under the gin module they name (`@self_supervision.Rotation()`).
"""

from collections.abc import Callable

GAN_MODULE = "compare_gan2.gans"

_GANS: dict[str, type] = {}
_COMPONENTS: dict[str, type] = {}  # "<gin module>.<name>" -> class
# Called with (gin module, class) for every entry, so a GAN or component
# defined after compare_gan2.configurables was imported (a user's one file)
# still reaches gin.
_LISTENERS: list[Callable[[str, type], None]] = []


def gan(cls: type) -> type:
  """Class decorator: lists a GAN class for gin as `gans.<Class>`.

  Raises:
    ValueError: another class already took the name.
  """
  if _GANS.setdefault(cls.__name__, cls) is not cls:
    raise ValueError(f"Two GAN classes named {cls.__name__}: {_GANS[cls.__name__]} and {cls}.")
  _announce(GAN_MODULE, cls)
  return cls


def component(module: str) -> Callable[[type], type]:
  """Class decorator: lists a GAN component for gin as `<module>.<Class>`."""
  def decorator(cls: type) -> type:
    key = f"{module}.{cls.__name__}"
    if _COMPONENTS.setdefault(key, cls) is not cls:
      raise ValueError(f"Two GAN components registered as {key}.")
    _announce(module, cls)
    return cls
  return decorator


def gans() -> dict[str, type]:
  """Every registered GAN class by name."""
  return dict(_GANS)


def components() -> list[tuple[str, type]]:
  """(gin module, class) of every registered component."""
  return [(key.rsplit(".", 1)[0], cls) for key, cls in _COMPONENTS.items()]


def on_register(listener: Callable[[str, type], None]) -> None:
  """Calls `listener(gin module, class)` for every GAN and component, now and later."""
  _LISTENERS.append(listener)
  for cls in _GANS.values():
    listener(GAN_MODULE, cls)
  for module, cls in components():
    listener(module, cls)


def _announce(module: str, cls: type) -> None:
  for listener in _LISTENERS:
    listener(module, cls)
