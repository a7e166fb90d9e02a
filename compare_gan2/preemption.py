"""Preemption: SIGTERM makes training save at the next loop boundary and exit.

Spot and preemptible VMs (and cluster schedulers evicting a job) send SIGTERM
and kill the process a grace period later (30 s on Google Cloud). compare_gan
relied on the last periodic checkpoint. Here the runner notes the signal and,
at the end of the running `tf.function` call (at most `steps_per_loop` steps
later), saves `ckpt-<step>`, writes no TRAIN_DONE and exits with `EXIT_CODE`;
rerunning the same command resumes from that save.

Under MultiWorkerMirroredStrategy the signal usually reaches one worker only:
at every loop boundary the workers all-reduce their flags
(`distribute.any_worker`), so all of them save the same step together and exit.
This is what `tf.distribute.experimental.PreemptionCheckpointHandler` does for
custom loops, kept inside the runner's own loop: its checkpoints stay
`ckpt-<G step>` in model_dir, the default strategy on one host (no cluster
resolver) gets the same behaviour, and the exit happens after the chief's
files are complete rather than from inside the step.
"""

import signal
import threading
import types

from absl import logging
import tensorflow as tf

from compare_gan2 import distribute

# tf.distribute's PreemptionCheckpointHandler exits with 42 by default off GCE:
# a scheduler restarting on it treats both alike.
EXIT_CODE = 42


class Preempted(Exception):
  """Training stopped on SIGTERM after saving; rerun to resume.

  Attributes:
    step: the G step saved.
    path: the checkpoint written.
  """

  def __init__(self, step: int, path: str):
    super().__init__(f"Preempted (SIGTERM): saved {path} at G step {step}; rerun the same "
                     "command to resume from it.")
    self.step, self.path = step, path


class SigtermWatcher:
  """Notes SIGTERM while training runs (a context manager; main thread only).

  Outside the main thread (a library caller's worker thread) Python cannot
  install signal handlers; the watcher then never fires and SIGTERM keeps its
  previous meaning.
  """

  def __init__(self):
    self.received = False
    self._previous = None

  def __enter__(self) -> "SigtermWatcher":
    if threading.current_thread() is threading.main_thread():
      self._previous = signal.signal(signal.SIGTERM, self._note)
    return self

  def __exit__(self, *exc_info) -> None:
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)
      self._previous = None

  def _note(self, signum: int, frame: types.FrameType | None) -> None:
    del signum, frame  # the handler's signature
    self.received = True
    logging.warning("SIGTERM received: saving at the end of the running loop call, then "
                    "exiting with code %d.", EXIT_CODE)

  def requested(self, strategy: tf.distribute.Strategy) -> bool:
    """Whether any worker got SIGTERM (a collective: every worker calls it at each boundary)."""
    return distribute.any_worker(strategy, self.received)
