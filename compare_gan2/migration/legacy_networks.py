"""The G and D side of a compare_gan config: architecture settings, norms, SN, init.

compare_gan's `D`, `G`, the registered architecture classes, `spectral_norm`,
`standardize_batch` and `weights`; `resnet_cifar.Generator.*` overrides `G.*`
(docs/design.md §12.5), and compare_gan needs labels silently for projection /
label embedding and for conditional BN (§12.9).
compare_gan2 takes these as constructor arguments of the family's Generator
and Discriminator (architectures/base.py), plus the `ops.*` classes.
"""

import importlib
from typing import Any

from compare_gan2.migration import legacy_names as names
from compare_gan2.migration import legacy_translate as lt
from compare_gan2.migration import legacy_values as values

G_BASE = "compare_gan.architectures.abstract_arch.G"
D_BASE = "compare_gan.architectures.abstract_arch.D"
_ARCH_OPS = "compare_gan.architectures.arch_ops."
_WEIGHTS = _ARCH_OPS + "weights"
_SPECTRAL_NORM = _ARCH_OPS + "spectral_norm"
_STANDARDIZE = _ARCH_OPS + "standardize_batch"
_BLOCKS = {"resnet_biggan": "compare_gan.architectures.resnet_biggan.BigGanResNetBlock",
           "resnet_biggan_deep":
               "compare_gan.architectures.resnet_biggan_deep.BigGanDeepResNetBlock"}
_INITIALIZERS = ("normal", "truncated", "orthogonal")
_SINGULAR_VALUES = ("left", "right", "auto")
# Labels compare_gan's BigGAN networks need unless turned off (docs/design.md §12.9).
_NEEDS_LABELS = {"resnet_biggan": ("project_y", "embed_y"),
                 "resnet_biggan_deep": ("project_y", "embed_y")}


def networks(t: lt.Translator) -> None:
  """Writes G's and D's settings for the translated family (nothing without one)."""
  if t.family is None:
    return
  _shapes(t)
  g_norm, g_sn, g_own = _network(t, "Generator", G_BASE)
  d_norm, d_sn, d_own = _network(t, "Discriminator", D_BASE)
  _labels_needed(t, {**g_own, **d_own})
  _norm_settings(t, [r for r in (g_norm, d_norm) if r is not None])
  _spectral_norm(t, g_sn or d_sn)
  _weights(t)
  if t.family in _BLOCKS:
    t.check_rest((_BLOCKS[t.family],))


def _shapes(t: lt.Translator) -> None:
  """Image shape (from the dataset), z_dim, classes, and widths compare_gan fixes in code."""
  family = t.family
  for net in ("Generator", "Discriminator"):
    t.emit(f"{family}.{net}.image_shape", tuple(t.image_shape))
  t.emit_param(lt.OPTIONS, "z_dim", t.z_dim, sources=(t.z_dim_source,), family=family)
  classes = t.num_classes if t.conditional else lt.SKIP
  t.emit_param(lt.MODULAR_GAN, "conditional", t.conditional, classes, classes,
               sources=(t.conditional_source,), family=family)
  if family in values.FIXED_WIDTHS:
    for net, ch in zip(("Generator", "Discriminator"), values.FIXED_WIDTHS[family]):
      t.emit(f"{family}.{net}.ch", ch)


def _network(t: lt.Translator, net: str, base: str) -> tuple[Any, bool, dict[str, tuple]]:
  """One network's G/D settings, with the architecture class's bindings on top.

  Returns:
    (the normalization reference or None, spectral norm on, {own param: (value, binding)}).
  """
  own_selector = f"{t.arch_module}.{net}" if t.arch_module else None
  selectors = (own_selector, base) if own_selector else (base,)
  norm_value, norm_source = t.layered(selectors, "batch_norm_fn")
  norm_class, norm_ref = _norm(t, net, norm_value, norm_source)
  t.emit_param(base, "batch_norm_fn", lt.Gin("@" + norm_class) if norm_class else None,
               sources=(norm_source,), family=t.family)
  sn, sn_source = t.layered(selectors, "spectral_norm")
  if not isinstance(sn, bool):
    t.fail(sn_source, f"{net}'s spectral_norm must be True or False, got {sn!r}")
  t.emit_param(base, "spectral_norm", lt.Gin("@ops.SpectralNormConfig()") if sn else False,
               sources=(sn_source,), family=t.family)
  if net == "Discriminator":
    _discriminator_quirks(t, selectors, norm_source if norm_class else None)
  own = {}
  if own_selector:
    for param, spec in names.CONFIGURABLES[own_selector].params.items():
      if spec.kind == names.MAP and param not in names.CONFIGURABLES[base].params:
        value, source = own[param] = t.value(own_selector, param)
        if param == "blocks_with_attention":
          value = _existing_blocks(t, net, value, source)
        t.emit_param(own_selector, param, value, sources=(source,), family=t.family)
  t.check_rest(selectors)
  return norm_ref, sn is True, own


