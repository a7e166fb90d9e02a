"""Every shipped gin config parses, builds and trains two steps when shrunk.

Like dopamine's gin_config_test and big_vision's runlocal: the real file plus
gin_configs/smoke/tiny.gin, no parallel test-only copy and no skip list. Runs
offline: TFDS datasets are replaced by `tfds.testing.mock_data` (random
examples drawn from each builder's feature spec, no download, no data_dir);
the bundled MNIST needs no mock.
"""

import glob
import pathlib

import pytest
import tensorflow_datasets as tfds

from compare_gan2 import main

ROOT = pathlib.Path(__file__).resolve().parents[1]
TINY = ROOT / "gin_configs" / "smoke" / "tiny.gin"
CONFIGS = sorted(p for p in (ROOT / "gin_configs").rglob("*.gin") if p.parent.name != "smoke")
MOCK_EXAMPLES = 16  # >= batch 4 per split; small so that mock generation stays fast


def test_there_are_configs():
  assert CONFIGS


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_config_trains_two_steps(config, tmp_path):
  header = config.read_text().splitlines()[0]
  assert header.startswith("#"), f"{config} must open with a provenance comment"
  with tfds.testing.mock_data(num_examples=MOCK_EXAMPLES):
    code = main.main([f"--model_dir={tmp_path}", f"--gin_config={config}", f"--gin_config={TINY}"])
  assert code == 0
  assert len(glob.glob(str(tmp_path / "ckpt-*.index"))) == 3
