"""Tests for compare_gan2.metrics.ms_ssim (compare_gan image_similarity.py, ms_ssim_score.py)."""

import gin
import numpy as np
import pytest
import tensorflow as tf
from numpy.lib.stride_tricks import sliding_window_view

from compare_gan2.metrics import base
from compare_gan2.metrics import ms_ssim

_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _constant_images() -> np.ndarray:
  """compare_gan's test batch: 64×64×3 images of 1.0, 0.7 and 0.0."""
  return np.stack([np.full([64, 64, 3], v, np.float32) for v in (1.0, 0.7, 0.0)])


def _numpy_ms_ssim(x: np.ndarray, y: np.ndarray, max_val: float,
                   weights: tuple[float, ...] = _WEIGHTS) -> float:
  """Independent float64 MS-SSIM of two [H, W, C] images (Wang et al. 2003).

  The window is a normalised 11×11 Gaussian (σ 1.5) shrunk to the image,
  odd sizes are padded by mirroring the last row/column before 2×2 averaging.
  """
  c1, c2 = (0.01 * max_val) ** 2, (0.03 * max_val) ** 2
  x, y = x.astype(np.float64), y.astype(np.float64)
  factors = []
  for scale in range(len(weights)):
    if scale:
      x, y = (_numpy_downsample(z) for z in (x, y))
    size = min(11, x.shape[0], x.shape[1])
    g = np.exp(-(np.arange(size) - (size - 1) / 2) ** 2 / (2 * 1.5 ** 2))
    window = np.outer(g, g) / np.outer(g, g).sum()

    def mean(z, window=window):
      return np.einsum("ijcab,ab->ijc", sliding_window_view(z, window.shape, axis=(0, 1)), window)

    mx, my = mean(x), mean(y)
    var_x, var_y, cov = mean(x * x) - mx ** 2, mean(y * y) - my ** 2, mean(x * y) - mx * my
    luminance = (2 * mx * my + c1) / (mx ** 2 + my ** 2 + c1)
    cs = (2 * cov + c2) / (var_x + var_y + c2)
    last = scale == len(weights) - 1
    factors.append(np.maximum((luminance * cs if last else cs).mean(axis=(0, 1)), 0))
  return float(np.mean(np.prod(np.power(np.stack(factors), np.array(weights)[:, None]), 0)))


