"""Resuming a model_dir under a changed gin config: what may change, what may not.

A run records its config in `model_dir/operative_config.gin`
(train_lib.write_operative_config, after the first training call of every
start; compare_gan kept one `operative_config-<step>.gin` per start,
`runner_lib.py`). Before a restarted run trains or evaluates,
`check_resume` compares that record with the new config:

- harmless: the schedule (`train_lib.Schedule.*`, `train_lib.train.schedule`),
  `train_lib.train.allow_fresh_start` (what the restore error tells the user
  to bind on a rerun) and everything of evaluation (`evaluation.*`,
  `metrics.*`); allowed silently.
- logged: learning rates (`keras.optimizers.<Name>.learning_rate` and the
  parameters of `keras.optimizers.schedules.*` and `schedules.*`). Lowering the rate after a
  divergence and resuming from the last good checkpoint is a legitimate
  action, so it is allowed, with an info log listing the change.
- blocking: everything else - the networks (class and every parameter: image
  shape, z_dim, num_classes, norms, widths), the GAN (loss, penalty,
  disc_iters, conditional, EMA), the optimizers' other settings, the dataset and
  its pipeline, global_batch_size. A `ConfigChangeError` naming each binding with
  its old and new value, before any training, unless the user passes
  `--allow_config_change` (then a warning).

How the comparison is made. compare_gan's runner parsed operative configs into
{"selector.arg": value} for its results table (runner_lib.py:58-69);
here gin's own parser does it, keeping scopes.
The new run's operative config only exists after gin has built the GAN and
dataset, i.e. after training started, and rebuilding just to compare would
cost a full construction (and an image folder's validation). So both sides
are parsed into {(scope, selector, parameter): value}: the old operative
config (every parameter of every configurable the old run called, defaults
included) and the new run's bindings (gin's `config_str()`: explicit bindings
only). A parameter the new config does not bind takes its signature default,
the value gin would use. Only configurables the old run called are compared
(a bound but unused family, such as smoke/tiny.gin's widths, changes
nothing), each at the scopes it ran under (`G/`, `D/`), following gin's scope
rule (the most specific binding wins). Selectors are compared by the
configurable they resolve to, so `train` and `train_lib.train` are one key;
macros are expanded, so `IMAGE_SHAPE = (32, 32, 1)` shows up at every
`%IMAGE_SHAPE` use. Values that cannot be compared (a default that is no
literal, a parameter that no longer exists) are skipped rather than guessed.

Not covered: main's --seed (initial weights only; a resumed run restores them)
and a model_dir whose first run stopped before writing operative_config.gin
(nothing to compare; a mismatched checkpoint then fails at restore).
"""

import dataclasses
import os
import re
import tokenize
from typing import Any

from absl import logging
import tensorflow as tf

from compare_gan2 import gin_text
from compare_gan2 import registry

OPERATIVE_CONFIG = "operative_config.gin"
HARMLESS = ("compare_gan2.train_lib.Schedule.", "compare_gan2.train_lib.train.schedule",
            "compare_gan2.train_lib.train.allow_fresh_start",
            "compare_gan2.evaluation.", "compare_gan2.metrics.")
LOGGED = ("keras.optimizers.schedules.", "compare_gan2.schedules.")
Key = gin_text.Key
Ref = gin_text.Ref
Macro = gin_text.Macro
_UNKNOWN = object()  # a value the comparison cannot know: the key is skipped


class ConfigChangeError(ValueError):
  """A resumed model_dir's saved config differs in what defines the experiment."""


def _comparable(value: Any) -> Any:
  """A signature default as a parsed binding would hold it, or _UNKNOWN."""
  if value is None or isinstance(value, (bool, int, float, str)):
    return value
  if isinstance(value, (list, tuple)):
    items = tuple(_comparable(v) for v in value)
    return _UNKNOWN if any(v is _UNKNOWN for v in items) else items
  for entry in registry.entries():  # a registered function or class as default
    if entry.target is value:
      return Ref("", entry.selector, False)
  return _UNKNOWN


def default(selector: str, parameter: str) -> Any:
  """The signature default gin uses when `selector.parameter` is unbound, or _UNKNOWN."""
  for entry in registry.entries():
    if entry.selector == selector:
      for p in entry.parameters():
        if p.name == parameter and p.default is not p.empty and p.default is not registry.REQUIRED:
          return _comparable(p.default)
  return _UNKNOWN


def effective(bindings: dict[Key, Any], key: Key) -> Any:
  """The value gin passes at `key`: the most specific scope's binding, else the default."""
  scope, selector, parameter = key
  parts = scope.split("/") if scope else []
  for i in range(len(parts), -1, -1):
    found = bindings.get(("/".join(parts[:i]), selector, parameter), _UNKNOWN)
    if found is not _UNKNOWN:
      return found
  return default(selector, parameter)


