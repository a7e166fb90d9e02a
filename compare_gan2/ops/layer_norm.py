"""Layer normalization with per-channel parameters, as compare_gan.

compare_gan `architectures/arch_ops.py:448-450`;
used in ResNet discriminator blocks when `layer_norm=True`.
"""

from typing import Any

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="compare_gan2")
class LayerNorm(keras.layers.Layer):
  """Layer norm over every axis but the batch, with per-channel beta and gamma.

  Ba et al. 2016; compare_gan `layer_norm` (arch_ops.py:448-450), i.e.
  tf.contrib.layers.layer_norm with begin_norm_axis=1, begin_params_axis=-1
  and variance epsilon 1e-12. Keras' LayerNormalization(axis=[1, 2, 3]) would
  instead learn [H, W, C] parameters.
  """

  def __init__(self, epsilon: float = 1e-12, **kwargs):
    super().__init__(**kwargs)
    self.epsilon = epsilon

  def build(self, input_shape: tuple) -> None:
    """Creates the weights for inputs of this shape (compare_gan's creation order)."""
    if input_shape[-1] is None:
      raise ValueError(f"{self.name}: channels must be known, got shape {tuple(input_shape)}.")
    shape = (int(input_shape[-1]),)
    self.beta = self.add_weight(name="beta", shape=shape, initializer="zeros")
    self.gamma = self.add_weight(name="gamma", shape=shape, initializer="ones")

  def call(self, inputs: tf.Tensor) -> tf.Tensor:
    """Normalizes each example over H, W and C, then scales and shifts per channel."""
    axes = list(range(1, inputs.shape.rank))
    mean, variance = tf.nn.moments(inputs, axes=axes, keepdims=True)
    return tf.nn.batch_normalization(inputs, mean, variance, offset=self.beta,
                                     scale=self.gamma, variance_epsilon=self.epsilon)

  def compute_output_shape(self, input_shape: tuple) -> tuple:
    """The output shape, without running the layer."""
    return input_shape

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    return {**super().get_config(), "epsilon": self.epsilon}
