"""Training the labeller with the S²L loss, checkpointed and resumable.

Lucic et al. 2019, arXiv 1903.02271, §3.1: F and the classifier are trained
jointly (eq. (2)), on a batch of all train images (rotation term) plus a
batch of labelled ones (class term); the paper's 2048 = 1536 + 512 is the
default 3:1 ratio here. Labelled means label >= 0 after the dataset's
`data.LabelOptions` (`fraction` = k%). The paper trains ResNet-50 v2 (×16,
`pretraining.ResNetV2`) with SGD (lr 0.1·B/256, 5-epoch warm-up, ÷10 at
epochs 45 and 55, 65 epochs): `optimizer = @pretraining.EpochSGD()` and
`epochs = 65` (gin_configs/imagenet128/fewer_labels/labeller_s4l.gin). The
default optimizer is Adam(1e-3), which suits small runs. An epoch is
N // batch_size steps, N the train split's examples.

Resuming: checkpoints `output_dir/checkpoints/ckpt-<step>` hold F, the heads
and the optimizer. The data order is a pure function of (seed, step)
(data.pipeline), so a resumed run continues with the batches of an
uninterrupted one.
"""

import dataclasses
import os

from absl import logging
import keras
import numpy as np
import tensorflow as tf

from compare_gan2 import checkpoints
from compare_gan2 import registry
from compare_gan2.data import base as data_base
from compare_gan2.data import pipeline
from compare_gan2.data import relabel
from compare_gan2.pretraining import model
from compare_gan2.pretraining import schedule

CHECKPOINT_DIR = "checkpoints"


@dataclasses.dataclass
class Trained:
  """What `train_labeller` returns.

  Attributes:
    labeller: the trained model.
    dataset: the dataset it was trained on.
    step: the step reached (== steps).
    history: per logging interval, the mean of each loss/accuracy and "step".
    optimizer: the optimizer trained with (its `iterations` is the step).
  """
  labeller: model.Labeller
  dataset: data_base.Dataset
  step: int
  history: list[dict[str, float]]
  optimizer: keras.optimizers.Optimizer | None = None


