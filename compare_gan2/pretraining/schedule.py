"""The labeller's SGD schedule, in epochs: linear warm-up, then step decay.

Lucic et al. 2019 (arXiv 1903.02271, appendix, "F and its training") train
F with SGD for 65 epochs, learning rate 0.1·B/256 (B = 1536 unlabelled
images per step), linearly warmed up over the first 5 epochs and divided
by 10 at epochs 45 and 55. The form is S⁴L's (Zhai et al. 2019, arXiv
1905.03670; github.com/google-research/s4l/blob/03b98706c78810baff6f49c9d630ff326caf1134/trainer.py,
`get_lr` and `Trainer`): lr(step) = base·step/warmup_steps during the
warm-up, then base·factor^(decays passed); momentum 0.9
(`MomentumOptimizer(momentum=0.9)` there; the paper does not state it).

Epochs become steps through `steps_per_epoch` = N // B, N the train split's
examples (all images, labelled or not), as the reference's
`num_samples // batch_size`. The decay happens once `step` optimizer steps
are done with step >= epoch·steps_per_epoch, i.e. from the first step of
that epoch (the reference's piecewise_constant decays one step later).
"""

import dataclasses
from collections.abc import Sequence

import keras
import tensorflow as tf

from compare_gan2 import registry


class WarmupStepDecay(keras.optimizers.schedules.LearningRateSchedule):
  """lr(step) = base·step/warmup_steps before warmup_steps; then base·factor^#{b <= step}.

  Args:
    base_learning_rate: the rate after warm-up.
    warmup_steps: steps of the linear warm-up from 0 (0: none).
    boundaries: steps at which the rate is multiplied by `decay_factor`.
    decay_factor: 0.1 in the paper.

  Raises:
    ValueError: a negative rate or warm-up, or boundaries not increasing.
  """

  def __init__(self, base_learning_rate: float, warmup_steps: int = 0,
               boundaries: Sequence[int] = (), decay_factor: float = 0.1):
    boundaries = [int(b) for b in boundaries]
    if base_learning_rate < 0 or warmup_steps < 0 or boundaries != sorted(set(boundaries)):
      raise ValueError(f"WarmupStepDecay: base_learning_rate and warmup_steps must be >= 0 "
                       f"and boundaries strictly increasing; got {base_learning_rate}, "
                       f"{warmup_steps}, {boundaries}.")
    self.base_learning_rate = float(base_learning_rate)
    self.warmup_steps = int(warmup_steps)
    self.boundaries = boundaries
    self.decay_factor = float(decay_factor)

  def __call__(self, step) -> tf.Tensor:
    step = tf.cast(step, tf.float32)
    passed = tf.zeros([], tf.float32)
    for boundary in self.boundaries:
      passed += tf.cast(step >= boundary, tf.float32)
    decayed = self.base_learning_rate * tf.pow(self.decay_factor, passed)
    if not self.warmup_steps:
      return decayed
    warm = self.base_learning_rate * step / self.warmup_steps
    return tf.where(step < self.warmup_steps, warm, decayed)

  def get_config(self) -> dict:
    return {"base_learning_rate": self.base_learning_rate, "warmup_steps": self.warmup_steps,
            "boundaries": self.boundaries, "decay_factor": self.decay_factor}


@registry.register(module="compare_gan2.pretraining")
@dataclasses.dataclass(frozen=True)
class EpochSGD:
  """SGD with momentum on a `WarmupStepDecay` given in epochs; built once N is known.

  `pretraining.train_labeller.optimizer = @pretraining.EpochSGD()` makes
  train_labeller call `make(batch_size, steps_per_epoch)`.

  Attributes:
    base_learning_rate, reference_batch_size: the rate after warm-up is
      base_learning_rate · batch_size / reference_batch_size (0.1·B/256).
    warmup_epochs: linear warm-up (5).
    decay_epochs: epochs at which the rate is divided (45, 55).
    decay_factor: the multiplier at each (0.1).
    momentum: SGD momentum (0.9, S⁴L's code).
    nesterov: Nesterov momentum (off in S⁴L).
  """
  base_learning_rate: float = 0.1
  reference_batch_size: int = 256
  warmup_epochs: float = 5
  decay_epochs: tuple[float, ...] = (45, 55)
  decay_factor: float = 0.1
  momentum: float = 0.9
  nesterov: bool = False

  def learning_rate(self, batch_size: int, steps_per_epoch: int | None) -> WarmupStepDecay:
    """The schedule in steps for this batch size and epoch length.

    Raises:
      ValueError: steps_per_epoch unknown (None) or < 1.
    """
    if steps_per_epoch is None or steps_per_epoch < 1:
      raise ValueError(
          f"pretraining.EpochSGD counts epochs, but the train split's size is unknown "
          f"(steps_per_epoch = {steps_per_epoch}): give the dataset a known example count, "
          f"or use a schedule in steps (keras.optimizers.schedules).")
    return WarmupStepDecay(
        self.base_learning_rate * batch_size / self.reference_batch_size,
        warmup_steps=round(self.warmup_epochs * steps_per_epoch),
        boundaries=[round(e * steps_per_epoch) for e in self.decay_epochs],
        decay_factor=self.decay_factor)

  def make(self, batch_size: int, steps_per_epoch: int | None) -> keras.optimizers.SGD:
    """keras SGD on `learning_rate(batch_size, steps_per_epoch)`."""
    return keras.optimizers.SGD(self.learning_rate(batch_size, steps_per_epoch),
                                momentum=self.momentum, nesterov=self.nesterov)
