"""Tests of compare_gan2.metrics.jacobian against compare_gan's jacobian_conditioning_test.py.

The pinned rows of compare_gan's jacobian_conditioning_test.py (linear map, finite differences,
`_analyze_metric_tensor` shapes, `analyze_jacobian` on a 2×2×2 example), then
the metric on generators whose Jacobian is known in closed form, checked
against NumPy SVDs of those Jacobians.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import testing
from compare_gan2.metrics import base
from compare_gan2.metrics import jacobian

_BATCH_SIZE = 32


def _uniform_z(shape, seed):
  return tf.random.stateless_uniform(shape, seed, -1.0, 1.0)


def _fc_net() -> keras.Sequential:
  """compare_gan's test net: three ReLU `fully_connected` layers, 2 → 20 → 20 → 10."""
  keras.utils.set_random_seed(1)
  net = keras.Sequential([keras.Input((2,))] +
                         [keras.layers.Dense(n, activation="relu") for n in (20, 20, 10)])
  for layer in net.layers:  # Non-zero biases, so no unit sits exactly at the kink.
    layer.bias.assign(np.random.RandomState(2).uniform(-0.5, 0.5, layer.bias.shape))
  return net


def _numpy_fc(net: keras.Sequential, x: np.ndarray) -> np.ndarray:
  for layer in net.layers:
    kernel, bias = (np.asarray(w, np.float64) for w in layer.get_weights())
    x = np.maximum(x @ kernel + bias, 0.0)
  return x


def _log_cond_from_svd(jacobians: np.ndarray) -> np.ndarray:
  """log cond(JᵀJ) = 2 log(σ_max(J) / σ_min(J)), from NumPy's SVD of J."""
  singular = np.linalg.svd(np.asarray(jacobians, np.float64), compute_uv=False)
  return 2.0 * np.log(singular[:, 0] / singular[:, -1])


@pytest.mark.parametrize("mode", jacobian.MODES)
def test_linear_map_jacobian_is_w_transpose(mode):
  """f = x·W gives J[b] = Wᵀ = [[2, 1.5], [-1, 1]] (jacobian_conditioning_test.py:54-65)."""
  x = tf.random.stateless_normal([_BATCH_SIZE, 2], [0, 1])
  w = tf.constant([[2.0, -1.0], [1.5, 1.0]])
  got = jacobian.compute_jacobian(lambda v: tf.matmul(v, w), x, mode)
  np.testing.assert_allclose(got, np.tile([[[2.0, 1.5], [-1.0, 1.0]]], [_BATCH_SIZE, 1, 1]))


@pytest.mark.parametrize("mode", jacobian.MODES)
def test_fc_net_matches_slow_gradients_and_finite_differences(mode):
  """3-layer FC net: per-output gradients agree, and so do float64 central differences
  (ε = 1e-4) within rtol = atol = 1e-3 (jacobian_conditioning_test.py:67-115)."""
  net = _fc_net()
  x = np.random.RandomState(0).normal(size=(_BATCH_SIZE, 2)).astype(np.float32)
  got = jacobian.compute_jacobian(net, x, mode).numpy()
  assert got.shape == (_BATCH_SIZE, 10, 2)
  x_t = tf.constant(x)
  slow = []
  for j in range(10):  # compare_gan's SlowJacobian: one gradient per output.
    with tf.GradientTape() as tape:
      tape.watch(x_t)
      out = net(x_t)[:, j]
    slow.append(tape.gradient(out, x_t))
  np.testing.assert_allclose(got, tf.stack(slow, axis=1), rtol=1e-5, atol=1e-6)
  eps, x64 = 1e-4, x.astype(np.float64)
  for i in range(2):
    step = np.zeros_like(x64)
    step[:, i] = eps
    central = (_numpy_fc(net, x64 + step) - _numpy_fc(net, x64 - step)) / (2 * eps)
    np.testing.assert_allclose(got[:, :, i], central, rtol=1e-3, atol=1e-3)


def test_image_outputs_are_flattened():
  """An image-valued fn gives J [batch, H·W·C, x_dim], in row-major pixel order."""
  a = np.random.RandomState(3).normal(size=(3, 2 * 2 * 2)).astype(np.float32)
  fn = lambda z: tf.reshape(tf.matmul(z, a), [-1, 2, 2, 2])
  got = jacobian.compute_jacobian(fn, tf.ones([4, 3]), "reverse")
  np.testing.assert_allclose(got, np.tile(a.T[None], [4, 1, 1]), rtol=1e-6)


def test_analyze_metric_tensor_shapes():
  """J ~ N(0, 1) [32, 2, 10], M = JᵀJ [32, 10, 10]: eigenvalues [32, 10], logdet and
  log condition number [32] (jacobian_conditioning_test.py:117-125)."""
  j = np.random.RandomState(0).normal(0, 1, (_BATCH_SIZE, 2, 10))
  stats = jacobian._analyze_metric_tensor(np.matmul(np.transpose(j, [0, 2, 1]), j))
  assert stats["eigenvalues"].shape == (_BATCH_SIZE, 10)
  assert stats["logdet"].shape == (_BATCH_SIZE,)
  assert stats["log_condition_number"].shape == (_BATCH_SIZE,)


