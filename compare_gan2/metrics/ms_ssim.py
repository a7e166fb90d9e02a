"""Multi-scale SSIM (MS-SSIM) and the MS-SSIM diversity score of GAN samples.

Wang, Simoncelli & Bovik 2003, "Multiscale structural similarity for image
quality assessment": MS-SSIM = l_M^{α_M} · Π_{j=1..M} cs_j^{β_j} (eq. 7), with
luminance l and contrast-structure cs from eq. 6 of Wang et al. 2004 and the
5-scale weights of §3.2. Odena et al. 2017 (AC-GAN, §4.2) and Fedus et al. 2018
("Many Paths to Equilibrium", §5.3) score the diversity of samples by the mean
MS-SSIM over pairs of generated images: lower means more diverse.

Ported from compare_gan `metrics/image_similarity.py`
and `metrics/ms_ssim_score.py`. compare_gan's own
MS-SSIM shrinks the Gaussian window to the image at coarse scales, so it works
on 32×32 and 64×64 images, where `tf.image.ssim_multiscale` refuses anything
under 176 px; at 176 px and above the two agree within 2e-6.

Local moments are taken about each image's mean, with separable windows: the
same quantities, closer to float64 (on 64×64 noise pairs, a median error of
1e-8 and 99th percentile 1e-7, where compare_gan's float32 E[x²] − μ² has 5e-7
and 8e-6), and the per-image half of the work is shared by all pairs of a batch
(`multiscale_ssim_all_pairs`).

Two departures from compare_gan's task: it scores the *generated* images
(compare_gan's `MultiscaleSSIMTask` received the real set through an argument
shift), and the batches come from a seeded shuffle instead of an unseeded
`tf.train.shuffle_batch` queue.
"""

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import ClassVar, NamedTuple

import numpy as np
import tensorflow as tf

from compare_gan2 import registry
from compare_gan2.metrics import base

# Wang et al. 2003, §3.2 (image_similarity.py:216).
MSSSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
# Pixels of image pairs whose cross moments are convolved at once when scoring
# a batch: bounds memory for B = 64 (2016 pairs) at any resolution.
_PIXELS_PER_CHUNK = 1 << 22


class _Level(NamedTuple):
  """The per-image half of SSIM at one scale, each field [N, H', W', C].

  Attributes:
    centered: the images minus `shift`.
    shift: each image's mean per channel [N, 1, 1, C].
    centered_mean: window-weighted local mean of `centered`.
    variance: window-weighted local variance.
    taps: the 1-D Gaussian of this scale (shared, not per image).
  """
  centered: tf.Tensor
  shift: tf.Tensor
  centered_mean: tf.Tensor
  variance: tf.Tensor
  taps: tf.Tensor


def _gaussian_taps(size: int, sigma: float, dtype: tf.DType) -> tf.Tensor:
  """MATLAB fspecial('gaussian') in 1-D: compare_gan's 2-D window is its outer square.

  compare_gan takes a softmax of −(x² + y²)/(2σ²) (image_similarity.py:140-154),
  which factorises into two normalised 1-D Gaussians.
  """
  coords = tf.range(size, dtype=dtype) - tf.cast(size - 1, dtype) / 2.0
  return tf.nn.softmax(tf.square(coords) * (-0.5 / tf.square(tf.cast(sigma, dtype))))


def _local_mean(images: tf.Tensor, taps: tf.Tensor) -> tf.Tensor:
  """Window-weighted `VALID` mean of [N, H, W, C] (image_similarity.py:199-203).

  As a column then a row pass: 2k instead of k² multiply-adds per pixel, ~4×
  faster than compare_gan's 2-D depthwise convolution on CPU at k = 11.
  """
  channels = images.shape[-1]
  column = tf.tile(tf.reshape(taps, [-1, 1, 1, 1]), [1, 1, channels, 1])
  images = tf.nn.depthwise_conv2d(images, column, [1, 1, 1, 1], "VALID")
  return tf.nn.depthwise_conv2d(images, tf.reshape(column, [1, -1, channels, 1]), [1, 1, 1, 1],
                                "VALID")


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


