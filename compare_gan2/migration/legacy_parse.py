"""Reads compare_gan gin files into bindings that remember their file and line.

compare_gan parsed with gin 0.1.4 `parse_config_files_and_bindings(files,
bindings)` (docs/design.md §12): files in order, then the bindings;
a later binding overwrites an earlier one; any dotted suffix of a complete
selector that is unique names a configurable (§12.2); `@S/name` enters
scope S for that call, and a binding scoped `S/` applies only inside it
(§12.4); macros (`X = 1`, `%X`), `%tf.float32` constants and `include` work
(§12.7). compare_gan2's one gin-text reader (gin_text.py, which the config-drift
check uses too) does the reading; this module resolves names against
compare_gan's configurables (legacy_names.py) instead of gin's registry, which
holds compare_gan2's.
"""

import dataclasses
import os
import tokenize
from collections.abc import Sequence
from typing import Any

from compare_gan2 import gin_text
from compare_gan2 import registry
from compare_gan2.migration import legacy_names as names


Where = gin_text.Where
# `@scope/name` (or `@scope/name()`), its selector resolved to compare_gan's complete one.
Ref = gin_text.Ref


@dataclasses.dataclass(frozen=True)
class Binding:
  """One `scope/selector.param = value` statement of a legacy file."""
  scope: str
  selector: str
  param: str
  value: Any
  where: Where


def _suffix_matches(selector: str, complete: Sequence[str]) -> set[str]:
  return {c for c in complete if c == selector or c.endswith("." + selector)}


_LEGACY = tuple(names.CONFIGURABLES) + tuple(names.ALIASES)


def resolve_legacy(selector: str) -> tuple[str | None, str]:
  """(complete selector, "") or (None, why not) for a compare_gan name."""
  found = {names.ALIASES.get(c, c) for c in _suffix_matches(selector, _LEGACY)}
  if len(found) == 1:
    return found.pop(), ""
  if found:
    return None, f"ambiguous selector {selector!r} in compare_gan: {sorted(found)}"
  return None, f"compare_gan defines no configurable {selector!r}"


def is_new_style(selector: str, param: str) -> bool:
  """True when compare_gan2's registry has `selector` with parameter `param`."""
  entries = [e for e in registry.entries() if _suffix_matches(selector, [e.selector])]
  return len(entries) == 1 and param in {p.name for p in entries[0].parameters()}


def is_legacy_only(selector: str, param: str) -> bool:
  """True for a binding compare_gan accepts and compare_gan2 does not."""
  complete, _ = resolve_legacy(selector)
  if complete is None or is_new_style(selector, param):
    return False
  params = names.CONFIGURABLES[complete].params
  return params is None or param in params


