"""The set-up contract: `make test` cannot be green on an empty run, CI runs it,
and the README opens with the two commands."""

import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[1]
# How an outer make passes its flags and command-line variables to the makes it
# starts: under `make test PYTEST_ARGS=...` they would rerun the outer suite here.
MAKE_ENVIRONMENT = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "PYTEST_ARGS")


def _independent_make(*args: str) -> subprocess.CompletedProcess:
  """`make -s ARGS` in the repository, whatever make or pytest run started the suite."""
  env = {k: v for k, v in os.environ.items() if k not in MAKE_ENVIRONMENT}
  return subprocess.run(["make", "-s", *args], cwd=ROOT, env=env, capture_output=True,
                        text=True, timeout=300, check=False)


def test_make_test_fails_when_pytest_collects_nothing():
  result = _independent_make("test", "PYTEST_ARGS=tests/testing_test.py -k no_test_has_this_name")
  assert result.returncode != 0
  assert "pytest collected no tests" in result.stderr


def test_ci_runs_make_test_and_stops_on_failure():
  script = (ROOT / ".ci" / "run").read_text()
  assert "set -euo pipefail" in script and "make test" in script
  assert os.access(ROOT / ".ci" / "run", os.X_OK)


def test_readme_opens_with_the_two_commands():
  head = (ROOT / "README.md").read_text().split("\n## ")[0]
  assert "make demo" in head and "make test" in head
