"""Tests for tools/pretrain_labeller: pre-training the S²L labeller from gin, end to end.

In this process through `main` (a subprocess would spend the budget
importing TensorFlow again), on bundled MNIST with 10% labels and the tests'
tiny convolutional F (registered with gin here), eager steps: --task=both
writes soft labels, cluster ids, report.json, the operative config and a
checkpoint (resuming is pinned in tests/pretraining/training_test.py). Errors: a
config without a class head asked for soft labels, an unknown gin name
(status 1), and bad flags (status 2, checked as `python -m`, before
TensorFlow is imported). The paper's feature extractor and SGD recipe
(`pretraining.ResNetV2`, `pretraining.EpochSGD`) run from gin at tiny width.
"""

import json
import os
import pathlib
import subprocess
import sys

import gin
import numpy as np
import pytest

from compare_gan2 import data
from compare_gan2.data import bundled
from compare_gan2.data import pipeline
from tests.pretraining import model_test
from tools import pretrain_labeller

_ROOT = pathlib.Path(__file__).resolve().parents[2]
gin.external_configurable(model_test.TinyConvDiscriminator, module="pretrain_labeller_test")

CONFIG = """
pretraining.train_labeller.dataset = @data.bundled_mnist()
data.bundled_mnist.labels = @data.LabelOptions()
data.LabelOptions.fraction = 0.1
pretraining.train_labeller.feature_extractor = @pretrain_labeller_test.TinyConvDiscriminator
pretraining.train_labeller.batch_size = 8
pretraining.train_labeller.log_every = 1
pretraining.train_labeller.run_eagerly = True
pretraining.cluster.num_clusters = 5
pretraining.cluster.passes = 1
pretraining.cluster.threads = 1
"""


@pytest.fixture(name="config")
def _config(tmp_path) -> str:
  path = tmp_path / "labeller.gin"
  path.write_text(CONFIG)
  return str(path)


def test_both_tasks_write_every_file(tmp_path, config, capsys):
  """--task=both: soft labels [9000, 10], k=5 cluster ids [9000], report, config, checkpoint."""
  out = tmp_path / "out"
  argv = ["pretrain_labeller", f"--output_dir={out}", f"--gin_config={config}"]
  assert pretrain_labeller.main([*argv, "--steps=2", "--task=both"]) == 0
  printed = capsys.readouterr().out
  assert f"wrote {out / 'soft_labels.npy'}" in printed and "(k = 5)" in printed
  soft, ids = np.load(out / "soft_labels.npy"), np.load(out / "clusters.npy")
  assert soft.shape == (bundled.NUM_TRAIN, 10) and soft.dtype == np.float32
  assert ids.shape == (bundled.NUM_TRAIN,) and ids.dtype == np.int32 and ids.max() < 5
  report = json.loads((out / "report.json").read_text())
  assert report["step"] == 2 and [h["step"] for h in report["history"]] == [1, 2]
  assert (report["num_train_examples"], report["num_classes"]) == (bundled.NUM_TRAIN, 10)
  assert report["eval"]["examples"] == 1000 and 0 <= report["eval"]["class_accuracy"] <= 1
  assert sum(report["clusters"]["sizes"]) == bundled.NUM_TRAIN
  assert "train_labeller.batch_size = 8" in (out / "operative_config.gin").read_text()
  assert (out / "checkpoints" / "ckpt-2.index").exists()


def test_soft_labels_without_a_class_head_fail_in_one_line(tmp_path, config, capsys):
  """class_weight = 0 (rotation only) and --task=soft_labels: status 1 naming the cause."""
  status = pretrain_labeller.main([
      "pretrain_labeller", f"--output_dir={tmp_path / 'out'}", f"--gin_config={config}",
      "--gin_bindings=pretraining.train_labeller.class_weight = 0.0", "--steps=0",
      "--task=soft_labels"])
  assert status == 1
  assert "pretrain_labeller: No class head to export soft labels from" in capsys.readouterr().err


def test_an_unknown_gin_name_fails_in_one_line(tmp_path, config, capsys):
  status = pretrain_labeller.main([
      "pretrain_labeller", f"--output_dir={tmp_path}", f"--gin_config={config}",
      "--gin_bindings=pretraining.train_labeller.stepz = 3"])
  assert status == 1 and "stepz" in capsys.readouterr().err


def _tool(*flags):
  return subprocess.run([sys.executable, "-m", "tools.pretrain_labeller", *flags],
                        cwd=_ROOT, capture_output=True, text=True, timeout=60,
                        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


@pytest.mark.parametrize("flags, problem", [
    ((), "--output_dir is required"),
    (("--output_dir=/tmp/x", "--task=labels"), "--task"),
    (("--output_dir=/tmp/x", "--steps=-1"), "--steps must be >= 0"),
])
def test_bad_flags_exit_2_before_tensorflow(flags, problem):
  result = _tool(*flags)
  assert result.returncode == 2, result.stderr
  assert problem in result.stderr and "(--help lists the flags)" in result.stderr


def test_the_papers_resnet_and_sgd_recipe_run_from_gin_at_tiny_width(tmp_path, capsys):
  """ResNetV2 (w = 1, one unit per block) + EpochSGD: soft labels the S2GAN reader takes."""
  config = tmp_path / "resnet.gin"
  config.write_text(CONFIG.replace("@pretrain_labeller_test.TinyConvDiscriminator",
                                   "@pretraining.ResNetV2") + """
pretraining.ResNetV2.filters_factor = 1
pretraining.ResNetV2.units = (1, 1, 1, 1)
pretraining.train_labeller.optimizer = @pretraining.EpochSGD()
pretraining.EpochSGD.warmup_epochs = 0.001
""")
  out = tmp_path / "out"
  assert pretrain_labeller.main(["pretrain_labeller", f"--output_dir={out}",
                                 f"--gin_config={config}", "--steps=2",
                                 "--task=soft_labels"]) == 0
  soft = np.load(out / "soft_labels.npy")
  assert soft.shape == (bundled.NUM_TRAIN, 10) and np.isfinite(soft).all()
  report = json.loads((out / "report.json").read_text())
  assert report["step"] == 2 and "regularization_loss" in report["history"][0]
  operative = (out / "operative_config.gin").read_text()
  assert "ResNetV2.filters_factor = 1" in operative and "EpochSGD.momentum = 0.9" in operative
  # The S2GAN reader takes the file: example c's label is argmax of row c.
  options = data.LabelOptions(soft_labels_file=str(out / "soft_labels.npy"),
                              labels_from_soft=True)
  first = next(iter(pipeline.canonical_train_input(data.bundled_mnist(labels=options), 16)))
  np.testing.assert_array_equal(first["labels"], soft[:16].argmax(axis=1))