class LegacyConfig:
  """Merged legacy bindings with gin's scope rule, recording what was read."""

  def __init__(self):
    self.bindings: dict[tuple[str, str, str], Binding] = {}
    self.macros: dict[str, tuple[Any, Where]] = {}
    self.errors: list[str] = []
    self.notes: list[str] = []
    self.consulted: set[tuple[str, str, str]] = set()

  def add_text(self, text: str, source: str, base_dir: str = ".") -> None:
    """Parses one file's text (or a --gin_bindings string) and merges it."""
    try:
      for statement, where in gin_text.statements(text, source):
        self._add_statement(statement, where, source, base_dir)
    except SyntaxError as e:
      line = e.lineno if e.lineno is not None else "?"
      self.errors.append(f"{source}:{line}: gin syntax error: {e.msg}")

  def _add_statement(self, statement: Any, where: Where | None, source: str,
                     base_dir: str) -> None:
    if isinstance(statement, gin_text.IncludeStatement):
      self._include(statement, source, base_dir)
    elif isinstance(statement, gin_text.ImportStatement):
      self.notes.append(f"{source}:{statement.location.line_num}: `{statement.format()}` "
                        "dropped: compare_gan2 registers its own names")
    elif isinstance(statement, gin_text.BindingStatement):
      self._add_binding(statement, where)

  def _include(self, statement: Any, source: str, base_dir: str) -> None:
    path = statement.filename
    candidates = [os.path.join(base_dir, path), path]
    found = next((c for c in candidates if os.path.isfile(c)), None)
    if found is None:
      self.errors.append(f"{source}:{statement.location.line_num}: included file {path!r} "
                         "not found")
      return
    with open(found, encoding="utf-8") as f:
      self.add_text(f.read(), found, os.path.dirname(found))

  def _add_binding(self, statement: Any, where: Where) -> None:
    if not statement.arg_name:  # `NAME = value` defines a macro
      self.macros[statement.selector] = (statement.value, where)
      return
    complete, why = resolve_legacy(statement.selector)
    if complete is None:
      hint = (" (a compare_gan2 name: give compare_gan2 bindings in their own file)"
              if is_new_style(statement.selector, statement.arg_name) else "")
      self.errors.append(f"{where}: {why}{hint}")
      return
    params = names.CONFIGURABLES[complete].params
    if params is not None and statement.arg_name not in params:
      self.errors.append(f"{where}: compare_gan's {complete} has no parameter "
                         f"{statement.arg_name!r}")
      return
    value = self._resolve_refs(statement.value, where)
    key = (statement.scope, complete, statement.arg_name)
    self.bindings[key] = Binding(statement.scope, complete, statement.arg_name, value, where)

  def _resolve_refs(self, value: Any, where: Where) -> Any:
    if isinstance(value, Ref):
      complete, why = resolve_legacy(value.selector)
      if complete is None:
        self.errors.append(f"{where}: {value.text.removesuffix('()')}: {why}")
        return None
      return dataclasses.replace(value, selector=complete)
    if isinstance(value, (list, tuple)):
      return type(value)(self._resolve_refs(v, where) for v in value)
    if isinstance(value, dict):
      return {k: self._resolve_refs(v, where) for k, v in value.items()}
    return value

  def macro_value(self, value: Any, where: Where, depth: int = 0) -> Any:
    """Replaces `%NAME` by its value (recursively); gin constants become Const."""
    if isinstance(value, gin_text.Macro):
      if value.name in self.macros and depth < 20:
        inner, inner_where = self.macros[value.name]
        return self.macro_value(self._resolve_refs(inner, inner_where), inner_where, depth + 1)
      if value.name in names.TF_CONSTANTS:
        return names.Const(value.name)
      self.errors.append(f"{where}: undefined macro %{value.name}")
      return None
    if isinstance(value, (list, tuple)):
      return type(value)(self.macro_value(v, where, depth) for v in value)
    return value

  def lookup(self, selector: str, param: str, scope: str = "") -> Binding | None:
    """The binding gin would use for `selector.param` inside `scope`, or None.

    gin applies the binding of the longest prefix of the active scope; every
    candidate counts as read, so only bindings no run reaches stay unread.
    """
    parts = scope.split("/") if scope else []
    found = None
    for i in range(len(parts) + 1):
      key = ("/".join(parts[:i]), selector, param)
      if key in self.bindings:
        self.consulted.add(key)
        found = self.bindings[key]
    return found

  def value(self, selector: str, param: str, scope: str = "") -> tuple[Any, Binding | None]:
    """(effective value, the binding it came from or None for the default)."""
    binding = self.lookup(selector, param, scope)
    if binding is None:
      return names.CONFIGURABLES[selector].params[param].default, None
    return self.macro_value(binding.value, binding.where), binding

  def unread(self) -> list[Binding]:
    """Bindings the translated run never reads, in file order."""
    return [b for k, b in self.bindings.items() if k not in self.consulted]


def read(config_files: Sequence[str], bindings: Sequence[str] = ()) -> LegacyConfig:
  """Parses compare_gan files, then bindings, into one LegacyConfig."""
  config = LegacyConfig()
  for path in config_files:
    with open(path, encoding="utf-8") as f:
      config.add_text(f.read(), path, os.path.dirname(path))
  for binding in bindings:
    config.add_text(binding, f"gin binding {binding!r}")
  return config


def is_legacy_text(text: str) -> bool:
  """True when a file or binding string is compare_gan's.

  It is when it has bindings only compare_gan accepts, at least as many as
  bindings only compare_gan2 accepts (a compare_gan2 file with a stray
  `ModularGAN.g_lr` stays compare_gan2's, and gin names the stray binding).
  A text gin cannot parse is not claimed: compare_gan2's parser reports it.
  """
  legacy = new = 0
  try:
    for statement, _ in gin_text.statements(text, "<detect>"):
      if isinstance(statement, gin_text.BindingStatement) and statement.arg_name:
        legacy += is_legacy_only(statement.selector, statement.arg_name)
        new += is_new_style(statement.selector, statement.arg_name)
  except (SyntaxError, ValueError, tokenize.TokenError):  # unterminated brackets raise the latter
    return False
  return legacy > 0 and legacy >= new
