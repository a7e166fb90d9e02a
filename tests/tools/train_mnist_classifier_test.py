"""Tests for tools/train_mnist_classifier: the tool that makes the shipped MNIST weights.

End to end on a tiny budget (1 epoch of 16 steps on 500 images), through
`main` with its flags in this process (a subprocess would spend most of the
30 s budget importing TensorFlow again): it must write a weights file that
`MnistClassifierConfig` loads and a .json whose record matches the flags and
the held-out accuracy of that file, measured here. Bad flags (status 2) are checked as
`python -m`, which fails before importing TensorFlow.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest
import tensorflow as tf

from compare_gan2 import data
from compare_gan2.evaluation import extractor
from compare_gan2.evaluation import mnist_classifier
from tools import train_mnist_classifier

_ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_tiny_run_writes_loadable_weights_and_a_true_record(tmp_path, monkeypatch, capsys):
  """--epochs=1 --max_train_examples=500 -> .npz + .json; the recorded accuracy is the file's."""
  determinism = []  # Process-wide in TF: recorded, not switched on in the test process.
  monkeypatch.setattr(tf.config.experimental, "enable_op_determinism",
                      lambda: determinism.append(True))
  output = tmp_path / "out" / "tiny.npz"
  status = train_mnist_classifier.main([
      "train_mnist_classifier", f"--output={output}", "--epochs=1", "--max_train_examples=500",
      "--batch_size=32", "--seed=0"])
  assert status == 0 and determinism == [True]
  assert f"wrote {output}" in capsys.readouterr().out
  record = json.loads(output.with_suffix(".json").read_text())
  assert (record["epochs"], record["seed"], record["train_examples"]) == (1, 0, 500)
  assert record["heldout_examples"] == 1000 and record["batch_size"] == 32
  classifier = mnist_classifier.MnistClassifierConfig(weights_path=str(output)).load()
  batch = next(iter(data.eval_input(data.bundled_mnist(), batch_size=1000)))
  _, logits = extractor.extract(classifier, batch["images"].numpy())
  accuracy = (logits.argmax(1) == batch["labels"].numpy()).mean()
  assert record["heldout_accuracy"] == pytest.approx(accuracy, abs=0.0015)
  assert accuracy > 0.2  # Balanced classes: chance is 0.1.
  assert output.stat().st_size < 1_000_000


def _tool(*flags):
  return subprocess.run([sys.executable, "-m", "tools.train_mnist_classifier", *flags],
                        cwd=_ROOT, capture_output=True, text=True, timeout=60,
                        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


@pytest.mark.parametrize("flag, problem", [
    ("--epochs=0", "must be >= 1"),
    ("--output=weights.h5", "must end in .npz"),
    ("--epochs=many", "invalid literal"),
])
def test_bad_flags_exit_2_with_a_message(tmp_path, flag, problem):
  """A bad flag value exits with status 2, as in every tool, and one line, before training."""
  result = _tool(f"--output={tmp_path / 'w.npz'}", flag)
  assert result.returncode == 2
  assert problem in result.stderr and len(result.stderr.strip().splitlines()) == 1
  assert not (tmp_path / "w.npz").exists()
