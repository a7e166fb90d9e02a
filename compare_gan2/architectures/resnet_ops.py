"""Resampling used by every ResNet family (compare_gan `resnet_ops.py`).

- `unpool`: zero-insertion 2x upsampling (Dosovitskiy et al. 2015), the only
  upsampling compare_gan's ResNets use: pixel (i, j) lands at (2i, 2j) and the
  other three cells of each 2x2 block are 0 (compare_gan
  resnet_ops.py:35-56). Keras' UpSampling2D (nearest neighbour) is not equivalent.
- `downsample`: 2x2 average pooling, stride 2, "SAME" padding (compare_gan resnet_ops.py).
- `ResampledConv`: compare_gan's `_get_conv` (resnet_ops.py:112-134): "up"
  unpools then convolves, "down" convolves then pools, "none" convolves. The
  layer is named `{up|down|same}_{suffix}` as compare_gan names its scope.
  "up" runs as `unpool_conv`, a stride-2 transposed convolution that skips the
  products with the inserted zeros (the same sums in 1/4 of the FLOPs), and
  "down" as `conv_downsample`, one stride-2 convolution (2.25x fewer FLOPs for
  3x3, 4x fewer for 1x1). Both are exact up to float summation order.
"""

from typing import Any

import keras
import tensorflow as tf

from compare_gan2.ops import layers

SCALES = ("up", "down", "none")


def unpool(x: tf.Tensor) -> tf.Tensor:
  """[B, H, W, C] -> [B, 2H, 2W, C] by zero insertion, as compare_gan."""
  _, height, width, channels = x.shape
  if None in (height, width, channels):
    raise ValueError(f"unpool needs static H, W and C, got shape {x.shape}.")
  # The same reshape/concat sequence as compare_gan, so values match bitwise.
  flat = tf.reshape(x, [-1, width, channels])
  wide = tf.concat([flat, tf.zeros_like(flat)], axis=2)
  tall = tf.concat([wide, tf.zeros_like(wide)], axis=1)
  return tf.reshape(tall, [-1, 2 * height, 2 * width, channels])


def unpool_conv(x: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
  """conv2d(unpool(x), kernel, stride 1, SAME) without multiplying the zeros.

  Output pixel p of the dense form sums kernel tap a over the unpooled pixel
  p + a - T (T = (k - 1) // 2, SAME's leading pad), which is non-zero only at
  an even position 2i. A stride-2 transposed convolution of x with the flipped
  kernel and leading pad k - 1 - T sums exactly those products, so it computes
  the same values (up to summation order) with 4x fewer multiply-adds: 3/4 of
  the unpooled input is zeros. (Generator "up" convolutions dominate the FLOPs
  of compare_gan's ResNet generators; benchmarks/speedups.py.) It runs as a
  VALID transposed convolution, then a crop: oneDNN takes VALID and SAME
  convolutions, but explicitly padded ones (and their gradients) fall back to
  slower Eigen kernels on CPU (benchmarks/profile_step.py shows them).

  Args:
    x: [B, H, W, C_in] with static H, W.
    kernel: [KH, KW, C_in, C_out] conv kernel (applied after unpooling).

  Returns:
    [B, 2H, 2W, C_out], without bias.
  """
  batch, height, width, _ = x.shape
  if None in (height, width):
    raise ValueError(f"unpool_conv needs static H and W, got shape {x.shape}.")
  kh, kw = kernel.shape[:2]
  flipped = tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2])  # [KH, KW, C_out, C_in]
  # The natural VALID size 2(n - 1) + k (oneDNN's filter gradient is wrong for
  # the one-larger size TF also accepts); kernels of 1 or 2 taps then lack the
  # last row/column of the dense form, which is zero there (it reads only
  # inserted zeros and padding).
  valid = tf.nn.conv2d_transpose(
      x, flipped, tf.stack([tf.shape(x)[0] if batch is None else batch, 2 * height + kh - 2,
                            2 * width + kw - 2, kernel.shape[-1]]), strides=2, padding="VALID")
  (lead_h, trail_h), (lead_w, trail_w) = same_padding(kh), same_padding(kw)
  valid = tf.pad(valid, [[0, 0], [0, int(lead_h == 0)], [0, int(lead_w == 0)], [0, 0]])
  # tf.slice, not [a:b]: its gradient is a Pad, StridedSlice's a slower scatter.
  return tf.slice(valid, [0, trail_h, trail_w, 0], [-1, 2 * height, 2 * width, -1])