def _image_levels(images: tf.Tensor, num_scales: int, filter_size: int,
                  filter_sigma: float) -> list[_Level]:
  """The pyramid of [N, H, W, C] images and their local moments at each scale.

  The window shrinks to min(filter_size, H, W) (image_similarity.py:185-189).
  Moments are taken about each image's mean: σ² = E[(x − a)²] − (E[x] − a)² is
  exact for any a, and with a near the local means it does not cancel the
  ~μ² ≈ 65025 terms whose float32 rounding moves compare_gan's E[x²] − μ², and
  its MS-SSIM by up to 1e-4 on noise images. (Where a cs_k is near 0, cs_k^{w_k}
  stays ill-conditioned: there float32 results can still differ by ~1e-5.)
  """
  levels = []
  for scale in range(num_scales):
    if scale > 0:
      images = _downsample(images)
    taps = _gaussian_taps(min(filter_size, *images.shape[1:3]), filter_sigma, images.dtype)
    shift = tf.reduce_mean(images, axis=[1, 2], keepdims=True)
    centered = images - shift
    centered_mean = _local_mean(centered, taps)
    variance = _local_mean(tf.square(centered), taps) - tf.square(centered_mean)
    levels.append(_Level(centered, shift, centered_mean, variance, taps))
  return levels


def _pair_ms_ssim(levels_x: list[_Level], levels_y: list[_Level], c1: float, c2: float,
                  power_factors: Sequence[float]) -> tf.Tensor:
  """MS-SSIM [N] of the aligned image pairs whose levels are given.

  Only the cross moment is convolved per pair. The terms follow `_ssim_helper`
  (image_similarity.py:85-137) with window-weighted moments and no (1 − Σw²)
  compensation, as MATLAB (:194-196), averaged over H, W per channel
  (:207-211); then Π_{k<M} relu(cs_k)^{w_k} · relu(ssim_M)^{w_M} per channel,
  averaged over channels (:323-332).
  """
  factors = []
  for x, y in zip(levels_x, levels_y):
    covariance = (_local_mean(x.centered * y.centered, x.taps)
                  - x.centered_mean * y.centered_mean)
    cs = (covariance * 2.0 + c2) / (x.variance + y.variance + c2)
    factors.append(tf.reduce_mean(cs, [1, 2]))
  # The coarsest scale contributes l·cs (its SSIM) instead of cs alone.
  mean_x, mean_y = x.centered_mean + x.shift, y.centered_mean + y.shift
  luminance = (mean_x * mean_y * 2.0 + c1) / (tf.square(mean_x) + tf.square(mean_y) + c1)
  factors[-1] = tf.reduce_mean(luminance * cs, [1, 2])
  values = tf.nn.relu(tf.stack(factors, axis=-1))
  weights = tf.constant(power_factors, dtype=values.dtype)
  return tf.reduce_mean(tf.reduce_prod(tf.pow(values, weights), axis=-1), axis=-1)


def _multiscale_ssim(img1, img2, max_val: float, filter_size: int, filter_sigma: float,
                     k1: float, k2: float, power_factors: Sequence[float]) -> tf.Tensor:
  """compare_gan's `_multiscale_ssim_helper` (image_similarity.py:239-333)."""
  x, y, heads = _as_image_pairs(img1, img2)
  levels_x, levels_y = (_image_levels(z, len(power_factors), filter_size, filter_sigma)
                        for z in (x, y))
  result = _pair_ms_ssim(levels_x, levels_y, (k1 * max_val) ** 2, (k2 * max_val) ** 2,
                         power_factors)
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


def _select(levels: list[_Level], index: tf.Tensor) -> list[_Level]:
  """The levels of images[index]."""
  return [_Level(*(tf.gather(t, index) for t in level[:-1]), level.taps) for level in levels]


def _level_specs(levels: list[_Level]) -> tuple[_Level, ...]:
  """TensorSpecs of the levels, any number of images: the key of one traced graph."""
  return tuple(_Level(*(tf.TensorSpec([None, *t.shape[1:]], t.dtype) for t in level[:-1]),
                      tf.TensorSpec.from_tensor(level.taps)) for level in levels)


