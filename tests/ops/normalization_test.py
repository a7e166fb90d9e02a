"""Tests for compare_gan2.ops.normalization (compare_gan arch_ops.py:66-450).

Covers BatchNorm (compare_gan's pinned values, moving averages, accumulated
standing statistics in both variance modes, synchronized and per-replica
statistics on 2 replicas), ConditionalBatchNorm, SelfModulatedBatchNorm and
LayerNorm against independent numpy references, config round trips, equality
eagerly / traced / mirrored, and the errors for bad input.
"""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import testing
from compare_gan2.ops import layer_norm
from compare_gan2.ops import normalization as norm

EPS = 1e-3  # compare_gan's default epsilon.

# arch_ops_test.py:29-61.
PINNED_X = np.array([
    [[[5, 7, 2]], [[5, 8, 8]]], [[[1, 2, 0]], [[4, 0, 4]]],
    [[[6, 2, 6]], [[5, 0, 5]]], [[[2, 4, 2]], [[6, 4, 1]]]], np.float32)
PINNED_OUT = np.array([
    [[[0.4375205, 1.30336881, -0.58830315]], [[0.4375205, 1.66291881, 1.76490951]]],
    [[[-1.89592218, -0.49438119, -1.37270737]], [[-0.14584017, -1.21348119, 0.19610107]]],
    [[[1.02088118, -0.49438119, 0.98050523]], [[0.4375205, -1.21348119, 0.58830321]]],
    [[[-1.31256151, 0.22471881, -0.58830315]], [[1.02088118, 0.22471881, -0.98050523]]]])


def _standardize(x, mean=None, var=None, eps=EPS):
  """numpy BN over every axis but channels, biased variance."""
  axes = tuple(range(x.ndim - 1))
  mean = x.mean(axes) if mean is None else np.asarray(mean)
  var = x.var(axes) if var is None else np.asarray(var)
  return (x - mean) / np.sqrt(var + eps)


def _batch_with_moments(mean, var):
  """A [2, C] batch whose mean and biased variance are exactly `mean`, `var`."""
  mean, std = np.asarray(mean, np.float64), np.sqrt(np.asarray(var, np.float64))
  return np.stack([mean - std, mean + std]).astype(np.float32)


def _rand(*shape, seed=0, offset=0.0):
  return (np.random.RandomState(seed).randn(*shape) + offset).astype(np.float32)


def _built(layer, shape):
  layer(np.zeros(shape, np.float32))
  return layer


def _assert_accumulators(bn, mean, var, counter):
  for got, want in ((bn.accu_mean, mean), (bn.accu_variance, var), (bn.accu_counter, counter)):
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, err_msg=got.path)


def _standing_bn(**kwargs):
  bn = norm.BatchNorm(use_moving_averages=False, **kwargs)
  bn.build((None, 2))
  return bn


def test_batch_norm_matches_compare_gan_pinned_values():
  out = norm.BatchNorm()(PINNED_X, training=True).numpy()
  np.testing.assert_allclose(out, PINNED_OUT, atol=1e-5)
  np.testing.assert_allclose(out, _standardize(PINNED_X), atol=1e-5)
  # By hand: channel 0 has mean 4.25 and variance 2.9375.
  np.testing.assert_allclose(out[0, 0, 0, 0], 0.75 / np.sqrt(2.9375 + EPS), rtol=1e-6)


@pytest.mark.parametrize("shape", [(6, 3), (4, 2, 2, 3)], ids=["rank2_per_feature", "rank4"])
def test_moving_averages_follow_recurrence_and_drive_inference(shape):
  bn = norm.BatchNorm(decay=0.9)
  mean, var = np.zeros(shape[-1]), np.ones(shape[-1])
  for step in range(3):
    # Channels on very different scales: joint normalization would not match.
    x = _rand(*shape, seed=step, offset=step) * np.float32([1.0, 10.0, 0.1])
    np.testing.assert_allclose(bn(x, training=True), _standardize(x), atol=1e-5)
    axes = tuple(range(len(shape) - 1))
    mean -= (mean - x.mean(axes)) * 0.1
    var -= (var - x.var(axes)) * 0.1
  np.testing.assert_allclose(bn.moving_mean.numpy(), mean, rtol=1e-5)
  np.testing.assert_allclose(bn.moving_variance.numpy(), var, rtol=1e-5)
  probe = _rand(*shape, seed=9)
  np.testing.assert_allclose(bn(probe, training=False), _standardize(probe, mean, var),
                             atol=1e-5)


