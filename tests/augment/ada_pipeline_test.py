"""Tests for compare_gan2.augment.ada_pipeline: blit ops exact, resampling and color
matrices against independent NumPy/SciPy references (stylegan2-ada's augment.py math)."""

import math

import numpy as np
import pytest
import scipy.ndimage
import scipy.spatial.transform
import tensorflow as tf

from compare_gan2 import stateless_random
from compare_gan2 import testing
from compare_gan2.augment import ada_pipeline
from compare_gan2.augment import draws

SEED = tf.constant([7, 2], tf.int32)


def _images(batch=16, height=8, width=8, channels=3, seed=0):
  return np.random.RandomState(seed).uniform(size=(batch, height, width, channels)).astype(np.float32)


def _augment(x, ops, p=1.0, seed=SEED):
  return ada_pipeline.augment(tf.constant(x), seed, p, {op: 1.0 for op in ops}).numpy()


def _table_normal(rows, op, std, seed=SEED):
  """N(0, std²) of `op`'s first parameter, rebuilt in NumPy from the call's Philox
  words: one table of 5 words per op (gate, then parameters) per example, and
  Box–Muller (TensorFlow's BoxMullerFloat) on the op's parameter words 1 and 2."""
  columns = 5 * (len(ada_pipeline.PIPELINES["bgc"]) + 1)
  words = stateless_random.bits(rows * columns, seed).numpy().reshape(rows, columns)
  start = 5 * list(ada_pipeline.PIPELINES["bgc"]).index(op) + 1
  u1, u2 = [(words[:, start + k] & 0x7FFFFF).astype(np.float64) * 2.0 ** -23 for k in (0, 1)]
  return std * np.sqrt(-2 * np.log(np.maximum(u1, 1e-7))) * np.sin(2 * np.pi * u2)


def test_each_op_draws_from_its_own_columns_of_one_table():
  x = _images(batch=8)
  alone = _augment(x, ["brightness"], p=1.0)
  with_others = ada_pipeline.augment(tf.constant(x), SEED, 1.0,
                                     {"brightness": 1.0, "lumaflip": 1e-9}).numpy()
  np.testing.assert_array_equal(alone, with_others)  # adding an op moved no other draw
  b = _table_normal(8, "brightness", 0.2)
  np.testing.assert_allclose(alone, (2 * x - 1 + b[:, None, None, None] + 1) / 2, atol=1e-5)


def _which(candidates, got):
  """Index of the one candidate equal to `got` (bit for bit)."""
  found = [i for i, c in enumerate(candidates) if np.array_equal(c, got)]
  assert len(found) == 1, f"matches {found}"
  return found[0]


def test_xflip_flips_some_examples_exactly_and_leaves_the_rest():
  x = _images()
  got = _augment(x, ["xflip"])
  flips = [_which([x[b], x[b, :, ::-1]], got[b]) for b in range(16)]
  assert set(flips) == {0, 1}


def test_rotate90_gives_exact_quarter_turns():
  x = _images(batch=24)
  got = _augment(x, ["rotate90"])
  turns = [_which([np.rot90(x[b], k, axes=(0, 1)) for k in range(4)], got[b]) for b in range(24)]
  assert set(turns) == {0, 1, 2, 3}


def _numpy_reflect_shift(image, ty, tx):
  """out[y, x] = image[reflect(y - ty), reflect(x - tx)] via np.pad's 'reflect'."""
  height, width = image.shape[:2]
  padded = np.pad(image, [[height, height], [width, width], [0, 0]], mode="reflect")
  return padded[height - ty:2 * height - ty, width - tx:2 * width - tx]


def test_integer_translation_is_an_exact_reflected_shift_within_an_eighth():
  x = _images(batch=32, height=16, width=16)
  got = _augment(x, ["xint"])
  shifts = [(ty, tx) for ty in range(-2, 3) for tx in range(-2, 3)]  # rint(U[-1/8, 1/8) * 16)
  found = [shifts[_which([_numpy_reflect_shift(x[b], *s) for s in shifts], got[b])]
           for b in range(32)]
  assert len(set(found)) > 5


def test_p_zero_is_the_identity_and_p_gates_per_example():
  x = _images()
  np.testing.assert_array_equal(_augment(x, ada_pipeline.PIPELINES["bg"], p=0.0), x)
  # Color ops map to [-1, 1] and back, exact only to float rounding.
  np.testing.assert_allclose(_augment(x, ada_pipeline.PIPELINES["bgc"], p=0.0), x, atol=1e-6)
  got = _augment(x, ["xint"], p=0.5)
  changed = [not np.array_equal(got[b], x[b]) for b in range(16)]
  assert 0 < sum(changed) < 16


def _scipy_transform(image, g_inv):
  """Bilinear 'mirror' (= TF REFLECT) sampling at g_inv about the pixel-grid centre."""
  height, width, _ = image.shape
  cy, cx = (height - 1) / 2, (width - 1) / 2
  ys, xs = np.meshgrid(np.arange(height) - cy, np.arange(width) - cx, indexing="ij")
  source = np.tensordot(g_inv, np.stack([xs, ys, np.ones_like(xs)]), axes=1)
  coords = [source[1] + cy, source[0] + cx]
  return np.stack([scipy.ndimage.map_coordinates(image[..., c], coords, order=1, mode="mirror")
                   for c in range(image.shape[2])], axis=-1)


def test_scaling_matrix_resamples_as_scipy():
  x = _images(batch=2, height=9, width=12)
  g_inv = np.stack([np.diag([1 / 1.3, 1 / 1.3, 1.0]), np.diag([1 / 0.7, 1 / 0.7, 1.0])])
  got = ada_pipeline.transform(tf.constant(x), tf.constant(g_inv, tf.float32)).numpy()
  for b in range(2):
    np.testing.assert_allclose(got[b], _scipy_transform(x[b], g_inv[b]), atol=1e-5)


