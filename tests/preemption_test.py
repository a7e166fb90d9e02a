"""Tests for compare_gan2.preemption: SIGTERM is noted, not fatal, while training runs.

The save at the next loop boundary and the exit code are tested on real
runner processes (tests/reliability/multi_worker_test.py), on one host and
across two workers.
"""

import os
import signal

import tensorflow as tf

from compare_gan2 import preemption


def test_sigterm_sets_the_flag_and_the_previous_handler_comes_back():
  seen = []
  previous = signal.signal(signal.SIGTERM, lambda *_: seen.append("previous"))
  try:
    with preemption.SigtermWatcher() as watcher:
      assert not watcher.requested(tf.distribute.get_strategy())
      os.kill(os.getpid(), signal.SIGTERM)
      assert watcher.received and watcher.requested(tf.distribute.get_strategy())
    assert not seen  # the watcher took it, not the previous handler
    os.kill(os.getpid(), signal.SIGTERM)
    assert seen == ["previous"]
  finally:
    signal.signal(signal.SIGTERM, previous)


def test_preempted_names_the_step_and_the_checkpoint():
  error = preemption.Preempted(7, "/run/ckpt-7")
  assert error.step == 7 and "saved /run/ckpt-7 at G step 7" in str(error)
  assert "rerun the same command" in str(error)
