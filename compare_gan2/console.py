"""What a compare_gan2 command prints: its own lines, real warnings and errors, not TF's start-up.

Every process entry point (`compare_gan2`, `python -m compare_gan2.main`, the
tools' `run()`) calls `setup(sys.argv)` first, before TensorFlow is imported:

- TF_CPP_MIN_LOG_LEVEL=2 (unless the user set it): TensorFlow's C++ INFO and
  WARNING lines are hidden once its logging is initialised; ERROR lines show.
- TensorFlow 2.21 logs a few lines from C++ static initialisers, before absl's
  C++ logging is initialised, so no environment variable governs them; on a
  CPU-only machine the CUDA platform then logs an ERROR-level cuInit failure.
  `HARMLESS_LINES` lists these by exact pattern, and a filter process between
  the program and the real stderr drops exactly those lines. Every other line
  passes unchanged, in order; the filter is a separate process so that it
  drains the pipe to the end even if the program crashes or is killed.
- absl INFO lines are kept only when compare_gan2's own code logs them (the
  training progress): TensorFlow logs checkpoint sharding times and SavedModel
  fingerprints at INFO through absl, some from autograph-converted code whose
  file is a temporary one, so what is kept is named, not what is dropped.
  Every WARNING and above is kept.

`--verbose` (or COMPARE_GAN2_VERBOSE=1 in the environment) turns all of this
off: TF_CPP_MIN_LOG_LEVEL=0 and nothing is filtered.
"""

import atexit
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Sequence

from absl import logging as absl_logging

VERBOSE_ENV = "COMPARE_GAN2_VERBOSE"
VERBOSE_HELP = ("Show TensorFlow's start-up lines, its C++ INFO and WARNING logs and "
                "library INFO logs (hidden by default, see docs/usage.md 'Console output').")

_PREFIX = r"[IWEF]\d{4} \d\d:\d\d:[\d.]+ +\d+ "
# Each line TensorFlow 2.21 writes on every start of a CPU-only machine, and why it is harmless.
HARMLESS_LINES = tuple(re.compile(pattern) for pattern in (
    # absl's notice that logging is not initialised yet (once per TF shared library).
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    # We enable oneDNN on purpose (compare_gan2/__init__.py).
    _PREFIX + r"port\.cc:\d+\] oneDNN custom operations are on\. .*",
    # No CUDA driver library: TensorFlow runs on the CPU, as it says.
    _PREFIX + r"cudart_stub\.cc:\d+\] Could not find cuda drivers on your machine, "
    r"GPU will not be used\.",
    # The consequence of the line above when devices are listed: 303 is
    # CUDA_ERROR_SHARED_OBJECT_INIT_FAILED, the missing driver library. Any other cuInit
    # failure (a broken driver on a GPU machine) is not matched and still shows.
    _PREFIX + r"cuda_platform\.cc:\d+\] failed call to cuInit: INTERNAL: CUDA error: "
    r"Failed call to cuInit: UNKNOWN ERROR \(303\)",
))
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def wants_verbose(argv: Sequence[str]) -> bool:
  """Whether the command line or the environment asks for everything."""
  flag = any(a in ("--verbose", "--verbose=true", "--verbose=True", "--verbose=1") for a in argv)
  return flag or os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def is_verbose() -> bool:
  """True after `setup` saw --verbose, or with COMPARE_GAN2_VERBOSE=1."""
  return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def setup(argv: Sequence[str], own_code: Sequence[str] = ()) -> bool:
  """Configures the console of this process; call before TensorFlow is imported.

  Args:
    argv: the command line (its `--verbose` is read here, the parser only documents it).
    own_code: directories besides compare_gan2's whose absl INFO lines are kept (the tools).

  Returns:
    Whether verbose output was asked for.
  """
  verbose = wants_verbose(argv)
  if verbose:
    os.environ[VERBOSE_ENV] = "1"  # child processes and tfgan_compat see it too
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
    return True
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  # absl's own logger object (a plain logging.getLogger("absl") before absl is
  # imported would replace it and break its caller lookup).
  absl_logging.get_absl_logger().addFilter(InfoFrom((_PACKAGE_DIR, *own_code)))
  if hasattr(os, "fork"):  # POSIX; elsewhere the start-up lines stay
    filter_stderr(HARMLESS_LINES)
  return False


class InfoFrom(logging.Filter):
  """Keeps WARNING and above, and lower levels only when logged from code under `dirs`."""

  def __init__(self, dirs: Sequence[str]):
    super().__init__()
    self.dirs = tuple(os.path.join(os.path.abspath(d), "") for d in dirs)

  def filter(self, record: logging.LogRecord) -> bool:
    if record.levelno >= logging.WARNING:
      return True
    return os.path.abspath(record.pathname).startswith(self.dirs)


def harmless(line: bytes, patterns: Sequence[re.Pattern] = HARMLESS_LINES) -> bool:
  """Whether one complete stderr line (no newline) is one of `patterns`, exactly."""
  text = line.decode("utf-8", "replace").rstrip("\r")
  return any(p.fullmatch(text) for p in patterns)


def copy_filtered(source: int, target: int, patterns: Sequence[re.Pattern]) -> None:
  """Copies `source` to `target` until EOF, leaving out the lines that are `harmless`.

  A line is judged only when it is complete; text after the last newline is
  passed on at once (a prompt, a progress update) and its rest is never dropped.
  """
  pending, mid_line = b"", False
  while chunk := os.read(source, 1 << 16):
    *lines, pending = (pending + chunk).split(b"\n")
    out = []
    for line in lines:
      if mid_line or not harmless(line, patterns):
        out.append(line + b"\n")
      mid_line = False
    # A C++ log line arrives in one write: hold back only what may be the start of one.
    if pending and pending[:1] not in (b"I", b"W", b"E", b"F"):
      out.append(pending)
      pending, mid_line = b"", True
    _write_all(target, b"".join(out))
  _write_all(target, pending)


def _write_all(fd: int, data: bytes) -> None:
  while data:
    data = data[os.write(fd, data):]


def filter_stderr(patterns: Sequence[re.Pattern]) -> None:
  """Routes this process's fd 2 through a child process running `copy_filtered`.

  The child ignores Ctrl-C and SIGTERM and exits when the last writer closes the
  pipe, so a crash's last lines (a C++ CHECK failure, a traceback) still arrive.
  """
  read_end, write_end = os.pipe()
  sys.stderr.flush()
  pid = os.fork()
  if pid == 0:  # the filter
    try:
      os.close(write_end)
      for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
      devnull = os.open(os.devnull, os.O_RDWR)
      os.dup2(devnull, 0)
      os.dup2(devnull, 1)  # hold no copy of stdout: a reader of it sees EOF with the program's
      copy_filtered(read_end, 2, patterns)
    finally:
      os._exit(0)  # pylint: disable=protected-access
  os.close(read_end)
  real_stderr = os.dup(2)
  os.dup2(write_end, 2)
  os.close(write_end)
  atexit.register(_wait_for_filter, real_stderr, pid)


def _wait_for_filter(real_stderr: int, pid: int, timeout: float = 5.0) -> None:
  """At a normal exit: close our end and let the filter write out the rest first.

  A child process still holding the pipe keeps the filter running after us;
  we wait for it at most `timeout` seconds.
  """
  sys.stderr.flush()
  os.dup2(real_stderr, 2)
  deadline = time.monotonic() + timeout
  while os.waitpid(pid, os.WNOHANG) == (0, 0) and time.monotonic() < deadline:
    time.sleep(0.01)
