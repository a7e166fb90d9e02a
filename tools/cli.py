"""The command-line skeleton the absl tools share: parse, --help, exit codes.

Each tool keeps its own `flags.FlagValues()` (tools share flag names such as
--gin_bindings and --output, and the tests import several into one process),
and hands it here with the tool's body:

    def main(argv=None):
      return cli.main("sample", __doc__, FLAGS, argv, _body, required=("output",))

Exit status: 0 on success (and for --help), 2 on bad flags with
"<tool>: <message> (--help lists the flags)" on stderr, 1 when the body raises
one of `errors` or a TensorFlow runtime error (a corrupt image file), with
"<tool>: <message>" (one paragraph, no traceback: compare_gan2.preflight.describe).
Console output (compare_gan2.console): each tool's `run()` calls
`setup_console()` before anything loads TensorFlow, and every tool accepts
--verbose, which brings back TensorFlow's start-up and library log lines.
Only absl is imported here, so a tool still starts without TensorFlow.
"""

import os
import sys
from collections.abc import Callable, Sequence

from absl import flags

from compare_gan2 import console

# Exit statuses, as documented in every tool's module docstring.
OK, FAILED, BAD_FLAGS = 0, 1, 2


def setup_console() -> None:
  """A tool's first call in its console-script entry point (before TensorFlow loads)."""
  console.setup(sys.argv, own_code=(os.path.dirname(os.path.abspath(__file__)),))


def define_verbose(flag_values: flags.FlagValues) -> None:
  """Defines --verbose in `flag_values` unless the tool defines its own."""
  if "verbose" not in flag_values:
    flags.DEFINE_bool("verbose", False, console.VERBOSE_HELP, flag_values=flag_values)


def parse(flag_values: flags.FlagValues, argv: Sequence[str], required: Sequence[str] = (),
          check: Callable[[], None] | None = None) -> None:
  """Parses `argv` (program name first) into `flag_values`, afresh.

  Args:
    flag_values: the tool's own flag registry.
    argv: the command line, program name first.
    required: names of flags that must be given a non-empty value.
    check: called after parsing to validate the values together; raises
      ValueError naming the bad flag.

  Raises:
    ValueError: an unknown or malformed flag, a positional argument, a missing
      required flag, or whatever `check` rejects.
  """
  # A second call in one process (tests) must not see the previous values.
  flag_values.unparse_flags()
  try:
    rest = flag_values(list(argv))
  except flags.Error as e:
    raise ValueError(str(e)) from e
  if len(rest) > 1:
    raise ValueError(f"Unexpected arguments: {' '.join(rest[1:])}")
  for name in required:
    if not flag_values[name].value:
      raise ValueError(f"--{name} is required: {flag_values[name].help}")
  if check is not None:
    check()


def main(name: str, doc: str | None, flag_values: flags.FlagValues,
         argv: Sequence[str] | None, body: Callable[[], None], *,
         required: Sequence[str] = (), check: Callable[[], None] | None = None,
         errors: tuple[type[Exception], ...] = (ValueError,)) -> int:
  """Runs one tool: --help, flag parsing, then `body`; returns the exit status.

  Args:
    name: the tool's name, the prefix of its error messages.
    doc: the tool's module docstring, printed above the flags by --help.
    flag_values: the tool's own flag registry.
    argv: the command line, program name first; None for `sys.argv`.
    body: does the work with the parsed flags and prints its report.
    required: passed to `parse`.
    check: passed to `parse`.
    errors: the exceptions that are the user's problem (bad input, a missing
      network), reported in one paragraph instead of a traceback.

  Returns:
    `OK`, `FAILED` when `body` raised one of `errors` or a TensorFlow
    runtime error, or `BAD_FLAGS`.
  """
  argv = sys.argv if argv is None else argv
  define_verbose(flag_values)
  if "--help" in argv or "-h" in argv:
    print(f"{doc}\n{flag_values.get_help()}")
    return OK
  try:
    parse(flag_values, argv, required, check)
  except ValueError as e:
    print(f"{name}: {e} (--help lists the flags)", file=sys.stderr)
    return BAD_FLAGS
  try:
    body()
  except Exception as e:  # pylint: disable=broad-except
    if not isinstance(e, errors) and not _is_data_error(e):
      raise  # a bug keeps its traceback
    print(f"{name}: {_describe(e)}", file=sys.stderr)
    return FAILED
  return OK


def _is_data_error(error: Exception) -> bool:
  """A TensorFlow runtime error (e.g. a corrupt image the pipeline read): the input's fault."""
  tf = sys.modules.get("tensorflow")
  return tf is not None and isinstance(error, tf.errors.OpError)


def _describe(error: Exception) -> str:
  """compare_gan2's one-paragraph form (preflight.describe) once TensorFlow is loaded."""
  if "tensorflow" not in sys.modules:
    return str(error)
  from compare_gan2 import preflight  # pylint: disable=g-import-not-at-top
  return preflight.describe(error)
