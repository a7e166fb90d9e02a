"""Turns merged compare_gan bindings into compare_gan2 bindings with the same run.

The translator walks compare_gan's run the way compare_gan executes it
(docs/design.md §12): it asks for each parameter the value gin 0.1.4
would give (layered bindings: a GAN class over ModularGAN, an architecture
class over G/D, §12.5; scopes entered by `@S/name` references, §12.4), writes
the compare_gan2 binding that the tables of legacy_names.py name for it, and
remembers every binding it read. Bindings no part of the run reads had no
effect in compare_gan either and get a warning (§12.6); values compare_gan2
cannot reproduce are errors naming the file and line. The G and D side is in
legacy_networks.py.
"""

import dataclasses
import json
from typing import Any

from compare_gan2.migration import legacy_names as names
from compare_gan2.migration import legacy_parse as parse
from compare_gan2.migration import legacy_values as values

OPTIONS = "compare_gan.runner_lib.options"
DATASET = "compare_gan.datasets.dataset"
MODULAR_GAN = "compare_gan.gans.modular_gan.ModularGAN"
MODULAR_TARGET = "gans.ModularGAN"
LOSS = "compare_gan.gans.loss_lib.loss"
PENALTY = "compare_gan.gans.penalty_lib.penalty"
Z = "compare_gan.gans.modular_gan.z"
EVAL_Z = "compare_gan.eval_gan_lib.eval_z"
RUN_CONFIG = "compare_gan.main.run_config"
_DATASETS = "compare_gan.datasets."
SKIP = object()  # a template of a multi-target parameter that gets no binding
# Ref.text of a compare_gan Python default: the raw TF object, which gin
# bindings do not reach (docs/design.md §12.6).
RAW = "(compare_gan's default)"


class Gin(str):
  """gin text written as is (a reference such as `@gans.ModularGAN()`)."""


def gin_text(value: Any) -> str:
  """A Python value as a gin literal."""
  if isinstance(value, Gin):
    return str(value)
  if isinstance(value, str):
    return json.dumps(value)
  if isinstance(value, tuple):
    return "(" + ", ".join(map(gin_text, value)) + ("," if len(value) == 1 else "") + ")"
  if isinstance(value, list):
    return "[" + ", ".join(map(gin_text, value)) + "]"
  return repr(value)


@dataclasses.dataclass
class Line:
  """One compare_gan2 binding and the legacy bindings it comes from."""
  key: str
  value: Any
  sources: tuple[parse.Binding, ...]

  def __str__(self) -> str:
    return f"{self.key} = {gin_text(self.value)}"


def is_count(value: Any) -> bool:
  """True for a positive int (not a bool)."""
  return isinstance(value, int) and not isinstance(value, bool) and value > 0


