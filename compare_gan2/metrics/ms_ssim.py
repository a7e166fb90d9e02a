"""Multi-scale SSIM (MS-SSIM) and the MS-SSIM diversity score of GAN samples.

Wang, Simoncelli & Bovik 2003, "Multiscale structural similarity for image
quality assessment": MS-SSIM = l_M^{α_M} · Π_{j=1..M} cs_j^{β_j} (eq. 7), with
luminance l and contrast-structure cs from eq. 6 of Wang et al. 2004 and the
5-scale weights of §3.2. Odena et al. 2017 (AC-GAN, §4.2) and Fedus et al. 2018
("Many Paths to Equilibrium", §5.3) score the diversity of samples by the mean
MS-SSIM over pairs of generated images: lower means more diverse.

Ported from compare_gan `metrics/image_similarity.py` (COMPARE_GAN.md part 3,
§3.5 and §3.10) and `metrics/ms_ssim_score.py` (§3.5). compare_gan's own
MS-SSIM shrinks the Gaussian window to the image at coarse scales, so it works
on 32×32 and 64×64 images, where `tf.image.ssim_multiscale` refuses anything
under 176 px; at 176 px and above the two agree within 2e-6 (§4).

Two departures from compare_gan's task: it scores the *generated* images
(compare_gan's `MultiscaleSSIMTask` received the real set through an argument
shift, §2.8), and the batches come from a seeded shuffle instead of an unseeded
`tf.train.shuffle_batch` queue.
"""

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import ClassVar

import numpy as np
import tensorflow as tf

from compare_gan2 import registry
from compare_gan2.metrics import base

# Wang et al. 2003, §3.2 (image_similarity.py:216).
MSSSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
# Pixels per image pair held at once when scoring a batch: bounds memory for
# B = 64 (2016 pairs) at any resolution.
_PIXELS_PER_CHUNK = 1 << 22


def _gaussian_window(size: int, sigma: float, channels: int, dtype: tf.DType) -> tf.Tensor:
  """MATLAB fspecial('gaussian') as a depthwise kernel [size, size, C, 1].

  A softmax of −(x² + y²)/(2σ²) is the normalised 2-D Gaussian
  (image_similarity.py:140-154).
  """
  coords = tf.range(size, dtype=dtype) - tf.cast(size - 1, dtype) / 2.0
  g = tf.square(coords) * (-0.5 / tf.square(tf.cast(sigma, dtype)))
  g = tf.nn.softmax(tf.reshape(g[None, :] + g[:, None], [1, -1]))
  return tf.tile(tf.reshape(g, [size, size, 1, 1]), [1, 1, channels, 1])


def _ssim_per_channel(x: tf.Tensor, y: tf.Tensor, filter_size: int, filter_sigma: float,
                      c1: float, c2: float) -> tuple[tf.Tensor, tf.Tensor]:
  """Mean SSIM and mean cs over H, W of [N, H, W, C] images: two [N, C].

  The window shrinks to min(filter_size, H, W) (image_similarity.py:185-189).
  Moments are window-weighted sums without the (1 − Σw²) covariance
  compensation, as MATLAB's reference code (:194-196); the terms follow
  `_ssim_helper` (:85-137).
  """
  _, height, width, channels = x.shape
  size = min(filter_size, height, width)
  window = _gaussian_window(size, filter_sigma, channels, x.dtype)

  def _local_mean(z):
    return tf.nn.depthwise_conv2d(z, window, strides=[1, 1, 1, 1], padding="VALID")

  mean_x, mean_y = _local_mean(x), _local_mean(y)
  num0 = mean_x * mean_y * 2.0
  den0 = tf.square(mean_x) + tf.square(mean_y)
  luminance = (num0 + c1) / (den0 + c1)
  num1 = _local_mean(x * y) * 2.0
  den1 = _local_mean(tf.square(x) + tf.square(y))
  cs = (num1 - num0 + c2) / (den1 - den0 + c2)
  return tf.reduce_mean(luminance * cs, [1, 2]), tf.reduce_mean(cs, [1, 2])


def _downsample(images: tf.Tensor) -> tf.Tensor:
  """2×2 average pool, after SYMMETRIC padding of an odd H or W by one pixel.

  image_similarity.py:281-316: the padding goes after the last row/column.
  """
  _, height, width, _ = images.shape
  if height % 2 or width % 2:
    images = tf.pad(images, [[0, 0], [0, height % 2], [0, width % 2], [0, 0]], mode="SYMMETRIC")
  return tf.nn.avg_pool2d(images, ksize=2, strides=2, padding="VALID")


