"""ResNet-50 v2 with a width multiplier: the labeller's feature extractor F of the paper.

Lucic et al. 2019 (arXiv 1903.02271, §3.1 and appendix) train F as a "wide
ResNet-50 v2 (width ×16)" with the S⁴L loss of Zhai et al. 2019 (arXiv
1905.03670); CLUSTERING clusters the features of the rotation models of
Kolesnikov et al. 2019 (arXiv 1901.09005). Both papers' code defines the
width the same way (`resnet(..., filters_factor)` in
github.com/google-research/s4l/blob/03b98706c78810baff6f49c9d630ff326caf1134/models/resnet.py,
identical in github.com/google/revisiting-self-supervised models/resnet.py):

- root: 7×7/2 convolution with 16·w channels, then 3×3/2 max-pooling (no
  normalization before the first unit: pre-activation, "v2");
- blocks 1-4 of [3, 4, 6, 3] bottleneck units with 64·w·2^i output channels
  and 16·w·2^i inside (the 1×1 → 3×3 → 1×1 "middle"), stride 2 in the 3×3
  convolution of the first unit of blocks 2-4;
- every unit is BN → ReLU → conv three times; the shortcut is a 1×1
  convolution of the pre-activation when the stride or width changes;
- a final BN → ReLU and a global mean over H and W: F(x) has 512·w features.

w = `filters_factor`; the standard ResNet-50 is w = 4 (root 64 channels,
2048 features), so the paper's "×16" is w = 16: 8192 features. Convolutions
have no bias; padding is the code's `fixed_padding` (pad (k-1)//2 before,
the rest after, then VALID), so odd sizes shrink as there. Images in [0, 1]
are mapped to [-1, 1], the S⁴L preprocessing (`-1_to_1`). BN is Keras'
(momentum 0.99, ε 1e-3: `tf.layers.batch_normalization`'s defaults).

Weight decay is the code's L2 penalty in the loss (`l2_regularizer(scale =
weight_decay)` on every convolution kernel, i.e. weight_decay · Σ‖K‖²/2,
added before SGD with momentum), not Keras' decoupled `weight_decay`, which
differs under momentum; `regularization_loss` returns it.
"""

from collections.abc import Sequence

import keras
import tensorflow as tf

from compare_gan2 import registry
from compare_gan2.pretraining import model

RESNET50_UNITS = (3, 4, 6, 3)


def _conv(filters: int, kernel: int, strides: int, name: str) -> keras.layers.Conv2D:
  # VALID after explicit padding: TF's SAME pads a stride-2 convolution on the
  # other side, which would shift every feature map against the reference.
  return keras.layers.Conv2D(filters, kernel, strides, padding="valid", use_bias=False,
                             kernel_initializer="glorot_uniform", name=name)


def _pad(x: tf.Tensor, kernel: int) -> tf.Tensor:
  """The reference's fixed_padding: (k-1)//2 zeros before, the rest after, on H and W."""
  before = (kernel - 1) // 2
  after = kernel - 1 - before
  return tf.pad(x, [[0, 0], [before, after], [before, after], [0, 0]])


def _bn(name: str) -> keras.layers.BatchNormalization:
  return keras.layers.BatchNormalization(momentum=0.99, epsilon=1e-3, name=name)


