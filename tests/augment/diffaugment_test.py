"""Tests for compare_gan2.augment.diffaugment against NumPy transcriptions of the
authors' DiffAugment_tf.py (mit-han-lab/data-efficient-gans) on fixed draws."""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import testing
from compare_gan2.augment import diffaugment
from compare_gan2.augment import draws

SEED = tf.constant([3, 17], tf.int32)


def _images(batch=6, height=8, width=8, channels=3, seed=0):
  return np.random.RandomState(seed).uniform(size=(batch, height, width, channels)).astype(np.float32)


def _column(values):
  return np.asarray(values).reshape(-1, 1, 1, 1)


def test_color_ops_match_numpy_on_their_draws():
  x = _images()
  u = np.asarray(draws.uniform(6, SEED))[:, 0]  # each color op draws U[0, 1) per example
  got = {op.__name__: op(tf.constant(x), SEED).numpy()
         for op in (diffaugment.brightness, diffaugment.saturation, diffaugment.contrast)}
  np.testing.assert_allclose(got["brightness"], x + _column(u - 0.5), atol=1e-6)
  channel_mean = x.mean(axis=3, keepdims=True)
  np.testing.assert_allclose(got["saturation"], (x - channel_mean) * _column(2 * u) + channel_mean,
                             atol=1e-5)
  image_mean = x.mean(axis=(1, 2, 3), keepdims=True)
  np.testing.assert_allclose(got["contrast"], (x - image_mean) * _column(u + 0.5) + image_mean,
                             atol=1e-5)


def _numpy_translation(x, shift_y, shift_x):
  """rand_translation: gather from a one-pixel zero border at clip(i + shift + 1)."""
  batch, height, width, _ = x.shape
  padded = np.pad(x, [[0, 0], [1, 1], [0, 0], [0, 0]])
  rows = np.clip(np.arange(height)[None] + np.reshape(shift_y, [-1, 1]) + 1, 0, height + 1)
  x = np.stack([padded[b, rows[b]] for b in range(batch)])
  padded = np.pad(x, [[0, 0], [0, 0], [1, 1], [0, 0]])
  cols = np.clip(np.arange(width)[None] + np.reshape(shift_x, [-1, 1]) + 1, 0, width + 1)
  return np.stack([padded[b][:, cols[b]] for b in range(batch)])


def test_translation_is_the_authors_pad_and_shift_on_its_draws():
  x = _images(batch=8, height=16, width=8)
  assert diffaugment.translation_shifts(16, 8) == (2, 1)  # int(side / 8 + 0.5)
  shift_y = np.asarray(draws.integers(8, draws.stream(SEED, 0), -2, 3))
  shift_x = np.asarray(draws.integers(8, draws.stream(SEED, 1), -1, 2))
  got = diffaugment.translation(tf.constant(x), SEED).numpy()
  np.testing.assert_array_equal(got, _numpy_translation(x, shift_y, shift_x))
  assert len(set(shift_y.ravel())) > 1  # the examples really get different shifts


def test_policy_translation_shifts_each_example_by_whole_pixels_in_range():
  x = _images(batch=64, height=32, width=32, channels=1, seed=1)
  got = diffaugment.DiffAugment("translation")(tf.constant(x), SEED).numpy()
  found = []
  for b in range(64):
    matches = [(ty, tx) for ty in range(-4, 5) for tx in range(-4, 5)
               if np.array_equal(got[b:b + 1], _numpy_translation(x[b:b + 1], [ty], [tx]))]
    assert len(matches) == 1, f"example {b}: matches {matches}"
    found.append(matches[0])
  shifts_y, shifts_x = zip(*found)
  assert set(shifts_y) == set(shifts_x) == set(range(-4, 5))  # round(32 / 8) each way


