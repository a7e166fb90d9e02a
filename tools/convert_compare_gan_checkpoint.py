r"""Converts a compare_gan TF1 checkpoint or TF-Hub generator module to compare_gan2.

    python -m tools.convert_compare_gan_checkpoint \
      --tf1_checkpoint=/old/run/model.ckpt-40000 [--include_optimizer] \
      --gin_config=gin_configs/cifar10/resnet_cifar.gin [--gin_bindings='...'] \
      --model_dir=/tmp/converted [--allow_partial] [--overwrite] [--verbose]
    python -m tools.convert_compare_gan_checkpoint --hub_module=/old/run/tfhub/40000 \
      --gin_config=... --model_dir=/tmp/converted

The gin config describes the experiment that produced the checkpoint, in
compare_gan2's configurables (the runner's --gin_config/--gin_bindings); it
builds the GAN the values go into. --tf1_checkpoint is a `model.ckpt-<step>`
prefix or a compare_gan model_dir (its newest checkpoint). Every shape is
checked; missing variables refuse the conversion unless --allow_partial (they
keep their initial values). The result is model_dir/ckpt-<G step> plus
model_dir/operative_config.gin: the runner resumes it (with the same
--gin_config), and evaluation, tools.sample and tools.export_generator read
it. --include_optimizer also converts the Adam slots (compare_gan's
`<var>/d_opt`, `<var>/d_opt_1`, `<var>/g_opt`, `<var>/g_opt_1`, or whatever
optimizer name the checkpoint's slots carry, e.g. `<var>/Adam`); convert with
it to resume training (see compare_gan2/migration/checkpoint.py). A hub module gives
the generator (and EMA twin) only, at step 0. A model_dir that has checkpoints
is refused unless --overwrite (which deletes them). Errors exit with status 1
and a one-paragraph message (2 for bad flags).
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
  from compare_gan2.migration import checkpoint as migration

# Its own flag registry, not absl's global FLAGS: tools share flag names
# (--model_dir, --gin_bindings), and tests import several into one process.
FLAGS = flags.FlagValues()
_TF1_CHECKPOINT = flags.DEFINE_string(
    "tf1_checkpoint", None, "A compare_gan checkpoint prefix or model_dir (or --hub_module).",
    flag_values=FLAGS)
_HUB_MODULE = flags.DEFINE_string("hub_module", None, "A compare_gan TF-Hub module directory.",
                                  flag_values=FLAGS)
_GIN_CONFIG = flags.DEFINE_multi_string(
    "gin_config", [], "gin file of the experiment that made the checkpoint (repeatable).",
    flag_values=FLAGS)
_GIN_BINDINGS = flags.DEFINE_multi_string("gin_bindings", [], "One-line gin bindings.",
                                          flag_values=FLAGS)
_MODEL_DIR = flags.DEFINE_string("model_dir", None, "Where to write the compare_gan2 checkpoint.",
                                 flag_values=FLAGS)
_INCLUDE_OPTIMIZER = flags.DEFINE_bool(
    "include_optimizer", False, "Also convert the Adam slots (needed to resume training).",
    flag_values=FLAGS)
_ALLOW_PARTIAL = flags.DEFINE_bool(
    "allow_partial", False, "Convert even if variables are missing.", flag_values=FLAGS)
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace model_dir's checkpoints.",
                               flag_values=FLAGS)
_VERBOSE = flags.DEFINE_bool(
    "verbose", False, "List every mapped variable; also shows TensorFlow's start-up and "
    "library log lines (hidden by default, see docs/usage.md 'Console output').", flag_values=FLAGS)


def convert(model_dir: str, gin_configs: Sequence[str], bindings: Sequence[str] = (),
            tf1_checkpoint: str | None = None, hub_module: str | None = None,
            include_optimizer: bool = False, allow_partial: bool = False,
            overwrite: bool = False) -> tuple["migration.Report", str]:
  """Builds the configured GAN, converts the source into it and writes the checkpoint.

  Returns:
    (the conversion report, the written checkpoint's path).

  Raises:
    ValueError: bad gin, a source that does not fit the GAN, or a model_dir
      with checkpoints and not overwrite.
  """
  import gin  # pylint: disable=g-import-not-at-top
  from compare_gan2 import configurables  # pylint: disable=g-import-not-at-top
  from compare_gan2 import experiment  # pylint: disable=g-import-not-at-top
  from compare_gan2.migration import checkpoint as migration  # pylint: disable=g-import-not-at-top
  _check_sources(tf1_checkpoint, hub_module, include_optimizer)
  migration.check_model_dir(model_dir, overwrite)  # before the minutes a large GAN takes to build
  gin.clear_config()  # the tool owns gin: each call starts from the given config
  configurables.parse_experiment_files(gin_configs, bindings, finalize=False)
  gan = configurables.build_experiment(with_dataset=False).gan
  if tf1_checkpoint:
    report = migration.convert_checkpoint(tf1_checkpoint, gan, include_optimizer=include_optimizer,
                                          allow_partial=allow_partial)
  else:
    report = migration.convert_hub_module(hub_module, gan, allow_partial=allow_partial)
  path = migration.write(gan, model_dir, overwrite=overwrite)
  # The whole config, not gin's operative one: that lists only what building the
  # GAN used, and evaluation also needs the dataset and training bindings.
  with open(os.path.join(model_dir, experiment.OPERATIVE_CONFIG), "w") as f:
    f.write(gin.config_str())
  return report, path


def _check_sources(tf1_checkpoint: str | None, hub_module: str | None,
                   include_optimizer: bool) -> None:
  if bool(tf1_checkpoint) == bool(hub_module):
    raise ValueError("Give exactly one source: --tf1_checkpoint or --hub_module; got "
                     f"{'both' if tf1_checkpoint else 'neither'}.")
  if hub_module and include_optimizer:
    raise ValueError("--include_optimizer applies to --tf1_checkpoint: a hub module has no "
                     "optimizer state.")


def _body() -> None:
  report, path = convert(_MODEL_DIR.value, _GIN_CONFIG.value, _GIN_BINDINGS.value,
                         _TF1_CHECKPOINT.value, _HUB_MODULE.value, _INCLUDE_OPTIMIZER.value,
                         _ALLOW_PARTIAL.value, _OVERWRITE.value)
  print(report.summary(verbose=_VERBOSE.value))
  print(f"Wrote {path} (G step {report.g_step}) and its operative_config.gin.")


def main(argv: Sequence[str] | None = None) -> int:
  """Converts; returns 0, 1 with a one-paragraph error, or 2 on bad flags."""
  # GinConfigError is a ValueError too.
  return cli.main("convert_compare_gan_checkpoint", __doc__, FLAGS, argv, _body,
                  required=("model_dir", "gin_config"),
                  check=lambda: _check_sources(_TF1_CHECKPOINT.value, _HUB_MODULE.value,
                                               _INCLUDE_OPTIMIZER.value))


def run() -> None:
  """Console-script entry point."""
  cli.setup_console()
  sys.exit(main())


if __name__ == "__main__":
  run()
