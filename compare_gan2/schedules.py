"""Learning-rate schedules counted in training steps, bound per optimizer in gin.

A training step is one G update with its `disc_iters` D updates (train_lib).
Keras calls a schedule with its optimizer's `iterations`, which the D
optimizer advances `disc_iters` times per step; each schedule here therefore
maps `iterations` to the training step as `iterations // updates_per_step`,
and `ModularGAN.compile` sets `updates_per_step` (D: disc_iters, G: 1), so
one schedule bound to both optimizers means the same thing for both, and
every D update of a step uses that step's rate (as Tran et al.'s code feeds
one `iteration` to the D and the G update). Each schedule is a pure function
of `iterations`, which checkpoints hold: a resumed run continues the curve
exactly. They are Keras-serialisable (`keras.optimizers.schedules.serialize`).

Bind them in gin on an optimizer's `learning_rate`, e.g. Tran et al.'s
`lr·min(0.5, max(0, 1 − t/T))` with lr = 2e-4 (github.com/tntrung/msgan,
msdistgan.py), a peak of 1e-4 decaying linearly to 0 over the second half:
  D/keras.optimizers.Adam.learning_rate = @D/schedules.LinearDecay()
  D/schedules.LinearDecay.rate = 1e-4
  D/schedules.LinearDecay.start_step = 150000
  D/schedules.LinearDecay.end_step = 300000
Warm-up composes with any schedule: `schedules.LinearWarmup.schedule =
@schedules.LinearDecay()`.

Under mixed_float16 a step the loss scale skips does not advance `iterations`
(precision.py), so the schedule does not advance either.
"""

import numbers
from collections.abc import Sequence
from typing import Any

from absl import logging
import keras
import tensorflow as tf

from compare_gan2 import registry

_MODULE = "compare_gan2.schedules"
_Base = keras.optimizers.schedules.LearningRateSchedule


def _rate(owner: str, name: str, value: Any) -> float:
  if (isinstance(value, bool) or not isinstance(value, numbers.Real)
      or not 0 <= float(value) < float("inf")):
    raise ValueError(f"{owner}: {name} must be a finite number >= 0, got {value!r}.")
  return float(value)


def _step(owner: str, name: str, value: Any, minimum: int = 0) -> int:
  if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
    raise ValueError(f"{owner}: {name} must be an integer >= {minimum}, got {value!r}.")
  return int(value)


