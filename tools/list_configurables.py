r"""Prints every gin configurable of compare_gan2 with its parameters and defaults.

    compare_gan2_list_configurables                 # everything
    compare_gan2_list_configurables --match=losses  # selectors containing "losses"

A parameter without a default is printed as `REQUIRED`; parameters that gin may
not bind (tensors passed at call time) are left out.
"""

import inspect
import os
import sys
from collections.abc import Sequence

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402
from absl import flags  # noqa: E402

from . import cli  # noqa: E402

_MATCH = flags.DEFINE_string(
    "match", "", "Only list selectors that contain this text (case-insensitive).")
cli.define_verbose(flags.FLAGS)


def _format_default(parameter: inspect.Parameter, selectors: dict[int, str]) -> str:
  if parameter.default is inspect.Parameter.empty:
    return "REQUIRED"
  if id(parameter.default) in selectors:  # a registered function: show the gin reference
    return f"@{selectors[id(parameter.default)]}"
  return repr(parameter.default)


def format_catalogue(match: str = "") -> str:
  """The listing as text: one block per configurable, sorted by selector.

  Args:
    match: keep only selectors containing this text (case-insensitive).

  Returns:
    The text, ending with a count line.
  """
  from compare_gan2 import configurables  # noqa: F401  pylint: disable=g-import-not-at-top
  from compare_gan2 import registry  # pylint: disable=g-import-not-at-top
  lines = []
  entries = registry.entries()
  selectors = {id(e.target): e.selector for e in entries}
  selected = [e for e in entries if match.lower() in e.selector.lower()]
  for entry in selected:
    lines.append(entry.selector)
    for parameter in entry.parameters():
      lines.append(f"    {parameter.name} = {_format_default(parameter, selectors)}")
  lines.append(f"{len(selected)} configurables")
  return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
  """Prints the catalogue; takes no positional arguments."""
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  print(format_catalogue(_MATCH.value))
  return 0


def run() -> None:
  """Console-script entry point."""
  cli.setup_console()
  app.run(main)


if __name__ == "__main__":
  sys.exit(run())