@functools.lru_cache(maxsize=8)
def _chunk_scorer(specs: tuple[_Level, ...], c1: float, c2: float,
                  power_factors: tuple[float, ...]) -> Callable:
  """MS-SSIM [P] of the pairs (first[p], second[p]) of images given by their levels.

  One graph per image shape: the ~20 ops per scale run ~2× faster in it than
  eagerly, which repays its one-off trace (~1 s) within two batches of 64.
  """
  index = tf.TensorSpec([None], tf.int64)

  def score(levels, first, second):
    return _pair_ms_ssim(_select(levels, first), _select(levels, second), c1, c2, power_factors)

  return tf.function(score, input_signature=[list(specs), index, index])


def multiscale_ssim_all_pairs(images, max_val: float = 255.0, filter_size: int = 11,
                              filter_sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03,
                              power_factors: Sequence[float] = MSSSIM_WEIGHTS) -> tf.Tensor:
  """MS-SSIM of every distinct pair of a batch of images, as `multiscale_ssim`.

  The values of `multiscale_ssim(images[i], images[j])` (compare_gan
  image_similarity.py:219-226, Wang et al. 2003 eq. 7) within ~1e-7, for the
  B(B − 1)/2 pairs that ms_ssim_score.py:70-111 averages, at ~1/6 of the cost
  of scoring them pair by pair with compare_gan's formulation: the pyramid and
  per-image moments once per image, and per pair only the cross moment E[xy],
  for `_PIXELS_PER_CHUNK` pixels of pairs per batched convolution. Eager only.

  Args:
    images: [B, H, W, C] in [0, max_val], B >= 2 (an array or eager tensor).
    max_val: dynamic range of the pixels.
    filter_size: Gaussian window size at full resolution.
    filter_sigma: Gaussian window σ.
    k1: luminance stability constant.
    k2: contrast stability constant.
    power_factors: weight of each scale, finest first.

  Returns:
    [B(B − 1)/2]: MS-SSIM of the pairs (i, j), i < j, in the row-major order of
    `np.triu_indices(B, k=1)`.

  Raises:
    ValueError: if images is not [B, H, W, C] with B >= 2.
  """
  images = tf.convert_to_tensor(base.check_rank(images, 4, "multiscale_ssim_all_pairs images"))
  if not images.dtype.is_floating:
    images = tf.cast(images, tf.float32)
  if images.shape[0] < 2:
    raise ValueError(f"multiscale_ssim_all_pairs needs >= 2 images, got shape {images.shape}.")
  levels = _image_levels(images, len(power_factors), filter_size, filter_sigma)
  score = _chunk_scorer(_level_specs(levels), (k1 * max_val) ** 2, (k2 * max_val) ** 2,
                        tuple(power_factors))
  first, second = np.triu_indices(images.shape[0], k=1)
  chunk = max(1, _PIXELS_PER_CHUNK // images[0].shape.num_elements())
  return tf.concat([score(levels, first[start:start + chunk], second[start:start + chunk])
                    for start in range(0, len(first), chunk)], axis=0)


def compute_msssim(images: np.ndarray, num_batches: int, batch_size: int,
                   max_val: float = 255.0) -> float:
  """Mean pairwise MS-SSIM of `num_batches` consecutive batches of `images`.

  compare_gan `metrics/ms_ssim_score.py:70-111` scores a batch of B images by
  (Σ_{all B² ordered pairs} MS-SSIM − B)/(B² − B), the mean over ordered
  distinct pairs, and averages the batch scores. MS-SSIM is symmetric and a
  self-pair scores exactly 1, so that equals the mean over the B(B − 1)/2
  unordered pairs, which is what is computed here (half the work, and no B²
  tensor), by `multiscale_ssim_all_pairs`.

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
  scores = [np.mean(multiscale_ssim_all_pairs(images[b * batch_size:(b + 1) * batch_size],
                                              max_val=max_val).numpy().astype(np.float64))
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
  latter, under the name "ms_ssim").

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