def steps_per_epoch(dataset: data_base.Dataset, batch_size: int) -> int | None:
  """N // batch_size (at least 1), N = `dataset.info.num_train_examples`; None if N is unknown.

  N counts every train example before any label filter: an epoch is a pass
  of the rotation stream (all images) over the split.
  """
  examples = dataset.info.num_train_examples
  return None if not examples else max(1, examples // batch_size)


def _total_steps(steps: int | None, epochs: float | None, epoch_steps: int | None) -> int:
  """`steps`, or `epochs` converted to steps; 10,000 when neither is given."""
  if steps is not None and epochs is not None:
    raise ValueError(f"pretraining.train_labeller: give steps ({steps}) or epochs ({epochs}), "
                     f"not both.")
  if epochs is None:
    return 10_000 if steps is None else steps
  if epochs < 0:
    raise ValueError(f"pretraining.train_labeller: epochs must be >= 0, got {epochs}.")
  if epoch_steps is None:
    raise ValueError(f"pretraining.train_labeller: epochs = {epochs} needs the train split's "
                     f"size, which the dataset does not state; give steps instead.")
  return round(epochs * epoch_steps)


def _optimizer(optimizer, batch_size: int, epoch_steps: int | None
               ) -> keras.optimizers.Optimizer:
  """The configured optimizer; an EpochSGD recipe is built for this batch and epoch."""
  if optimizer is None:
    return keras.optimizers.Adam(1e-3)
  if isinstance(optimizer, schedule.EpochSGD):
    return optimizer.make(batch_size, epoch_steps)
  if not isinstance(optimizer, keras.optimizers.Optimizer):
    raise ValueError(f"pretraining.train_labeller.optimizer must be a keras optimizer or "
                     f"@pretraining.EpochSGD(), got {type(optimizer).__name__}.")
  return optimizer


def _length_and_optimizer(dataset: data_base.Dataset, batch_size: int, steps: int | None,
                          epochs: float | None, optimizer
                          ) -> tuple[int, keras.optimizers.Optimizer]:
  """(total steps, optimizer), with epochs converted by the train split's size."""
  epoch_steps = steps_per_epoch(dataset, batch_size)
  return (_total_steps(steps, epochs, epoch_steps),
          _optimizer(optimizer, batch_size, epoch_steps))


def _check(steps: int | None, batch_size: int, labelled_batch_size: int, class_weight: float,
           checkpoint_every: int, log_every: int) -> None:
  if steps is not None and steps < 0:
    raise ValueError(f"pretraining.train_labeller: steps must be >= 0, got {steps}.")
  for name, value in (("checkpoint_every", checkpoint_every), ("log_every", log_every),
                      ("batch_size", batch_size), ("labelled_batch_size", labelled_batch_size)):
    if value < 1:
      raise ValueError(f"pretraining.train_labeller: {name} must be >= 1, got {value}.")
  if class_weight < 0:
    raise ValueError(f"pretraining.train_labeller: class_weight must be >= 0, got {class_weight}.")


def _make_checkpoint(labeller: model.Labeller, optimizer: keras.optimizers.Optimizer
                     ) -> tf.train.Checkpoint:
  """F, both heads and the optimizer (whose `iterations` is the step)."""
  parts = {"features": checkpoints.network_variables(labeller.network),
           "optimizer": optimizer}
  for head in labeller.heads:
    parts[head.name] = checkpoints.network_variables(head)
  return tf.train.Checkpoint(**parts)


def _restore_or_start(labeller: model.Labeller, optimizer: keras.optimizers.Optimizer,
                      output_dir: str) -> tf.train.CheckpointManager:
  """Restores the newest checkpoint of output_dir/checkpoints, if any; returns its manager."""
  optimizer.build(labeller.trainable_variables)  # Slots must exist to be restored.
  checkpoint = _make_checkpoint(labeller, optimizer)
  manager = tf.train.CheckpointManager(checkpoint, os.path.join(output_dir, CHECKPOINT_DIR),
                                       max_to_keep=2, step_counter=optimizer.iterations)
  path = manager.latest_checkpoint
  if path is None:
    return manager
  try:
    checkpoint.restore(path).assert_existing_objects_matched()
  except (AssertionError, ValueError, tf.errors.OpError) as e:
    raise ValueError(f"{path} does not match the configured labeller (feature extractor, "
                     f"classes or optimizer changed?): {str(e).splitlines()[0]}") from e
  logging.info("Resuming the labeller from %s.", path)
  return manager


def _streams(dataset: data_base.Dataset, labelled: bool, batch_size: int,
             labelled_batch_size: int, start_step: int, seed: int):
  """Iterators over all-image batches and (if `labelled`) labelled batches."""
  everything = pipeline.train_dataset(dataset, batch_size, start_step, seed)
  if not labelled:
    return iter(everything), None
  # Its own order (seed + 1): the labelled subset is not a slice of the other stream.
  labelled_only = pipeline.train_dataset(relabel.labelled_only(dataset), labelled_batch_size,
                                         start_step, seed + 1)
  return iter(everything), iter(labelled_only)


def _step_function(labeller: model.Labeller, optimizer: keras.optimizers.Optimizer,
                   class_weight: float, run_eagerly: bool):
  """One optimizer step on the S²L loss, traced once unless `run_eagerly`."""
  variables = labeller.trainable_variables

  def step(images, labelled_images=None, labels=None):
    with tf.GradientTape() as tape:
      values = model.s2l_loss(labeller, images, labelled_images, labels, class_weight)
    gradients = tape.gradient(values["loss"], variables)
    # D's own logit layer is not part of F(x): it has no gradient.
    optimizer.apply_gradients([(g, v) for g, v in zip(gradients, variables) if g is not None])
    return values

  return step if run_eagerly else tf.function(step)


def _loop(step_fn, streams, manager: tf.train.CheckpointManager, steps: range,
          log_every: int, checkpoint_every: int) -> list[dict[str, float]]:
  """Runs `steps`, logging window means and saving checkpoints; returns the logged means."""
  everything, labelled = streams
  history, window = [], []
  for step in steps:
    inputs = [next(everything)["images"]]
    if labelled is not None:
      extra = next(labelled)
      inputs += [extra["images"], extra["labels"]]
    window.append({k: float(v) for k, v in step_fn(*inputs).items()})
    last = step == steps[-1]
    if step % log_every == 0 or last:
      history.append({"step": step, **{k: float(np.mean([w[k] for w in window]))
                                       for k in window[0]}})
      logging.info("pretraining step %d: %s", step, history[-1])
      window = []
    if step % checkpoint_every == 0 or last:
      manager.save(checkpoint_number=step)
  return history


def _num_classes(dataset: data_base.Dataset, class_weight: float) -> int | None:
  """Classes of the class head: the dataset's, unless γ = 0 or no train label is kept."""
  classes = dataset.info.num_classes
  source = dataset.train.source
  if not classes or class_weight == 0:
    return None
  if isinstance(source, data_base.ArraySource) and not (source.labels >= 0).any():
    return None
  return classes


@registry.register(module="compare_gan2.pretraining", denylist=("output_dir",))
def train_labeller(output_dir: str, dataset=registry.REQUIRED, feature_extractor=registry.REQUIRED,
                   steps: int | None = None, batch_size: int = 64,
                   labelled_batch_size: int | None = None, class_weight: float = 0.5,
                   optimizer: keras.optimizers.Optimizer | schedule.EpochSGD | None = None,
                   seed: int = 0, checkpoint_every: int = 1000, log_every: int = 100,
                   run_eagerly: bool = False, epochs: float | None = None) -> Trained:
  """Trains F with c_R (eq. (1)) and, with labels, c_S²L jointly (eq. (2)).

  Args:
    output_dir: checkpoints go to output_dir/checkpoints; resumes from there.
    dataset: a compare_gan2.data dataset; labels >= 0 are the labelled k%.
    feature_extractor: F, a class or instance (`model.make_labeller`).
    steps: optimizer steps in all, a resumed run trains the rest (default 10,000).
    batch_size, labelled_batch_size: images per step, all / labelled (paper 1536 / 512;
      default labelled: batch_size // 3).
    class_weight: γ of eq. (2) (paper: 0.5); 0: rotation only (CLUSTERING).
    optimizer: a keras optimizer or `EpochSGD`; default Adam(1e-3).
    seed: data order (labelled stream: seed + 1).
    checkpoint_every, log_every: steps per checkpoint (one also at the end) / logged mean.
    run_eagerly: do not trace the step (debugging; runs of a few steps).
    epochs: instead of steps, epochs of N // batch_size steps (paper: 65).

  Raises:
    ValueError: bad arguments (epochs of an unknown-size dataset), or a
      checkpoint of another configuration.
  """
  labelled_batch_size = labelled_batch_size or max(1, batch_size // 3)
  _check(steps, batch_size, labelled_batch_size, class_weight, checkpoint_every, log_every)
  steps, optimizer = _length_and_optimizer(dataset, batch_size, steps, epochs, optimizer)
  labeller = model.make_labeller(feature_extractor, dataset.info.image_shape,
                                 _num_classes(dataset, class_weight))
  manager = _restore_or_start(labeller, optimizer, output_dir)
  start = int(optimizer.iterations.numpy())
  if start >= steps:  # Nothing to train: no input pipelines to build.
    return Trained(labeller, dataset, start, [], optimizer)
  streams = _streams(dataset, labeller.class_head is not None, batch_size, labelled_batch_size,
                     start, seed)
  history = _loop(_step_function(labeller, optimizer, class_weight, run_eagerly), streams,
                  manager, range(start + 1, steps + 1), log_every, checkpoint_every)
  return Trained(labeller, dataset, steps, history, optimizer)
