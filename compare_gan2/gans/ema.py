"""Exponential moving average of generator weights (compare_gan `g_use_ema`).

Karras et al. 2018 / Yazıcı et al. 2019; compare_gan `gans/modular_gan.py:498-508`:
after every G update, for each trainable G
weight, shadow ← d·shadow + (1 − d)·w with d = ema_decay once the G step count
reaches ema_start_step and 0 before (so the shadow equals the weights until
then). Non-trainable state (BN statistics, spectral-norm u, accumulators) is not
averaged: the EMA generator takes the raw generator's values.

The shadows live in a second generator of the same architecture, so sampling,
evaluation and export with EMA weights are plain calls of `ema.generator`.
"""

import dataclasses

import keras
import tensorflow as tf

from compare_gan2 import registry


@registry.register(module="compare_gan2.gans")
@dataclasses.dataclass(frozen=True)
class EmaConfig:
  """Attributes:
    decay: decay once started (compare_gan 0.9999).
    start_step: G step from which the decay applies (compare_gan 40000).
  """
  decay: float = 0.9999
  start_step: int = 40000


class GeneratorEma:
  """Keeps an EMA copy of a generator in a twin network of the same class."""

  def __init__(self, generator: keras.Model, config: EmaConfig):
    self.config = config
    self.source = generator
    config = generator.get_config()
    if "batch_norm" in config:
      # get_config stores the norm class by its Keras name, which drops gin's
      # bindings on it (decay, epsilon, standing statistics); the twin must get
      # the very class object the generator got, so its norms are the same.
      config["batch_norm"] = generator.batch_norm
    self.generator = type(generator).from_config(config)

  def build(self) -> None:
    """Creates the twin's weights (from shapes) and copies every value."""
    if not self.source.built:
      raise ValueError("Build the generator before its EMA copy.")
    self.generator.build_variables()
    pairs = list(zip(self.generator.variables, self.source.variables))
    if len(self.generator.variables) != len(self.source.variables) or any(
        a.shape != b.shape for a, b in pairs):
      raise ValueError(f"The EMA twin does not mirror {self.source.name}: both must be "
                       "built from the same configuration.")
    for shadow, weight in pairs:
      shadow.assign(weight)

  def update(self, g_step: tf.Tensor) -> None:
    """One EMA update after a G update; `g_step` counts G updates so far.

    Runs in the cross-replica context (as optimizers apply gradients), since
    the twin's mirrored weights cannot be assigned from a replica.
    """
    tf.distribute.get_replica_context().merge_call(self._update, args=(g_step,))

  def _update(self, strategy: tf.distribute.Strategy, g_step: tf.Tensor) -> None:
    g_step = strategy.experimental_local_results(g_step)[0]
    decay = self.config.decay * tf.cast(g_step >= self.config.start_step, tf.float32)
    trainable = {id(v) for v in self.source.trainable_variables}

    def average(shadow, weight):
      return shadow.assign(decay * shadow + (1.0 - decay) * weight)

    def copy(shadow, weight):
      return shadow.assign(weight)

    for shadow, weight in zip(self.generator.variables, self.source.variables):
      # `.value` is the tf.Variable (a MirroredVariable under a strategy) that
      # `extended.update` applies per device; Keras' wrapper is not one.
      strategy.extended.update(shadow.value, average if id(weight) in trainable else copy,
                               args=(weight.value,))