class StepSchedule(_Base):
  """Base: `rate(step)` of the training step; maps optimizer iterations to steps."""

  def __init__(self, updates_per_step: int | None = None):
    """Args: updates_per_step: optimizer updates per training step (None: unbound, 1)."""
    if updates_per_step is not None:
      updates_per_step = _step(type(self).__name__, "updates_per_step", updates_per_step, 1)
    self.updates_per_step = updates_per_step

  def __call__(self, iterations: Any) -> tf.Tensor:
    iterations = tf.cast(tf.convert_to_tensor(iterations), tf.int64)
    step = tf.cast(iterations // (self.updates_per_step or 1), tf.float32)
    return tf.cast(self.rate(step), tf.float32)

  def rate(self, step: tf.Tensor) -> tf.Tensor:
    """The rate at training step `step` (a float32 scalar)."""
    raise NotImplementedError  # Abstract: each schedule defines its curve.

  def bind(self, updates_per_step: int, owner: str) -> None:
    """Counts `updates_per_step` optimizer updates as one training step.

    Raises:
      ValueError: naming `owner` if the schedule already counts another number
        (one schedule object shared by optimizers that update at different rates).
    """
    updates_per_step = _step(owner, "updates_per_step", updates_per_step, 1)
    if self.updates_per_step not in (None, updates_per_step):
      raise ValueError(
          f"{owner}: its learning-rate schedule {type(self).__name__} counts "
          f"{self.updates_per_step} optimizer updates per training step, but {owner} makes "
          f"{updates_per_step}. Give each optimizer its own schedule (e.g. scope it: "
          "@D/schedules.LinearDecay()) and do not set updates_per_step yourself.")
    self.updates_per_step = updates_per_step

  def get_config(self) -> dict[str, Any]:
    return {"updates_per_step": self.updates_per_step}


@registry.register(module=_MODULE)
@keras.saving.register_keras_serializable(package="compare_gan2")
class Constant(StepSchedule):
  """`rate` at every step (what a float learning rate gives, as a schedule)."""

  def __init__(self, rate: float, updates_per_step: int | None = None):
    super().__init__(updates_per_step)
    self.value = _rate("Constant", "rate", rate)

  def rate(self, step: tf.Tensor) -> tf.Tensor:
    return tf.fill(tf.shape(step), tf.constant(self.value, tf.float32))

  def get_config(self) -> dict[str, Any]:
    return {**super().get_config(), "rate": self.value}


@registry.register(module=_MODULE)
@keras.saving.register_keras_serializable(package="compare_gan2")
class LinearDecay(StepSchedule):
  """`rate` until `start_step`, then linearly to `final_rate` at `end_step`, then `final_rate`.

  Tran et al. 2019 (arXiv 1911.06997; github.com/tntrung/msgan, msdistgan.py)
  train with lr·min(0.5, max(0, 1 − t/T)): rate = lr/2, start_step = T/2,
  end_step = T, final_rate = 0.
  """

  def __init__(self, rate: float, start_step: int, end_step: int, final_rate: float = 0.0, updates_per_step: int | None = None):
    super().__init__(updates_per_step)
    self.value = _rate("LinearDecay", "rate", rate)
    self.final_rate = _rate("LinearDecay", "final_rate", final_rate)
    self.start_step = _step("LinearDecay", "start_step", start_step)
    self.end_step = _step("LinearDecay", "end_step", end_step)
    if self.end_step <= self.start_step:
      raise ValueError(f"LinearDecay: end_step must be > start_step ({self.start_step}), "
                       f"got {end_step!r}.")

  def rate(self, step: tf.Tensor) -> tf.Tensor:
    span = float(self.end_step - self.start_step)
    done = tf.clip_by_value((step - float(self.start_step)) / span, 0.0, 1.0)
    # (1 − f)·rate + f·final: exactly `rate` before the start and `final_rate` after the end.
    return (1.0 - done) * self.value + done * self.final_rate

  def get_config(self) -> dict[str, Any]:
    return {**super().get_config(), "rate": self.value, "start_step": self.start_step,
            "end_step": self.end_step, "final_rate": self.final_rate}


@registry.register(module=_MODULE)
@keras.saving.register_keras_serializable(package="compare_gan2")
class LinearWarmup(StepSchedule):
  """`schedule` times a factor rising linearly from `initial_factor` at step 0 to 1 at `warmup_steps`.

  Linear warm-up as in Goyal et al. 2017 (arXiv 1706.02677, §2.2); with a
  decaying `schedule` it is warm-up then decay.
  """

  def __init__(self, schedule: StepSchedule, warmup_steps: int, initial_factor: float = 0.0,
               updates_per_step: int | None = None):
    super().__init__(updates_per_step)
    if isinstance(schedule, dict):  # from get_config
      schedule = keras.optimizers.schedules.deserialize(schedule)
    if not isinstance(schedule, StepSchedule):
      raise ValueError("LinearWarmup: schedule must be a compare_gan2.schedules schedule "
                       f"(e.g. @schedules.LinearDecay()), got {schedule!r}.")
    if schedule.updates_per_step is not None:
      raise ValueError("LinearWarmup: set updates_per_step on the warm-up, not on its inner "
                       f"schedule (got {schedule.updates_per_step}).")
    self.schedule = schedule
    self.warmup_steps = _step("LinearWarmup", "warmup_steps", warmup_steps, 1)
    self.initial_factor = _rate("LinearWarmup", "initial_factor", initial_factor)
    if self.initial_factor > 1:
      raise ValueError(f"LinearWarmup: initial_factor must be in [0, 1], got {initial_factor!r}.")

  def rate(self, step: tf.Tensor) -> tf.Tensor:
    done = tf.minimum(step / float(self.warmup_steps), 1.0)
    factor = self.initial_factor + (1.0 - self.initial_factor) * done
    return factor * self.schedule.rate(step)

  def get_config(self) -> dict[str, Any]:
    return {**super().get_config(), "warmup_steps": self.warmup_steps,
            "initial_factor": self.initial_factor,
            "schedule": keras.optimizers.schedules.serialize(self.schedule)}


@registry.register(module=_MODULE)
@keras.saving.register_keras_serializable(package="compare_gan2")
class Steps(StepSchedule):
  """Piecewise constant: `rates[0]` before `boundaries[0]`, `rates[i]` from `boundaries[i-1]` on.

  E.g. rates = [0.1, 0.01, 0.001], boundaries = [45000, 55000]: ÷10 at steps
  45k and 55k. A boundary step takes the new rate (Keras' PiecewiseConstantDecay
  switches one step later).
  """

  def __init__(self, rates: Sequence[float], boundaries: Sequence[int],
               updates_per_step: int | None = None):
    super().__init__(updates_per_step)
    self.rates = [_rate("Steps", f"rates[{i}]", r) for i, r in enumerate(rates)]
    self.boundaries = [_step("Steps", f"boundaries[{i}]", b, 1) for i, b in enumerate(boundaries)]
    if len(self.rates) != len(self.boundaries) + 1:
      raise ValueError(f"Steps: rates needs len(boundaries) + 1 = {len(self.boundaries) + 1} "
                       f"values, got {len(self.rates)}.")
    for i in range(1, len(self.boundaries)):
      if self.boundaries[i] <= self.boundaries[i - 1]:
        raise ValueError(f"Steps: boundaries must increase, got boundaries[{i}] = "
                         f"{self.boundaries[i]} after {self.boundaries[i - 1]}.")

  def rate(self, step: tf.Tensor) -> tf.Tensor:
    passed = tf.reduce_sum(tf.cast(step >= tf.constant(self.boundaries, tf.float32), tf.int32))
    return tf.gather(tf.constant(self.rates, tf.float32), passed)

  def get_config(self) -> dict[str, Any]:
    return {**super().get_config(), "rates": list(self.rates), "boundaries": list(self.boundaries)}


def schedule_of(optimizer: keras.optimizers.Optimizer) -> _Base | None:
  """The LearningRateSchedule an optimizer (or the one a LossScaleOptimizer wraps) uses, if any."""
  inner = getattr(optimizer, "inner_optimizer", optimizer)
  # Keras keeps the schedule object private; `learning_rate` returns its current value.
  schedule = getattr(inner, "_learning_rate", None)
  return schedule if isinstance(schedule, _Base) else None


def bind_to_training_steps(optimizer: keras.optimizers.Optimizer, updates_per_step: int,
                           owner: str) -> None:
  """Makes the optimizer's schedule count training steps: `updates_per_step` updates each.

  A Keras schedule (keras.optimizers.schedules.*) cannot be told: it counts
  updates, so with updates_per_step > 1 it runs that many times faster than
  the training step; that is logged as a warning.

  Raises:
    ValueError: naming `owner` if the schedule already counts another number.
  """
  schedule = schedule_of(optimizer)
  if isinstance(schedule, StepSchedule):
    schedule.bind(updates_per_step, owner)
  elif schedule is not None and updates_per_step > 1:
    logging.warning("%s: its learning-rate schedule %s counts optimizer updates, %d per "
                    "training step; a compare_gan2.schedules schedule counts training steps.",
                    owner, type(schedule).__name__, updates_per_step)
