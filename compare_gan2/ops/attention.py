"""The non-local (self-attention) block exactly as compare_gan builds it.

Zhang et al. 2019, "Self-Attention GANs" §3 (eq. 1-3); Wang et al. 2018,
"Non-local Neural Networks". compare_gan `architectures/arch_ops.py:709-758`:

    theta = conv1x1(x, C/8)                        # queries, every position
    phi   = maxpool2x2(conv1x1(x, C/8))            # keys, hw/4 positions
    g     = maxpool2x2(conv1x1(x, C/2))            # values, hw/4 positions
    attn  = softmax(theta · phiᵀ)                  # [B, hw, hw/4]
    o     = conv1x1(reshape(attn · g), C)
    return x + sigma · o                           # sigma starts at 0

All four convolutions are bias-free and honour spectral norm; their kernels
come from the configured initializer. Parameters: C²/8·2 + C²/2 + 1 + C²/2.
"""

from typing import Any

import keras
import tensorflow as tf

from compare_gan2.ops import layers


@keras.saving.register_keras_serializable(package="compare_gan2")
class NonLocalBlock(keras.layers.Layer):
  """SAGAN self-attention with compare_gan's channel reductions and pooling."""

  def __init__(self, spectral_norm: layers.SpectralNormArg = False,
               kernel_initializer: Any = None, **kwargs):
    kwargs.setdefault("name", "non_local_block")
    super().__init__(**kwargs)
    self.spectral_norm = layers.sn.SpectralNormConfig.resolve(spectral_norm)
    self.kernel_initializer = (None if kernel_initializer is None
                               else keras.initializers.get(kernel_initializer))

  def _conv1x1(self, filters: int, name: str) -> layers.Conv2D:
    # Each Conv2D clones the initializer, so the four kernels start independent.
    return layers.Conv2D(filters, 1, use_bias=False, spectral_norm=self.spectral_norm,
                         kernel_initializer=self.kernel_initializer, name=name)

  def build(self, input_shape: tuple) -> None:
    """Creates the weights for inputs of this shape (compare_gan's creation order)."""
    if len(input_shape) != 4 or None in input_shape[1:]:
      raise ValueError(f"{self.name}: expected NHWC input with static H, W and C, "
                       f"got shape {tuple(input_shape)}.")
    _, height, width, channels = input_shape
    if channels < 8 or height % 2 or width % 2:
      raise ValueError(f"{self.name}: needs C >= 8 and even H and W (C/8 queries, 2x2 "
                       f"pooled keys), got shape {tuple(input_shape)}.")
    self.theta = self._conv1x1(channels // 8, "conv2d_theta")
    self.phi = self._conv1x1(channels // 8, "conv2d_phi")
    self.g = self._conv1x1(channels // 2, "conv2d_g")
    for conv in (self.theta, self.phi, self.g):
      conv.build(input_shape)
    # compare_gan creates sigma between conv2d_g and conv2d_attn_g.
    self.sigma = self.add_weight(name="sigma", shape=(), initializer="zeros")
    self.attn_g = self._conv1x1(channels, "conv2d_attn_g")
    self.attn_g.build((input_shape[0], height, width, channels // 2))

  def call(self, inputs: tf.Tensor, training: bool = False) -> tf.Tensor:
    """x + sigma · attention output (module docstring)."""
    _, height, width, channels = inputs.shape
    positions, pooled = height * width, height * width // 4

    def pooled_features(conv, depth):
      features = tf.nn.max_pool2d(conv(inputs, training=training), 2, 2, "VALID")
      return tf.reshape(features, [-1, pooled, depth])

    theta = tf.reshape(self.theta(inputs, training=training), [-1, positions, channels // 8])
    phi = pooled_features(self.phi, channels // 8)
    attention = tf.nn.softmax(tf.matmul(theta, phi, transpose_b=True))
    g = pooled_features(self.g, channels // 2)
    attn_g = tf.reshape(tf.matmul(attention, g), [-1, height, width, channels // 2])
    return inputs + self.sigma * self.attn_g(attn_g, training=training)

  def compute_output_shape(self, input_shape: tuple) -> tuple:
    """The output shape, without running the layer."""
    return input_shape

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    return {**super().get_config(),
            "spectral_norm": self.spectral_norm.to_dict() if self.spectral_norm else False,
            "kernel_initializer": (keras.initializers.serialize(self.kernel_initializer)
                                   if self.kernel_initializer is not None else None)}
