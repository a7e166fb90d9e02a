"""SAME convolutions on tiny feature maps as dense matrix products.

A SAME convolution between a "big" map of P pixels and a "small" one of Q
pixels (`conv2d`: big -> small; `conv2d_transpose`: small -> big, its gradient
with respect to the input) is a linear map with the matrix

    W[q, (p, c), o] = K[tap(q, p), c, o],  or 0 where no tap of q lands on p,

for a kernel K of shape [KH, KW, C_big, C_small] (a conv kernel
[KH, KW, C_in, C_out] and a transposed-conv kernel [KH, KW, C_out, C_in] both
put the big side's channels third). Applied as a matrix product it costs
B·Q·P·C_big·C_small multiply-adds instead of the convolution's B·Q·KH·KW·
C_big·C_small: no more whenever the big map has no more pixels than the kernel
has taps (P <= KH·KW), i.e. when many taps fall on the zero padding, and it
runs as one large GEMM. DCGAN at 32x32 (Radford et al. 2016, arXiv:1511.06434)
has two such layers, D's d_conv4 (4x4 -> 2x2, 5x5 kernel) and G's g_dc1
(2x2 -> 4x4): oneDNN's convolution kernels (TF's and PyTorch's alike) spent
52% of the train step's op time on them for 32% of its FLOPs
(benchmarks/profile_step.py, batch 64); as matrix products each layer's
forward + backward takes a third of the time and the step 33% less
(docs/performance.md "What each change bought").

W is built from K by one product with a constant 0/1 matrix T [Q·P, KH·KW]
(`tap_matrix`): W = T @ K, whose gradient is Tᵀ @ dW, so K's gradient needs
nothing special. Values equal the convolution's up to float summation order.
"""

import numpy as np
import tensorflow as tf

# Below this batch the product T @ K (its cost does not shrink with the batch)
# outweighs what the dense form saves: measured equal at 8 images for
# d_conv4's shape, slower at 4.
MIN_BATCH = 16


def same_offset(big: int, small: int, kernel: int, stride: int) -> int:
  """Zeros TF's SAME padding puts before the big map of a conv from `big` to `small` pixels."""
  return max((small - 1) * stride + kernel - big, 0) // 2


def applies(big_hw: tuple, small_hw: tuple, kernel_hw: tuple[int, int],
            batch: int | None) -> bool:
  """Whether the dense form is the cheaper one for this layer call.

  Args:
    big_hw: (height, width) of the big map.
    small_hw: (height, width) of the small map. A size that is not a Python
      int (unknown at trace time, or a tensor) rules the dense form out: it
      needs the tap matrix in advance.
    kernel_hw: (KH, KW).
    batch: the static (per-replica) batch size, or None if unknown (then a
      training batch, large, is assumed).
  """
  if not all(isinstance(d, (int, np.integer)) for d in (*big_hw, *small_hw)):
    return False
  if batch is not None and batch < MIN_BATCH:
    return False
  return big_hw[0] * big_hw[1] <= kernel_hw[0] * kernel_hw[1]


def _taps_1d(big: int, small: int, kernel: int, stride: int) -> np.ndarray:
  """A[o, i, t] = 1 where tap t of output o reads input i (one spatial dimension)."""
  offset = same_offset(big, small, kernel, stride)
  taps = np.zeros((small, big, kernel), np.float32)
  for o in range(small):
    for t in range(kernel):
      i = o * stride - offset + t
      if 0 <= i < big:
        taps[o, i, t] = 1.0
  return taps


def tap_matrix(big_hw: tuple[int, int], small_hw: tuple[int, int],
               kernel_hw: tuple[int, int], strides: tuple[int, int]) -> np.ndarray:
  """T [Q·P, KH·KW], rows (small y, small x, big y, big x), columns (ky, kx).

  T[(q, p), t] = 1 where kernel tap t of small pixel q lands on big pixel p
  under TF's SAME padding (the odd padding pixel after the map).
  """
  rows, cols = (_taps_1d(b, s, k, st) for b, s, k, st in zip(big_hw, small_hw, kernel_hw, strides))
  taps = np.einsum("aik,bjl->abijkl", rows, cols)
  return taps.reshape(small_hw[0] * small_hw[1] * big_hw[0] * big_hw[1], -1)


def expanded_kernel(kernel: tf.Tensor, big_hw: tuple[int, int], small_hw: tuple[int, int],
                    strides: tuple[int, int]) -> tf.Tensor:
  """W [Q, P·C_big, C_small] from kernel [KH, KW, C_big, C_small] (module docstring)."""
  kh, kw, c_big, c_small = kernel.shape
  taps = tf.constant(tap_matrix(big_hw, small_hw, (kh, kw), strides), dtype=kernel.dtype)
  dense = tf.matmul(taps, tf.reshape(kernel, [kh * kw, c_big * c_small]))
  return tf.reshape(dense, [small_hw[0] * small_hw[1], big_hw[0] * big_hw[1] * c_big, c_small])


def _static_hw(x: tf.Tensor, caller: str) -> tuple[int, int, int]:
  """x's (H, W, C), which the tap matrix needs at trace time."""
  _, height, width, channels = x.shape
  if None in (height, width, channels):
    raise ValueError(f"dense_conv.{caller} needs static H, W and C, got shape {x.shape}.")
  return height, width, channels


def conv2d(x: tf.Tensor, kernel: tf.Tensor, strides: tuple[int, int]) -> tf.Tensor:
  """`tf.nn.conv2d(x, kernel, strides, "SAME")` as a matrix product.

  Args:
    x: [B, H, W, C_in] with static H, W, C_in.
    kernel: [KH, KW, C_in, C_out].
    strides: (stride_h, stride_w).

  Returns:
    [B, ceil(H / stride_h), ceil(W / stride_w), C_out].

  Raises:
    ValueError: if H, W or C_in is unknown.
  """
  height, width, channels = _static_hw(x, "conv2d")
  out_hw = (-(-height // strides[0]), -(-width // strides[1]))
  dense = expanded_kernel(kernel, (height, width), out_hw, strides)
  # One product per output pixel, all sharing the flattened input: [Q, B, C_out].
  per_pixel = tf.matmul(tf.reshape(x, [1, -1, height * width * channels]), dense)
  return tf.reshape(tf.transpose(per_pixel, [1, 0, 2]), [-1, *out_hw, kernel.shape[-1]])


def conv2d_transpose(x: tf.Tensor, kernel: tf.Tensor, strides: tuple[int, int],
                     out_hw: tuple[int, int]) -> tf.Tensor:
  """`tf.nn.conv2d_transpose(x, kernel, [B, *out_hw, C_out], strides, "SAME")` as a matrix product.

  Args:
    x: [B, H, W, C_in] with static H, W, C_in.
    kernel: [KH, KW, C_out, C_in] (TF's transposed layout).
    strides: (stride_h, stride_w).
    out_hw: the output's (height, width); a SAME conv with these strides maps
      it back to (H, W).

  Returns:
    [B, *out_hw, C_out].

  Raises:
    ValueError: if H, W or C_in is unknown.
  """
  height, width, channels = _static_hw(x, "conv2d_transpose")
  dense = expanded_kernel(kernel, out_hw, (height, width), strides)
  per_pixel = tf.transpose(tf.reshape(x, [-1, height * width, channels]), [1, 0, 2])
  # Each input pixel's contribution [B, P·C_out], summed over the Q pixels.
  outputs = tf.reduce_sum(tf.matmul(per_pixel, dense, transpose_b=True), axis=0)
  return tf.reshape(outputs, [-1, *out_hw, kernel.shape[2]])
