"""Tests of compare_gan2.ops.initializers.weight_initializer.

compare_gan's `weights` options (arch_ops.py:46-63) checked
by their sample statistics: "normal" N(0, 0.02²), "truncated" cut at ±2σ,
"orthogonal", the Glorot family (variance 2/(fan_in+fan_out)); the error for an
unknown name; and that each call gives a fresh unseeded initializer, so layers
get different kernels that keras.utils.set_random_seed makes reproducible.
"""

import keras
import numpy as np
import pytest

from compare_gan2.ops import initializers
from compare_gan2.ops import layers

# 200k samples: the standard error of a std estimate is ~0.16 % of it.
FAN_IN, FAN_OUT = 400, 500
TRUNCATED_STD_FACTOR = 0.87962566103423978  # std of N(0, 1) cut at ±2.


def _sample(name, shape=(FAN_IN, FAN_OUT), **kwargs):
  keras.utils.set_random_seed(0)
  return np.asarray(initializers.weight_initializer(name, **kwargs)(shape), np.float64)


@pytest.mark.parametrize("stddev", [0.02, 0.5])
def test_normal_has_mean_zero_and_stddev(stddev):
  values = _sample("normal", stddev=stddev)
  assert abs(values.mean()) < 0.01 * stddev
  assert values.std() == pytest.approx(stddev, rel=0.01)
  # Untruncated: about 4.6 % of the samples lie beyond 2σ.
  assert np.mean(np.abs(values) > 2 * stddev) == pytest.approx(0.0455, abs=0.003)


def test_default_is_normal_with_stddev_002():
  initializer = initializers.weight_initializer()
  assert isinstance(initializer, keras.initializers.RandomNormal)
  assert initializer.mean == 0.0 and initializer.stddev == 0.02
  values = np.asarray(initializer((FAN_IN, FAN_OUT)))
  assert values.std() == pytest.approx(0.02, rel=0.01)


@pytest.mark.parametrize("stddev", [0.02, 0.5])
def test_truncated_is_cut_at_two_stddev(stddev):
  values = _sample("truncated", stddev=stddev)
  assert np.all(np.abs(values) <= 2 * stddev)
  assert abs(values.mean()) < 0.01 * stddev
  # TF's truncated_normal(stddev) is σ before the cut, so the sample std is 0.88σ.
  assert values.std() == pytest.approx(TRUNCATED_STD_FACTOR * stddev, rel=0.01)
  assert np.abs(values).max() > 1.95 * stddev


@pytest.mark.parametrize("size", [8, 64])
def test_orthogonal_square_matrix(size):
  values = _sample("orthogonal", shape=(size, size))
  np.testing.assert_allclose(values.T @ values, np.eye(size), atol=1e-5)
  np.testing.assert_allclose(values @ values.T, np.eye(size), atol=1e-5)
  # stddev is ignored (gain 1).
  scaled = _sample("orthogonal", shape=(size, size), stddev=5.0)
  np.testing.assert_allclose(scaled.T @ scaled, np.eye(size), atol=1e-5)


def test_orthogonal_conv_kernel_columns():
  # Keras flattens all but the last axis: (3·3·8, 16) with orthonormal columns.
  values = _sample("orthogonal", shape=(3, 3, 8, 16)).reshape(-1, 16)
  np.testing.assert_allclose(values.T @ values, np.eye(16), atol=1e-5)


@pytest.mark.parametrize("name", ["glorot_normal", "xavier"])
def test_glorot_normal_variance(name):
  values = _sample(name, stddev=123.0)  # stddev is ignored.
  variance = 2.0 / (FAN_IN + FAN_OUT)
  assert abs(values.mean()) < 0.01 * variance**0.5
  assert values.var() == pytest.approx(variance, rel=0.02)
  # TF1's glorot_normal (compare_gan's embedding_fc) is a normal of std
  # sqrt(variance)/0.88 truncated at ±2 of that std.
  limit = 2 * variance**0.5 / TRUNCATED_STD_FACTOR
  assert np.all(np.abs(values) <= limit) and np.abs(values).max() > 0.97 * limit


def test_glorot_uniform_variance_and_limit():
  values = _sample("glorot_uniform", stddev=123.0)
  limit = np.sqrt(6.0 / (FAN_IN + FAN_OUT))
  assert np.all(np.abs(values) <= limit) and np.abs(values).max() > 0.99 * limit
  assert values.var() == pytest.approx(2.0 / (FAN_IN + FAN_OUT), rel=0.02)
  # Uniform, not normal: each quarter of [-limit, limit] holds a quarter.
  counts, _ = np.histogram(values, bins=4, range=(-limit, limit))
  np.testing.assert_allclose(counts / values.size, 0.25, atol=0.005)


def test_glorot_uses_conv_receptive_field():
  # For (kh, kw, cin, cout): fan_in = kh·kw·cin, fan_out = kh·kw·cout.
  values = _sample("glorot_uniform", shape=(3, 3, 40, 60))
  limit = np.sqrt(6.0 / (9 * 40 + 9 * 60))
  assert np.abs(values).max() == pytest.approx(limit, rel=0.01)


@pytest.mark.parametrize("bad", ["uniform", "Normal", "he_normal", ""])
def test_unknown_name_raises_with_valid_names(bad):
  with pytest.raises(ValueError, match=f"Unknown weight initializer {bad!r}") as error:
    initializers.weight_initializer(bad)
  for name in ("normal", "truncated", "orthogonal", "glorot_normal", "glorot_uniform",
               "xavier"):
    assert repr(name) in str(error.value)


@pytest.mark.parametrize("name", ["normal", "truncated", "orthogonal", "glorot_normal",
                                  "glorot_uniform"])
def test_each_call_is_fresh_and_unseeded(name):
  first = initializers.weight_initializer(name)
  second = initializers.weight_initializer(name)
  assert first is not second
  assert first.get_config().get("seed") is None  # Serializes as unseeded.
  assert not np.allclose(first((6, 6)), second((6, 6)))


@pytest.mark.parametrize("name", ["normal", "orthogonal", "glorot_uniform"])
def test_layers_get_different_but_reproducible_kernels(name):

  def two_kernels():
    keras.utils.set_random_seed(42)
    pair = [layers.Linear(6, kernel_initializer=initializers.weight_initializer(name))
            for _ in range(2)]
    for layer in pair:
      layer.build((None, 6))
    return [layer.kernel.numpy() for layer in pair]

  first, second = two_kernels()
  assert not np.allclose(first, second)
  again = two_kernels()
  np.testing.assert_array_equal(again[0], first)
  np.testing.assert_array_equal(again[1], second)
  keras.utils.set_random_seed(43)
  other = layers.Linear(6, kernel_initializer=initializers.weight_initializer(name))
  other.build((None, 6))
  assert not np.allclose(other.kernel.numpy(), first)


def test_layer_default_kernel_is_compare_gan_normal():
  keras.utils.set_random_seed(1)
  layer = layers.Conv2D(64, 3)
  layer.build((None, 8, 8, 64))
  kernel = layer.kernel.numpy()
  assert kernel.std() == pytest.approx(0.02, rel=0.02)
  assert np.mean(np.abs(kernel) > 0.04) > 0.03  # Not truncated.
