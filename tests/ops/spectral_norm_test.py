"""Tests of compare_gan2.ops.spectral_norm and the SN path of the kernel layers.

Checks, against an independent numpy port of compare_gan's `spectral_norm`
(arch_ops.py:453-535): the forward pass and u update in the "left", "right" and
"auto" modes for rank-2, conv and transposed-conv kernels; the gradient, which
reaches W through σ (unlike keras.layers.SpectralNormalization); convergence of
the power iteration; when `u_var` is written; SpectralNormConfig validation;
and equality of outputs, u and a training step on a 2-replica MirroredStrategy.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import testing
from compare_gan2.ops import layers
from compare_gan2.ops import spectral_norm as sn

MODES = ("left", "right", "auto")
# rank 2 tall and wide, a conv kernel (KH, KW, Cin, Cout), a deconv one (KH, KW, Cout, Cin).
KERNEL_SHAPES = {"tall": (5, 3), "wide": (3, 5), "conv": (3, 3, 2, 4), "deconv": (2, 2, 4, 3)}
LAYERS = {
    "linear": (lambda **kw: layers.Linear(4, **kw), (2, 3)),
    "conv": (lambda **kw: layers.Conv2D(4, 3, **kw), (2, 4, 4, 2)),
    "deconv": (lambda **kw: layers.Deconv2D(3, 2, **kw), (2, 2, 2, 4)),
    "embedding": (lambda **kw: layers.Embedding(6, 4, **kw), (2,)),
}


def _l2n(x, eps=1e-12):
  return x / np.sqrt(max(np.sum(x * x), eps))


def reference_sn(kernel, u, mode, iterations=1):
  """compare_gan's algorithm in float64: (kernel / σ, u', v, σ, resolved mode)."""
  w = np.asarray(kernel, np.float64).reshape(-1, kernel.shape[-1])
  u = np.asarray(u, np.float64)
  if mode == "auto":
    mode = "left" if w.shape[0] <= w.shape[1] else "right"
  for _ in range(iterations):
    if mode == "left":  # u (rows, 1), v (cols, 1).
      v = _l2n(w.T @ u)
      u = _l2n(w @ v)
    else:  # u (1, cols), v (1, rows).
      v = _l2n(u @ w.T)
      u = _l2n(v @ w)
  sigma = (u.T @ w @ v).item() if mode == "left" else (v @ w @ u.T).item()
  return kernel / sigma, u, v, sigma, mode


def _random(shape, seed):
  return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _sn_layer(kind, config, seed=0, call=True):
  """A built SN layer of kind `kind` and a matching input batch."""
  keras.utils.set_random_seed(seed)
  make, shape = LAYERS[kind]
  layer = make(spectral_norm=config)
  x = (np.arange(shape[0]) % 6) if kind == "embedding" else _random(shape, seed)
  layer.build(x.shape)
  return layer, x


@pytest.mark.parametrize("shape", [(2, 2), (3, 5), (5, 3), (3, 3, 2, 4), (1, 1, 8, 2)])
def test_u_shape_auto_picks_left_iff_rows_le_cols(shape):
  rows, cols = int(np.prod(shape[:-1])), shape[-1]
  assert sn.u_shape(shape, "left") == (rows, 1)
  assert sn.u_shape(shape, "right") == (1, cols)
  expected = (rows, 1) if rows <= cols else (1, cols)
  assert sn.u_shape(shape, "auto") == expected


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kernel_name", KERNEL_SHAPES)
def test_normalize_matches_numpy_reference(mode, kernel_name):
  shape = KERNEL_SHAPES[kernel_name]
  kernel = _random(shape, 1)
  u = _random(sn.u_shape(shape, mode), 2)
  kernel_sn, new_u, sigma = sn.normalize(tf.constant(kernel), tf.constant(u),
                                         sn.SpectralNormConfig(singular_value=mode))
  want_kernel, want_u, _, want_sigma, _ = reference_sn(kernel, u, mode)
  assert kernel_sn.shape == shape and new_u.shape == u.shape
  np.testing.assert_allclose(sigma, want_sigma, rtol=1e-5)
  np.testing.assert_allclose(kernel_sn, want_kernel, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(new_u, want_u, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", LAYERS)
def test_layer_normalized_kernel_and_u_update_match_reference(mode, kind):
  layer, _ = _sn_layer(kind, {"singular_value": mode})
  kernel, u0 = layer.kernel.numpy(), layer.u_var.numpy()
  assert u0.shape == sn.u_shape(kernel.shape, mode)
  got = layer.normalized_kernel(training=True)
  want_kernel, want_u, _, _, _ = reference_sn(kernel, u0, mode)
  np.testing.assert_allclose(got, want_kernel, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(layer.u_var.numpy(), want_u, rtol=1e-5, atol=1e-6)


def _analytic_grad(kernel, c, u, v, sigma, mode):
  """dΣ(C ⊙ W/σ)/dW with u, v constant; dσ/dW = u vᵀ (left) or vᵀ u (right)."""
  w = kernel.reshape(-1, kernel.shape[-1]).astype(np.float64)
  cm = c.reshape(w.shape).astype(np.float64)
  dsigma = u @ v.T if mode == "left" else v.T @ u
  grad = cm / sigma - np.sum(cm * w) / sigma**2 * dsigma
  return grad.reshape(kernel.shape)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kernel_name", KERNEL_SHAPES)
def test_gradient_through_normalize_includes_sigma_term(mode, kernel_name):
  shape = KERNEL_SHAPES[kernel_name]
  kernel, c = _random(shape, 3), _random(shape, 4)
  u = _random(sn.u_shape(shape, mode), 5)
  variable = tf.Variable(kernel)
  with tf.GradientTape() as tape:
    kernel_sn, _, _ = sn.normalize(variable, tf.constant(u),
                                   sn.SpectralNormConfig(singular_value=mode))
    loss = tf.reduce_sum(c * kernel_sn)
  grad = tape.gradient(loss, variable).numpy()
  _, u_new, v, sigma, resolved = reference_sn(kernel, u, mode)
  want = _analytic_grad(kernel, c, u_new, v, sigma, resolved)
  np.testing.assert_allclose(grad, want, rtol=1e-4, atol=1e-5)
  # The gradient Keras' wrapper would give ignores σ's dependence on W: C/σ.
  assert np.max(np.abs(grad - c / sigma)) > 1e-2 * np.max(np.abs(c / sigma))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["linear", "conv", "deconv"])
def test_gradient_through_layer_normalized_kernel(mode, kind):
  layer, _ = _sn_layer(kind, {"singular_value": mode})
  kernel, u0 = layer.kernel.numpy(), layer.u_var.numpy()
  c = _random(kernel.shape, 6)
  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(c * layer.normalized_kernel(training=True))
  grad = tape.gradient(loss, layer.kernel).numpy()
  _, u_new, v, sigma, resolved = reference_sn(kernel, u0, mode)
  np.testing.assert_allclose(grad, _analytic_grad(kernel, c, u_new, v, sigma, resolved),
                             rtol=1e-4, atol=1e-4)
  assert np.max(np.abs(grad - c / sigma)) > 1e-2 * np.max(np.abs(c / sigma))


@pytest.mark.parametrize("mode", MODES)
def test_power_iteration_converges_to_largest_singular_value(mode):
  layer, _ = _sn_layer("conv", {"singular_value": mode})
  # A (18, 4) matrix with singular values 3, 2, 1, 0.5: a gap the method resolves fast.
  rng = np.random.default_rng(7)
  left, _ = np.linalg.qr(rng.normal(size=(18, 4)))
  right, _ = np.linalg.qr(rng.normal(size=(4, 4)))
  matrix = left @ np.diag([3.0, 2.0, 1.0, 0.5]) @ right.T
  layer.kernel.assign(matrix.reshape(layer.kernel.shape).astype(np.float32))
  for _ in range(30):
    kernel_sn = layer.normalized_kernel(training=True).numpy()
  sigma = np.sum(matrix**2) ** 0.5 / np.sum(kernel_sn**2) ** 0.5
  true_sigma = np.linalg.svd(matrix, compute_uv=False)[0]
  assert abs(sigma - true_sigma) < 1e-3
  np.testing.assert_allclose(np.linalg.svd(kernel_sn.reshape(18, 4), compute_uv=False)[0],
                             1.0, atol=1e-3)


@pytest.mark.parametrize("mode", MODES)
def test_k_power_iterations_equal_k_single_calls(mode):
  several, _ = _sn_layer("linear", {"singular_value": mode, "power_iterations": 4}, seed=8)
  single, _ = _sn_layer("linear", {"singular_value": mode}, seed=8)
  np.testing.assert_array_equal(several.u_var.numpy(), single.u_var.numpy())
  kernel_sn = several.normalized_kernel(training=True)
  for _ in range(4):
    single_sn = single.normalized_kernel(training=True)
  np.testing.assert_allclose(several.u_var.numpy(), single.u_var.numpy(), atol=1e-6)
  np.testing.assert_allclose(kernel_sn, single_sn, rtol=1e-5)
  # And the 4-round result is not the 1-round one (u really moved further).
  _, u_once, _, _, _ = reference_sn(several.kernel.numpy(), _sn_layer(
      "linear", {"singular_value": mode}, seed=8)[0].u_var.numpy(), mode)
  assert np.max(np.abs(several.u_var.numpy() - u_once)) > 1e-4


@pytest.mark.parametrize("training,update_in_inference,updated", [
    (True, False, True), (False, False, False), (False, True, True), (True, True, True)])
@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_u_update_policy(kind, training, update_in_inference, updated):
  config = sn.SpectralNormConfig(update_in_inference=update_in_inference)
  layer, x = _sn_layer(kind, config)
  u0 = layer.u_var.numpy()
  layer(x, training=training)
  _, u_new, _, _, _ = reference_sn(layer.kernel.numpy(), u0, "left")
  if updated:
    np.testing.assert_allclose(layer.u_var.numpy(), u_new, rtol=1e-5, atol=1e-6)
  else:
    np.testing.assert_array_equal(layer.u_var.numpy(), u0)


def test_forward_pass_never_writes_kernel_unlike_keras_wrapper():
  layer, x = _sn_layer("linear", True)
  kernel0 = layer.kernel.numpy()
  for training in (True, False, True):
    layer(x, training=training)
  np.testing.assert_array_equal(layer.kernel.numpy(), kernel0)
  assert not layer.u_var.trainable
  assert [w.name for w in layer.trainable_weights] == ["kernel", "bias"]
  assert "u_var" in [w.name for w in layer.non_trainable_weights]
  # Contrast: Keras' wrapper overwrites its kernel with W/σ in training.
  wrapped = keras.layers.SpectralNormalization(keras.layers.Dense(4))
  wrapped.build(x.shape)
  dense_kernel0 = wrapped.layer.kernel.numpy()
  wrapped(x, training=True)
  assert np.max(np.abs(wrapped.layer.kernel.numpy() - dense_kernel0)) > 1e-3


@pytest.mark.parametrize("kwargs,bad", [
    ({"singular_value": "top"}, "'top'"), ({"singular_value": "LEFT"}, "'LEFT'"),
    ({"power_iterations": 0}, "got 0"), ({"power_iterations": -2}, "got -2")])
def test_config_validation_names_bad_value(kwargs, bad):
  with pytest.raises(ValueError, match=bad):
    sn.SpectralNormConfig(**kwargs)


def test_config_resolve():
  default = sn.SpectralNormConfig()
  assert sn.SpectralNormConfig.resolve(True) == default
  assert default.singular_value == "left" and default.power_iterations == 1
  assert sn.SpectralNormConfig.resolve(False) is None
  assert sn.SpectralNormConfig.resolve(None) is None
  custom = sn.SpectralNormConfig(singular_value="right", epsilon=1e-6)
  assert sn.SpectralNormConfig.resolve(custom) is custom
  assert sn.SpectralNormConfig.resolve(custom.to_dict()) == custom
  with pytest.raises(ValueError, match="'up'"):
    sn.SpectralNormConfig.resolve({"singular_value": "up"})
  for bad in ("left", 1, 0.5, ["left"]):
    with pytest.raises(TypeError, match="spectral_norm must be"):
      sn.SpectralNormConfig.resolve(bad)


@pytest.mark.parametrize("shape", [(4,), ()])
def test_kernel_rank_below_two_raises(shape):
  with pytest.raises(ValueError, match="rank >= 2"):
    sn.u_shape(shape, "left")
  with pytest.raises(ValueError, match="rank >= 2"):
    sn.normalize(tf.ones(shape), tf.ones((1, 1)), sn.SpectralNormConfig())


@pytest.mark.parametrize("mode", MODES)
def test_two_replicas_match_single_device(mode, two_replicas):
  x = _random((4, 6), 9)

  def build():
    keras.utils.set_random_seed(10)
    layer = layers.Conv2D(5, 1, spectral_norm={"singular_value": mode})
    layer.build((None, 1, 1, 6))
    return layer

  results = testing.run_three_ways(
      build, lambda layer, x: layer(x[:, None, None, :], training=True), [x], two_replicas)
  eager, eager_layer = results["eager"]
  u0 = build().u_var.numpy()
  _, want_u, _, _, _ = reference_sn(eager_layer.kernel.numpy(), u0, mode)
  np.testing.assert_allclose(eager_layer.u_var.numpy(), want_u, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(results["function"][0], eager, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(results["function"][1].u_var.numpy(), want_u, atol=1e-6)
  mirrored, mirrored_layer = results["mirrored"]
  np.testing.assert_allclose(mirrored, eager, rtol=1e-5, atol=1e-6)
  # `.value` is the tf MirroredVariable: both replicas' copies hold the new u.
  copies = two_replicas.experimental_local_results(mirrored_layer.u_var.value)
  assert len(copies) == 2
  for u in copies:
    np.testing.assert_allclose(u.numpy(), want_u, rtol=1e-5, atol=1e-6)


def _train_once(strategy, x, target):
  """One SGD step of an SN Linear on a squared loss; returns kernel and u."""
  with strategy.scope():
    keras.utils.set_random_seed(11)
    layer = layers.Linear(3, spectral_norm=True)
    layer.build(x.shape)
    optimizer = keras.optimizers.SGD(learning_rate=0.5)
    optimizer.build(layer.trainable_variables)

  def step(x, target):
    with tf.GradientTape() as tape:
      loss = tf.reduce_mean(tf.square(layer(x, training=True) - target))
      loss /= strategy.num_replicas_in_sync  # Keras all-reduce-sums gradients.
    grads = tape.gradient(loss, layer.trainable_variables)
    optimizer.apply_gradients(zip(grads, layer.trainable_variables))

  tf.function(lambda *a: strategy.run(step, args=a))(
      *testing.split_batch(strategy, [x, target]))
  kernels = strategy.experimental_local_results(layer.kernel.value)
  for kernel in kernels[1:]:  # Mirrored copies stay in sync.
    np.testing.assert_array_equal(kernel.numpy(), kernels[0].numpy())
  return layer.kernel.numpy(), layer.u_var.numpy()


def test_two_replica_training_step_matches_single_device(two_replicas):
  x, target = _random((4, 5), 12), _random((4, 3), 13)
  single = tf.distribute.get_strategy()  # The default, single-device strategy.
  kernel_1, u_1 = _train_once(single, x, target)
  kernel_2, u_2 = _train_once(two_replicas, x, target)
  keras.utils.set_random_seed(11)
  initial = layers.Linear(3, spectral_norm=True)
  initial.build(x.shape)
  assert np.max(np.abs(kernel_1 - initial.kernel.numpy())) > 1e-3  # It did train.
  np.testing.assert_allclose(kernel_2, kernel_1, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(u_2, u_1, rtol=1e-5, atol=1e-6)
