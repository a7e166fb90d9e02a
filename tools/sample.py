r"""Writes sample sheets, per-class sheets and interpolations of a generator as PNG.

    python -m tools.sample --model_dir=/tmp/run [--checkpoint=1200] \
      --mode=sheet --rows=8 --columns=8 [--truncation=0.5] --output=/tmp/sheet.png
    python -m tools.sample --export_dir=/tmp/run/export/1200 \
      --mode=classes --classes=0,1,2 --columns=8 --output=/tmp/classes.png
    python -m tools.sample --export_dir=... --mode=interpolate --rows=4 --steps=10 \
      --interpolation=compare_gan --output=/tmp/interp.png

The generator comes from a training run (its operative_config.gin plus
--gin_bindings, and a checkpoint: default the newest; EMA weights unless
--no_ema) or from an export of tools/export_generator.py. Modes
(compare_gan2.sampling): "sheet" (rows x columns samples), "classes" (one row
per class, the same z in each column), "interpolate" (--rows pairs of z, --steps
images each). --classes: the rows of "classes" (default the first
min(10, num_classes)); in the other modes row r takes class classes[r % len]
(default random classes). Errors exit with status 1 and a one-paragraph
message (2 for bad flags).
"""

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from . import cli  # noqa: E402

if TYPE_CHECKING:
  import numpy as np
  from compare_gan2 import export

MODES = ("sheet", "classes", "interpolate")
# Its own flag registry, not absl's global FLAGS: tools share flag names
# (--model_dir, --gin_bindings), and tests import several into one process.
FLAGS = flags.FlagValues()
_MODEL_DIR = flags.DEFINE_string("model_dir", None, "A training run to sample (or --export_dir).",
                                 flag_values=FLAGS)
_CHECKPOINT = flags.DEFINE_string(
    "checkpoint", None, "With --model_dir: a G step or checkpoint path (default: the newest).",
    flag_values=FLAGS)
_EXPORT_DIR = flags.DEFINE_string("export_dir", None, "An export of tools/export_generator.py.",
                                  flag_values=FLAGS)
_GIN_BINDINGS = flags.DEFINE_multi_string(
    "gin_bindings", [], "With --model_dir: gin bindings applied after the run's config.",
    flag_values=FLAGS)
_NO_EMA = flags.DEFINE_bool("no_ema", False, "With --model_dir: the raw weights, not the EMA.",
                            flag_values=FLAGS)
_MODE = flags.DEFINE_enum("mode", "sheet", MODES, "What to draw.", flag_values=FLAGS)
_ROWS = flags.DEFINE_integer("rows", 8, "Rows of a sheet; pairs of an interpolation.",
                             flag_values=FLAGS)
_COLUMNS = flags.DEFINE_integer("columns", 8, "Images per row (sheet and classes).",
                                flag_values=FLAGS)
_CLASSES = flags.DEFINE_list("classes", [], "Class ids (see above).", flag_values=FLAGS)
_STEPS = flags.DEFINE_integer("steps", 8, "Images per interpolation row, endpoints included.",
                              flag_values=FLAGS)
_INTERPOLATION = flags.DEFINE_enum("interpolation", "slerp", ["slerp", "lerp", "compare_gan"],
                                   "Path between the two z of a row.", flag_values=FLAGS)
_TRUNCATION = flags.DEFINE_float("truncation", None, "Truncation threshold (BigGAN §3.1).",
                                 flag_values=FLAGS)
_SEED = flags.DEFINE_integer("seed", 0, "Seed of z and random classes.", flag_values=FLAGS)
_OUTPUT = flags.DEFINE_string("output", None, "The PNG to write.", flag_values=FLAGS)


def open_generator(model_dir: str | None = None, export_dir: str | None = None,
                   checkpoint: str | None = None, bindings: Sequence[str] = (),
                   use_ema: bool = True) -> "export.SamplingGenerator":
  """A `compare_gan2.export.SamplingGenerator` from a run or from an export.

  Raises:
    ValueError: neither or both sources, or a missing run, checkpoint or export.
  """
  import gin  # pylint: disable=g-import-not-at-top
  from compare_gan2 import configurables  # pylint: disable=g-import-not-at-top
  from compare_gan2 import experiment  # pylint: disable=g-import-not-at-top
  from compare_gan2 import export  # pylint: disable=g-import-not-at-top
  if bool(model_dir) == bool(export_dir):
    raise ValueError("Give exactly one source: --model_dir (a training run) or --export_dir "
                     f"(an export); got {'both' if model_dir else 'neither'}.")
  if export_dir:
    if checkpoint or bindings:
      raise ValueError("--checkpoint and --gin_bindings apply to --model_dir, not --export_dir.")
    return export.load_generator(export_dir)
  gin.clear_config()  # the tool owns gin: each call starts from the run's own config
  configurables.parse_experiment_files([experiment.operative_config_path(model_dir)], bindings)
  exp = configurables.build_experiment(with_dataset=False)
  gan, _ = export.restore_gan(exp, model_dir, checkpoint)
  return export.live_generator(gan, use_ema)


def draw(gen: "export.SamplingGenerator", mode: str, rows: int = 8, columns: int = 8,
         classes: Sequence[int | str] = (), steps: int = 8, interpolation: str = "slerp",
         truncation: float | None = None, seed: int = 0) -> "np.ndarray":
  """The uint8 grid of one mode (see the module docstring).

  Raises:
    ValueError: an unknown mode, classes for an unconditional generator, bad sizes.
  """
  from compare_gan2 import sampling  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  try:
    classes = [int(c) for c in classes]
  except ValueError as e:
    raise ValueError(f"--classes must be integer class ids, got {list(classes)}.") from e
  if classes or mode == "classes":
    sampling.check_classes(gen, classes)
  if mode == "classes":
    classes = classes or list(range(min(10, gen.num_classes)))
    return sampling.class_sheet(gen, classes, columns, seed, truncation)
  row_classes = [classes[r % len(classes)] for r in range(rows)] if classes else None
  if mode == "sheet":
    labels = None if row_classes is None else np.repeat(row_classes, columns)
    return sampling.sample_sheet(gen, rows, columns, seed, truncation, labels)
  if mode == "interpolate":
    return sampling.interpolate(gen, steps, rows, seed, interpolation, row_classes,
                                truncation=truncation)
  raise ValueError(f"mode must be one of {MODES}, got {mode!r}.")


def _body() -> None:
  gen = open_generator(_MODEL_DIR.value, _EXPORT_DIR.value, _CHECKPOINT.value,
                       _GIN_BINDINGS.value, not _NO_EMA.value)
  grid = draw(gen, _MODE.value, _ROWS.value, _COLUMNS.value, _CLASSES.value, _STEPS.value,
              _INTERPOLATION.value, _TRUNCATION.value, _SEED.value)
  from compare_gan2 import summaries  # pylint: disable=g-import-not-at-top
  summaries.write_png(os.path.abspath(_OUTPUT.value), grid.astype("float32") / 255.0)
  print(f"Wrote a {_MODE.value} grid of {grid.shape[1]}x{grid.shape[0]} px to {_OUTPUT.value}")


def main(argv: Sequence[str] | None = None) -> int:
  """Writes the PNG; returns 0, 1 with a one-paragraph error, or 2 on bad flags."""
  # GinConfigError is a ValueError too.
  return cli.main("sample", __doc__, FLAGS, argv, _body, required=("output",))


def run() -> None:
  """Console-script entry point."""
  cli.setup_console()
  sys.exit(main())


if __name__ == "__main__":
  run()
