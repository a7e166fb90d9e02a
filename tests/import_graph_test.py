"""Enforces the dependency direction of docs/design.md §2 by parsing imports.

ops <- {losses, penalties} <- (later: gans <- train/eval) <- tools; the
registry is at the bottom and configurables on top; FLAGS live in tools/ only.
gin lives at the edge only: the library takes an `experiment.Experiment` and
never imports or calls gin.
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "compare_gan2"

# Project modules each may import (prefix match); third-party imports are free.
ALLOWED = {
    "compare_gan2": [],  # the package __init__: no imports (matched exactly)
    "compare_gan2.registry": [],
    "compare_gan2.files": [],
    "compare_gan2.console": [],  # loads no TensorFlow: set up before anything else
    "compare_gan2.__main__": ["compare_gan2.console", "compare_gan2.main"],
    "compare_gan2.tfgan_compat": ["compare_gan2.console"],
    "compare_gan2.stateless_random": [],
    "compare_gan2.global_batch": ["compare_gan2.stateless_random"],
    "compare_gan2.augment": ["compare_gan2.augment", "compare_gan2.global_batch",
                             "compare_gan2.stateless_random", "compare_gan2.gans.catalog",
                             "compare_gan2.gans.components"],
    "compare_gan2.ops": ["compare_gan2.ops", "compare_gan2.registry"],
    "compare_gan2.architectures": ["compare_gan2.architectures", "compare_gan2.ops"],
    "compare_gan2.losses": ["compare_gan2.registry", "compare_gan2.tfgan_compat"],
    "compare_gan2.penalties": ["compare_gan2.global_batch", "compare_gan2.registry"],
    "compare_gan2.precision": ["compare_gan2.registry"],
    "compare_gan2.schedules": ["compare_gan2.registry"],
    "compare_gan2.data": ["compare_gan2.data", "compare_gan2.registry", "compare_gan2.files"],
    "compare_gan2.testing": ["compare_gan2.ops", "compare_gan2.architectures"],
    "compare_gan2.self_supervision": ["compare_gan2.ops", "compare_gan2.self_supervision",
                                      "compare_gan2.gans.catalog", "compare_gan2.gans.components"],
    "compare_gan2.gans": ["compare_gan2.gans", "compare_gan2.architectures.base",
                          "compare_gan2.self_supervision", "compare_gan2.ops.layers",
                          "compare_gan2.precision", "compare_gan2.schedules", "compare_gan2.global_batch",
                          "compare_gan2.stateless_random",
                          "compare_gan2.losses", "compare_gan2.penalties", "compare_gan2.registry"],
    "compare_gan2.distribute": ["compare_gan2.registry"],
    "compare_gan2.checkpoints": ["compare_gan2.distribute"],
    "compare_gan2.preemption": ["compare_gan2.distribute"],
    "compare_gan2.metrics": ["compare_gan2.metrics", "compare_gan2.registry",
                             "compare_gan2.tfgan_compat"],
    "compare_gan2.experiment": ["compare_gan2.checkpoints", "compare_gan2.data.pipeline"],
    "compare_gan2.export": ["compare_gan2.checkpoints", "compare_gan2.experiment"],
    "compare_gan2.sampling": ["compare_gan2.export", "compare_gan2.summaries"],
    "compare_gan2.evaluation": ["compare_gan2.evaluation", "compare_gan2.metrics",
                                "compare_gan2.registry", "compare_gan2.tfgan_compat",
                                "compare_gan2.data", "compare_gan2.ops.normalization",
                                "compare_gan2.checkpoints", "compare_gan2.experiment",
                                "compare_gan2.files"],
    "compare_gan2.summaries": [],
    "compare_gan2.train_lib": ["compare_gan2.checkpoints", "compare_gan2.distribute",
                               "compare_gan2.preemption", "compare_gan2.experiment",
                               "compare_gan2.export", "compare_gan2.summaries"],
    "compare_gan2.gin_text": ["compare_gan2.registry"],
    "compare_gan2.run_config": ["compare_gan2.registry", "compare_gan2.gin_text"],
    "compare_gan2.migration": ["compare_gan2.migration", "compare_gan2.registry",
                               "compare_gan2.gin_text",
                               "compare_gan2.architectures", "compare_gan2.checkpoints",
                               "compare_gan2.data"],
    "compare_gan2.pretraining": ["compare_gan2.pretraining", "compare_gan2.data",
                                 "compare_gan2.registry", "compare_gan2.self_supervision",
                                 "compare_gan2.architectures.base", "compare_gan2.ops",
                                 "compare_gan2.checkpoints", "compare_gan2.schedules"],
    "compare_gan2.preflight": ["compare_gan2.registry", "compare_gan2.gin_text"],
    "compare_gan2.regularizers": ["compare_gan2.regularizers", "compare_gan2.global_batch",
                                  "compare_gan2.stateless_random", "compare_gan2.registry",
                                  "compare_gan2.gans.catalog", "compare_gan2.gans.components"],
    "compare_gan2.main": ["compare_gan2.configurables", "compare_gan2.distribute",
                          "compare_gan2.train_lib", "compare_gan2.experiment",
                          "compare_gan2.evaluation", "compare_gan2.preflight",
                          "compare_gan2.console", "compare_gan2.preemption"],
    "compare_gan2.configurables": ["compare_gan2"],
}


def _module_name(path: pathlib.Path) -> str:
  parts = path.relative_to(ROOT).with_suffix("").parts
  return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _project_imports(path: pathlib.Path) -> set[str]:
  found = set()
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.ImportFrom) and node.module:
      names = [f"{node.module}.{alias.name}" for alias in node.names]
    elif isinstance(node, ast.Import):
      names = [alias.name for alias in node.names]
    else:
      continue
    found.update(n for n in names if n.startswith("compare_gan2"))
  return found


def _rule(module: str) -> list[str]:
  matches = [key for key in ALLOWED
             if module == key or (key != "compare_gan2" and module.startswith(key + "."))]
  if not matches:
    pytest.fail(f"{module} has no entry in import_graph_test.ALLOWED: add its allowed imports.")
  return ALLOWED[max(matches, key=len)]


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.name)
def test_module_imports_only_lower_layers(path):
  module = _module_name(path)
  allowed = _rule(module)
  for imported in _project_imports(path):
    if imported == "compare_gan2" or imported.startswith(module):
      continue
    assert any(imported.startswith(prefix) for prefix in allowed), (
        f"{module} imports {imported}; allowed: {allowed or 'no project modules'}")


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.name)
def test_no_flags_in_the_library(path):
  assert "absl.flags" not in path.read_text() and "from absl import flags" not in path.read_text()


# The modules that may use gin: registration (registry, configurables), the
# parse-time checks (preflight), the reader of gin text (gin_text) and the
# runner. tools/ and tests/ are edge too; compare_gan2.migration reads gin
# text through gin_text.
GIN_EDGE = ("compare_gan2.registry", "compare_gan2.configurables", "compare_gan2.preflight",
            "compare_gan2.gin_text", "compare_gan2.main")


def _gin_uses(path: pathlib.Path) -> list[str]:
  """`import gin`, `from gin ...` and every use of a name `gin`, as `line: text`."""
  found = []
  for node in ast.walk(ast.parse(path.read_text())):
    imports = ([a.name for a in node.names] if isinstance(node, ast.Import) else
               [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
    if any(name == "gin" or name.startswith("gin.") for name in imports) or (
        isinstance(node, ast.Name) and node.id == "gin"):
      found.append(f"{node.lineno}: {ast.unparse(node)}")
  return found


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.name)
def test_gin_only_at_the_edge(path):
  """Below the edge nothing imports gin or calls it: the edge hands down values."""
  if _module_name(path) in GIN_EDGE:
    return
  assert not _gin_uses(path), f"{_module_name(path)} uses gin: {_gin_uses(path)}"


def test_the_gin_check_sees_imports_and_calls(tmp_path):
  """The check above finds both forms (so its passing means something)."""
  path = tmp_path / "m.py"
  path.write_text("import gin\nx = gin.query_parameter('a.b')\n")
  assert [u.split(":")[0] for u in _gin_uses(path)] == ["1", "2"]
  path.write_text("from gin import config_parser\n# gin.REQUIRED in a comment\n")
  assert len(_gin_uses(path)) == 1
