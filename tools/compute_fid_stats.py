r"""Computes and caches the real-data features FID, KID and PRD compare against.

    compare_gan2_compute_fid_stats --dataset='@data.cifar10()' \
      [--extractor='@evaluation.InceptionConfig()'] [--num_samples=10000] \
      [--cache_dir=/shared/fid_stats] [--output=cifar10_test.npz] \
      [--gin_config=experiment.gin] [--gin_bindings=...]

Reads the first N images of the dataset's eval split (compare_gan's protocol:
N = `eval_test_samples`, `eval_gan_lib.py:185-191`), runs the extractor
(default: the one `evaluation.Evaluator.extractor` binds, else Inception), and
writes features, logits, labels and TTUR's `mu`/`sigma` to an .npz in the
cache that evaluation reads (evaluation/real_stats.py), so an evaluation job on
a cluster never recomputes them. With --output the file also goes there.
Exit status 1 with a one-paragraph message on bad input or a missing network
(2 for bad flags).
"""

import os
import shutil
import sys
from collections.abc import Sequence

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402
import gin  # noqa: E402

from . import cli  # noqa: E402

# Its own flag registry, not absl's global FLAGS: tools share flag names
# (--gin_config, --batch_size) and may be imported into one process.
FLAGS = flags.FlagValues()
_DATASET = flags.DEFINE_string("dataset", None, "gin reference of the dataset, e.g. "
                               "'@data.cifar10()'; default: train_lib.train.dataset of the gin files.", flag_values=FLAGS)
_EXTRACTOR = flags.DEFINE_string("extractor", None, "gin reference of the feature extractor; "
                                 "default: evaluation.Evaluator.extractor, else Inception.", flag_values=FLAGS)
_NUM_SAMPLES = flags.DEFINE_integer("num_samples", None, "Real images (default eval_test_samples).", flag_values=FLAGS)
_CACHE_DIR = flags.DEFINE_string("cache_dir", None, "Cache directory (default "
                                 "$COMPARE_GAN2_CACHE/real_stats or ~/.cache/compare_gan2/real_stats).", flag_values=FLAGS)
_OUTPUT = flags.DEFINE_string("output", None, "Also copy the .npz here.", flag_values=FLAGS)
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 64, "Images per extractor call.", flag_values=FLAGS)
_GIN_CONFIG = flags.DEFINE_multi_string("gin_config", [], "gin files, applied in order.", flag_values=FLAGS)
_GIN_BINDINGS = flags.DEFINE_multi_string("gin_bindings", [], "One-line gin bindings.", flag_values=FLAGS)


@gin.register("inputs", module="compute_fid_stats")
def _inputs(dataset=None, extractor=None):
  return dataset, extractor


def compute(dataset_ref: str | None, extractor_ref: str | None, num_samples: int | None,
            cache_dir: str | None, gin_files: Sequence[str] = (), bindings: Sequence[str] = (),
            batch_size: int = 64) -> tuple[str, str | None]:
  """Computes (or finds) the cached real statistics; returns (report, file path).

  Raises:
    ValueError: bad gin, no dataset given, a split shorter than N.
    RuntimeError: the extractor's network cannot be loaded.
  """
  from compare_gan2 import configurables  # pylint: disable=g-import-not-at-top
  from compare_gan2.evaluation import inception  # pylint: disable=g-import-not-at-top
  from compare_gan2.evaluation import real_stats  # pylint: disable=g-import-not-at-top
  extra = [f"compute_fid_stats.inputs.{name} = {ref}"
           for name, ref in (("dataset", dataset_ref), ("extractor", extractor_ref)) if ref]
  gin.clear_config()  # the tool owns gin: a second call in one process starts clean
  configurables.parse_experiment_files(gin_files, [*bindings, *extra])
  dataset, config = gin.get_configurable("compute_fid_stats.inputs")()
  dataset = dataset or configurables.bound("train_lib.train.dataset")
  if config is None:
    try:
      config = configurables.bound("evaluation.Evaluator.extractor")
    except ValueError:
      config = inception.InceptionConfig()
  extractor = config.load()
  num = num_samples or dataset.info.eval_test_samples
  stats = real_stats.load_or_compute(dataset, extractor, num, cache_dir, batch_size)
  return (f"{dataset.info.name}: {num} eval images through {extractor.name} -> features "
          f"{stats.features.shape}, logits {stats.logits.shape}\n"
          f"file: {stats.path or '(not cached: see the warning above)'}\n"
          f"note: {extractor.comparable_note}"), stats.path


def _body() -> None:
  report, path = compute(_DATASET.value, _EXTRACTOR.value, _NUM_SAMPLES.value, _CACHE_DIR.value,
                         _GIN_CONFIG.value, _GIN_BINDINGS.value, _BATCH_SIZE.value)
  print(report)
  if _OUTPUT.value and path:
    shutil.copyfile(path, _OUTPUT.value)
    print(f"copied to {_OUTPUT.value}")


def main(argv: Sequence[str] | None = None) -> int:
  """Prints where the statistics are; 1 with a one-paragraph error, 2 on bad flags."""
  # GinConfigError and DataError are ValueErrors, ModelUnavailableError a RuntimeError.
  return cli.main("compute_fid_stats", __doc__, FLAGS, argv, _body,
                  errors=(ValueError, RuntimeError))


def run() -> None:
  """Console-script entry point."""
  cli.setup_console()
  sys.exit(main())


if __name__ == "__main__":
  run()
