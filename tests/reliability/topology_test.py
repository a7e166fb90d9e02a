"""Restore across topologies: 1 replica <-> a 2-replica MirroredStrategy.

A checkpoint holds one value per variable whatever the strategy that wrote it
(MirroredStrategy saves the primary copy), so it must restore exactly into
every replica's copy under another strategy, and training must then go on as
it would have on the original one. 1 and 2 replicas train alike up to float
rounding (tests/train_lib_test.py), so "as it would have" is pinned with that
test's tolerance, and the restore itself bit for bit.
"""

import shutil

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import checkpoints

TOPOLOGIES = ("one", "two")


@pytest.fixture(scope="module")
def saved_at_3(tmp_path_factory, tiny, two_replicas):
  """{"one": model_dir, "two": model_dir} each trained to step 3 on that topology."""
  strategies = {"one": None, "two": two_replicas}
  found = {}
  for name in TOPOLOGIES:
    found[name] = tmp_path_factory.mktemp(f"saved_on_{name}")
    tiny.train(found[name], 3, strategy=strategies[name])
  return found


def _copy(source, target):
  shutil.copytree(source, target)
  return target


def _restored(model_dir, strategy, tiny):
  with strategy.scope():
    gan = tiny.gan(built=True)
    _, step = checkpoints.restore_newest(gan, str(model_dir))
  assert step == 3
  return tiny.variables(gan)


@pytest.mark.parametrize("saved_on", TOPOLOGIES)
def test_a_checkpoint_restores_exactly_on_the_other_topology(saved_on, saved_at_3, tmp_path,
                                                             tiny, two_replicas):
  """Every variable, in every replica's copy, equals its restore on the saving topology."""
  strategies = {"one": tf.distribute.get_strategy(), "two": two_replicas}
  other = "two" if saved_on == "one" else "one"
  model_dir = _copy(saved_at_3[saved_on], tmp_path / "run")
  expected = [np.asarray(v) for v in _restored(model_dir, strategies[saved_on], tiny)]
  switched = _restored(model_dir, strategies[other], tiny)
  assert len(switched) == len(expected) > 10
  for index, (variable, value) in enumerate(zip(switched, expected)):
    copies = getattr(variable.value, "values", (variable.value,))
    assert len(copies) == strategies[other].num_replicas_in_sync
    for copy in copies:
      np.testing.assert_array_equal(np.asarray(copy), value, err_msg=f"{index} {variable.path}")


@pytest.mark.parametrize("saved_on", TOPOLOGIES)
def test_training_continues_on_the_other_topology_as_on_the_original(
    saved_on, saved_at_3, tmp_path, tiny, two_replicas, straight_run):
  """Steps 4-6 after the switch match steps 4-6 on the topology that saved ckpt-3 (on one
  device that is the straight run: a resumed run equals it bit for bit, corrupt_checkpoint_test)."""
  strategies = {"one": None, "two": two_replicas}
  other = "two" if saved_on == "one" else "one"
  if saved_on == "one":
    original = straight_run
  else:
    original = tiny.state(tiny.train(_copy(saved_at_3[saved_on], tmp_path / "same"), 6,
                                     strategy=strategies[saved_on]))
  switched = tiny.train(_copy(saved_at_3[saved_on], tmp_path / "switched"), 6,
                        strategy=strategies[other])
  assert int(switched.g_optimizer.iterations.numpy()) == 6
  for a, b in zip(original, tiny.state(switched), strict=True):
    np.testing.assert_allclose(b, a, rtol=5e-5, atol=5e-6)
