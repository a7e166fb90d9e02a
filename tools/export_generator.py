r"""Exports a training run's generator, from any checkpoint, as a SavedModel.

    python -m tools.export_generator --model_dir=/tmp/run \
      [--checkpoint=1200 | --checkpoint=/tmp/run/ckpt-1200] \
      [--export_dir=/tmp/run/export/1200] [--no_ema] [--overwrite] \
      [--gin_bindings='...']

The GAN is rebuilt from model_dir/operative_config.gin (plus --gin_bindings),
the checkpoint (default: the newest) restored, and the generator written with
compare_gan2.export.export_generator: the EMA weights when the run keeps them
(compare_gan exported those, `gans/modular_gan.py:225-306`) unless --no_ema. The
default export_dir is model_dir/export/<step> (compare_gan: model_dir/tfhub/<step>).
Load it with `compare_gan2.export.load_generator`, `tf.saved_model.load` or
`tensorflow_hub.load`. Errors exit with status 1 and a one-paragraph message
(2 for bad flags).
"""

import os
import sys
from collections.abc import Sequence

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from . import cli  # noqa: E402

# Its own flag registry, not absl's global FLAGS: tools share flag names
# (--model_dir, --gin_bindings), and tests import several into one process.
FLAGS = flags.FlagValues()
_MODEL_DIR = flags.DEFINE_string("model_dir", None, "The training run's directory.",
                                 flag_values=FLAGS)
_CHECKPOINT = flags.DEFINE_string(
    "checkpoint", None, "A G step or checkpoint path (default: the newest checkpoint).",
    flag_values=FLAGS)
_EXPORT_DIR = flags.DEFINE_string(
    "export_dir", None, "Where to write the SavedModel (default: model_dir/export/<step>).",
    flag_values=FLAGS)
_GIN_BINDINGS = flags.DEFINE_multi_string(
    "gin_bindings", [], "One-line gin bindings applied after the run's operative config.",
    flag_values=FLAGS)
_NO_EMA = flags.DEFINE_bool("no_ema", False, "Export the raw generator weights, not the EMA.",
                            flag_values=FLAGS)
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace an existing non-empty export_dir.",
                               flag_values=FLAGS)


def export_run(model_dir: str, export_dir: str | None = None, checkpoint: str | None = None,
               bindings: Sequence[str] = (), use_ema: bool = True,
               overwrite: bool = False) -> tuple[int, str]:
  """Restores a run's checkpoint and exports its generator.

  Returns:
    (the exported G step, the export directory).

  Raises:
    ValueError: no such run or checkpoint, bad gin, or an existing export.
  """
  import gin  # pylint: disable=g-import-not-at-top
  from compare_gan2 import configurables  # pylint: disable=g-import-not-at-top
  from compare_gan2 import experiment  # pylint: disable=g-import-not-at-top
  from compare_gan2 import export  # pylint: disable=g-import-not-at-top
  if export_dir:  # fail before the minutes a large GAN takes to build
    export.check_export_dir(export_dir, overwrite)
  gin.clear_config()  # the tool owns gin: each call starts from the run's own config
  configurables.parse_experiment_files([experiment.operative_config_path(model_dir)], bindings)
  exp = configurables.build_experiment(with_dataset=False)
  gan, step = export.restore_gan(exp, model_dir, checkpoint)
  export_dir = export_dir or os.path.join(model_dir, "export", str(step))
  export.export_generator(gan, export_dir, use_ema=use_ema, overwrite=overwrite)
  return step, export_dir


def _body() -> None:
  step, path = export_run(_MODEL_DIR.value, _EXPORT_DIR.value, _CHECKPOINT.value,
                          _GIN_BINDINGS.value, not _NO_EMA.value, _OVERWRITE.value)
  print(f"Exported the generator of step {step} to {path}")


def main(argv: Sequence[str] | None = None) -> int:
  """Exports; returns 0, 1 with a one-paragraph error, or 2 on bad flags."""
  # GinConfigError is a ValueError too.
  return cli.main("export_generator", __doc__, FLAGS, argv, _body, required=("model_dir",))


def run() -> None:
  """Console-script entry point."""
  cli.setup_console()
  sys.exit(main())


if __name__ == "__main__":
  run()