def test_standing_statistics_training_leaves_accumulators_untouched():
  bn = _standing_bn()
  with norm.standing_statistics(bn):  # Even with the switch on.
    for mean, var in (([1, 2], [3, 4]), ([5, 6], [7, 8])):
      x = _batch_with_moments(mean, var)
      np.testing.assert_allclose(bn(x, training=True), _standardize(x, mean, var), atol=1e-5)
  _assert_accumulators(bn, [0, 0], [0, 0], 1e-12)


def test_standing_statistics_compare_gan_accumulator_sequence():
  bn = _standing_bn()
  x1, x2 = _batch_with_moments([1, 2], [3, 4]), _batch_with_moments([5, 6], [7, 8])
  with norm.standing_statistics(bn):
    np.testing.assert_allclose(bn(x1), _standardize(x1, [1, 2], [3, 4]), atol=1e-5)
    # The current batch is included: averages of both batches.
    np.testing.assert_allclose(bn(x2), _standardize(x2, [3, 4], [5, 6]), atol=1e-5)
  _assert_accumulators(bn, [6, 8], [10, 12], 2.0)
  x3 = _batch_with_moments([2, 2], [3, 3])
  np.testing.assert_allclose(bn(x3), _standardize(x3, [3, 4], [5, 6]), atol=1e-5)
  _assert_accumulators(bn, [6, 8], [10, 12], 2.0)


@pytest.mark.parametrize("mode", ["batch_average", "pooled"])
def test_standing_variance_modes(mode):
  batches = [_rand(4, 2, 2, 3, seed=i, offset=2.0 * i) for i in range(3)]
  every = np.concatenate(batches)
  axes = (0, 1, 2)
  average_var = np.mean([b.var(axes) for b in batches], axis=0)
  pooled_var = every.var(axes)
  assert np.all(pooled_var > 1.5 * average_var)  # The modes are distinguishable.
  bn = norm.BatchNorm(use_moving_averages=False, standing_variance=mode)
  bn.build((None, 2, 2, 3))
  with norm.standing_statistics(bn):
    for batch in batches:
      bn(batch, training=False)
  expected_var = pooled_var if mode == "pooled" else average_var
  probe = _rand(2, 2, 2, 3, seed=7)
  np.testing.assert_allclose(bn(probe), _standardize(probe, every.mean(axes), expected_var),
                             atol=1e-4)


def test_standing_statistics_inside_tf_function():
  bn = _standing_bn()
  infer = tf.function(lambda x: bn(x, training=False))
  infer(_batch_with_moments([9, 9], [9, 9]))  # Traced with the switch off.
  x1, x2 = _batch_with_moments([1, 2], [3, 4]), _batch_with_moments([5, 6], [7, 8])
  with norm.standing_statistics(bn):
    infer(x1)
    infer(x2)
  _assert_accumulators(bn, [6, 8], [10, 12], 2.0)
  np.testing.assert_allclose(infer(x1), _standardize(x1, [3, 4], [5, 6]), atol=1e-5)
  _assert_accumulators(bn, [6, 8], [10, 12], 2.0)


@pytest.mark.parametrize("cross_replica", [True, False])
def test_standing_statistics_under_two_replicas(two_replicas, cross_replica):
  with two_replicas.scope():
    bn = norm.BatchNorm(use_moving_averages=False, cross_replica=cross_replica)
    bn.build((None, 3))
  step = tf.function(lambda x: two_replicas.run(lambda a: bn(a, training=False), args=(x,)))
  batches = [_rand(8, 3, seed=i, offset=i) for i in range(2)]
  with norm.standing_statistics(bn):
    for batch in batches:
      step(*testing.split_batch(two_replicas, [batch]))
  # Synchronized: whole-batch variances; otherwise each replica's half counts.
  parts = batches if cross_replica else [h for b in batches for h in np.split(b, 2)]
  var = np.mean([p.var(0) for p in parts], axis=0)
  mean = np.concatenate(batches).mean(0)
  np.testing.assert_allclose(bn.accu_mean.numpy() / bn.accu_counter.numpy(), mean, rtol=1e-5)
  np.testing.assert_allclose(bn.accu_variance.numpy() / bn.accu_counter.numpy(), var, rtol=1e-5)
  probe = _rand(8, 3, seed=5)
  out = two_replicas.gather(step(*testing.split_batch(two_replicas, [probe])), axis=0)
  np.testing.assert_allclose(out, _standardize(probe, mean, var), atol=1e-5)


