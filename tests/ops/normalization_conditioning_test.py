"""How architectures feed modulated norms: `select_condition` picks y or z.

Companion to normalization_test.py (kept separate to stay under 400 lines).
"""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2.ops import normalization

X = tf.random.stateless_normal([4, 2, 2, 8], seed=[1, 2])
Z = tf.random.stateless_normal([4, 6], seed=[3, 4])
Y = tf.one_hot([0, 1, 2, 1], 3)


@pytest.mark.parametrize("cls,expected", [
    (normalization.ConditionalBatchNorm, Y),
    (normalization.SelfModulatedBatchNorm, Z),
])
def test_select_condition_picks_the_declared_input(cls, expected):
  norm = cls()
  np.testing.assert_array_equal(norm.select_condition(z=Z, y=Y), expected)
  outputs = norm(X, norm.select_condition(z=Z, y=Y), training=True)
  assert outputs.shape == X.shape


@pytest.mark.parametrize("cls,missing", [
    (normalization.ConditionalBatchNorm, "needs y"),
    (normalization.SelfModulatedBatchNorm, "needs z"),
])
def test_missing_condition_is_named(cls, missing):
  with pytest.raises(ValueError, match=missing):
    cls().select_condition(z=None, y=None)


def test_plain_batch_norm_is_not_modulated():
  assert not isinstance(normalization.BatchNorm(), normalization.ModulatedBatchNorm)
  assert issubclass(normalization.ConditionalBatchNorm, normalization.ModulatedBatchNorm)


def test_moving_average_inference_skips_batch_statistics():
  """Inference with moving averages must not depend on the batch at all."""
  norm = normalization.BatchNorm(cross_replica=True)
  norm(X, training=True)
  single = norm(X[:1], training=False)
  np.testing.assert_allclose(single, norm(X, training=False)[:1], rtol=1e-6)