def _numpy_downsample(z: np.ndarray) -> np.ndarray:
  z = np.pad(z, [(0, z.shape[0] % 2), (0, z.shape[1] % 2), (0, 0)], mode="symmetric")
  h, w, c = z.shape
  return z.reshape(h // 2, 2, w // 2, 2, c).mean(axis=(1, 3))


def _related_pair(rng: np.random.RandomState, size: int) -> tuple[np.ndarray, np.ndarray]:
  """A smooth [size, size, 3] image in [0, 255] and a noisy copy (MS-SSIM well inside (0, 1))."""
  ramp = np.linspace(0, 1, size)
  base_image = 255 * (0.5 + 0.4 * np.sin(3 * ramp[:, None, None] + 2 * ramp[None, :, None]
                                         + np.arange(3)))
  noisy = np.clip(base_image + rng.normal(scale=20, size=base_image.shape), 0, 255)
  return base_image.astype(np.float32), noisy.astype(np.float32)


def test_compute_msssim_pins_compare_gan_constant_images():
  """ms_ssim_score_test.py:28-40: constant images, max_val 255 -> 0.989989 (computed: 0.9899887)."""
  assert ms_ssim.compute_msssim(_constant_images(), num_batches=1, batch_size=3) == pytest.approx(
      0.9899887, abs=1e-6)


def test_multiscale_ssim_pins_pairwise_values():
  """compute_msssim pairs: (1, .7) -> 0.998492, (1, 0) -> 0.981112, (.7, 0) -> 0.990362."""
  images = _constant_images()
  pairs = {(0, 1): 0.998492, (0, 2): 0.981112, (1, 2): 0.990362}
  for (i, j), want in pairs.items():
    assert float(ms_ssim.multiscale_ssim(images[i], images[j])) == pytest.approx(want, abs=1e-6)


def test_constant_images_at_255_match_closed_form_and_pinned_value():
  """×255 constant images: the closed form, and compare_gan's 0.535324 within 5e-4.

  Constant images have σ = 0, so cs = 1 at every scale and MS-SSIM is
  l^{0.1333} with l = (2ab + c1)/(a² + b² + c1): mean 0.535617 over the 3 pairs.
  compare_gan's float32 σ² = E[x²] − μ² cancels numbers near 65025, so its
  result moves with the convolution's summation order: compare_gan gave 0.535324.
  Moments about each image's mean do not cancel and give the closed form.
  """
  values, c1 = (255.0, 178.5, 0.0), (0.01 * 255) ** 2
  closed_form = []
  for i, j in ((0, 1), (0, 2), (1, 2)):
    a, b = values[i], values[j]
    want = ((2 * a * b + c1) / (a * a + b * b + c1)) ** 0.1333
    got = ms_ssim.multiscale_ssim(np.full([64, 64, 3], a), np.full([64, 64, 3], b))
    assert float(got) == pytest.approx(want, abs=1e-9)
    closed_form.append(want)
  assert np.mean(closed_form) == pytest.approx(0.535617, abs=1e-6)
  float32_score = ms_ssim.compute_msssim(_constant_images() * 255, num_batches=1, batch_size=3)
  assert float32_score == pytest.approx(0.535324, abs=5e-4)


def test_multiscale_ssim_matches_tf_image_ssim_multiscale_at_176px():
  """At >= 176 px (TF's minimum), equal to tf.image.ssim_multiscale within 2e-6."""
  images = np.random.RandomState(0).uniform(size=(2, 176, 176, 3)).astype(np.float32) * 255
  got = ms_ssim.multiscale_ssim(images[0], images[1], max_val=255.0)
  want = tf.image.ssim_multiscale(images[0], images[1], max_val=255.0, power_factors=_WEIGHTS)
  assert float(got) == pytest.approx(float(want), abs=2e-6)


@pytest.mark.parametrize("size", [32, 11])
def test_multiscale_ssim_small_images_match_numpy_reference(size):
  """32×32 and 11×11 (odd sizes padded, window shrunk to 1 px) match a float64 NumPy MS-SSIM."""
  x, y = _related_pair(np.random.RandomState(size), size)
  want = _numpy_ms_ssim(x, y, 255.0)
  assert 0.05 < want < 0.99  # The pair exercises all terms, not a saturated 0 or 1.
  assert float(ms_ssim.multiscale_ssim(x, y)) == pytest.approx(want, abs=2e-5)


def test_multiscale_ssim_unweighted_matches_numpy_reference():
  """multiscale_ssim_unweighted raises every scale's factor to the power 1 (Zhao et al.)."""
  x, y = _related_pair(np.random.RandomState(1), 32)
  want = _numpy_ms_ssim(x, y, 255.0, weights=(1.0,) * 5)
  assert want < _numpy_ms_ssim(x, y, 255.0)  # Distinguishes the two weightings.
  assert float(ms_ssim.multiscale_ssim_unweighted(x, y)) == pytest.approx(want, abs=2e-5)


def test_identical_images_score_one_and_pairs_are_symmetric():
  """MS-SSIM(x, x) = 1 and MS-SSIM(x, y) = MS-SSIM(y, x): what compute_msssim relies on."""
  images = np.random.RandomState(2).uniform(0, 255, size=(2, 32, 32, 3)).astype(np.float32)
  assert float(ms_ssim.multiscale_ssim(images[0], images[0])) == pytest.approx(1.0, abs=1e-6)
  forward = ms_ssim.multiscale_ssim(images[0], images[1])
  assert float(forward) == float(ms_ssim.multiscale_ssim(images[1], images[0]))


def test_multiscale_ssim_broadcasts_leading_dims():
  """Leading dims broadcast like compare_gan's: [2, 1] × [3] images give a [2, 3] result."""
  images = np.random.RandomState(3).uniform(0, 255, size=(3, 16, 16, 3)).astype(np.float32)
  got = ms_ssim.multiscale_ssim(images[:2, None], images).numpy()
  assert got.shape == (2, 3)
  assert got[1, 2] == pytest.approx(float(ms_ssim.multiscale_ssim(images[1], images[2])), abs=1e-7)


def test_eager_and_tf_function_agree():
  """The same per-pair scores eagerly and under tf.function (static H, W, C, unknown batch)."""
  rng = np.random.RandomState(4)
  first = rng.uniform(0, 255, size=(4, 16, 16, 3)).astype(np.float32)
  second = np.clip(first + rng.normal(scale=30, size=first.shape), 0, 255).astype(np.float32)
  spec = tf.TensorSpec([None, 16, 16, 3], tf.float32)
  traced = tf.function(ms_ssim.multiscale_ssim, input_signature=[spec, spec])
  eager = ms_ssim.multiscale_ssim(first, second).numpy()
  assert 0.1 < eager.min() and eager.max() < 0.99
  np.testing.assert_allclose(traced(first, second).numpy(), eager, rtol=1e-5)


def _blocky_batch(size: int, channels: int) -> np.ndarray:
  """Six [size, size, channels] images in [0, 255]: 3 blocky random ones and noisy copies."""
  rng = np.random.RandomState(size + channels)
  coarse = rng.uniform(0, 255, size=(3, size // 8, size // 8, channels))
  images = np.repeat(np.repeat(coarse, 8, axis=1), 8, axis=2)
  noisy = np.clip(images + rng.normal(scale=25, size=images.shape), 0, 255)
  return np.concatenate([images, noisy]).astype(np.float32)


@pytest.mark.parametrize("shape", [(32, 32, 3), (64, 64, 1)])
def test_all_pairs_path_equals_pairwise_path_and_float64_reference(shape, monkeypatch):
  """multiscale_ssim_all_pairs = multiscale_ssim pair by pair (1e-6), in np.triu_indices order.

  Chunks of 4 pairs (15 pairs: 4 + 4 + 4 + 3) exercise the chunking. Both
  also match the float64 NumPy MS-SSIM within 1e-6: the centred moments avoid
  the ~1e-5 float32 drift of compare_gan's E[x²] − μ².
  """
  monkeypatch.setattr(ms_ssim, "_PIXELS_PER_CHUNK", 4 * int(np.prod(shape)))
  images = _blocky_batch(shape[0], shape[2])
  first, second = np.triu_indices(len(images), k=1)
  pairwise = ms_ssim.multiscale_ssim(images[first], images[second]).numpy()
  got = ms_ssim.multiscale_ssim_all_pairs(images).numpy()
  want = [_numpy_ms_ssim(images[i], images[j], 255.0) for i, j in zip(first, second)]
  assert got.shape == (15,) and np.ptp(want) > 0.3  # Distinct values: a wrong order shows.
  np.testing.assert_allclose(got, pairwise, atol=1e-6, rtol=0)
  np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)


def test_all_pairs_rejects_bad_batches():
  """A batch must be [B, H, W, C] with B >= 2: ValueErrors naming the images."""
  with pytest.raises(ValueError, match="rank 4"):
    ms_ssim.multiscale_ssim_all_pairs(np.zeros([16, 16, 3], np.float32))
  with pytest.raises(ValueError, match=">= 2 images"):
    ms_ssim.multiscale_ssim_all_pairs(np.zeros([1, 16, 16, 3], np.float32))


def test_compute_msssim_is_mean_over_ordered_distinct_pairs():
  """compare_gan's (Σ_{B²} − B)/(B² − B) per batch, then the batch mean: all ordered i ≠ j."""
  images = np.random.RandomState(5).uniform(0, 255, size=(8, 16, 16, 3)).astype(np.float32)
  images[4:] = np.clip(images[:4] + 10, 0, 255)  # Similar pairs, so scores differ across pairs.
  ordered = [(i, j) for i in range(4) for j in range(4) if i != j]
  first, second = (np.array(index) for index in zip(*ordered))
  batch_scores = [np.mean(ms_ssim.multiscale_ssim(batch[first], batch[second]).numpy())
                  for batch in (images[:4], images[4:])]
  got = ms_ssim.compute_msssim(images, num_batches=2, batch_size=4)
  assert got == pytest.approx(np.mean(batch_scores), abs=1e-6)


def test_msssim_metric_scores_fakes_and_reports_reals_separately():
  """"ms_ssim" scores the fakes (compare_gan scored the reals), "ms_ssim_real" the reals."""
  rng = np.random.RandomState(6)
  clones = np.repeat(rng.uniform(size=(1, 16, 16, 3)), 8, axis=0).astype(np.float32)
  noise = rng.uniform(size=(8, 16, 16, 3)).astype(np.float32)
  metric = ms_ssim.MSSSIM(num_batches=2, batch_size=4)
  result = metric(base.EvalSet(images=clones), base.EvalSet(images=noise))
  assert result["ms_ssim"] == pytest.approx(1.0, abs=1e-6)  # Identical fakes: no diversity.
  assert result["ms_ssim_real"] < 0.5
  swapped = metric(base.EvalSet(images=noise), base.EvalSet(images=clones))
  assert swapped == pytest.approx({"ms_ssim": result["ms_ssim_real"], "ms_ssim_real": 1.0})
  assert metric(base.EvalSet(images=noise), base.EvalSet()).keys() == {"ms_ssim"}


def test_msssim_metric_images_in_unit_range_scored_at_255():
  """The metric scores [0, 1] images as compare_gan's task: ×255 with max_val 255 (not 255 alone)."""
  images = np.random.RandomState(7).uniform(size=(4, 16, 16, 3)).astype(np.float32)
  metric = ms_ssim.MSSSIM(num_batches=1, batch_size=4, seed=3)
  # One batch holding every image: the shuffle only reorders the pairs.
  want = ms_ssim.compute_msssim(images * 255, num_batches=1, batch_size=4, max_val=255.0)
  assert metric(base.EvalSet(images=images), base.EvalSet())["ms_ssim"] == pytest.approx(
      want, abs=1e-6)


def test_msssim_metric_interface_and_gin():
  """Name, requirements, max_images = num_batches·batch_size, gin binding via `metrics.MSSSIM`."""
  assert ms_ssim.MSSSIM.name == "ms_ssim"
  assert ms_ssim.MSSSIM.requires == frozenset({base.IMAGES})
  assert ms_ssim.MSSSIM().max_images == 5 * 64
  gin.parse_config("metrics.MSSSIM.batch_size = 8")
  assert gin.get_configurable("metrics.MSSSIM")().max_images == 5 * 8


def test_errors_name_the_bad_input():
  """batch_size < 2, num_batches < 1, too few images and mismatched shapes raise ValueError."""
  images = np.zeros([4, 16, 16, 3], np.float32)
  with pytest.raises(ValueError, match="batch_size"):
    ms_ssim.compute_msssim(images, num_batches=1, batch_size=1)
  with pytest.raises(ValueError, match="batch_size"):
    ms_ssim.MSSSIM(batch_size=1)
  with pytest.raises(ValueError, match="num_batches"):
    ms_ssim.MSSSIM(num_batches=0)
  with pytest.raises(ValueError, match="8 images, got 4"):
    ms_ssim.compute_msssim(images, num_batches=2, batch_size=4)
  with pytest.raises(ValueError, match="fake images"):
    ms_ssim.MSSSIM(num_batches=1, batch_size=8)(base.EvalSet(images=images), base.EvalSet())
  with pytest.raises(ValueError, match="H, W, C"):
    ms_ssim.multiscale_ssim(images, np.zeros([4, 16, 8, 3], np.float32))
  with pytest.raises(ValueError, match="broadcast"):
    ms_ssim.multiscale_ssim(images, np.zeros([3, 16, 16, 3], np.float32))
  with pytest.raises(ValueError, match="rank"):
    ms_ssim.multiscale_ssim(images[0, 0], images[0, 0])