def test_standing_statistics_reset_and_continue():
  bn = _standing_bn()
  model = keras.Sequential([bn])  # Found when nested in a model.
  xa, xb = _batch_with_moments([1, 2], [3, 4]), _batch_with_moments([5, 6], [7, 8])
  with norm.standing_statistics(model) as found:
    assert found == [bn]
    bn(xa)
  with norm.standing_statistics(model, reset=False):
    bn(xb)
  _assert_accumulators(bn, [6, 8], [10, 12], 2.0)
  with norm.standing_statistics(model):
    bn(xb)
  _assert_accumulators(bn, [5, 6], [7, 8], 1.0)


@pytest.mark.parametrize("make_model", [
    # Explicit name: other tests expect the auto-name "tiny_generator" free.
    lambda: _built(testing.TinyGenerator(name="no_bn_generator"), (1, 2)),
    lambda: norm.BatchNorm(use_moving_averages=False),  # Not built yet.
    lambda: _built(norm.BatchNorm(), (2, 2)),  # Moving averages.
], ids=["no_bn", "unbuilt", "moving_averages"])
def test_standing_statistics_without_layer_raises(make_model):
  with pytest.raises(ValueError, match="no built BatchNorm with use_moving_averages=False"):
    with norm.standing_statistics(make_model()):
      pass


def _one_moving_update(mean, var, decay):
  """One step of v <- v - (v - stat)(1 - decay) from moving mean 0, variance 1."""
  return mean * (1 - decay), 1 - (1 - var) * (1 - decay)


def test_cross_replica_statistics_match_single_device(two_replicas):
  def build():
    bn = norm.BatchNorm(decay=0.5, cross_replica=True)
    bn.build((None, 2, 2, 3))
    return bn

  x = _rand(4, 2, 2, 3, seed=3) * np.array([1.0, 2.0, 3.0], np.float32)
  x[2:] += 1.0  # Halves differ, so per-replica statistics would not match.
  halves = np.split(x, 2)
  assert not np.allclose(halves[0].mean((0, 1, 2)), halves[1].mean((0, 1, 2)), atol=0.1)
  results = testing.run_three_ways(build, lambda bn, a: bn(a, training=True), [x], two_replicas)
  moving = _one_moving_update(x.mean((0, 1, 2)), x.var((0, 1, 2)), decay=0.5)
  for mode, (out, bn) in results.items():
    np.testing.assert_allclose(out, _standardize(x), atol=1e-5, err_msg=mode)
    np.testing.assert_allclose(bn.moving_mean.numpy(), moving[0], atol=1e-5, err_msg=mode)
    np.testing.assert_allclose(bn.moving_variance.numpy(), moving[1], atol=1e-5, err_msg=mode)
  # Both replicas' copies of the moving statistics hold the same values.
  for copy in two_replicas.experimental_local_results(results["mirrored"][1].moving_mean.value):
    np.testing.assert_allclose(copy.numpy(), moving[0], atol=1e-5)


def test_per_replica_statistics_without_sync(two_replicas):
  def build():
    bn = norm.BatchNorm(decay=0.5, cross_replica=False)
    bn.build((None, 3))
    return bn

  x = np.concatenate([_rand(4, 3, seed=1), _rand(4, 3, seed=2, offset=3.0) * 2])
  results = testing.run_three_ways(build, lambda bn, a: bn(a, training=True), [x], two_replicas)
  for mode in ("eager", "function"):
    np.testing.assert_allclose(results[mode][0], _standardize(x), atol=1e-5, err_msg=mode)
  out, bn = results["mirrored"]
  halves = np.split(x, 2)
  np.testing.assert_allclose(out, np.concatenate([_standardize(h) for h in halves]), atol=1e-5)
  # Each replica's update is averaged into the mirrored moving statistics.
  moving = _one_moving_update(np.mean([h.mean(0) for h in halves], 0),
                              np.mean([h.var(0) for h in halves], 0), decay=0.5)
  np.testing.assert_allclose(bn.moving_mean.numpy(), moving[0], atol=1e-5)
  np.testing.assert_allclose(bn.moving_variance.numpy(), moving[1], atol=1e-5)


