"""Checks a run's input before anything is built, and says what went wrong in one paragraph.

gin checks names and parameters at parse time (configurables.parse_gin) but
not values: `train_lib.train.global_batch_size = 'abc'` reached `%` deep in
training as a TypeError, `gans.ModularGAN.disc_iters = 1.5` produced "must be
divisible by 2.5". `check_bindings` compares every bound literal with its
parameter's type annotation (and a few counts that must be positive) and
names the binding, its value, and the file and line that set it.

`describe` turns what a run raises into the runner's one-paragraph message:
gin's "In call to configurable 'x' (<function x at 0x...>)" becomes
"(in gin configurable 'x')", a TensorFlow graph error keeps its last line
(the assertion naming a corrupt image file, for instance) instead of the
node dump, and an autograph trace keeps the error and the innermost source line.
"""

import collections.abc
import inspect
import re
import types
import typing
from collections.abc import Sequence
from typing import Any

import gin
import tensorflow as tf

from compare_gan2 import gin_text
from compare_gan2 import registry

# Counts that must be >= 1 wherever they are bound (0 or less fails late, if at all, with an
# unrelated message: a negative z_dim as "Cannot convert '(-3, 1024)' to a shape").
POSITIVE = ("z_dim", "disc_iters", "global_batch_size", "total_steps", "steps_per_loop",
            "checkpoint_every", "sample_every", "ch")
_CANNOT_TELL = None


class BindingValueError(ValueError):
  """A gin binding whose value does not fit its parameter; the message names it."""


def _check_union(value: Any, options: tuple) -> bool | None:
  results = [matches(value, option) for option in options]
  if any(r is True for r in results):
    return True
  return _CANNOT_TELL if any(r is _CANNOT_TELL for r in results) else False


def _check_items(value: Any, origin: Any, args: tuple) -> bool | None:
  if not isinstance(value, (list, tuple)):
    return False
  if origin is tuple and args and args[-1] is not Ellipsis:  # tuple[int, int]: fixed length
    if len(args) != len(value):
      return False
    pairs = zip(value, args)
  else:
    pairs = ((v, args[0] if args else Any) for v in value)
  return all(matches(v, a) is not False for v, a in pairs)


def matches(value: Any, annotation: Any) -> bool | None:
  """Whether a parsed gin value fits `annotation`; None when the check cannot tell.

  Understood: int, float (ints accepted), bool, str, None, unions, Literal,
  tuple[...] and Sequence/list of those. References and anything else: None.
  """
  unknown = annotation in (Any, inspect.Parameter.empty)
  if unknown or isinstance(value, (gin_text.Ref, gin_text.Macro)):
    return _CANNOT_TELL
  if annotation is type(None):
    return value is None
  origin, args = typing.get_origin(annotation), typing.get_args(annotation)
  if origin in (typing.Union, types.UnionType):
    return _check_union(value, args)
  if origin is typing.Literal:
    return value in args
  if origin in (tuple, list, collections.abc.Sequence):
    return _check_items(value, origin, args)
  if annotation is bool:
    return isinstance(value, bool)
  if annotation is int:
    return isinstance(value, int) and not isinstance(value, bool)
  if annotation is float:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
  if annotation is str:
    return isinstance(value, str)
  return _CANNOT_TELL


def _type_name(annotation: Any) -> str:
  if isinstance(annotation, type) and not typing.get_args(annotation):
    return annotation.__name__
  return re.sub(r"\b(typing|collections\.abc)\.", "", str(annotation))


def _parameters() -> dict[tuple[str, str], Any]:
  """{(selector, parameter): annotation} of every registered configurable."""
  return {(entry.selector, p.name): p.annotation
          for entry in registry.entries() for p in entry.parameters()}


def _sources(config_files: Sequence[str], bindings: Sequence[str]) -> dict:
  """{(scope, selector, parameter): "file, line N" or "gin binding '...'"}; last one wins."""
  texts = []
  for path in config_files:
    with tf.io.gfile.GFile(path) as f:
      texts.append((f.read(), lambda line, p=path: f"{p}, line {line}"))
  texts += [(b, lambda _, b=b: f"gin binding {b!r}") for b in bindings]
  found = {}
  for text, where in texts:
    for statement in gin_text.binding_statements(text):
      if statement.arg_name:
        found[statement.scope, statement.selector, statement.arg_name] = where(
            statement.location.line_num)
  return found


