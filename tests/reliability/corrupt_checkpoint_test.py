"""A corrupt or truncated latest checkpoint: training resumes from the one before.

tests/checkpoints_test.py tries six kinds of damage on checkpoints.restore_newest;
here the whole training loop meets them: the resumed run must end exactly
like an uninterrupted one, keep the damaged files, and never start from
scratch over a model_dir whose checkpoints it cannot read unless asked.
"""

import logging
import os

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import checkpoints

DATA = ".data-00000-of-00001"


def _tensors(path):
  reader = tf.train.load_checkpoint(str(path))
  return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
          if not name.startswith("_CHECKPOINTABLE_OBJECT_GRAPH")}


def test_a_truncated_latest_checkpoint_is_replayed_from_the_previous(tmp_path, tiny, straight_run,
                                                                     same_state, caplog):
  """ckpt-6 cut in half after a finished run: the rerun restores ckpt-3, redoes steps 4-6
  (bitwise the straight run), and the damaged ckpt-6 waits in unreadable/1/."""
  caplog.set_level(logging.INFO)
  tiny.train(tmp_path, 6)
  data = tmp_path / f"ckpt-6{DATA}"
  os.truncate(data, data.stat().st_size // 2)
  damaged = data.read_bytes()
  resumed = tiny.train(tmp_path, 6)
  same_state(straight_run, tiny.state(resumed))
  assert f"{tmp_path / 'ckpt-6'} is unreadable" in caplog.text
  assert f"Resuming from {tmp_path / 'ckpt-3'} (G step 3)" in caplog.text
  assert (tmp_path / "unreadable" / "1" / f"ckpt-6{DATA}").read_bytes() == damaged
  assert [s for s, _ in checkpoints.list_checkpoints(str(tmp_path))] == [0, 3, 6]


def test_no_readable_checkpoint_stops_unless_a_fresh_start_is_asked(tmp_path, tiny):
  """Every checkpoint damaged: a clear error and model_dir untouched; with allow_fresh_start the
  run starts over (the same ckpt-3 as the first time) and the damaged files are kept."""
  tiny.train(tmp_path, 3)
  first = _tensors(tmp_path / "ckpt-3")
  (tmp_path / "ckpt-3.index").write_bytes(b"not a checkpoint")
  os.truncate(tmp_path / f"ckpt-0{DATA}", 0)
  before = tiny.files(tmp_path)
  with pytest.raises(checkpoints.UnreadableCheckpointError,
                     match=r"No readable checkpoint in .*ckpt-3: .*ckpt-0: .*allow_fresh_start"):
    tiny.train(tmp_path, 3)
  assert tiny.files(tmp_path) == before
  tiny.train(tmp_path, 3, allow_fresh_start=True)
  again = _tensors(tmp_path / "ckpt-3")
  assert again.keys() == first.keys()
  for name, value in first.items():
    np.testing.assert_array_equal(again[name], value, err_msg=name)
  kept = tiny.files(tmp_path / "unreadable" / "1")
  assert kept["ckpt-3.index"] == b"not a checkpoint" and kept[f"ckpt-0{DATA}"] == b""
  assert "checkpoint" in kept  # the old index, which listed them
