"""Tests for compare_gan2.console: what a command prints, and that real errors still print.

The stderr filter drops exactly the start-up lines TensorFlow 2.21 prints on a
CPU-only machine (HARMLESS_LINES) and nothing else: other ERROR lines, partial
lines, and the last lines of a crashing process arrive. The process-level tests
run `python -m compare_gan2.main` on a missing gin file, which loads TensorFlow
(its start-up lines) and fails in a second; a healthy tiny run's console is
checked in tests/main_test.py (test_module_entry_point_runs_with_a_clean_console).
"""

import logging
import os
import pathlib
import subprocess
import sys

import pytest

from compare_gan2 import console

ROOT = pathlib.Path(__file__).resolve().parents[1]
START_UP = [  # what TF 2.21 printed on this project's CPU machines
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    b"I0000 00:00:1796602929.541877    6412 port.cc:153] oneDNN custom operations are on. "
    b"You may see slightly different numerical results due to floating-point round-off errors.",
    b"I0000 00:00:1796602929.542324    6412 cudart_stub.cc:31] Could not find cuda drivers on "
    b"your machine, GPU will not be used.",
    b"E0000 00:00:1796602947.871841    6412 cuda_platform.cc:52] failed call to cuInit: INTERNAL: "
    b"CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
]
OTHER_CUINIT = START_UP[3].replace(b"(303)", b"(999)")  # a broken driver: must show
REAL_ERROR = b"E0000 00:00:1796602971.904038    5928 some_kernel.cc:12] Something real failed"


def _filtered(chunks):
  """What copy_filtered writes for these writes, through real pipes."""
  source_r, source_w = os.pipe()
  target_r, target_w = os.pipe()
  for chunk in chunks:
    os.write(source_w, chunk)
  os.close(source_w)
  console.copy_filtered(source_r, target_w, console.HARMLESS_LINES)
  os.close(target_w)
  with os.fdopen(target_r, "rb") as f:
    return f.read()


def test_only_the_known_start_up_lines_are_dropped():
  lines = [*START_UP, OTHER_CUINIT, REAL_ERROR, b"INFO:absl:step 1/2 (50.0%)"]
  out = _filtered([b"\n".join(lines) + b"\n"])
  assert out == OTHER_CUINIT + b"\n" + REAL_ERROR + b"\nINFO:absl:step 1/2 (50.0%)\n"


def test_a_harmless_line_inside_another_line_is_kept():
  """Only whole lines are judged: text written after a partial line belongs to it."""
  out = _filtered([b"progress ", START_UP[2] + b"\n", START_UP[2] + b"\n", b"tail"])
  assert out == b"progress " + START_UP[2] + b"\ntail"


@pytest.mark.parametrize("argv, env, verbose", [
    (["prog"], {}, False),
    (["prog", "--verbose"], {}, True),
    (["prog", "--verbose=true"], {}, True),
    (["prog", "--noverbose"], {}, False),
    (["prog"], {console.VERBOSE_ENV: "1"}, True),
    (["prog"], {console.VERBOSE_ENV: "0"}, False),
])
def test_wants_verbose(monkeypatch, argv, env, verbose):
  monkeypatch.delenv(console.VERBOSE_ENV, raising=False)
  for key, value in env.items():
    monkeypatch.setenv(key, value)
  assert console.wants_verbose(argv) is verbose


@pytest.mark.parametrize("path, level, kept", [
    (str(ROOT / "compare_gan2" / "train_lib.py"), logging.INFO, True),
    ("/venv/site-packages/tensorflow/python/checkpoint/functional_saver.py", logging.INFO, False),
    ("/tmp/__autograph_generated_filexyz.py", logging.INFO, False),  # TF's traced code
    ("/venv/site-packages/tensorflow/python/checkpoint/functional_saver.py", logging.WARNING, True),
])
def test_info_is_kept_only_from_our_code(path, level, kept):
  record = logging.LogRecord("absl", level, path, 1, "message", (), None)
  assert console.InfoFrom([str(ROOT / "compare_gan2")]).filter(record) is kept


_SCRIPT = """
import os, sys
from compare_gan2 import console
console.setup(sys.argv)
for line in {lines!r}:
  os.write(2, line + b"\\n")
print("python error", file=sys.stderr)
os.abort()  # a crash: no atexit, no flush
"""


@pytest.mark.parametrize("flag", [[], ["--verbose"]])
def test_a_crashing_process_still_prints_its_errors(flag):
  """The filter process drains the pipe to the end, so nothing real is lost in a crash."""
  script = _SCRIPT.format(lines=[*START_UP, REAL_ERROR, b"F0000 check failed"])
  result = subprocess.run([sys.executable, "-c", script, *flag], capture_output=True,
                          timeout=60, check=False, cwd=ROOT)
  assert result.returncode != 0
  kept = b"" if not flag else b"\n".join(START_UP) + b"\n"
  assert result.stderr == kept + REAL_ERROR + b"\nF0000 check failed\npython error\n"


def _main_on_missing_config(tmp_path, *flags):
  env = {k: v for k, v in os.environ.items() if k != console.VERBOSE_ENV}
  return subprocess.run([sys.executable, "-m", "compare_gan2.main", f"--model_dir={tmp_path}",
                         f"--gin_config={tmp_path / 'missing.gin'}", *flags],
                        capture_output=True, text=True, timeout=120, check=False, env=env,
                        cwd=ROOT)


def test_main_prints_its_error_without_tensorflows_start_up_lines(tmp_path):
  result = _main_on_missing_config(tmp_path)
  assert result.returncode == 1
  assert result.stderr.startswith("compare_gan2: "), result.stderr
  assert "missing.gin" in result.stderr
  assert not [line for line in result.stderr.splitlines()
              if console.harmless(line.encode())], result.stderr


def test_verbose_brings_tensorflows_lines_back(tmp_path):
  result = _main_on_missing_config(tmp_path, "--verbose")
  assert result.returncode == 1
  # compare_gan2 turns oneDNN on (TF_ENABLE_ONEDNN_OPTS=1), and TF says so as it loads.
  assert "oneDNN custom operations are on" in result.stderr
  assert "compare_gan2: " in result.stderr
