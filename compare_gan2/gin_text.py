"""The one reader of gin text: statements with references and macros kept as values.

gin's own parser (`gin.config_parser`, which holds no config state) does the
tokenizing; nothing is resolved against gin's registry while reading. Two
readers use it:
- the config-drift check on resume (run_config.py) compares a model_dir's
  saved operative config with the new one, as {(scope, selector, parameter):
  value} (`parse_bindings`, selectors made canonical by `canonical`);
- the translation of compare_gan's gin files (migration/legacy_parse.py)
  resolves the names against compare_gan's configurables instead.
"""

import dataclasses
import io
from collections.abc import Callable, Iterator
from typing import Any

import gin
from gin import config_parser

from compare_gan2 import registry

# (scope, canonical selector, parameter).
Key = tuple[str, str, str]
# What `statements` yields (gin's statement types).
BindingStatement = config_parser.BindingStatement
IncludeStatement = config_parser.IncludeStatement
ImportStatement = config_parser.ImportStatement


@dataclasses.dataclass(frozen=True)
class Where:
  """A statement's place: file (or "gin binding") and line, and its text."""
  source: str
  line: int
  text: str

  def __str__(self) -> str:
    return f"{self.source}:{self.line}: `{self.text}`"


@dataclasses.dataclass(frozen=True)
class Ref:
  """A configurable reference `@scope/selector` (or `...()` when evaluated).

  `text` is the reference as written (two references to one configurable are
  equal however they were spelt).
  """
  scope: str
  selector: str
  evaluate: bool
  text: str = dataclasses.field(default="", compare=False)

  def __str__(self) -> str:
    scope = f"{self.scope}/" if self.scope else ""
    return f"@{scope}{display_name(self.selector)}{'()' if self.evaluate else ''}"


@dataclasses.dataclass(frozen=True)
class Macro:
  """A `%name` (a macro of the text, or a gin constant such as `%tf.float32`)."""
  name: str

  def __str__(self) -> str:
    return f"%{self.name}"


def display_name(selector: str) -> str:
  """`selector` as the shipped gin files write it: `gans.ModularGAN`, `infogan.Generator`."""
  for prefix in ("compare_gan2.architectures.", "compare_gan2."):
    if selector.startswith(prefix):
      return selector[len(prefix):]
  return selector


def key_name(key: Key) -> str:
  """`scope/selector.parameter` of a key, as a gin file would write it."""
  scope, selector, parameter = key
  return f"{scope + '/' if scope else ''}{display_name(selector)}.{parameter}"


def canonical(selector: str) -> str:
  """The registered selector gin resolves `selector` to (itself if none or ambiguous)."""
  try:
    target = gin.get_configurable(selector)
  except (ValueError, KeyError):  # unknown; KeyError: ambiguous
    return selector
  for entry in registry.entries():
    if gin.get_configurable(entry.selector) is target:
      return entry.selector
  return selector


class _Delegate(config_parser.ParserDelegate):
  """Keeps references and macros as plain values instead of resolving them."""

  def configurable_reference(self, scoped_configurable_name: str, evaluate: bool) -> Ref:
    """`@scope/name` / `@scope/name()`, the name as written."""
    scope, _, name = scoped_configurable_name.rpartition("/")
    return Ref(scope, name, evaluate, f"@{scoped_configurable_name}{'()' * evaluate}")

  def macro(self, macro_name: str) -> Macro:
    """`%name`, unexpanded."""
    return Macro(macro_name)


def statements(text: str, source: str = "") -> Iterator[tuple[Any, Where | None]]:
  """gin statements of `text`, each with its Where (bindings) or None (include, import).

  Raises:
    SyntaxError, tokenize.TokenError: if gin's parser rejects the text.
  """
  lines = text.splitlines()
  for statement in config_parser.ConfigParser(io.StringIO(text), _Delegate()):
    if isinstance(statement, config_parser.BindingStatement):
      line = statement.location.line_num
      snippet = lines[line - 1].split("#")[0].strip() if 0 < line <= len(lines) else ""
      yield statement, Where(source, line, snippet)
    else:
      yield statement, None


def map_refs(value: Any, fn: Callable[[Ref], Any]) -> Any:
  """`value` with every Ref inside (lists, tuples, dicts) replaced by fn(ref)."""
  if isinstance(value, Ref):
    return fn(value)
  if isinstance(value, (list, tuple)):
    return type(value)(map_refs(v, fn) for v in value)
  if isinstance(value, dict):
    return {k: map_refs(v, fn) for k, v in value.items()}
  return value


def _expand(value: Any, macros: dict[str, Any], depth: int = 0) -> Any:
  if isinstance(value, Macro):
    if value.name not in macros or depth > 20:  # a gin constant, or a cycle
      return value
    return _expand(macros[value.name], macros, depth + 1)
  if isinstance(value, (list, tuple)):
    return tuple(_expand(v, macros, depth) for v in value)
  if isinstance(value, dict):
    return {k: _expand(v, macros, depth) for k, v in value.items()}
  return value


def binding_statements(text: str, where: str = "") -> Iterator[Any]:
  """The binding statements of `text`, selectors (also of references) canonical.

  Raises:
    SyntaxError, tokenize.TokenError: if gin's parser rejects the text.
  """
  resolve = lambda ref: dataclasses.replace(ref, selector=canonical(ref.selector))
  for statement, _ in statements(text, where):
    if isinstance(statement, config_parser.BindingStatement):  # not imports, includes
      selector = canonical(statement.selector) if statement.arg_name else statement.selector
      yield statement._replace(selector=selector, value=map_refs(statement.value, resolve),
                               location=statement.location._replace(filename=where))


def parse_bindings(text: str) -> dict[Key, Any]:
  """{(scope, canonical selector, parameter): value} of a gin config text, macros expanded.

  Raises:
    SyntaxError, tokenize.TokenError: if gin's parser rejects the text.
  """
  macros, raw = {}, {}
  for statement in binding_statements(text):
    if not statement.arg_name:  # `NAME = value` defines a macro
      macros["/".join(filter(None, (statement.scope, statement.selector)))] = statement.value
    else:
      raw[statement.scope, statement.selector, statement.arg_name] = statement.value
  return {key: _expand(value, macros) for key, value in raw.items()}