@dataclasses.dataclass(frozen=True)
class Change:
  """One binding whose value differs between the saved and the new config."""
  key: Key
  before: Any
  after: Any

  @property
  def name(self) -> str:
    """`scope/selector.parameter` as a gin file would write it."""
    return gin_text.key_name(self.key)

  @property
  def kind(self) -> str:
    """"harmless", "logged" (learning rates) or "blocking" (see the module docstring)."""
    _, selector, parameter = self.key
    full = f"{selector}.{parameter}"
    if full.startswith(HARMLESS):
      return "harmless"
    if full.startswith(LOGGED) or (selector.startswith("keras.optimizers.")
                                   and parameter == "learning_rate"):
      return "logged"
    return "blocking"

  def __str__(self) -> str:
    return f"{self.name}: {_show(self.before)} -> {_show(self.after)}"


def _show(value: Any) -> str:
  if isinstance(value, tuple):
    return "(" + ", ".join(map(_show, value)) + ("," if len(value) == 1 else "") + ")"
  return str(value) if isinstance(value, (Ref, Macro)) else repr(value)


def _within(scope: str, used_scope: str) -> bool:
  """Whether a binding at `scope` applies to a call under `used_scope`."""
  return not scope or used_scope == scope or used_scope.startswith(scope + "/")


def config_changes(old_text: str, new_text: str) -> list[Change]:
  """The bindings of the configurables the old run called whose values differ.

  Args:
    old_text: the saved operative config (every parameter of every call).
    new_text: the new config's bindings (gin's `config_str()`).

  Raises:
    SyntaxError: if either text does not parse.
  """
  old, new = gin_text.parse_bindings(old_text), gin_text.parse_bindings(new_text)
  used = {(scope, selector) for scope, selector, _ in old}
  keys = set(old)
  for scope, selector, parameter in new:
    keys.update((used_scope, selector, parameter) for used_scope, used_selector in used
                if used_selector == selector and _within(scope, used_scope))
  changes = []
  for key in sorted(keys):
    before, after = effective(old, key), effective(new, key)
    if before is not _UNKNOWN and after is not _UNKNOWN and before != after:
      changes.append(Change(key, before, after))
  return changes


def _latest_step(model_dir: str) -> int:
  path = tf.train.latest_checkpoint(model_dir)
  match = re.search(r"-(\d+)$", path or "")
  return int(match.group(1)) if match else 0


def _archive(path: str, model_dir: str) -> str:
  """Keeps the replaced record as operative_config.before_step_<step>.gin (first one wins)."""
  archived = os.path.join(model_dir, f"operative_config.before_step_{_latest_step(model_dir)}.gin")
  if not tf.io.gfile.exists(archived):
    tf.io.gfile.copy(path, archived)
  return archived


def check_resume(model_dir: str, new_text: str, allow_change: bool = False) -> list[Change]:
  """Compares the new config with model_dir's saved operative config.

  Call it after parsing gin and before building anything. A model_dir without
  a saved config (a new run) passes. Allowed changes that are not harmless
  archive the replaced record (train_lib rewrites operative_config.gin after
  the first training call).

  Args:
    model_dir: the run's directory.
    new_text: the new config's bindings (gin's `config_str()`, passed by the runner).
    allow_change: resume despite blocking changes (logged as a warning).

  Returns:
    Every change found.

  Raises:
    ConfigChangeError: naming each blocking change with its old and new value
      and the saved file, unless `allow_change`; also if the saved file does
      not parse.
  """
  path = os.path.join(model_dir, OPERATIVE_CONFIG)
  if not tf.io.gfile.exists(path):
    return []
  with tf.io.gfile.GFile(path) as f:
    old_text = f.read()
  try:
    changes = config_changes(old_text, new_text)
  except (SyntaxError, ValueError, tokenize.TokenError) as e:
    if not allow_change:
      raise ConfigChangeError(
          f"{path} (the config {model_dir} was trained with) cannot be parsed ({e}), so the "
          "new config cannot be checked against it; pass --allow_config_change to resume "
          "anyway, or use a new --model_dir.") from e
    logging.warning("Unreadable %s (%s); resuming without comparing configs.", path, e)
    return []
  _report(changes, path, model_dir, allow_change)
  return changes


def _report(changes: list[Change], path: str, model_dir: str, allow_change: bool) -> None:
  blocking = [c for c in changes if c.kind == "blocking"]
  if blocking and not allow_change:
    raise ConfigChangeError(
        f"the new config changes the model or training method of {model_dir}, whose config "
        f"is {path}, in {len(blocking)} binding(s): {'; '.join(map(str, blocking))}. Resuming "
        "would mix two experiments in one run. Use a new --model_dir, or pass "
        "--allow_config_change to resume with the new values (e.g. when the data only moved).")
  if blocking:
    logging.warning("Resuming %s with changed bindings (--allow_config_change): %s",
                    model_dir, "; ".join(map(str, blocking)))
  logged = [c for c in changes if c.kind == "logged"]
  if logged:
    logging.info("Resuming %s with changed learning rates: %s", model_dir,
                 "; ".join(map(str, logged)))
  if logged or blocking:
    logging.info("The replaced config is kept as %s.", _archive(path, model_dir))
  harmless = [c for c in changes if c.kind == "harmless"]
  if harmless:
    logging.info("Changed schedule/evaluation bindings: %s", "; ".join(map(str, harmless)))
