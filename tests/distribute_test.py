"""Tests for compare_gan2.distribute: the strategy resolver and batch checks.

MultiWorkerMirroredStrategy runs for real through the runner, two
`python -m compare_gan2.main` processes on 127.0.0.1, in
tests/reliability/multi_worker_test.py. TPUStrategy cannot run here; its
resolver path is exercised up to the missing TPU.
"""

import json

import pytest
import tensorflow as tf

from compare_gan2 import distribute


def test_default_and_mirrored():
  assert distribute.resolve_strategy("default") is tf.distribute.get_strategy()
  assert isinstance(distribute.resolve_strategy("mirrored"), tf.distribute.MirroredStrategy)


def test_unknown_name_lists_the_choices():
  with pytest.raises(ValueError, match=r"Unknown strategy 'gpu'.*'default', 'mirrored'"):
    distribute.resolve_strategy("gpu")


def test_tpu_needs_an_address_and_reports_a_missing_tpu():
  with pytest.raises(ValueError, match="needs --tpu"):
    distribute.resolve_strategy("tpu")
  # This machine has no TPU: the path runs up to the TPU system initialization.
  with pytest.raises(ValueError, match="No TPU found at 'local'"):
    distribute.resolve_strategy("tpu", tpu="local")


@pytest.mark.parametrize("tf_config,message", [
    (None, "needs TF_CONFIG"),
    ("{not json", "not valid JSON"),
    (json.dumps({"cluster": {}}), "cluster.worker and task"),
])
def test_multi_worker_config_errors(monkeypatch, tf_config, message):
  if tf_config is None:
    monkeypatch.delenv("TF_CONFIG", raising=False)
  else:
    monkeypatch.setenv("TF_CONFIG", tf_config)
  with pytest.raises(ValueError, match=message):
    distribute.resolve_strategy("multi_worker")


def test_per_replica_batch_size(two_replicas):
  assert distribute.per_replica_batch_size(two_replicas, 12, multiple_of=3) == 6
  with pytest.raises(ValueError, match="13 is not divisible by the 2 replicas"):
    distribute.per_replica_batch_size(two_replicas, 13)
  with pytest.raises(ValueError, match=r"per-replica batch 5 .* divisible by 2"):
    distribute.per_replica_batch_size(two_replicas, 10, multiple_of=2)


def test_workers_agree_and_any_worker_under_replicas(two_replicas):
  # Under MultiWorkerMirroredStrategy these are all-gathers across processes
  # (tests/reliability/multi_worker_test.py); here across two local replicas.
  for strategy in (tf.distribute.get_strategy(), two_replicas):
    assert distribute.any_worker(strategy, True) and not distribute.any_worker(strategy, False)
    distribute.check_same_on_every_worker(strategy, 7, "the step")
  assert distribute.is_chief(two_replicas)