def _as_image_pairs(img1, img2) -> tuple[tf.Tensor, tf.Tensor, tf.TensorShape | tf.Tensor]:
  """Both inputs broadcast over their leading dims and flattened to [N, H, W, C].

  Returns the two image batches and the broadcast leading shape (a tensor when
  not static). Raises a ValueError for rank < 3, different or unknown H, W, C,
  or leading dims that do not broadcast (image_similarity.py:43-78).
  """
  img1, img2 = tf.convert_to_tensor(img1), tf.convert_to_tensor(img2)
  if not img1.dtype.is_floating:
    img1 = tf.cast(img1, tf.float32)
  img2 = tf.cast(img2, img1.dtype)
  shape1, shape2 = img1.shape, img2.shape
  if shape1.rank is None or shape2.rank is None or shape1.rank < 3 or shape2.rank < 3:
    raise ValueError(f"multiscale_ssim needs images of rank >= 3 [..., H, W, C], got shapes "
                     f"{shape1} and {shape2}.")
  if shape1[-3:] != shape2[-3:] or not shape1[-3:].is_fully_defined():
    raise ValueError(f"multiscale_ssim needs equal, known [H, W, C] in both image sets, got "
                     f"shapes {shape1} and {shape2}.")
  try:
    heads = tf.broadcast_static_shape(shape1[:-3], shape2[:-3])
  except ValueError as e:
    raise ValueError(f"multiscale_ssim: leading dims of shapes {shape1} and {shape2} do not "
                     "broadcast.") from e
  if not heads.is_fully_defined():
    heads = tf.broadcast_dynamic_shape(tf.shape(img1)[:-3], tf.shape(img2)[:-3])
  tail = shape1[-3:].as_list()
  full = tf.concat([heads, tail], 0) if tf.is_tensor(heads) else heads.as_list() + tail
  flat = [tf.reshape(tf.broadcast_to(img, full), [-1] + tail) for img in (img1, img2)]
  return flat[0], flat[1], heads


def _multiscale_ssim(img1, img2, max_val: float, filter_size: int, filter_sigma: float,
                     k1: float, k2: float, power_factors: Sequence[float]) -> tf.Tensor:
  """compare_gan's `_multiscale_ssim_helper` (image_similarity.py:239-333)."""
  x, y, heads = _as_image_pairs(img1, img2)
  c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
  values = []
  for scale in range(len(power_factors)):
    if scale > 0:
      x, y = _downsample(x), _downsample(y)
    ssim, cs = _ssim_per_channel(x, y, filter_size, filter_sigma, c1, c2)
    values.append(tf.nn.relu(cs))
  # The coarsest scale contributes l·cs (its SSIM) instead of cs alone.
  values[-1] = tf.nn.relu(ssim)
  weights = tf.constant(power_factors, dtype=x.dtype)
  per_channel = tf.reduce_prod(tf.pow(tf.stack(values, axis=-1), weights), axis=-1)
  result = tf.reduce_mean(per_channel, axis=-1)
  return tf.reshape(result, heads if tf.is_tensor(heads) else heads.as_list())


def multiscale_ssim(img1, img2, max_val: float = 255.0, filter_size: int = 11,
                    filter_sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03,
                    power_factors: Sequence[float] = MSSSIM_WEIGHTS) -> tf.Tensor:
  """MS-SSIM of image pairs (Wang et al. 2003, eq. 7), compare_gan's variant.

  compare_gan `metrics/image_similarity.py:219-226`: per scale, SSIM with an
  11×11 Gaussian window (σ = 1.5) shrunk to the image, `VALID` convolution,
  c1 = (k1·max_val)², c2 = (k2·max_val)²; 2×2 average pooling between the
  scales; Π_{k<M} relu(cs_k)^{w_k} · relu(ssim_M)^{w_M} per channel, then the
  mean over channels. Works eagerly and under tf.function.

  Args:
    img1: images [..., H, W, C] in [0, max_val].
    img2: images [..., H, W, C]; the leading dims broadcast against img1's.
    max_val: dynamic range of the pixels (compare_gan scores [0, 255]).
    filter_size: Gaussian window size at full resolution.
    filter_sigma: Gaussian window σ.
    k1: luminance stability constant.
    k2: contrast stability constant.
    power_factors: weight of each scale, finest first; their number is the
      number of scales.

  Returns:
    One MS-SSIM in [0, 1] per pair, shaped like the broadcast leading dims.

  Raises:
    ValueError: for rank < 3, different or unknown [H, W, C], or leading dims
      that do not broadcast.
  """
  return _multiscale_ssim(img1, img2, max_val, filter_size, filter_sigma, k1, k2,
                          tuple(power_factors))


def multiscale_ssim_unweighted(img1, img2, max_val: float = 255.0, filter_size: int = 11,
                               filter_sigma: float = 1.5) -> tf.Tensor:
  """MS-SSIM with all five scale weights equal to 1 (image_similarity.py:229-236)."""
  return multiscale_ssim(img1, img2, max_val=max_val, filter_size=filter_size,
                         filter_sigma=filter_sigma, power_factors=(1.0,) * 5)


@functools.lru_cache(maxsize=8)
def _pair_scorer(image_shape: tuple[int, ...], max_val: float) -> Callable:
  """MS-SSIM of [P, H, W, C] image pairs, traced once per image shape."""
  spec = tf.TensorSpec([None, *image_shape], tf.float32)
  return tf.function(lambda first, second: multiscale_ssim(first, second, max_val=max_val),
                     input_signature=[spec, spec])


