"""Pre-trained label inference for S2GAN, S3GAN and CLUSTERING (the labeller).

Lucic et al. 2019, "High-Fidelity Image Generation With Fewer Labels",
arXiv 1903.02271, §3.1; compare_gan has none of it (its S3GAN read
externally computed label files). Steps:

1. `train_labeller` (training.py): a feature extractor F (the paper's wide
   ResNet-50 v2, `ResNetV2` in resnet_v2.py, or any compare_gan2
   discriminator, its flattened features) with a 4-way rotation head, eq.
   (1), on all train images, plus a linear class head trained jointly with
   weight γ = 0.5 on the labelled k%, rotated copies included, eq. (2) (S²L).
2. `export_soft_labels` (labelling.py): the class head's logits for every
   train example, [N, num_classes] .npy, for `data.LabelOptions.soft_labels_file`.
3. `cluster` (labelling.py): mini-batch k-means (k = 50) on F(x), int32 [N]
   .npy for `data.cluster_labels`.

`run` does all three as `tools/pretrain_labeller.py` does. Gin (module
compare_gan2.pretraining):

    pretraining.train_labeller.dataset = @data.bundled_mnist()
    data.bundled_mnist.labels = @data.LabelOptions()
    data.LabelOptions.fraction = 0.1
    pretraining.train_labeller.feature_extractor = @resnet_cifar.Discriminator
    pretraining.train_labeller.steps = 5000
    pretraining.cluster.num_clusters = 50
"""

import json
import os
from collections.abc import Callable

from compare_gan2.data import pipeline
from compare_gan2.pretraining import labelling
from compare_gan2.pretraining import model
from compare_gan2.pretraining import resnet_v2
from compare_gan2.pretraining import schedule
from compare_gan2.pretraining import training
from compare_gan2.pretraining.labelling import cluster
from compare_gan2.pretraining.labelling import export_soft_labels
from compare_gan2.pretraining.model import FeatureNetwork  # noqa: F401
from compare_gan2.pretraining.model import Labeller  # noqa: F401
from compare_gan2.pretraining.resnet_v2 import ResNetV2  # noqa: F401
from compare_gan2.pretraining.schedule import EpochSGD  # noqa: F401
from compare_gan2.pretraining.training import Trained  # noqa: F401
from compare_gan2.pretraining.training import train_labeller

TASKS = ("soft_labels", "clusters", "both")
SOFT_LABELS_FILE = "soft_labels.npy"
CLUSTERS_FILE = "clusters.npy"
REPORT_FILE = "report.json"


def run(output_dir: str, task: str = "both", steps: int | None = None, eval_batch_size: int = 256,
        train_fn: Callable[..., Trained] = train_labeller,
        export_fn: Callable[..., None] = export_soft_labels, cluster_fn: Callable = cluster) -> dict:
  """Trains (or resumes) the labeller, evaluates it, writes the label files.

  Args:
    output_dir: checkpoints, label files and report.json go here.
    task: "soft_labels", "clusters" or "both".
    steps: overrides `pretraining.train_labeller.steps` when given.
    eval_batch_size: batch of the held-out evaluation.
    train_fn, export_fn, cluster_fn: the three steps with their configured
      arguments (the tool passes them as gin binds them; this reads no config).

  Returns:
    The record written to output_dir/report.json: the step, the logged losses, the held-out
    accuracies on the eval split (rotation; class when labelled), files written, cluster sizes.

  Raises:
    ValueError: an unknown task, or soft labels without a class head.
  """
  if task not in TASKS:
    raise ValueError(f"task must be one of {TASKS}, got {task!r}.")
  # --steps replaces the configured length, whether given in steps or epochs.
  override = {} if steps is None else {"steps": steps, "epochs": None}
  trained = train_fn(output_dir, **override)
  labeller, dataset = trained.labeller, trained.dataset
  record = {"step": trained.step, "history": trained.history,
            "eval": model.evaluate(labeller, pipeline.eval_input(dataset, eval_batch_size)),
            "num_train_examples": labelling.num_train_examples(dataset),
            "num_classes": labeller.num_classes}
  soft = os.path.join(output_dir, SOFT_LABELS_FILE) if task != "clusters" else None
  if task == "soft_labels":
    export_fn(labeller, dataset, soft)
  else:
    clusters = os.path.join(output_dir, CLUSTERS_FILE)
    record["clusters"] = cluster_fn(labeller, dataset, clusters, logits_path=soft)
  record["soft_labels_file"] = soft
  with open(os.path.join(output_dir, REPORT_FILE), "w") as f:
    f.write(json.dumps(record, indent=2) + "\n")
  return record


__all__ = ["TASKS", "EpochSGD", "FeatureNetwork", "Labeller", "ResNetV2", "Trained",
           "cluster", "export_soft_labels", "run", "train_labeller",
           "training", "labelling", "model", "resnet_v2", "schedule"]
