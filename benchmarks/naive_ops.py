"""The straightforward formulations that compare_gan2's fast ops replace, for `speedups.py`.

`revert(names)` swaps fast ops of compare_gan2 back to the way compare_gan
(and a first port) wrote them, in this process only:

- "unpool_conv": unpool (zero insertion), then a stride-1 convolution over the
  4x larger map (compare_gan `resnet_ops.py`), instead of one stride-2
  transposed convolution that skips the zeros;
- "conv_downsample": a stride-1 convolution, then 2x2 average pooling, instead
  of one stride-2 convolution with the pooled kernel;
- "fused BN": (x − mean)·rsqrt(var + ε)·γ + β as four elementwise passes,
  instead of `tf.nn.batch_normalization`'s x·s + (β − mean·s);
- "VALID padding": unpool_conv and conv_downsample with explicitly padded
  convolutions (which TF runs on Eigen kernels) instead of VALID ones on a
  padded or cropped tensor (which run on oneDNN);
- "dense conv": every `layers.Conv2D` / `Deconv2D` as a oneDNN convolution,
  also on maps with no more pixels than kernel taps, which compare_gan2
  computes as one dense matrix product (`compare_gan2.ops.dense_conv`).

The values are the same up to float summation order (the architecture parity
tests pin them); only the work differs.
"""

import tensorflow as tf

from compare_gan2.architectures import resnet_ops
from compare_gan2.ops import dense_conv
from compare_gan2.ops import normalization

CHANGES = ("unpool_conv", "conv_downsample", "fused BN", "VALID padding", "dense conv")
# The changes that touch each benchmarked model, in the order they were made.
CHANGES_BY_MODEL = {"DCGAN-32": ("dense conv",), "ResNet-CIFAR": CHANGES[:4],
                    "BigGAN-128": CHANGES[:4]}


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


def _explicit_unpool_conv(x: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
  _, height, width, _ = x.shape
  pads = [[0, 0]] + [list(resnet_ops.same_padding(k))[::-1] for k in kernel.shape[:2]] + [[0, 0]]
  flipped = tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2])
  shape = tf.stack([tf.shape(x)[0], 2 * height, 2 * width, kernel.shape[-1]])
  return tf.nn.conv2d_transpose(x, flipped, shape, strides=2, padding=pads)


def _explicit_conv_downsample(x: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
  kh, kw = kernel.shape[:2]
  if kh == kw == 1 or x.shape[1] % 2 or x.shape[2] % 2:
    return _conv_then_pool(x, kernel)
  pads = [[0, 0], list(resnet_ops.same_padding(kh)), list(resnet_ops.same_padding(kw)), [0, 0]]
  return tf.nn.conv2d(x, resnet_ops.pooled_kernel(kernel), strides=2, padding=pads)


def revert(names: list[str]) -> None:
  """Puts the earlier formulation of each change in `names` (from CHANGES) back; call before building."""
  unknown = set(names) - set(CHANGES)
  if unknown:
    raise ValueError(f"naive_ops.revert: unknown changes {sorted(unknown)}; known: {CHANGES}.")
  for change, naive, explicit in (("unpool_conv", _unpool_then_conv, _explicit_unpool_conv),
                                  ("conv_downsample", _conv_then_pool, _explicit_conv_downsample)):
    if change in names:
      setattr(resnet_ops, change, naive)
    elif "VALID padding" in names:
      setattr(resnet_ops, change, explicit)
  if "fused BN" in names:
    normalization.BatchNorm.call = _four_pass_batch_norm
  if "dense conv" in names:
    dense_conv.applies = lambda *args: False
