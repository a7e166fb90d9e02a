"""The gin registry of compare_gan2.

Every configurable goes through `register` (functions and plain classes, left
unchanged so direct Python calls ignore gin) or `register_external` (Keras
classes and third-party callables). `@gin.configurable` must never decorate a
Keras class: gin swaps `__init__` for a `*args, **kwargs` wrapper and Keras'
`Operation.__new__` then fails (docs/design.md §3). `register_external` gives a
dynamic subclass instead, which Keras accepts.

The registry also records what it registered, so `tools/list_configurables`
can print every name with its parameters and defaults.
"""

import dataclasses
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import gin


# The default of a parameter a config must bind (gin's sentinel), for modules
# that declare themselves here without importing gin.
REQUIRED = gin.REQUIRED


class GinConfigError(ValueError):
  """A gin file or binding that cannot be parsed; the message names the place."""


_SKIPPED_KINDS = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
# Keras' own constructor keywords worth binding on a layer or model.
_KERAS_LAYER_KWARGS = ("name", "dtype")


def _signature(target: Callable) -> inspect.Signature | None:
  try:
    return inspect.signature(target.__init__ if inspect.isclass(target) else target)
  except (TypeError, ValueError):  # Some C-implemented callables have none.
    return None


def _accepts_var_keyword(signature: inspect.Signature | None) -> bool:
  return signature is not None and any(
      p.kind is p.VAR_KEYWORD for p in signature.parameters.values())


def bindable_parameters(target: Callable, denylist: Sequence[str] = ()) -> list[inspect.Parameter]:
  """The parameters gin may bind on `target`, in signature order.

  For a class whose __init__ forwards **kwargs to its base, the base's
  parameters count too (up to the first Keras class, whose keywords are
  reduced to name and dtype).
  """
  skipped = {"self", *denylist}
  found: dict[str, inspect.Parameter] = {}
  classes = target.__mro__ if inspect.isclass(target) else (None,)
  for cls in classes:
    if cls is not None and cls.__module__.startswith("keras"):
      if cls is not target:
        for name in _KERAS_LAYER_KWARGS:
          found.setdefault(name, inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None))
        break
    signature = _signature(cls if cls is not None else target)
    if signature is None:
      break
    for p in signature.parameters.values():
      if p.name not in skipped and p.kind not in _SKIPPED_KINDS:
        found.setdefault(p.name, p)
    if not _accepts_var_keyword(signature):
      break
  return list(found.values())


@dataclasses.dataclass(frozen=True)
class Entry:
  """One gin configurable: the selector a gin file uses and what it builds."""
  selector: str
  target: Callable[..., Any]
  denylist: tuple[str, ...] = ()

  def parameters(self) -> list[inspect.Parameter]:
    """The parameters a gin file may bind, in signature order."""
    return bindable_parameters(self.target, self.denylist)


_ENTRIES: list[Entry] = []


def register(module: str, name: str | None = None,
             denylist: Sequence[str] = ()) -> Callable[[Callable], Callable]:
  """Decorator: registers a function or plain class with gin, unchanged.

  Args:
    module: gin module, e.g. "compare_gan2.losses" (selector `losses.hinge`).
    name: gin name; defaults to the Python name.
    denylist: parameters gin may not bind (tensors passed at call time).

  Returns:
    A decorator that returns its argument unmodified.
  """
  def decorator(target: Callable) -> Callable:
    gin_name = name or target.__name__
    gin.register(gin_name, module=module, denylist=list(denylist) or None)(target)
    _ENTRIES.append(Entry(f"{module}.{gin_name}", target, tuple(denylist)))
    return target
  return decorator


def register_external(target: Callable, module: str, name: str | None = None,
                      denylist: Sequence[str] = ()) -> Callable:
  """Registers a Keras class or third-party callable; returns gin's wrapper.

  A target that takes **kwargs (every Keras layer and optimizer) gets an
  allowlist of its real parameters, so a misspelt binding fails at parse time
  instead of reaching the constructor.
  """
  gin_name = name or target.__name__
  allowlist = None
  if _accepts_var_keyword(_signature(target)):
    allowlist = [p.name for p in bindable_parameters(target, denylist)]
  wrapped = gin.external_configurable(
      target, name=gin_name, module=module, allowlist=allowlist,
      denylist=None if allowlist else (list(denylist) or None))
  _ENTRIES.append(Entry(f"{module}.{gin_name}", target, tuple(denylist)))
  return wrapped


def entries() -> list[Entry]:
  """Every configurable registered so far, sorted by selector."""
  return sorted(_ENTRIES, key=lambda e: e.selector)


def configured(target: Callable) -> Callable:
  """`target` as gin configures it: calling it applies the bindings in scope.

  Code that builds a component itself (an architecture's fixed norms, spectral
  norm given as `True`) calls this instead of the class, so `ops.BatchNorm.decay`
  or `ops.SpectralNormConfig.singular_value` reach it as they reach an
  `@ops.BatchNorm` reference. Explicit arguments still win over bindings. A target
  gin does not know (not registered, or already gin's wrapper) comes back as is.
  """
  try:
    return gin.get_configurable(target)
  except ValueError:  # gin's only signal for "not registered"
    return target