@pytest.mark.parametrize("gamma_offset", [0.0, 1.0])
def test_conditional_batch_norm_matches_numpy(gamma_offset):
  keras.utils.set_random_seed(1)
  x, y = _rand(4, 2, 2, 3, seed=1), _rand(4, 5, seed=2)
  layer = norm.ConditionalBatchNorm(gamma_offset=gamma_offset)
  out = layer(x, y, training=True).numpy()
  w_gamma = layer.gamma_projection.kernel.numpy()
  w_beta = layer.beta_projection.kernel.numpy()
  assert w_gamma.shape == w_beta.shape == (5, 3)
  assert layer.gamma_projection.bias is None and layer.beta_projection.bias is None
  assert layer.gamma_projection.kernel.path.endswith("gamma/kernel")
  assert layer.beta_projection.kernel.path.endswith("beta/kernel")
  gamma = (y @ w_gamma + gamma_offset)[:, None, None, :]
  beta = (y @ w_beta)[:, None, None, :]
  np.testing.assert_allclose(out, _standardize(x) * gamma + beta, atol=1e-5)


def test_conditional_batch_norm_bias_spectral_norm_and_rank():
  layer = norm.ConditionalBatchNorm(use_bias=True, spectral_norm=True)
  layer(_rand(4, 3), _rand(4, 5), training=True)
  for projection, name in ((layer.gamma_projection, "gamma"), (layer.beta_projection, "beta")):
    np.testing.assert_array_equal(projection.bias.numpy(), np.zeros(3))
    assert projection.u_var is not None and projection.u_var.path.endswith(f"{name}/u_var")
  with pytest.raises(ValueError, match=r"y must be rank 2.*\(4, 2, 5\)"):
    norm.ConditionalBatchNorm()(_rand(4, 3), _rand(4, 2, 5))


@pytest.mark.parametrize("num_hidden", [4, 0])
def test_self_modulated_batch_norm_matches_numpy(num_hidden):
  keras.utils.set_random_seed(2)
  x, z = _rand(4, 2, 2, 3, seed=3), _rand(4, 6, seed=4)
  layer = norm.SelfModulatedBatchNorm(num_hidden=num_hidden)
  layer.build(x.shape, z.shape)
  np.testing.assert_array_equal(layer.gamma_projection.bias.numpy(), np.ones(3))
  np.testing.assert_array_equal(layer.beta_projection.bias.numpy(), np.zeros(3))
  # Non-trivial biases so the reference checks where each one is added.
  for i, var in enumerate(w for w in layer.trainable_weights if w.path.endswith("bias")):
    var.assign(var.numpy() + 0.1 * _rand(*var.shape, seed=20 + i))
  if num_hidden:
    h = np.maximum(z @ layer.hidden.kernel.numpy() + layer.hidden.bias.numpy(), 0)
  else:
    assert layer.hidden is None and layer.gamma_projection.kernel.shape == (6, 3)
    h = z
  gamma = h @ layer.gamma_projection.kernel.numpy() + layer.gamma_projection.bias.numpy()
  beta = h @ layer.beta_projection.kernel.numpy() + layer.beta_projection.bias.numpy()
  out = layer(x, z, training=True).numpy()
  np.testing.assert_allclose(out, _standardize(x) * gamma[:, None, None] + beta[:, None, None],
                             atol=1e-5)


@pytest.mark.parametrize("z_shape", [(4,), (4, 2, 3)])
def test_self_modulated_batch_norm_rejects_wrong_rank_z(z_shape):
  with pytest.raises(ValueError, match=re.escape(str(z_shape))):
    norm.SelfModulatedBatchNorm(num_hidden=2)(_rand(4, 3), _rand(*z_shape))


def test_layer_norm_per_channel_params_joint_normalization():
  layer = layer_norm.LayerNorm()
  x = _rand(2, 3, 3, 4, seed=5) * 1e-3  # Variance ~1e-6: a larger eps would show.
  layer.build(x.shape)
  assert [w.path.split("/")[-1] for w in layer.weights] == ["beta", "gamma"]
  assert layer.beta.shape == layer.gamma.shape == (4,)
  layer.gamma.assign(_rand(4, seed=6))
  layer.beta.assign(_rand(4, seed=7))
  mean = x.mean((1, 2, 3), keepdims=True)
  var = x.var((1, 2, 3), keepdims=True)
  expected = (x - mean) / np.sqrt(var + 1e-12) * layer.gamma.numpy() + layer.beta.numpy()
  np.testing.assert_allclose(layer(x).numpy(), expected, atol=1e-4)