def test_isotropic_scaling_draws_2_to_the_normal_and_builds_the_inverse_matrix():
  d = ada_pipeline.Draw(tf.constant(6), SEED, tf.constant(1.0), {"scale": 1.0})
  g_inv = ada_pipeline.general_matrix(d, 8, 8, ada_pipeline.Ranges()).numpy()
  s = 2.0 ** _table_normal(6, "scale", 0.2)
  np.testing.assert_allclose(g_inv, [np.diag([1 / v, 1 / v, 1]) for v in s], rtol=1e-6)


def test_rotation_and_anisotropic_scaling_resample_as_scipy():
  x = _images(batch=4, height=10, width=10)
  got = _augment(x, ["rotate", "aniso", "xfrac"])
  d = ada_pipeline.Draw(tf.constant(4), SEED, tf.constant(1.0),
                        {"rotate": 1.0, "aniso": 1.0, "xfrac": 1.0})
  g_inv = ada_pipeline.general_matrix(d, 10, 10, ada_pipeline.Ranges()).numpy()
  for b in range(4):
    np.testing.assert_allclose(got[b], _scipy_transform(x[b], g_inv[b]), atol=1e-5)
  assert not np.allclose(got, x)


def test_color_matrices_match_their_definitions():
  theta = np.array([0.3, -2.0], np.float32)
  rodrigues = scipy.spatial.transform.Rotation.from_rotvec(
      theta[:, None] * np.ones(3) / math.sqrt(3)).as_matrix()
  np.testing.assert_allclose(ada_pipeline.rotate_luma(tf.cos(theta), tf.sin(theta)).numpy()[:, :3, :3],
                             rodrigues, atol=1e-6)
  x = _images(batch=2)
  flip = np.eye(4) - 2 * np.outer([1, 1, 1, 0], [1, 1, 1, 0]) / 3  # Householder on luma
  got = ada_pipeline.apply_color(tf.constant(x), tf.constant(np.stack([flip, np.eye(4)]),
                                                              tf.float32)).numpy()
  signed = 2 * x[0] - 1
  np.testing.assert_allclose(got[0], (signed - 2 * signed.mean(-1, keepdims=True) + 1) / 2,
                             atol=1e-6)
  np.testing.assert_allclose(got[1], x[1], atol=1e-6)


def test_brightness_and_contrast_act_in_minus_one_to_one():
  x = _images(batch=6)
  d = ada_pipeline.Draw(tf.constant(6), SEED, tf.constant(1.0), {"brightness": 1.0, "contrast": 1.0})
  c = ada_pipeline.color_matrix(d, 3, ada_pipeline.Ranges()).numpy()
  b = _table_normal(6, "brightness", 0.2)
  k = 2.0 ** _table_normal(6, "contrast", 0.5)
  np.testing.assert_allclose(c[:, 0, 0], k, rtol=1e-6)
  np.testing.assert_allclose(c[:, :3, 3], np.repeat((k * b)[:, None], 3, 1), rtol=1e-5)
  got = _augment(x, ["brightness", "contrast"])
  want = ((2 * x - 1 + b[:, None, None, None]) * k[:, None, None, None] + 1) / 2
  np.testing.assert_allclose(got, want, atol=1e-5)


def test_grayscale_uses_the_mean_color_row_and_other_channel_counts_fail():
  x = _images(channels=1)
  got = _augment(x, ["brightness", "contrast", "lumaflip", "hue", "saturation"])
  assert got.shape == x.shape and not np.allclose(got, x)
  with pytest.raises(ValueError, match="3 channels.*1 channel.*got 2"):
    _augment(_images(channels=2), ["brightness"])
  with pytest.raises(ValueError, match="unknown ops \\['cutout'\\]"):
    _augment(x, ["cutout"])


def test_gradients_flow_through_the_bgc_pipeline():
  x = tf.constant(_images())
  with tf.GradientTape() as tape:
    tape.watch(x)
    loss = tf.reduce_sum(ada_pipeline.augment(x, SEED, 1.0, ada_pipeline.PIPELINES["bgc"]) ** 2)
  grad = tape.gradient(loss, x).numpy()
  assert np.isfinite(grad).all() and np.abs(grad).max() > 0.1


def test_eager_function_xla_and_two_replicas_agree(two_replicas):
  x = _images(batch=8)
  bgc = ada_pipeline.PIPELINES["bgc"]
  run = lambda _, images: ada_pipeline.augment(images, SEED, 0.8, bgc)
  results = testing.run_three_ways(lambda: None, run, [x], two_replicas)
  # Draws and gates are per global example; the resampled values agree to float
  # rounding (graph rewrites and vector kernels round cos, 2^x and the bilinear
  # weights of a differently shaped batch otherwise).
  testing.assert_three_ways_agree(results, atol=1e-5)
  local = ada_pipeline.augment(x[4:], SEED, 0.8, bgc).numpy()  # replica 1 drawing locally
  assert np.abs(local - results["eager"][0][4:]).max() > 0.1
  compiled = tf.function(lambda images: run(None, images), jit_compile=True)
  np.testing.assert_allclose(compiled(tf.constant(x)).numpy(), results["eager"][0], atol=1e-4)
  other = ada_pipeline.augment(x, draws.stream(SEED, 1), 0.8, bgc).numpy()
  assert np.abs(other - results["eager"][0]).max() > 0.1  # another step, other draws
