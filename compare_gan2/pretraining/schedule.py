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

import keras

from compare_gan2 import registry
from compare_gan2 import schedules


@registry.register(module="compare_gan2.pretraining")
@dataclasses.dataclass(frozen=True)
class EpochSGD:
  """SGD with momentum on a warm-up then step-decay schedule given in epochs; built once N is known.

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

  def learning_rate(self, batch_size: int,
                    steps_per_epoch: int | None) -> schedules.StepSchedule:
    """The schedule in steps for this batch size and epoch length.

    `schedules.Steps` (a boundary step takes the new rate) inside
    `schedules.LinearWarmup` from 0, i.e. S⁴L's base·step/warmup_steps.

    Raises:
      ValueError: steps_per_epoch unknown (None) or < 1.
    """
    if steps_per_epoch is None or steps_per_epoch < 1:
      raise ValueError(
          f"pretraining.EpochSGD counts epochs, but the train split's size is unknown "
          f"(steps_per_epoch = {steps_per_epoch}): give the dataset a known example count, "
          f"or use a schedule in steps (keras.optimizers.schedules).")
    base = self.base_learning_rate * batch_size / self.reference_batch_size
    boundaries = [round(e * steps_per_epoch) for e in self.decay_epochs]
    rates = [base * self.decay_factor ** i for i in range(len(boundaries) + 1)]
    decay = schedules.Steps(rates, boundaries)
    warmup_steps = round(self.warmup_epochs * steps_per_epoch)
    return schedules.LinearWarmup(decay, warmup_steps) if warmup_steps else decay

  def make(self, batch_size: int, steps_per_epoch: int | None) -> keras.optimizers.SGD:
    """keras SGD on `learning_rate(batch_size, steps_per_epoch)`."""
    return keras.optimizers.SGD(self.learning_rate(batch_size, steps_per_epoch),
                                momentum=self.momentum, nesterov=self.nesterov)
