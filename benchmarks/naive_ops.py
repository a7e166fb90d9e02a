"""The straightforward formulations that compare_gan2's fast ops replace, for `speedups.py`.

Each `revert(name)` swaps one fast op of compare_gan2 back to the way
compare_gan (and a first port) wrote it, in this process only:

- "unpool_conv": unpool (zero insertion), then a stride-1 convolution over the
  4x larger map (compare_gan `resnet_ops.py`), instead of one stride-2
  transposed convolution that skips the zeros;
- "conv_downsample": a stride-1 convolution, then 2x2 average pooling, instead
  of one stride-2 convolution with the pooled kernel;
- "fused BN": (x − mean)·rsqrt(var + ε)·γ + β as four elementwise passes,
  instead of `tf.nn.batch_normalization`'s x·s + (β − mean·s).

The values are the same up to float summation order (the architecture parity
tests pin them); only the work differs.
"""

import tensorflow as tf

from compare_gan2.architectures import resnet_ops
from compare_gan2.ops import normalization

CHANGES = ("unpool_conv", "conv_downsample", "fused BN")


def _unpool_then_conv(x: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
  return tf.nn.conv2d(resnet_ops.unpool(x), kernel, strides=1, padding="SAME")


def _conv_then_pool(x: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
  return resnet_ops.downsample(tf.nn.conv2d(x, kernel, strides=1, padding="SAME"))


def _four_pass_batch_norm(self, inputs: tf.Tensor, training: bool = False) -> tf.Tensor:
  mean, variance = self._moments(inputs, training)  # pylint: disable=protected-access
  x = tf.cast(inputs, tf.float32)
  outputs = (x - mean) * tf.math.rsqrt(variance + self.epsilon)
  if self.gamma is not None:
    outputs *= tf.cast(self.gamma, tf.float32)
  if self.beta is not None:
    outputs += tf.cast(self.beta, tf.float32)
  return tf.cast(outputs, inputs.dtype)


def revert(name: str) -> None:
  """Puts the straightforward formulation of `name` (one of CHANGES) back; call before building."""
  if name == "unpool_conv":
    resnet_ops.unpool_conv = _unpool_then_conv
  elif name == "conv_downsample":
    resnet_ops.conv_downsample = _conv_then_pool
  elif name == "fused BN":
    normalization.BatchNorm.call = _four_pass_batch_norm
  else:
    raise ValueError(f"naive_ops.revert: unknown change {name!r}; one of {CHANGES}.")