class BottleneckV2(keras.layers.Layer):
  """One pre-activation bottleneck unit (reference `bottleneck_v2`, groups = 1)."""

  def __init__(self, filters: int, strides: int, **kwargs):
    super().__init__(**kwargs)
    self.filters, self.strides = filters, strides
    middle = filters // 4
    self.bn_a, self.bn_b, self.bn_c = _bn("bn_a"), _bn("bn_b"), _bn("bn_c")
    self.conv_a = _conv(middle, 1, 1, "conv_a")
    self.conv_b = _conv(middle, 3, strides, "conv_b")
    self.conv_c = _conv(filters, 1, 1, "conv_c")
    self.proj = None

  def build(self, input_shape: Sequence[int | None]) -> None:
    channels = input_shape[-1]
    if self.strides > 1 or channels != self.filters:
      self.proj = _conv(self.filters, 1, self.strides, "proj")
      self.proj.build(input_shape)
    self.bn_a.build(input_shape)
    self.conv_a.build(input_shape)
    middle_shape = (*input_shape[:-1], self.filters // 4)
    self.bn_b.build(middle_shape)
    padded = [None if n is None else n + 2 for n in input_shape[1:3]]
    self.conv_b.build((input_shape[0], *padded, self.filters // 4))
    out_shape = self.compute_output_shape(input_shape)
    self.bn_c.build((*out_shape[:-1], self.filters // 4))
    self.conv_c.build((*out_shape[:-1], self.filters // 4))

  def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple:
    """[N, ceil(H / s), ceil(W / s), filters] (fixed padding, then VALID)."""
    def size(n):
      return None if n is None else -(-n // self.strides)
    return (input_shape[0], size(input_shape[1]), size(input_shape[2]), self.filters)

  def call(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
    preact = tf.nn.relu(self.bn_a(x, training=training))
    shortcut = x if self.proj is None else self.proj(preact)
    h = self.conv_a(preact)
    h = self.conv_b(_pad(tf.nn.relu(self.bn_b(h, training=training)), 3))
    h = self.conv_c(tf.nn.relu(self.bn_c(h, training=training)))
    return h + shortcut


def feature_width(filters_factor: int) -> int:
  """F(x)'s width: the last block's 64·w·2³ = 512·w channels."""
  return 512 * filters_factor


class ResNetV2(model.FeatureNetwork):
  """Pre-activation bottleneck ResNet (v2) with width multiplier w; F(x) = [N, 512·w].

  Args:
    image_shape: (H, W, C) of the dataset's images (values in [0, 1]).
    filters_factor: w; 4 is the standard ResNet-50, 16 the paper's (×16).
    units: bottleneck units per block; ResNet-50's (3, 4, 6, 3).
    weight_decay: the L2 coefficient of `regularization_loss`.
    name: Keras name.

  Raises:
    ValueError: a non-positive width or unit count, or a negative weight decay.
  """

  def __init__(self, image_shape: Sequence[int] = (128, 128, 3), filters_factor: int = 16,
               units: Sequence[int] = RESNET50_UNITS, weight_decay: float = 1e-4,
               name: str = "resnet_v2", **kwargs):
    super().__init__(image_shape=image_shape, name=name, **kwargs)
    units = tuple(int(u) for u in units)
    if filters_factor < 1 or len(units) != 4 or min(units) < 1 or weight_decay < 0:
      raise ValueError(f"ResNetV2: filters_factor must be >= 1, units 4 counts >= 1 and "
                       f"weight_decay >= 0; got {filters_factor}, {units}, {weight_decay}.")
    self.filters_factor, self.units, self.weight_decay = filters_factor, units, weight_decay
    self.root = _conv(16 * filters_factor, 7, 2, "root_conv")
    self.blocks = []
    for b, count in enumerate(units):
      filters = 64 * filters_factor * 2 ** b
      self.blocks += [BottleneckV2(filters, 2 if (b > 0 and u == 0) else 1,
                                   name=f"block{b + 1}_unit{u + 1}") for u in range(count)]
    self.final_bn = _bn("final_bn")

  @property
  def feature_dim(self) -> int:
    """512·w."""
    return feature_width(self.filters_factor)

  def build(self, input_shape: Sequence[int | None]) -> None:
    """Builds every layer from the image shape, without running the network."""
    shape = tuple(input_shape)
    padded = (shape[0], shape[1] + 6, shape[2] + 6, shape[3])
    self.root.build(padded)
    shape = self.root.compute_output_shape(padded)
    # 3×3/2 max-pooling after fixed padding: (n + 2 - 3) // 2 + 1.
    shape = (shape[0], (shape[1] - 1) // 2 + 1, (shape[2] - 1) // 2 + 1, shape[3])
    for unit in self.blocks:
      unit.build(shape)
      shape = unit.compute_output_shape(shape)
    self.final_bn.build(shape)
    self.built = True

  def call(self, images: tf.Tensor, training: bool = False) -> tf.Tensor:
    net = self.root(_pad(images * 2.0 - 1.0, 7))
    # Zero padding before the max: the root convolution's outputs are signed,
    # so this is the reference's pooling, not Keras' SAME (which ignores the pad).
    net = tf.nn.max_pool2d(_pad(net, 3), 3, 2, "VALID")
    for unit in self.blocks:
      net = unit(net, training=training)
    net = tf.nn.relu(self.final_bn(net, training=training))
    return tf.reduce_mean(net, axis=[1, 2])

  def regularization_loss(self) -> tf.Tensor:
    """weight_decay · Σ‖K‖²/2 over every convolution kernel (reference l2_regularizer)."""
    kernels = [v for v in self.trainable_variables if v.path.endswith("kernel")]
    return self.weight_decay * tf.add_n([tf.nn.l2_loss(k) for k in kernels])

  def get_config(self) -> dict:
    return {**super().get_config(), "filters_factor": self.filters_factor,
            "units": self.units, "weight_decay": self.weight_decay}


# A Keras class: gin's wrapper is a dynamic subclass (registry.register_external).
registry.register_external(ResNetV2, module="compare_gan2.pretraining")