class Translator:
  """Collects compare_gan2 lines, warnings and errors for one legacy config."""

  def __init__(self, config: parse.LegacyConfig):
    self.config = config
    self.lines: dict[str, Line] = {}
    self.errors: list[str] = config.errors  # shared: macros are resolved while translating
    self.warnings: list[str] = list(config.notes)
    self.dead_reasons: dict[str, str] = {}
    self.family: str | None = None
    self.arch_source = None
    self.arch_module: str | None = None
    self.conditional, self.conditional_source = False, None
    self.num_classes, self.image_shape, self.z_dim = 0, (32, 32, 3), 128
    self.z_dim_source = None
    self.gan_target, self.gan_source = MODULAR_TARGET, None

  # -- helpers -----------------------------------------------------------------

  def fail(self, where: Any, message: str) -> None:
    """Records an untranslatable binding (where: Binding, Where or None)."""
    where = getattr(where, "where", where)
    self.errors.append(f"{where if where is not None else 'compare_gan config'}: {message}")

  def warn(self, where: Any, message: str) -> None:
    """Records a binding that translates with a caveat."""
    where = getattr(where, "where", where)
    self.warnings.append(f"{where if where is not None else 'compare_gan config'}: {message}")

  def value(self, selector: str, param: str, scope: str = "") -> tuple[Any, Any]:
    """(value, binding or None) of `selector.param` inside `scope`."""
    return self.config.value(selector, param, scope)

  def layered(self, selectors: tuple[str, ...], param: str, scope: str = "") -> tuple[Any, Any]:
    """The first of `selectors` (most specific first) that binds `param` wins."""
    found = None
    for selector in selectors:
      binding = self.config.lookup(selector, param, scope)
      found = found or binding
    if found is not None:
      return self.config.macro_value(found.value, found.where), found
    owner = next(s for s in selectors if param in (names.CONFIGURABLES[s].params or {}))
    return names.CONFIGURABLES[owner].params[param].default, None

  def required(self, selector: str, param: str) -> tuple[Any, Any]:
    """Like value(), with an error when compare_gan's REQUIRED value is unbound."""
    value, binding = self.value(selector, param)
    if value == names.REQUIRED:
      short = ".".join(selector.split(".")[-1:])
      self.fail(binding, f"{short}.{param} must be bound (REQUIRED in compare_gan)")
      return None, binding
    return value, binding

  def emit(self, key: str, value: Any, *sources: Any) -> None:
    """Writes `key = value` (a later emit of the same key replaces it).

    ModularGAN's parameters go to the chosen GAN class: gin binds
    `gans.ModularGAN.x` to ModularGAN only, not to its subclasses.
    """
    if key.startswith(MODULAR_TARGET + "."):
      key = self.gan_target + key[len(MODULAR_TARGET):]
    unique = {id(s): s for s in sources if s is not None}
    self.lines[key] = Line(key, value, tuple(unique.values()))

  def emit_param(self, selector: str, param: str, *vals: Any, sources: tuple = (),
                 **fmt: Any) -> None:
    """Writes a parameter's value(s) under the compare_gan2 name(s) the table gives."""
    templates = names.CONFIGURABLES[selector].params[param].new
    if len(templates) != len(vals):
      raise AssertionError(f"{selector}.{param}: {len(templates)} targets, {len(vals)} values")
    for template, value in zip(templates, vals):
      if value is not SKIP:
        self.emit(template.format(**fmt), value, *sources)

  def check_rest(self, selectors: tuple[str, ...], scope: str = "") -> None:
    """Reads every DEAD, FIXED and ACCEPTED parameter: warns, fails or accepts."""
    params = names.CONFIGURABLES[selectors[0]].params or {}
    for param, spec in params.items():
      if spec.kind == names.MAP:
        continue
      value, binding = self.layered(selectors, param, scope)
      if binding is None or value == spec.default:
        continue
      if spec.kind == names.DEAD:
        self.warn(binding, f"no effect in compare_gan ({spec.note}); not translated")
      elif spec.kind == names.FIXED:
        self.fail(binding, f"compare_gan2 supports only {spec.default!r} here: {spec.note}")

  def reference(self, value: Any, binding: Any, allowed: tuple[str, ...],
                what: str) -> parse.Ref | None:
    """`value` as an uncalled reference to one of `allowed`, or None after an error."""
    if isinstance(value, names.RawDefault):
      selector = next(s for s in allowed
                      if s == value.selector or s.endswith("." + value.selector))
      return parse.Ref("", selector, False, RAW)
    if isinstance(value, parse.Ref) and not value.evaluate and value.selector in allowed:
      return value
    if isinstance(value, parse.Ref) and names.CONFIGURABLES[value.selector].error:
      return None  # reported once by unavailable()
    short = sorted("@" + s.split(".")[-1] for s in allowed)
    self.fail(binding, f"{what} must be one of {', '.join(short)} (uncalled); got "
                       f"{getattr(value, 'text', repr(value))}")
    return None

  # -- the run -----------------------------------------------------------------

  def unavailable(self) -> None:
    """Configurables with an `error` anywhere (bindings on them or references to them) fail."""
    for key, binding in self.config.bindings.items():
      refs = [v for v in flatten(binding.value) if isinstance(v, parse.Ref)]
      for selector in [binding.selector] + [r.selector for r in refs]:
        if names.CONFIGURABLES[selector].error:
          self.fail(binding, names.CONFIGURABLES[selector].error)
          self.config.consulted.add(key)
          break

  def gan_class(self) -> tuple[tuple[str, ...], str]:
    """The GAN class's selectors (own first, then bases) and the scope it runs in."""
    value, binding = self.required(OPTIONS, "gan_class")
    default = (MODULAR_GAN,), ""
    if value is None:
      return default
    ref = self.reference(value, binding, tuple(values.GAN_CLASSES), "options.gan_class")
    if ref is None:
      return default
    if ref.selector.endswith(".GPUModularGAN"):
      self.warn(binding, "GPUModularGAN (first gin release) is ModularGAN since 9b16cbb")
    self.gan_target, self.gan_source = values.GAN_CLASSES[ref.selector], binding
    self.emit_param(OPTIONS, "gan_class", Gin(f"@{self.gan_target}()"), sources=(binding,))
    return (ref.selector,) + values.GAN_BASES[ref.selector], ref.scope

  def options(self) -> None:
    """Batch, steps, D iterations, penalty weight; z_dim is kept for G."""
    batch, batch_source = self.required(OPTIONS, "batch_size")
    steps, steps_source = self.required(OPTIONS, "training_steps")
    disc_iters, iters_source = self.value(OPTIONS, "disc_iters")
    lamba, lamba_source = self.value(OPTIONS, "lamba")
    self.z_dim, self.z_dim_source = self.value(OPTIONS, "z_dim")
    for value, source, name in ((batch, batch_source, "batch_size"),
                                (steps, steps_source, "training_steps"),
                                (disc_iters, iters_source, "disc_iters"),
                                (self.z_dim, self.z_dim_source, "z_dim")):
      if value is not None and not is_count(value):
        self.fail(source, f"options.{name} must be a positive integer, got {value!r}")
    if is_count(batch) and is_count(disc_iters):
      # compare_gan's batch_size is one sub-step's; a compare_gan2 step holds
      # disc_iters D sub-batches and one G sub-batch (modular_gan.py:215-223).
      self.emit_param(OPTIONS, "batch_size", batch * (disc_iters + 1),
                      sources=(batch_source, iters_source))
      self.emit_param(OPTIONS, "disc_iters", disc_iters, sources=(iters_source,))
    if steps is not None:
      self.emit_param(OPTIONS, "training_steps", steps, sources=(steps_source,))
    if isinstance(lamba, (int, float)) and not isinstance(lamba, bool):
      self.emit_param(OPTIONS, "lamba", float(lamba), sources=(lamba_source,))
    else:
      self.fail(lamba_source, f"options.lamba must be a number, got {lamba!r}")
    self.check_rest((OPTIONS,))

  def architecture(self) -> None:
    """options.architecture -> the compare_gan2 family of G and D."""
    arch, binding = self.required(OPTIONS, "architecture")
    if arch is None:
      return
    if arch in values.UNAVAILABLE_ARCHITECTURES:
      self.fail(binding, f"{arch!r} is {values.UNAVAILABLE_ARCHITECTURES[arch]}")
      return
    if arch not in values.ARCHITECTURES:
      self.fail(binding, f"unknown architecture {arch!r}; compare_gan's are "
                         f"{', '.join(sorted(values.ARCHITECTURES))}")
      return
    if arch == "resnet5_biggan_arch":
      self.warn(binding, "resnet5_biggan_arch (first gin release) is resnet_biggan_arch")
    self.family, self.arch_source = values.ARCHITECTURES[arch], binding
    self.arch_module = values.REGISTERED_MODULES.get(arch)
    self.emit_param(OPTIONS, "architecture", Gin(f"@{self.family}.Generator()"),
                    Gin(f"@{self.family}.Discriminator()"), sources=(binding,))


def flatten(value: Any) -> list[Any]:
  """The leaves of a (possibly nested) gin value."""
  if isinstance(value, (list, tuple)):
    return [x for v in value for x in flatten(v)]
  if isinstance(value, dict):
    return [x for v in value.values() for x in flatten(v)]
  return [value]