# (constructor, non-default kwargs, call inputs) for every layer class.
LAYER_CASES = {
    "batch_norm": (norm.BatchNorm, dict(
        decay=0.9, epsilon=1e-5, use_moving_averages=False, cross_replica=False,
        center=False, standing_variance="pooled"), ((4, 2, 2, 3),)),
    "conditional": (norm.ConditionalBatchNorm, dict(
        use_bias=True, spectral_norm=True, kernel_initializer="glorot_uniform",
        gamma_offset=1.0, decay=0.9, epsilon=1e-5), ((4, 2, 2, 3), (4, 5))),
    "self_modulated": (norm.SelfModulatedBatchNorm, dict(
        num_hidden=3, spectral_norm=True, epsilon=1e-5), ((4, 2, 2, 3), (4, 6))),
    "layer_norm": (layer_norm.LayerNorm, dict(epsilon=1e-6), ((4, 2, 2, 3),)),
}


def _inputs(shapes):
  return [_rand(*shape, seed=i + 10) for i, shape in enumerate(shapes)]


@pytest.mark.parametrize("case", LAYER_CASES)
def test_config_round_trip(case):
  cls, kwargs, shapes = LAYER_CASES[case]
  layer = cls(name="norm", **kwargs)
  config = layer.get_config()
  clone = cls.from_config(config)
  assert clone.get_config() == config
  assert type(keras.saving.deserialize_keras_object(
      keras.saving.serialize_keras_object(layer))) is cls
  for key, value in kwargs.items():  # Every non-default argument survives.
    got = getattr(clone, key)
    if key == "kernel_initializer":
      assert isinstance(got, keras.initializers.GlorotUniform)
    else:
      assert bool(got) if key == "spectral_norm" else got == value, key
  inputs = _inputs(shapes)  # Same weights give the same numbers.
  for built in (layer, clone):
    built(*inputs)
  clone.set_weights(layer.get_weights())
  np.testing.assert_allclose(clone(*inputs, training=True), layer(*inputs, training=True),
                             atol=1e-6)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("case", LAYER_CASES)
def test_eager_traced_and_mirrored_agree(two_replicas, case, training):
  cls, kwargs, shapes = LAYER_CASES[case]

  def build():
    keras.utils.set_random_seed(4)  # Equal initial weights in every mode.
    layer = cls(**kwargs)
    layer.build(*[(None, *shape[1:]) for shape in shapes])
    return layer

  def fn(layer, *inputs):
    return layer(*inputs, training=training)

  inputs = _inputs(shapes)
  results = testing.run_three_ways(build, fn, inputs, two_replicas)
  eager = results["eager"][0]
  np.testing.assert_allclose(results["function"][0], eager, rtol=1e-5, atol=1e-5)
  if training and case != "layer_norm":
    # Unsynchronized batch statistics: each replica normalizes its own half.
    halves = zip(*[np.split(x, 2) for x in inputs])
    eager = np.concatenate([fn(build(), *half).numpy() for half in halves])
  np.testing.assert_allclose(results["mirrored"][0], eager, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(2, 3, 4), (2, 1, 1, 1, 3), (None, 2, 2, None)])
def test_batch_norm_rejects_bad_shapes(shape):
  with pytest.raises(ValueError, match=re.escape(str(shape))):
    norm.BatchNorm().build(shape)
  if None not in shape:  # Also through a call.
    with pytest.raises(ValueError, match=re.escape(str(shape))):
      norm.BatchNorm()(np.zeros(shape, np.float32))


def test_invalid_standing_variance_raises():
  with pytest.raises(ValueError, match="standing_variance must be one of.*'pooledd'"):
    norm.BatchNorm(standing_variance="pooledd")


@pytest.mark.parametrize("policy", ["mixed_float16", "float16"])
@pytest.mark.parametrize("layer_cls", [norm.BatchNorm, layer_norm.LayerNorm])
def test_half_precision_policies(layer_cls, policy):
  # Regression: BatchNorm's float16 gamma/beta clashed with its float32 math.
  x = _rand(4, 2, 2, 3, seed=8)
  out = layer_cls(dtype=policy)(x, training=True)
  assert out.dtype == tf.float16
  np.testing.assert_allclose(out.numpy(), layer_cls()(x, training=True).numpy(), atol=1e-2)
