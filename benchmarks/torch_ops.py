"""The convolution algorithms of the PyTorch twins (`torch_twins.py`), two ways each.

`Algorithms(ours=False)` computes each layer the straightforward way, as
StudioGAN, mimicry and BigGAN-PyTorch write it (upsample, then a conv on the
4x larger map; conv, then average pooling; every conv an `nn.Conv2d` /
`nn.ConvTranspose2d` call). `Algorithms(ours=True)` computes the same sums as
compare_gan2 does, in its FLOPs: `unpool_conv` and `conv_downsample`
(compare_gan2.architectures.resnet_ops) for the ResNet resampling convs, and
`dense_conv2d` / `dense_conv_transpose2d` (compare_gan2.ops.dense_conv) for
convs whose big map has no more pixels than the kernel has taps (DCGAN-32's
d_conv4 and g_dc1). The benchmark thus separates framework speed from algorithm.

torch is imported here, in torch_twins.py and in bench_worker.py only.
"""

import torch
from torch import nn
from torch.nn import functional as F

# compare_gan2.ops.dense_conv.MIN_BATCH: below it the dense form is not taken.
DENSE_MIN_BATCH = 16


def unpool_conv(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
  """conv(unpool(x)) for an odd-sized, stride-1, "same" conv, without the zeros.

  compare_gan's zero-insertion upsampling (resnet_ops.py:35-56) followed by a
  conv equals a stride-2 transposed conv with the flipped kernel; compare_gan2
  computes it that way (resnet_ops.unpool_conv), and so does the twin built
  with our_algorithms.
  """
  k = conv.weight.shape[-1]
  weight = conv.weight.flip(2, 3).transpose(0, 1)  # [C_in, C_out, k, k]
  return F.conv_transpose2d(x, weight, conv.bias, stride=2, padding=(k - 1) // 2,
                            output_padding=1)


def conv_downsample(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
  """avg_pool2d(conv(x), 2) in one strided conv, as compare_gan2's resnet_ops.conv_downsample.

  1x1: pool first. kxk: a stride-2 (k+1)x(k+1) conv with the kernel averaged
  over the pool's four offsets (even sizes, as every benchmarked map).
  """
  if conv.kernel_size == (1, 1):
    return conv(F.avg_pool2d(x, 2))
  w = conv.weight
  pooled = sum(F.pad(w, (left, 1 - left, top, 1 - top)) for top in (0, 1) for left in (0, 1))
  return F.conv2d(x, 0.25 * pooled, conv.bias, stride=2, padding=(w.shape[-1] - 1) // 2)


def unpool(x: torch.Tensor) -> torch.Tensor:
  """compare_gan's zero-insertion upsampling (resnet_ops.py:35-56), NCHW."""
  b, c, h, w = x.shape
  out = x.new_zeros(b, c, 2 * h, 2 * w)
  out[:, :, ::2, ::2] = x
  return out


def _taps(big: int, small: int, kernel: int, stride: int, pad: int) -> torch.Tensor:
  """A[o, i, t] = 1 where tap t of small pixel o reads big pixel i (one dimension)."""
  reads = torch.arange(small)[:, None, None] * stride - pad + torch.arange(kernel)
  return (reads == torch.arange(big)[None, :, None]).float()


def _tap_matrices(big: tuple, small: tuple, kernel: tuple, strides: tuple, pads: tuple,
                  per_big: bool) -> torch.Tensor:
  """[P, KH·KW, Q] if per_big else [Q, KH·KW, P]: 1 where tap t joins small pixel q and big p."""
  rows, cols = (_taps(*dims) for dims in zip(big, small, kernel, strides, pads))
  pattern = "aik,bjl->ijklab" if per_big else "aik,bjl->abklij"
  taps = torch.einsum(pattern, rows, cols)
  return taps.reshape(taps.shape[0] * taps.shape[1], kernel[0] * kernel[1], -1)


def _transposed_size(deconv: nn.ConvTranspose2d, hw: tuple) -> tuple:
  """(H, W) of deconv's output for an input of `hw` (nn.ConvTranspose2d's formula)."""
  return tuple((n - 1) * s - 2 * p + k + e for n, s, p, k, e in zip(
      hw, deconv.stride, deconv.padding, deconv.kernel_size, deconv.output_padding))


def dense_conv2d(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
  """conv(x) as one matrix product (compare_gan2.ops.dense_conv.conv2d, NCHW layouts).

  W [(p, c), (o, q)] = Σ_t taps[p, t, q] · weight[o, c, t], built per big pixel p
  so that no large tensor is ever permuted.
  """
  b, c, h, w = x.shape
  small = tuple((n + 2 * p - k) // s + 1
                for n, p, k, s in zip((h, w), conv.padding, conv.kernel_size, conv.stride))
  taps = _tap_matrices((h, w), small, conv.kernel_size, conv.stride, conv.padding, per_big=True)
  weight = conv.weight.transpose(0, 1).reshape(1, -1, taps.shape[1])  # [1, (c, o), t]
  dense = (weight @ taps).reshape(h * w * c, -1)  # [(p, c), (o, q)]
  out = x.reshape(b, c, h * w).transpose(1, 2).reshape(b, -1) @ dense
  return out.reshape(b, -1, *small) + conv.bias[:, None, None]


def dense_conv_transpose2d(deconv: nn.ConvTranspose2d, x: torch.Tensor) -> torch.Tensor:
  """deconv(x) as one matrix product (compare_gan2.ops.dense_conv.conv2d_transpose, NCHW).

  W [(q, c_in), (c_out, p)] = Σ_t weight[c_in, c_out, t] · taps[q, t, p].
  """
  b, c_in, h, w = x.shape
  big = _transposed_size(deconv, (h, w))
  taps = _tap_matrices(big, (h, w), deconv.kernel_size, deconv.stride, deconv.padding,
                       per_big=False)
  dense = (deconv.weight.reshape(1, -1, taps.shape[1]) @ taps).reshape(h * w * c_in, -1)
  out = x.reshape(b, c_in, h * w).transpose(1, 2).reshape(b, -1) @ dense
  return out.reshape(b, -1, *big) + deconv.bias[:, None, None]


def _dense_applies(big: tuple, kernel: tuple, batch: int) -> bool:
  return batch >= DENSE_MIN_BATCH and big[0] * big[1] <= kernel[0] * kernel[1]


class Algorithms:
  """The twins' convolutions, straightforward or compare_gan2's (module docstring)."""

  def __init__(self, ours: bool):
    self.ours = ours

  def up(self, conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """conv(unpool(x))."""
    return unpool_conv(conv, x) if self.ours else conv(unpool(x))

  def down(self, conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """avg_pool2d(conv(x), 2)."""
    return conv_downsample(conv, x) if self.ours else F.avg_pool2d(conv(x), 2)

  def conv(self, conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """conv(x)."""
    if self.ours and _dense_applies(x.shape[2:], conv.kernel_size, x.shape[0]):
      return dense_conv2d(conv, x)
    return conv(x)

  def conv_transpose(self, deconv: nn.ConvTranspose2d, x: torch.Tensor) -> torch.Tensor:
    """deconv(x)."""
    if self.ours and _dense_applies(_transposed_size(deconv, x.shape[2:]), deconv.kernel_size,
                                    x.shape[0]):
      return dense_conv_transpose2d(deconv, x)
    return deconv(x)