def _existing_blocks(t: lt.Translator, net: str, value: Any, source: Any) -> Any:
  """Drops attention blocks the resolution lacks: compare_gan only tests membership.

  compare_gan's default "B4" names no block at 32 px (3 G blocks); compare_gan2
  rejects such names, so they are removed here (resnet_biggan.py:205-222).
  """
  module = importlib.import_module(f"compare_gan2.architectures.{t.family}")
  stages = getattr(module, "G_ARCH" if net == "Generator" else "D_ARCH", {}).get(
      t.image_shape[0])
  if stages is None or not isinstance(value, str):
    return value
  wanted = [n.strip() for n in value.split(",") if n.strip()]
  kept = [n for n in wanted if n in {f"B{i + 1}" for i in range(len(stages.scales))}]
  if kept != wanted and source is not None:
    t.warn(source, f"no effect in compare_gan for {sorted(set(wanted) - set(kept))}: "
                   f"{t.family}.{net} has {len(stages.scales)} blocks at {t.image_shape[0]} px")
  return ",".join(kept)


def _discriminator_quirks(t: lt.Translator, selectors: tuple[str, ...], norm_source: Any) -> None:
  """D.layer_norm, and the D settings some compare_gan families ignore."""
  layer_norm, source = t.layered(selectors, "layer_norm")
  t.emit_param(D_BASE, "layer_norm", layer_norm, sources=(source,), family=t.family)
  if layer_norm and t.family in values.IGNORES_D_LAYER_NORM:
    t.warn(source, f"no effect in compare_gan: {t.family}'s D ignores layer_norm (so does "
                   "compare_gan2's)")
  if norm_source is not None and t.family in values.IGNORES_D_BATCH_NORM:
    t.warn(norm_source, f"no effect in compare_gan: {t.family}'s D ignores batch_norm_fn "
                        "(so does compare_gan2's)")


def _norm(t: lt.Translator, net: str, value: Any, binding: Any) -> tuple[str | None, Any]:
  """(compare_gan2 norm class or None, the reference) of a batch_norm_fn value."""
  if value is None:
    return None, None
  ref = t.reference(value, binding, values.NORMS, f"{net[0]}.batch_norm_fn")
  if ref is None:
    return None, None
  if ref.selector == values.CONDITIONAL_NORM and not t.conditional:
    t.fail(binding, "conditional_batch_norm needs ModularGAN.conditional = True (compare_gan "
                    "raises without labels)")
  if ref.selector == values.SELF_MODULATED_NORM and net == "Discriminator":
    t.fail(binding, "self_modulated_batch_norm needs z, which D never gets (compare_gan fails)")
  new = names.CONFIGURABLES[ref.selector].new
  return (None if new == values.NO_NORM else new), ref


def _labels_needed(t: lt.Translator, own: dict[str, tuple]) -> None:
  """BigGAN's projection and label embedding raise in compare_gan without labels."""
  if t.conditional:
    return
  for param in _NEEDS_LABELS.get(t.family, ()):
    value, source = own.get(param, (False, None))
    net = "Discriminator" if param == "project_y" else "Generator"
    if value:
      t.fail(source or t.arch_source,
             f"{t.family} with {param} = True needs ModularGAN.conditional = True (compare_gan "
             f"raises without labels); set {t.family}.{net}.{param} = False for an "
             "unconditional run")


def _norm_settings(t: lt.Translator, refs: list[Any]) -> None:
  """standardize_batch (every BN of G and D) and the modulated norms' own settings."""
  params = names.CONFIGURABLES[_STANDARDIZE].params
  # The always-on BNs (BigGAN's last, InfoGAN's) run outside any reference scope.
  scopes = sorted({""} | {r.scope for r in refs})
  settings = {scope: {p: t.value(_STANDARDIZE, p, scope) for p in params} for scope in scopes}
  first = settings[""]
  for scope in scopes[1:]:
    if any(settings[scope][p][0] != first[p][0] for p in params):
      source = next(b for _, b in settings[scope].values() if b is not None)
      t.fail(source, f"standardize_batch differs inside gin scope {scope!r}; compare_gan2 "
                     "binds one set of BN settings for every network")
  for param, (value, source) in first.items():
    t.emit_param(_STANDARDIZE, param, *[value] * len(params[param].new), sources=(source,))
  decay_source = first["decay"][1]
  if first["use_moving_averages"][0] is False and decay_source is not None:
    t.warn(decay_source, "no effect in compare_gan: use_moving_averages is False (written "
                         "anyway, unused)")
  for ref in refs:
    if ref.selector in (values.CONDITIONAL_NORM, values.SELF_MODULATED_NORM):
      conf = names.CONFIGURABLES[ref.selector]
      for param in conf.params:
        value, source = t.value(ref.selector, param, ref.scope)
        t.emit_param(ref.selector, param, value, sources=(source,))


def _spectral_norm(t: lt.Translator, used: bool) -> None:
  """spectral_norm.* -> ops.SpectralNormConfig, when G or D uses spectral norm."""
  if not used:
    t.dead_reasons[_SPECTRAL_NORM] = "G.spectral_norm and D.spectral_norm are False"
    return
  for param in ("singular_value", "epsilon"):
    value, source = t.value(_SPECTRAL_NORM, param)
    if param == "singular_value" and value not in _SINGULAR_VALUES:
      t.fail(source, f"spectral_norm.singular_value must be one of {_SINGULAR_VALUES}")
    t.emit_param(_SPECTRAL_NORM, param, value, sources=(source,))


def _weights(t: lt.Translator) -> None:
  """weights.initializer -> both networks' kernel_initializer."""
  initializer, source = t.value(_WEIGHTS, "initializer")
  if initializer not in _INITIALIZERS:
    t.fail(source, f"weights.initializer must be one of {_INITIALIZERS}, got {initializer!r}")
  t.emit_param(_WEIGHTS, "initializer", initializer, initializer, sources=(source,),
               family=t.family)
  t.check_rest((_WEIGHTS,))
