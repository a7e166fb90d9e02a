"""Tests for tools/compute_fid_stats: the real-statistics cache filled ahead of evaluation."""

import numpy as np
import pytest

from tools import compute_fid_stats


def test_computes_once_then_finds_the_cache(tmp_path):
  """MNIST classifier features of the first 100 eval images, cached under a telling name."""
  report, path = compute_fid_stats.compute(
      "@data.bundled_mnist()", "@evaluation.MnistClassifierConfig()", 100, str(tmp_path))
  assert path.endswith("bundled_mnist_28x28x1_eval_mnist_classifier_v1_100.npz")
  assert "features (100, 128), logits (100, 10)" in report
  assert "NOT comparable with Inception FID" in report
  with np.load(path) as stats:
    assert stats["mu"].shape == (128,) and stats["sigma"].shape == (128, 128)
  again, same = compute_fid_stats.compute(
      "@data.bundled_mnist()", "@evaluation.MnistClassifierConfig()", 100, str(tmp_path))
  assert same == path and again == report


def test_defaults_come_from_the_experiment_gin(tmp_path):
  """Dataset and extractor as the experiment's gin binds them (the demo config)."""
  _, path = compute_fid_stats.compute(None, None, 50, str(tmp_path),
                                      gin_files=["gin_configs/mnist/infogan.gin"])
  assert path.endswith("bundled_mnist_28x28x1_eval_mnist_classifier_v1_50.npz")


def test_no_dataset_is_a_clear_error(tmp_path):
  with pytest.raises(ValueError, match="does not bind train_lib.train.dataset"):
    compute_fid_stats.compute(None, "@evaluation.MnistClassifierConfig()", 10, str(tmp_path))


def test_main_reports_a_missing_network_in_one_paragraph(tmp_path, capsys):
  """An Inception path that does not exist: status 1 and what to do, no traceback."""
  assert compute_fid_stats.main([
      "compute_fid_stats", "--dataset=@data.bundled_mnist()",
      "--extractor=@evaluation.InceptionConfig()",
      f"--gin_bindings=evaluation.InceptionConfig.handle = '{tmp_path}/missing'",
      "--num_samples=10", f"--cache_dir={tmp_path}"]) == 1
  err = capsys.readouterr().err
  assert err.startswith("compute_fid_stats: ") and "Traceback" not in err
  assert "evaluation.InceptionConfig.handle" in err


def test_bad_flags_exit_2(capsys):
  assert compute_fid_stats.main(["compute_fid_stats", "--num_sampels=3"]) == 2
  assert "num_sampels" in capsys.readouterr().err
