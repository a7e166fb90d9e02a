"""Tests for compare_gan2.preflight: value checks of gin bindings and one-paragraph errors.

`matches` is pinned on a table of annotations the registry uses; `check_bindings`
must accept every shipped gin config (no false alarms) and name file and line
for a wrong value; `describe` must reduce TensorFlow and autograph dumps to the
line that names the culprit.
"""

import pathlib
from collections.abc import Sequence
from typing import Literal

import gin
import pytest
import tensorflow as tf

from compare_gan2 import configurables
from compare_gan2 import preflight

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHIPPED = sorted(str(p) for p in (ROOT / "gin_configs").rglob("*.gin"))


@pytest.mark.parametrize("value, annotation, expected", [
    (3, int, True), (True, int, False), (1.5, int, False), ("3", int, False),
    (3, float, True), (0.5, float, True), ("x", float, False),
    (True, bool, True), (1, bool, False),
    (None, int | None, True), (4, int | None, True), ("a", int | None, False),
    ((28, 28, 1), Sequence[int], True), ((28, 2.5, 1), Sequence[int], False),
    ("abc", Sequence[int], False), ((1, 2), tuple[int, int], True),
    ((1, 2, 3), tuple[int, int], False), ([1, 2], tuple[int, ...], True),
    ("hq", Literal["hq", "lq"], True), ("mq", Literal["hq", "lq"], False),
    ({"a": 1}, dict, None),
])
def test_matches_reads_the_annotations_the_registry_uses(value, annotation, expected):
  """True/False where the annotation decides; None (no verdict) where it cannot."""
  assert preflight.matches(value, annotation) is expected


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: pathlib.Path(p).parent.name)
def test_every_shipped_config_passes(path):
  """No false alarm on the configs users start from."""
  configurables.parse_gin([path], finalize=False)


def test_wrong_values_are_listed_with_file_and_line(tmp_path):
  """All offending bindings in one message, each with its value and where it was set."""
  path = tmp_path / "exp.gin"
  path.write_text("import compare_gan2.configurables\n\n"
                  "gans.ModularGAN.disc_iters = 0\ntrain_lib.Schedule.total_steps = 2.5\n")
  with pytest.raises(configurables.GinConfigError) as error:
    configurables.parse_gin([str(path)], ["infogan.Generator.z_dim = '64'"])
  message = str(error.value)
  assert message.startswith("3 gin binding(s) with a wrong value")
  assert ("gans.ModularGAN.disc_iters must be a positive count, got 0 "
          f"(set in {path}, line 3)") in message
  assert ("train_lib.Schedule.total_steps expects int, got float 2.5 "
          f"(set in {path}, line 4)") in message
  assert "infogan.Generator.z_dim expects int, got str '64'" in message


def test_describe_keeps_the_assertion_naming_the_file():
  """A graph error's node dump is dropped; tf.debugging's message and value stay."""
  message = ("Graph execution error:\n\nDetected at node Assert/Assert defined at (most recent "
             "call last):\n<stack traces unavailable>\nassertion failed: [Not a JPEG/PNG/GIF/BMP "
             "image (empty or corrupt file):] [/data/x/bad.png]\n\t [[{{node Assert/Assert}}]]")
  error = tf.errors.InvalidArgumentError(None, None, message)
  assert preflight.describe(error) == ("Not a JPEG/PNG/GIF/BMP image (empty or corrupt file): "
                                       "/data/x/bad.png (TensorFlow InvalidArgumentError)")


def test_describe_shortens_an_autograph_dump_and_gin_notes():
  """The error line, the innermost source line, the gin configurable; no frames, no address."""
  text = ("in user code:\n\n    File \"/x/compare_gan2/train_lib.py\", line 56, in run_steps  *\n"
          "        strategy.run(gan.train_step)\n"
          "    File \"/x/compare_gan2/gans/modular_gan.py\", line 216, in discriminate  *\n"
          "        outputs = self.discriminator(tf.concat([batch.images, fake], axis=0))\n\n"
          "    ValueError: Dimension 0 in both shapes must be equal. Shapes are [28,28,1] and "
          "[32,32,1]. for '{{node while/concat}} = ConcatV2'\n\n"
          "  In call to configurable 'train' (<function train at 0x7f00>)")
  described = preflight.describe(ValueError(text))
  assert described.startswith("ValueError: Dimension 0 in both shapes must be equal. Shapes are "
                              "[28,28,1] and [32,32,1]. (traced at gans/modular_gan.py:216: ")
  assert described.endswith("(in gin configurable 'train')")
  assert "\n" not in described and "0x7f00" not in described and "{{node" not in described
  plain = preflight.describe(ValueError("x.npz: not found.\n  In call to configurable 'npz' "
                                        "(<function npz at 0x1>)"))
  assert plain == "x.npz: not found. (in gin configurable 'npz')"


def test_check_bindings_ignores_references_and_unannotated_parameters():
  """References and keras' unannotated parameters get no verdict, hence no error."""
  gin.parse_config(["import compare_gan2.configurables",
                    "keras.optimizers.Adam.learning_rate = 'not checked: no annotation'",
                    "gans.ModularGAN.loss_fn = @losses.hinge"])
  preflight.check_bindings()