def _batch_score(batch: np.ndarray, max_val: float) -> float:
  """Mean MS-SSIM over the distinct pairs of one batch [B, H, W, C]."""
  first, second = np.triu_indices(len(batch), k=1)
  chunk = max(1, _PIXELS_PER_CHUNK // batch[0].size)
  images = tf.constant(batch, tf.float32)
  score_pairs = _pair_scorer(batch.shape[1:], float(max_val))
  total = 0.0
  for start in range(0, len(first), chunk):
    pairs = (tf.gather(images, first[start:start + chunk]),
             tf.gather(images, second[start:start + chunk]))
    total += float(tf.reduce_sum(tf.cast(score_pairs(*pairs), tf.float64)))
  return total / len(first)


def compute_msssim(images: np.ndarray, num_batches: int, batch_size: int,
                   max_val: float = 255.0) -> float:
  """Mean pairwise MS-SSIM of `num_batches` consecutive batches of `images`.

  compare_gan `metrics/ms_ssim_score.py:70-111` scores a batch of B images by
  (Σ_{all B² ordered pairs} MS-SSIM − B)/(B² − B), the mean over ordered
  distinct pairs, and averages the batch scores. MS-SSIM is symmetric and a
  self-pair scores exactly 1, so that equals the mean over the B(B − 1)/2
  unordered pairs, which is what is computed here (half the work, and no B²
  tensor).

  Args:
    images: [N, H, W, C] in [0, max_val], N >= num_batches·batch_size; batch b
      is images[b·B:(b + 1)·B].
    num_batches: batches scored (Fedus et al. 2018, §5.3: 5).
    batch_size: images per batch B >= 2 (compare_gan: 64).
    max_val: dynamic range of the pixels.

  Returns:
    The mean of the batch scores.

  Raises:
    ValueError: for batch_size < 2, num_batches < 1, images not of rank 4 or
      fewer than num_batches·batch_size images.
  """
  _check_batches(num_batches, batch_size)
  images = base.check_rank(images, 4, "compute_msssim images")
  if len(images) < num_batches * batch_size:
    raise ValueError(f"compute_msssim needs num_batches * batch_size = "
                     f"{num_batches * batch_size} images, got {len(images)}.")
  scores = [_batch_score(images[b * batch_size:(b + 1) * batch_size], max_val)
            for b in range(num_batches)]
  return float(np.mean(scores))


def _check_batches(num_batches: int, batch_size: int) -> None:
  if batch_size < 2:
    raise ValueError(f"MS-SSIM batch_size must be >= 2 to form pairs, got {batch_size}.")
  if num_batches < 1:
    raise ValueError(f"MS-SSIM num_batches must be >= 1, got {num_batches}.")


@registry.register(module="compare_gan2.metrics")
@dataclasses.dataclass(frozen=True)
class MSSSIM:
  """Mean pairwise MS-SSIM of generated images (lower: more diverse).

  Odena et al. 2017 (§4.2) and Fedus et al. 2018 (§5.3): 5 batches of 64
  images, every distinct pair in a batch (compare_gan
  `metrics/ms_ssim_score.py:38-67`). Images in [0, 1] are scaled to [0, 255]
  and scored with max_val = 255, as compare_gan did. The batches are the first
  num_batches·batch_size images of a shuffle seeded with `seed`.

  Returns {"ms_ssim": score of the fakes}, plus {"ms_ssim_real": the same
  score of the real images} when the real set carries images: the reference
  a generator's diversity is judged against (compare_gan reported only the
  latter, under the name "ms_ssim", §2.8).

  Attributes:
    num_batches: batches averaged.
    batch_size: images per batch (>= 2).
    seed: seed of the shuffle that picks the batches.
  """
  name: ClassVar[str] = "ms_ssim"
  requires: ClassVar[frozenset[str]] = frozenset({base.IMAGES})

  num_batches: int = 5
  batch_size: int = 64
  seed: int = 0

  def __post_init__(self):
    _check_batches(self.num_batches, self.batch_size)

  @property
  def max_images(self) -> int:
    """Images read per set: num_batches · batch_size."""
    return self.num_batches * self.batch_size

  def score(self, images: np.ndarray, what: str) -> float:
    """The score of one set of images [N, H, W, C] in [0, 1]."""
    images = base.check_rank(images, 4, f"MSSSIM {what}")
    if len(images) < self.max_images:
      raise ValueError(f"MSSSIM needs num_batches * batch_size = {self.max_images} {what}, "
                       f"got {len(images)}.")
    order = np.random.default_rng(self.seed).permutation(len(images))[:self.max_images]
    return compute_msssim(images[order].astype(np.float32) * 255.0, self.num_batches,
                          self.batch_size, max_val=255.0)

  def __call__(self, fake: base.EvalSet, real: base.EvalSet) -> dict[str, float]:
    """{"ms_ssim": fakes' score} and, with real images, {"ms_ssim_real": ...}."""
    results = {self.name: self.score(fake.require(base.IMAGES, self.name), "fake images")}
    if real.images is not None:
      results[f"{self.name}_real"] = self.score(real.images, "real images")
    return results