def test_analyze_jacobian_pinned_example():
  """J = [[[1,2],[3,4]], [[2,4],[6,8]]] gives M = [[[10,14],[14,20]], [[40,56],[56,80]]] and
  mean M = [[[25,35],[35,50]]] (jacobian_conditioning_test.py:127-137); the statistics
  match NumPy's SVD and determinant of J."""
  j = np.array([[[1, 2], [3, 4]], [[2, 4], [6, 8]]])
  result = jacobian.analyze_jacobian(j)
  np.testing.assert_array_equal(result["metric_tensor"]["tensor"],
                                [[[10, 14], [14, 20]], [[40, 56], [56, 80]]])
  np.testing.assert_array_equal(result["mean_metric_tensor"]["tensor"], [[[25, 35], [35, 50]]])
  stats = result["metric_tensor"]
  np.testing.assert_allclose(stats["log_condition_number"], _log_cond_from_svd(j), rtol=1e-10)
  np.testing.assert_allclose(stats["logdet"], np.log(np.linalg.det(j) ** 2), rtol=1e-10)
  np.testing.assert_allclose(stats["eigenvalues"].sum(-1), [30, 120], rtol=1e-10)  # traces


def test_bad_arguments_raise():
  """A non-matrix x, an unknown mode, or an fn that changes the batch size is a ValueError."""
  with pytest.raises(ValueError, match="x must be"):
    jacobian.compute_jacobian(tf.identity, tf.ones([2, 2, 2]))
  with pytest.raises(ValueError, match="mode"):
    jacobian.compute_jacobian(tf.identity, tf.ones([2, 2]), "sideways")
  with pytest.raises(ValueError, match="batch size"):
    jacobian.compute_jacobian(lambda x: x[:1], tf.ones([2, 2]))
  with pytest.raises(ValueError, match="rank 3"):
    jacobian.analyze_jacobian(np.ones([2, 2]))
  with pytest.raises(ValueError, match="chunk_size"):
    jacobian.JacobianConditioning(chunk_size=0)


def test_metric_on_linear_generator_is_log_condition_number_of_a():
  """G(z) = z·A as a 4×4×1 image: every sample's metric tensor is A·Aᵀ, so the mean is
  log cond(AAᵀ) from NumPy's SVD of A, the std 0, the count the batch size."""
  a = np.random.RandomState(0).normal(size=(3, 16)).astype(np.float32)
  model = base.ModelAccess(generate=lambda z, y: tf.reshape(tf.matmul(z, a), [-1, 4, 4, 1]),
                           sample_z=_uniform_z, z_dim=3)
  got = jacobian.JacobianConditioning(batch_size=10, chunk_size=4)(model, base.EvalSet())
  assert got["log_condition_number_count"] == 10.0
  np.testing.assert_allclose(got["log_condition_number_mean"], _log_cond_from_svd(a[None])[0],
                             rtol=1e-5)
  assert got["log_condition_number_std"] == pytest.approx(0.0, abs=1e-5)


@pytest.mark.parametrize("mode", jacobian.MODES)
def test_metric_on_tiny_generator_matches_closed_form(mode):
  """compare_gan's dummy G = sigmoid(z·W + b): J_z = diag(σ'(h))·Wᵀ; mean and std (ddof 0)
  of the per-z log condition numbers match NumPy's SVD of those Jacobians."""
  keras.utils.set_random_seed(0)
  gen = testing.TinyGenerator(z_dim=3, image_shape=(4, 4, 1))
  gen.build((None, 3))
  drawn = []
  model = base.ModelAccess(generate=lambda z, y: gen(z, y, training=False),
                           sample_z=lambda s, seed: drawn.append(_uniform_z(s, seed)) or drawn[-1],
                           z_dim=3, seed=7)
  got = jacobian.JacobianConditioning(batch_size=12, chunk_size=5, mode=mode)(model, None)
  kernel, bias = (np.asarray(w, np.float64) for w in gen.fc_noise.get_weights())
  hidden = np.asarray(drawn[0], np.float64) @ kernel + bias
  slope = 1.0 / (1.0 + np.exp(-hidden)) * (1.0 - 1.0 / (1.0 + np.exp(-hidden)))
  want = _log_cond_from_svd(slope[:, :, None] * kernel.T[None])
  np.testing.assert_allclose(got["log_condition_number_mean"], want.mean(), rtol=1e-4)
  np.testing.assert_allclose(got["log_condition_number_std"], want.std(), rtol=1e-3, atol=1e-6)


def test_conditional_generator_gets_each_samples_labels():
  """A conditional G(z, y) = (z ⊙ (1 + y·V))·A: every z is differentiated with its own
  one-hot label, chunk by chunk (compared per sample with NumPy SVDs)."""
  rng = np.random.RandomState(1)
  a, v = rng.normal(size=(2, 8)).astype(np.float32), np.float32([[0.0, 0.0], [4.0, 0.0]])
  calls = []

  def generate(z, y):
    calls.append((np.asarray(z), np.asarray(y)))
    return tf.reshape(tf.matmul(z * (1.0 + tf.matmul(y, v)), a), [-1, 2, 2, 2])

  model = base.ModelAccess(generate=generate, sample_z=_uniform_z, z_dim=2, num_classes=2)
  metric = jacobian.JacobianConditioning(batch_size=9, chunk_size=4, mode="reverse")
  got = metric.log_condition_numbers(model)
  labels = np.concatenate([y for _, y in calls])
  assert labels.shape == (9, 2) and set(labels.sum(1)) == {1.0}
  want = _log_cond_from_svd((1.0 + labels @ v)[:, :, None] * a[None])
  np.testing.assert_allclose(got, want, rtol=1e-4)