def _problem(key: gin_text.Key, value: Any, annotation: Any) -> str | None:
  fits = matches(value, annotation)
  if fits is False:
    return f"expects {_type_name(annotation)}, got {type(value).__name__} {value!r}"
  if (fits and key[2] in POSITIVE and isinstance(value, int) and not isinstance(value, bool)
      and value < 1):
    return f"must be a positive count, got {value!r}"
  return None


def check_bindings(config_files: Sequence[str] = (), bindings: Sequence[str] = ()) -> None:
  """Checks each value bound in the parsed gin config against its parameter.

  `configurables.parse_gin(config_files, bindings)` calls it after parsing;
  the arguments only serve to say where each value was set.

  Raises:
    BindingValueError: naming each binding whose value has the wrong type
      (or a count below 1), with the value and where it was set.
  """
  annotations = _parameters()
  problems = []
  for key, value in gin_text.parse_bindings(gin.config_str()).items():
    annotation = annotations.get(key[1:])
    problem = None if annotation is None else _problem(key, value, annotation)
    if problem:
      problems.append((key, problem))
  if not problems:
    return
  where = _sources(config_files, bindings)
  lines = [f"{gin_text.key_name(key)} {problem} (set in "
           f"{where.get(key, 'the gin config')})" for key, problem in problems]
  raise BindingValueError(f"{len(lines)} gin binding(s) with a wrong value: " + "; ".join(lines))


_GIN_CALL = re.compile(r"\n\s*In call to configurable '([\w.]+)' \(<[^>]*>\)")
_TRACE_LINE = re.compile(r'^\s*File "([^"]+)", line (\d+), in (\w+)')


def _autograph(text: str) -> str:
  """An autograph "in user code:" dump -> its error line and innermost source line."""
  lines = text.splitlines()
  frames = [(i, m) for i, m in ((i, _TRACE_LINE.match(l)) for i, l in enumerate(lines)) if m]
  errors = [l.strip() for l in lines[frames[-1][0] + 1 if frames else 0:]
            if re.match(r"\s*\w+(Error|Exception): ", l)]
  if not errors or not frames:
    return _plain(text)
  error = errors[0].split(" for '{{node", 1)[0]
  index, frame = frames[-1]
  code = lines[index + 1].strip() if index + 1 < len(lines) else ""
  where = f"{frame.group(1).split('compare_gan2/')[-1]}:{frame.group(2)}"
  message = f"{error} (traced at {where}: {code})"
  return message + _gin_calls(text)


def _gin_calls(text: str) -> str:
  """The gin call notes after a trace ("(in gin configurable 'train')")."""
  return "".join(f" (in gin configurable '{m}')" for m in _GIN_CALL.findall(text))


def _op_error(error: tf.errors.OpError) -> str:
  """A TensorFlow runtime error's useful line (an assertion's message names a file)."""
  lines = [l.strip() for l in error.message.splitlines() if l.strip()]
  for line in lines:
    assertion = re.search(r"assertion failed: (.*)", line)
    if assertion:  # tf.debugging.assert's message: "[text] [value]"
      parts = re.findall(r"\[([^\[\]]*)\]", assertion.group(1))
      return " ".join(parts) if parts else assertion.group(1)
  useful = [l for l in lines if not l.startswith(("Graph execution error", "Detected at node",
                                                  "<stack traces", "[[", "File ", "Traceback"))]
  return (useful[0] if useful else type(error).__name__).split(" [Op:", 1)[0]


def describe(error: BaseException) -> str:
  """One paragraph for the runner's stderr: what failed and what it names."""
  if isinstance(error, tf.errors.OpError):
    text = f"{_op_error(error)} (TensorFlow {type(error).__name__})"
    return text + _gin_calls(str(error))
  text = str(error)
  return _autograph(text) if "in user code:" in text else _plain(text)


def _plain(text: str) -> str:
  """gin's call notes shortened, blank lines removed: one paragraph."""
  text = _GIN_CALL.sub(lambda m: f" (in gin configurable '{m.group(1)}')", text)
  return re.sub(r"\n\s*\n", "\n", text).strip()