def downsample(x: tf.Tensor) -> tf.Tensor:
  """2x2 average pooling with stride 2 and SAME padding (odd sizes round up)."""
  return tf.nn.avg_pool2d(x, ksize=2, strides=2, padding="SAME")


def conv_downsample(x: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
  """downsample(conv2d(x, kernel, stride 1, SAME)) in one strided convolution.

  Average pooling is linear, so it commutes with a 1x1 convolution (pool
  first: 4x fewer multiply-adds), and pooling a KxK convolution's output equals
  a stride-2 (K+1)x(K+1) convolution whose kernel is the average of the KxK
  kernel at the pool's four offsets (for 3x3: 4 instead of 9 multiply-adds
  per input pixel, and no pooling pass). Odd H or W, where SAME pooling
  averages fewer cells at the border, keep the two-step form.

  Args:
    x: [B, H, W, C_in].
    kernel: [KH, KW, C_in, C_out] conv kernel (applied before pooling).

  Returns:
    [B, ceil(H/2), ceil(W/2), C_out], without bias.
  """
  kh, kw = kernel.shape[:2]
  _, height, width, _ = x.shape
  if kh == kw == 1:
    return tf.nn.conv2d(downsample(x), kernel, strides=1, padding="SAME")
  if height is None or width is None or height % 2 or width % 2:
    return downsample(tf.nn.conv2d(x, kernel, strides=1, padding="SAME"))
  # SAME's zero border of the KxK conv, written out: a VALID conv runs on
  # oneDNN, an explicitly padded one on slower Eigen kernels (see unpool_conv).
  pads = [[0, 0], list(same_padding(kh)), list(same_padding(kw)), [0, 0]]
  return tf.nn.conv2d(tf.pad(x, pads), pooled_kernel(kernel), strides=2, padding="VALID")


def same_padding(size: int) -> tuple[int, int]:
  """(leading, trailing) zeros TF's stride-1 SAME pads for a kernel of `size` taps."""
  return (size - 1) // 2, size - 1 - (size - 1) // 2


def pooled_kernel(kernel: tf.Tensor) -> tf.Tensor:
  """[KH+1, KW+1, C_in, C_out]: `kernel` averaged over the 2x2 pool's four offsets."""
  shifted = [tf.pad(kernel, [[top, 1 - top], [left, 1 - left], [0, 0], [0, 0]])
             for top in (0, 1) for left in (0, 1)]
  return tf.add_n(shifted) * 0.25


def scope_name(scale: str, suffix: str) -> str:
  """compare_gan's conv scope: "up_conv1", "down_conv_shortcut", "same_conv2"."""
  if scale not in SCALES:
    raise ValueError(f"scale must be one of {SCALES}, got {scale!r}.")
  return f"{'same' if scale == 'none' else scale}_{suffix}"


@keras.saving.register_keras_serializable(package="compare_gan2")
class ResampledConv(layers.Conv2D):
  """A stride-1 SAME conv preceded by `unpool` ("up") or followed by `downsample` ("down")."""

  def __init__(self, filters: int, kernel_size: int | tuple[int, int] = 3,
               scale: str = "none", suffix: str = "conv", **kwargs):
    kwargs.setdefault("name", scope_name(scale, suffix))
    super().__init__(filters, kernel_size, strides=1, **kwargs)
    self.scale = scale
    self.suffix = suffix

  def call(self, inputs: tf.Tensor, training: bool = False) -> tf.Tensor:
    """unpool -> conv (`unpool_conv`), conv -> downsample (`conv_downsample`) or conv."""
    if self.scale == "up":
      return self._add_bias(unpool_conv(inputs, self.normalized_kernel(training)))
    if self.scale == "down":
      return self._add_bias(conv_downsample(inputs, self.normalized_kernel(training)))
    return super().call(inputs, training=training)

  def compute_output_shape(self, input_shape: tuple) -> tuple:
    """The output shape, without running the layer."""
    batch, height, width, _ = input_shape

    def resampled(size):
      if size is None or self.scale == "none":
        return size
      return 2 * size if self.scale == "up" else -(-size // 2)  # SAME pooling rounds up.

    return (batch, resampled(height), resampled(width), self.filters)

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    config = super().get_config()
    config.pop("strides")
    return {**config, "scale": self.scale, "suffix": self.suffix}
