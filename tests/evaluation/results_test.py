"""Tests for evaluation.results: scores.csv / .json, TensorBoard and plots.

Pinned: compare_gan's CSV layout (checkpoint_path, step, sorted keys), the
evaluated steps read back after a restart, rows with new keys re-aligned (the
compare_gan bug), atomic rewrites, and a foreign file never overwritten.
"""

import csv
import json
import math

import pytest
import tensorflow as tf

from compare_gan2.evaluation import results


def _rows(path):
  with open(path) as f:
    return list(csv.DictReader(f))


def test_rows_header_and_restart(tmp_path):
  """Header = checkpoint_path, step, sorted keys; a new store sees the evaluated steps."""
  store = results.ResultsStore(str(tmp_path))
  store.add(20, "/m/ckpt-20", {"fid_score_mean": 30.5, "fid_score_std": 0.5,
                               "fid_score_list": "30_31"})
  store.add(10, "/m/ckpt-10", {"fid_score_mean": 40.0, "fid_score_std": 1.0,
                               "fid_score_list": "39_41"})
  with open(tmp_path / "scores.csv") as f:
    assert f.readline().strip() == ("checkpoint_path,step,fid_score_list,fid_score_mean,"
                                    "fid_score_std")
  assert [r["step"] for r in _rows(tmp_path / "scores.csv")] == ["10", "20"]
  again = results.ResultsStore(str(tmp_path))
  assert again.evaluated_steps() == {10, 20}
  assert again.rows[0]["fid_score_list"] == "39_41" and again.rows[1]["fid_score_mean"] == 30.5
  assert json.loads((tmp_path / "scores.json").read_text())["results"][1]["step"] == 20


def test_rows_with_new_keys_stay_aligned(tmp_path):
  """compare_gan wrote such rows misaligned; here the file is rewritten with the union."""
  store = results.ResultsStore(str(tmp_path))
  store.add(1, "c-1", {"a_mean": 1.0})
  store.add(2, "c-2", {"b_mean": 2.0})
  rows = _rows(tmp_path / "scores.csv")
  assert rows == [{"checkpoint_path": "c-1", "step": "1", "a_mean": "1.0", "b_mean": ""},
                  {"checkpoint_path": "c-2", "step": "2", "a_mean": "", "b_mean": "2.0"}]


def test_a_step_evaluated_again_replaces_its_row(tmp_path):
  store = results.ResultsStore(str(tmp_path))
  store.add(5, "c-5", {"a_mean": 1.0})
  store.add(5, "c-5", {"a_mean": 2.0})
  assert [r["a_mean"] for r in _rows(tmp_path / "scores.csv")] == ["2.0"]


def test_a_file_that_is_not_a_scores_file_is_never_overwritten(tmp_path):
  """A user's unrelated or damaged scores.csv stops evaluation, untouched."""
  path = tmp_path / "scores.csv"
  path.write_text("name,value\nfoo,1\n")
  with pytest.raises(ValueError, match="scores.csv, line 2"):
    results.ResultsStore(str(tmp_path))
  assert path.read_text() == "name,value\nfoo,1\n"


def test_no_temporary_files_are_left(tmp_path):
  store = results.ResultsStore(str(tmp_path))
  store.add(1, "c-1", {"a_mean": 1.0, "a_std": 0.1})
  assert not [p for p in tmp_path.rglob("*") if ".tmp-" in p.name]


def test_plots_and_tensorboard(tmp_path):
  """plots/<metric>.png per *_mean with finite values; eval/ scalars per numeric key."""
  store = results.ResultsStore(str(tmp_path))
  store.add(1, "c-1", {"fid_score_mean": 10.0, "fid_score_std": 1.0, "is_mean": math.nan})
  store.add(2, "c-2", {"fid_score_mean": 8.0, "fid_score_std": 0.5, "is_mean": math.nan})
  assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["fid_score.png"]
  assert (tmp_path / "plots" / "fid_score.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  events = list((tmp_path / "eval").iterdir())
  tags = {v.tag for e in events for event in tf.compat.v1.train.summary_iterator(str(e))
          for v in event.summary.value}
  assert {"eval/fid_score_mean", "eval/fid_score_std"} <= tags
