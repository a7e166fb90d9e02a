"""Tests for compare_gan2.sampling: sheets, class sheets, interpolation, truncation.

Most tests use a fake generator behind the `SamplingGenerator` interface that
records the z and labels it gets and draws images that show them: pixel 0
encodes the class, y · (1, ..., K)/(K + 1), the other pixels are sigmoid(z).
The formulas are checked against hand-computed numbers; a last test runs the
same functions on a live tiny GAN and on its export.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import export
from compare_gan2 import sampling
from compare_gan2 import testing
from compare_gan2.gans import modular_gan

Z_DIM, CLASSES = 3, 4


class FakeGenerator(export.SamplingGenerator):
  """Records every generate call; images [1, 1 + z_dim, 1] show label code and sigmoid(z)."""

  def __init__(self, num_classes=CLASSES, distribution="uniform"):
    super().__init__(Z_DIM, num_classes, (1, 1 + Z_DIM, 1))
    self.distribution, self.calls = distribution, []

  def _sample_z(self, n, seed):
    if self.distribution == "uniform":
      return tf.random.stateless_uniform([n, Z_DIM], seed, -1.0, 1.0)
    return tf.random.stateless_normal([n, Z_DIM], seed)

  def _generate(self, z, y):
    self.calls.append((z, y))
    codes = np.arange(1, self.num_classes + 1) / (self.num_classes + 1)
    label_pixel = np.zeros([len(z), 1]) if y is None else y @ codes[:, None]
    pixels = np.concatenate([label_pixel, 1 / (1 + np.exp(-z))], axis=1)
    return pixels.reshape(len(z), 1, 1 + Z_DIM, 1).astype(np.float32)

  def all_z(self):
    return np.concatenate([z for z, _ in self.calls])

  def all_y(self):
    return np.concatenate([y for _, y in self.calls])


def _tiles(grid, rows, columns):
  """The [rows, columns, H, W, C] tiles of a grid."""
  height, width = grid.shape[0] // rows, grid.shape[1] // columns
  return grid.reshape(rows, height, columns, width, -1).swapaxes(1, 2)


def test_to_uint8_is_the_colabs_256_bin_conversion():
  """np.uint8(np.clip(256 x, 0, 255)): floor into 256 bins, 1.0 -> 255, clipped outside [0, 1]."""
  x = np.array([0.0, 0.99 / 256, 1 / 256, 0.5, 254.5 / 256, 0.999, 1.0, 1.2, -0.1])
  assert sampling.to_uint8(x).tolist() == [0, 0, 1, 128, 254, 255, 255, 255, 0]
  assert sampling.to_uint8(x).dtype == np.uint8


def test_sample_sheet_shape_layout_and_determinism():
  """rows x columns tiles in row-major order of z from (seed, 0); same seed, same sheet."""
  gen = FakeGenerator(num_classes=0)
  grid = sampling.sample_sheet(gen, rows=10, columns=7, seed=3)
  assert grid.shape == (10, 7 * (1 + Z_DIM), 1) and grid.dtype == np.uint8
  assert [len(z) for z, _ in gen.calls] == [64, 6]  # generated in batches of 64
  z = gen.sample_z(70, [3, 0])
  np.testing.assert_array_equal(gen.all_z(), z)
  np.testing.assert_array_equal(_tiles(grid, 10, 7)[4, 5, 0, 1:, 0],
                                np.uint8(np.clip(256 / (1 + np.exp(-z[4 * 7 + 5])), 0, 255)))
  np.testing.assert_array_equal(sampling.sample_sheet(gen, 10, 7, seed=3), grid)
  assert not np.array_equal(sampling.sample_sheet(gen, 10, 7, seed=4), grid)


def test_sample_sheet_labels_random_fixed_or_given():
  """Conditional: random classes per seed, one class for all, or one per image; checked."""
  gen = FakeGenerator()
  sampling.sample_sheet(gen, 3, 4, seed=1)
  random = gen.all_y().argmax(1)
  assert random.min() >= 0 and random.max() < CLASSES and len(set(random)) > 1
  gen.calls.clear()
  sampling.sample_sheet(gen, 3, 4, seed=1)
  np.testing.assert_array_equal(gen.all_y().argmax(1), random)
  gen.calls.clear()
  grid = sampling.sample_sheet(gen, 3, 4, seed=1, labels=2)
  assert set(_tiles(grid, 3, 4)[..., 0, 0, 0].ravel()) == {int(256 * 3 / 5)}
  gen.calls.clear()
  sampling.sample_sheet(gen, 1, 3, seed=1, labels=[3, 0, 1])
  assert gen.all_y().argmax(1).tolist() == [3, 0, 1]
  with pytest.raises(ValueError, match="one class or 3 classes"):
    sampling.sample_sheet(gen, 1, 3, seed=1, labels=[1, 2])
  with pytest.raises(ValueError, match=r"classes \[4\] are out of range"):
    sampling.sample_sheet(gen, 1, 1, seed=1, labels=4)
  with pytest.raises(ValueError, match="unconditional"):
    sampling.sample_sheet(FakeGenerator(num_classes=0), 1, 1, seed=1, labels=0)
  with pytest.raises(ValueError, match="rows must be >= 1"):
    sampling.sample_sheet(gen, 0, 1, seed=1)


def test_class_sheet_rows_show_their_class_and_columns_share_z():
  """Row r is class classes[r]; column j has the same z in every row."""
  gen = FakeGenerator()
  classes = [2, 0, 3]
  tiles = _tiles(sampling.class_sheet(gen, classes, per_class=5, seed=0), 3, 5)
  for row, label in enumerate(classes):
    assert set(tiles[row, :, 0, 0, 0]) == {int(256 * (label + 1) / (CLASSES + 1))}
  for row in (1, 2):
    np.testing.assert_array_equal(tiles[row, :, :, 1:], tiles[0, :, :, 1:])
  assert len({tiles[0, j, 0, 1:, 0].tobytes() for j in range(5)}) == 5  # columns differ


def test_class_sheet_rejects_unconditional_generators_and_bad_classes():
  """ValueError naming the problem: no classes, classes outside [0, K), or none given."""
  with pytest.raises(ValueError, match="needs a conditional generator"):
    sampling.class_sheet(FakeGenerator(num_classes=0), [0], 2, seed=0)
  with pytest.raises(ValueError, match=r"classes \[-1, 4\] are out of range.*0 \.\. 3"):
    sampling.class_sheet(FakeGenerator(), [-1, 1, 4], 2, seed=0)
  with pytest.raises(ValueError, match="classes must be >= 1"):
    sampling.class_sheet(FakeGenerator(), [], 2, seed=0)


# Hand-computed: A = (1, 0), B at 60 degrees = (1/2, sqrt(3)/2).
A, B = np.array([[1.0, 0.0]]), np.array([[0.5, np.sqrt(3) / 2]])
AT_HALF = {
    "lerp": [0.75, 0.4330127],  # (A + B)/2
    "compare_gan": [1.0606602, 0.6123724],  # (A + B)/2 / sqrt(1/2)
    "slerp": [0.8660254, 0.5],  # the unit vector at 30 degrees
}


@pytest.mark.parametrize("mode", sorted(AT_HALF))
def test_interpolation_formulas_at_one_half(mode):
  """The point at a = 0.5 between A and B, and the endpoints at a = 0 and 1."""
  u, v = sampling.interpolation_weights(np.array([0.0, 0.5, 1.0]), A, B, mode)
  points = u[0][:, None] * A + v[0][:, None] * B
  np.testing.assert_allclose(points[1], AT_HALF[mode], rtol=1e-6)
  np.testing.assert_array_equal(points[0], A[0])
  np.testing.assert_allclose(points[2], B[0], atol=1e-15)


def test_slerp_keeps_the_norm_and_falls_back_to_lerp_for_parallel_z():
  """Unit endpoints stay on the unit circle; A = B gives A throughout, no NaN."""
  alphas = np.linspace(0, 1, 9)
  u, v = sampling.interpolation_weights(alphas, A, B, "slerp")
  np.testing.assert_allclose(np.linalg.norm(u[0][:, None] * A + v[0][:, None] * B, axis=1), 1.0)
  u, v = sampling.interpolation_weights(alphas, A, A, "slerp")
  np.testing.assert_allclose(u[0] + v[0], 1.0)
  with pytest.raises(ValueError, match="interpolation mode must be one of"):
    sampling.interpolation_weights(alphas, A, B, "cubic")


@pytest.mark.parametrize("mode", sampling.INTERPOLATIONS)
def test_interpolate_rows_run_between_two_drawn_z(mode):
  """Row i starts at z[2i] and ends at z[2i+1] of the (seed, 0) draw, with their images."""
  gen = FakeGenerator(num_classes=0)
  grid = sampling.interpolate(gen, steps=5, pairs=3, seed=2, mode=mode)
  assert grid.shape == (3, 5 * (1 + Z_DIM), 1)
  ends = gen.sample_z(6, [2, 0])
  z = gen.all_z().reshape(3, 5, Z_DIM)
  np.testing.assert_array_equal(z[:, 0], ends[0::2])
  np.testing.assert_allclose(z[:, -1], ends[1::2], atol=1e-7)
  tiles = _tiles(grid, 3, 5)
  direct = sampling.to_uint8(gen.generate(ends))
  np.testing.assert_array_equal(tiles[:, 0], direct[0::2])
  np.testing.assert_array_equal(tiles[:, -1], direct[1::2])


def test_interpolate_compare_gan_midpoint_numbers():
  """steps=3, compare_gan mode: the middle z is (A + B)/sqrt(2), computed here in NumPy."""
  gen = FakeGenerator(num_classes=0)
  sampling.interpolate(gen, steps=3, pairs=2, seed=7, mode="compare_gan")
  ends = gen.sample_z(4, [7, 0]).astype(np.float64)
  middle = gen.all_z().reshape(2, 3, Z_DIM)[:, 1]
  np.testing.assert_allclose(middle, (ends[0::2] + ends[1::2]) / np.sqrt(2), rtol=1e-6)


def test_interpolate_keeps_the_label_per_row_or_mixes_one_hots():
  """Fixed class along each row; with end_labels, y = (1 - a) onehot(start) + a onehot(end)."""
  gen = FakeGenerator()
  sampling.interpolate(gen, steps=4, pairs=2, seed=0, labels=[1, 3])
  y = gen.all_y().reshape(2, 4, CLASSES)
  np.testing.assert_array_equal(y.argmax(-1), [[1] * 4, [3] * 4])
  np.testing.assert_array_equal(y.max(-1), np.ones([2, 4]))
  gen.calls.clear()
  sampling.interpolate(gen, steps=4, pairs=2, seed=0, labels=[1, 3], end_labels=[2, 3])
  y = gen.all_y().reshape(2, 4, CLASSES)
  alphas = np.array([0, 1 / 3, 2 / 3, 1])
  np.testing.assert_allclose(y[0, :, 1], 1 - alphas, atol=1e-7)
  np.testing.assert_allclose(y[0, :, 2], alphas, atol=1e-7)
  np.testing.assert_array_equal(y[1, :, 3], np.ones(4))
  with pytest.raises(ValueError, match="steps must be >= 2"):
    sampling.interpolate(gen, steps=1, pairs=1, seed=0)
  with pytest.raises(ValueError, match="end_labels.*unconditional"):
    sampling.interpolate(FakeGenerator(num_classes=0), 3, 1, seed=0, end_labels=1)


@pytest.mark.parametrize("distribution, threshold", [("uniform", 0.3), ("normal", 0.5),
                                                     ("normal", 1.5)])
def test_truncation_redraws_only_large_values(distribution, threshold):
  """All |z| <= threshold; values already inside are untouched; the rest re-drawn, not clipped."""
  gen = FakeGenerator(distribution=distribution)
  first = gen.sample_z(200, [9, 0])
  z = sampling.truncated_z(gen, 200, seed=9, threshold=threshold)
  assert np.abs(z).max() <= threshold
  inside = np.abs(first) <= threshold
  np.testing.assert_array_equal(z[inside], first[inside])
  assert (~inside).sum() > 10 and not np.any(np.abs(z[~inside]) == threshold)
  assert len(np.unique(z[~inside])) == (~inside).sum()  # fresh values, not one repeated
  np.testing.assert_array_equal(sampling.truncated_z(gen, 200, seed=9, threshold=threshold), z)


def test_truncation_clips_after_the_last_round():
  """max_rounds=0 clips the first draw; invalid thresholds are named."""
  gen = FakeGenerator(distribution="normal")
  np.testing.assert_array_equal(sampling.truncated_z(gen, 50, 1, 0.5, max_rounds=0),
                                np.clip(gen.sample_z(50, [1, 0]), -0.5, 0.5))
  with pytest.raises(ValueError, match="threshold must be > 0"):
    sampling.truncated_z(gen, 5, 1, 0.0)


def test_sheets_use_truncated_z():
  """truncation=t makes sample_sheet and class_sheet draw truncated_z(gen, n, seed, t)."""
  gen = FakeGenerator(distribution="normal")
  sampling.sample_sheet(gen, 2, 3, seed=4, truncation=0.4)
  np.testing.assert_array_equal(gen.all_z(), sampling.truncated_z(gen, 6, 4, 0.4))
  gen.calls.clear()
  sampling.class_sheet(gen, [0, 1], 3, seed=4, truncation=0.4)
  np.testing.assert_array_equal(gen.all_z(), np.tile(sampling.truncated_z(gen, 3, 4, 0.4), [2, 1]))


def test_a_live_gan_and_its_export_give_the_same_sheets(tmp_path):
  """The functions run on both adapters of a real tiny conditional GAN, with equal results."""
  keras.utils.set_random_seed(1)
  gan = modular_gan.ModularGAN(testing.TinyGenerator((4, 4, 3), z_dim=Z_DIM, num_classes=CLASSES),
                               testing.TinyDiscriminator((4, 4, 3), num_classes=CLASSES),
                               conditional=True, z_fn=modular_gan.normal_latent)
  gan.compile(d_optimizer=keras.optimizers.Adam(), g_optimizer=keras.optimizers.Adam())
  gan.build_networks()
  live = export.live_generator(gan)
  loaded = export.load_generator(export.export_generator(gan, str(tmp_path / "g")))
  for draw in (lambda g: sampling.sample_sheet(g, 3, 4, seed=5, truncation=0.7),
               lambda g: sampling.class_sheet(g, [3, 1], 4, seed=5),
               lambda g: sampling.interpolate(g, 5, 2, seed=5, labels=0, end_labels=2)):
    from_live, from_export = draw(live), draw(loaded)
    assert from_live.shape == from_export.shape and from_live.dtype == np.uint8
    assert np.abs(from_live.astype(int) - from_export.astype(int)).max() <= 1  # bin edges