def _numpy_cutout_mask(batch, height, width, centre_y, centre_x):
  """rand_cutout: scatter ones at the clipped square's indices, mask = max(1 - count, 0)."""
  size_y, size_x = int(height * 0.5 + 0.5), int(width * 0.5 + 0.5)
  count = np.zeros((batch, height, width))
  for b in range(batch):
    for i in range(size_y):
      for j in range(size_x):
        row = np.clip(i + centre_y[b] - size_y // 2, 0, height - 1)
        col = np.clip(j + centre_x[b] - size_x // 2, 0, width - 1)
        count[b, row, col] += 1
  return np.maximum(1 - count, 0)[..., None]


@pytest.mark.parametrize("height, width", [(8, 8), (6, 10), (5, 7)])
def test_cutout_mask_is_the_authors_clipped_scatter_on_its_draws(height, width):
  size_y, size_x = int(height * 0.5 + 0.5), int(width * 0.5 + 0.5)
  centre_y = np.asarray(draws.integers(16, draws.stream(SEED, 0), 0, height + 1 - size_y % 2))[:, 0]
  centre_x = np.asarray(draws.integers(16, draws.stream(SEED, 1), 0, width + 1 - size_x % 2))[:, 0]
  mask = diffaugment.cutout_mask(16, height, width, SEED).numpy()
  np.testing.assert_array_equal(mask, _numpy_cutout_mask(16, height, width, centre_y, centre_x))
  x = _images(batch=16, height=height, width=width)
  np.testing.assert_array_equal(diffaugment.cutout(tf.constant(x), SEED).numpy(), x * mask)


def test_policy_order_and_parsing():
  assert diffaugment.parse_policy("") == ()
  assert diffaugment.parse_policy("color, cutout") == ("color", "cutout")
  with pytest.raises(ValueError, match="unknown entry 'flip'.*color, translation, cutout"):
    diffaugment.DiffAugment("translation,flip")
  x = _images()
  np.testing.assert_array_equal(diffaugment.DiffAugment("")(tf.constant(x), SEED).numpy(), x)


def test_bad_images_are_named():
  with pytest.raises(ValueError, match="static height, width and channels; got shape"):
    diffaugment.DiffAugment("cutout")(tf.zeros([2, 8, 8]), SEED)
  with pytest.raises(ValueError, match="float images"):
    diffaugment.DiffAugment("cutout")(tf.zeros([2, 8, 8, 3], tf.int32), SEED)


def test_gradients_flow_to_the_images_and_stop_at_the_cutout():
  x = tf.constant(_images())
  weights = tf.constant(_images(seed=5))
  with tf.GradientTape() as tape:
    tape.watch(x)
    loss = tf.reduce_sum(diffaugment.DiffAugment("cutout")(x, SEED) * weights)
  mask = diffaugment.cutout_mask(6, 8, 8, diffaugment.draws.stream(SEED, 4)).numpy()
  np.testing.assert_allclose(tape.gradient(loss, x).numpy(), weights.numpy() * mask)
  with tf.GradientTape() as tape:
    tape.watch(x)
    loss = tf.reduce_sum(diffaugment.DiffAugment()(x, SEED) * weights)
  grad = tape.gradient(loss, x).numpy()
  assert np.isfinite(grad).all() and np.abs(grad).max() > 0.1


def test_same_seed_same_output_other_step_other_output():
  augment = diffaugment.DiffAugment()
  x = tf.constant(_images())
  first = augment(x, SEED).numpy()
  np.testing.assert_array_equal(augment(x, SEED).numpy(), first)
  other = augment(x, draws.stream(SEED, 1)).numpy()  # the next step's seed
  assert np.abs(other - first).max() > 0.1


def test_eager_function_and_two_replicas_agree(two_replicas):
  x = _images(batch=8, height=16, width=16)
  results = testing.run_three_ways(diffaugment.DiffAugment, lambda aug, images: aug(images, SEED),
                                   [x], two_replicas)
  eager = results["eager"][0]
  np.testing.assert_array_equal(results["function"][0], eager)
  np.testing.assert_array_equal(results["mirrored"][0], eager)  # per global example, bit for bit
  # Replica 1 drawing for its local rows alone would reuse replica 0's draws.
  local = diffaugment.DiffAugment()(tf.constant(x[4:]), SEED).numpy()
  assert np.abs(local - eager[4:]).max() > 0.1


def test_compiles_with_xla():
  x = tf.constant(_images())
  augment = diffaugment.DiffAugment()
  compiled = tf.function(lambda images, seed: augment(images, seed), jit_compile=True)
  np.testing.assert_allclose(compiled(x, SEED).numpy(), augment(x, SEED).numpy(), atol=1e-5)
