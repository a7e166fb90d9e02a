r"""Pre-trains the S²L labeller and writes soft labels and/or k-means cluster labels.

    python -m tools.pretrain_labeller --output_dir=/tmp/labeller \
      --gin_config=labeller.gin --task=both [--steps=5000] \
      [--gin_bindings='pretraining.cluster.num_clusters = 50']

Lucic et al. 2019, "High-Fidelity Image Generation With Fewer Labels"
(arXiv 1903.02271, §3.1): trains a feature extractor F with rotation
self-supervision (eq. (1)) and, on the labelled k% of the dataset, a linear
classifier jointly with weight γ = 0.5 (eq. (2)); then writes, in
--output_dir:
  soft_labels.npy  the classifier's logits [N, num_classes] (tasks
                   soft_labels, both): S2GAN (LabelOptions.soft_labels_file +
                   labels_from_soft) and S2GAN +SOFT;
  clusters.npy     mini-batch k-means ids [N] on F(x) (tasks clusters, both),
                   with clusters_centers.npy and clusters.json (sizes):
                   CLUSTERING via data.cluster_labels;
  report.json      losses, held-out rotation and class accuracy (eval split);
  checkpoints/     F's training, resumed by rerunning the same command.
Row c of each file is train example c (its canonical index).

Everything else is gin (compare_gan2.pretraining):
`pretraining.train_labeller.dataset`, `.feature_extractor` (the paper's
@pretraining.ResNetV2, or a discriminator class, e.g.
@resnet_cifar.Discriminator), `.steps` or `.epochs`, `.batch_size`,
`.labelled_batch_size`, `.class_weight` (γ; 0 for rotation-only features as
CLUSTERING uses), `.optimizer` (a keras optimizer, or
@pretraining.EpochSGD() for the paper's SGD schedule in epochs); shipped:
gin_configs/imagenet128/fewer_labels/labeller_s4l.gin (S2GAN's labeller) and
labeller_rotation.gin (CLUSTERING);
`pretraining.cluster.num_clusters` (k, default 50). --steps overrides
`pretraining.train_labeller.steps` and `.epochs`. A bad flag exits with
status 2, a bad config or input with status 1 and a one-paragraph message.
"""

import os
import sys
from collections.abc import Sequence

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from . import cli  # noqa: E402

TASKS = ("soft_labels", "clusters", "both")  # compare_gan2.pretraining.TASKS, without importing TF
# Its own flag registry, not absl's global FLAGS: tools share flag names
# (--gin_config, --gin_bindings), and tests import several into one process.
FLAGS = flags.FlagValues()
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Where checkpoints and label files go.",
                                  flag_values=FLAGS)
_GIN_CONFIG = flags.DEFINE_multi_string("gin_config", [], "gin files, applied in order.",
                                        flag_values=FLAGS)
_GIN_BINDINGS = flags.DEFINE_multi_string("gin_bindings", [], "One-line gin bindings.",
                                          flag_values=FLAGS)
_TASK = flags.DEFINE_enum("task", "both", TASKS, "Which label files to write.", flag_values=FLAGS)
_STEPS = flags.DEFINE_integer(
    "steps", None, "Training steps (overrides pretraining.train_labeller.steps).",
    flag_values=FLAGS)


def _check_flags() -> None:
  # Before TensorFlow is imported, so a bad value fails at once.
  if _STEPS.value is not None and _STEPS.value < 0:
    raise ValueError(f"--steps must be >= 0, got {_STEPS.value}.")


def pretrain(output_dir: str, gin_files: Sequence[str] = (), bindings: Sequence[str] = (),
             task: str = "both", steps: int | None = None) -> dict:
  """Parses gin, trains (or resumes), writes the files and the operative config.

  Returns:
    The record of output_dir/report.json (`compare_gan2.pretraining.run`).

  Raises:
    compare_gan2.configurables.GinConfigError: a bad gin file, name or binding.
    ValueError: bad input (dataset files, a checkpoint of another configuration).
  """
  import gin  # pylint: disable=g-import-not-at-top
  from compare_gan2 import configurables  # pylint: disable=g-import-not-at-top
  from compare_gan2 import pretraining  # pylint: disable=g-import-not-at-top
  configurables.parse_experiment_files(gin_files, bindings)
  os.makedirs(output_dir, exist_ok=True)
  # The steps as the config binds them: the library reads no gin.
  record = pretraining.run(output_dir, task, steps,
                           train_fn=gin.get_configurable(pretraining.train_labeller),
                           export_fn=gin.get_configurable(pretraining.export_soft_labels),
                           cluster_fn=gin.get_configurable(pretraining.cluster))
  with open(os.path.join(output_dir, "operative_config.gin"), "w") as f:
    f.write(gin.operative_config_str())
  return record


def _summary(record: dict, output_dir: str) -> str:
  evaluation = record["eval"]
  lines = [f"step {record['step']}: held-out rotation accuracy "
           f"{evaluation['rotation_accuracy']:.4f} on {evaluation['examples']} eval images"]
  if "class_accuracy" in evaluation:
    lines.append(f"held-out class accuracy {evaluation['class_accuracy']:.4f} on "
                 f"{evaluation['labelled_examples']} labelled eval images")
  if record.get("soft_labels_file"):
    lines.append(f"wrote {record['soft_labels_file']}")
  if "clusters" in record:
    lines.append(f"wrote {record['clusters']['labels_file']} "
                 f"(k = {record['clusters']['num_clusters']})")
  lines.append(f"report: {os.path.join(output_dir, 'report.json')}")
  return "\n".join(lines)


def _body() -> None:
  record = pretrain(_OUTPUT_DIR.value, _GIN_CONFIG.value, _GIN_BINDINGS.value, _TASK.value,
                    _STEPS.value)
  print(_summary(record, _OUTPUT_DIR.value))


def main(argv: Sequence[str] | None = None) -> int:
  """Pre-trains and prints the report; 1 with a one-line error, 2 on bad flags."""
  return cli.main("pretrain_labeller", __doc__, FLAGS, argv, _body, required=("output_dir",),
                  check=_check_flags)


def run() -> None:
  """Console-script entry point."""
  cli.setup_console()
  sys.exit(main())


if __name__ == "__main__":
  run()
