"""Tests for tools/cli: the parse / --help / exit-status skeleton of the absl tools.

A throwaway flag registry stands in for a tool's, so these pin the contract
every tool relies on (0 ok, 1 for the body's errors, 2 for bad flags, one line
on stderr prefixed with the tool's name) without importing TensorFlow.
"""

from absl import flags
import pytest

from tools import cli


@pytest.fixture(name="registry")
def _registry():
  values = flags.FlagValues()
  flags.DEFINE_string("output", None, "The file to write.", flag_values=values)
  flags.DEFINE_integer("count", 1, "How many.", flag_values=values)
  return values


def test_parse_starts_afresh_each_call(registry):
  """A second parse in one process does not keep the first call's values."""
  cli.parse(registry, ["tool", "--output=a", "--count=3"])
  cli.parse(registry, ["tool"])
  assert (registry.output, registry.count) == (None, 1)


@pytest.mark.parametrize("argv, problem", [
    (["tool", "--cuont=2"], "cuont"),
    (["tool", "--count=many"], "count"),
    (["tool", "--output=a", "surplus"], "Unexpected arguments: surplus"),
    (["tool"], "--output is required: The file to write."),
])
def test_parse_errors_are_value_errors_naming_the_flag(registry, argv, problem):
  """Unknown, malformed, positional and missing required flags all raise ValueError."""
  with pytest.raises(ValueError, match=problem):
    cli.parse(registry, argv, required=("output",))


def test_check_runs_after_parsing(registry):
  """`check` sees the parsed values and its ValueError is a bad-flags error (status 2)."""
  def check():
    if registry.count < 1:
      raise ValueError(f"--count must be >= 1, got {registry.count}.")
  assert cli.main("tool", "doc", registry, ["tool", "--count=0"], lambda: None, check=check) == 2


def test_exit_statuses_and_messages(registry, capsys):
  """0 after the body; 2 with the --help hint for bad flags; 1 with the body's error."""
  ran = []
  assert cli.main("tool", "doc", registry, ["tool", "--count=2"],
                  lambda: ran.append(registry.count)) == 0
  assert ran == [2]
  assert cli.main("tool", "doc", registry, ["tool", "--bogus"], ran.clear) == 2
  assert capsys.readouterr().err.startswith("tool: ") and ran == [2]

  def fail():
    raise RuntimeError("no network")
  assert cli.main("tool", "doc", registry, ["tool"], fail, errors=(RuntimeError,)) == 1
  assert capsys.readouterr().err == "tool: no network\n"
  with pytest.raises(RuntimeError):  # Not a listed error: a real bug keeps its traceback.
    cli.main("tool", "doc", registry, ["tool"], fail)


def test_help_prints_the_docstring_and_flags_without_running(registry, capsys):
  """--help (or -h) prints the module docstring and the flags, runs nothing, returns 0."""
  for flag in ("--help", "-h"):
    assert cli.main("tool", "Makes a thing.", registry, ["tool", flag], pytest.fail) == 0
    out = capsys.readouterr().out
    assert out.startswith("Makes a thing.") and "--output: The file to write." in out


def test_every_tool_accepts_and_lists_verbose(registry, capsys):
  """--verbose (compare_gan2.console: TensorFlow's own log lines) is a flag of every tool."""
  assert cli.main("tool", "Makes a thing.", registry, ["tool", "--help"], pytest.fail) == 0
  assert "--[no]verbose: Show TensorFlow's start-up lines" in capsys.readouterr().out
  ran = []
  assert cli.main("tool", None, registry, ["tool", "--verbose"], lambda: ran.append(1)) == 0
  assert ran == [1] and registry.verbose


def test_a_tools_own_verbose_flag_is_kept():
  values = flags.FlagValues()
  flags.DEFINE_bool("verbose", False, "List every mapped variable.", flag_values=values)
  cli.define_verbose(values)
  assert values["verbose"].help == "List every mapped variable."
