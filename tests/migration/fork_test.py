"""The DiffAugment fork of compare_gan: its gin files run unchanged.

mit-han-lab/data-efficient-gans (DiffAugment-biggan-imagenet/, commit 0b63395)
is compare_gan plus a `DiffAugment.policy` binding, a "zoomed" ImageNet crop
with flipped training images, and the datasets `imagenet_128_0.5` /
`imagenet_128_0.25` (the first 640,583 / 320,291 training examples). Its six
configs are kept byte for byte in fork_configs/.
"""

import pathlib

import pytest

from compare_gan2 import configurables  # noqa: F401  (registers the gin names)
from compare_gan2.migration import legacy_gin

CONFIGS = pathlib.Path(__file__).with_name("fork_configs")
SUBSETS = {"": None, "-0.5": 640_583, "-0.25": 320_291}


def _lines(name: str) -> dict[str, str]:
  translation = legacy_gin.translate([str(CONFIGS / name)])
  return dict(line.split(" = ", 1) for line in translation.lines)


@pytest.mark.parametrize("suffix", SUBSETS)
def test_fork_datasets_become_imagenet_128_subsets_with_the_zoomed_flipped_crop(suffix):
  lines = _lines(f"biggan-imagenet128{suffix}.gin")
  assert lines["train_lib.train.dataset"] == "@data.imagenet_128()"
  assert lines.get("data.imagenet_128.train_examples") == (
      None if SUBSETS[suffix] is None else str(SUBSETS[suffix]))
  assert lines["data.imagenet_128.train_crop"] == '"zoomed"'
  assert lines["data.imagenet_128.train_flip"] == "True"
  assert lines["data.imagenet_128.eval_crop"] == '"middle"'
