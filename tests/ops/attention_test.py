"""Tests of compare_gan2.ops.attention.NonLocalBlock (SAGAN self-attention).

Against compare_gan's `non_local_block` (arch_ops.py:709-758):
identity at initialisation (sigma = 0), an independent numpy reference
for sigma != 0 (with and without spectral norm), the parameter count, the
variable creation order, SN on all four convolutions, the kernel initializer,
eager == tf.function == 2 replicas, config round trip and the shape errors.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import testing
from compare_gan2.ops import attention

CONVS = ("conv2d_theta", "conv2d_phi", "conv2d_g", "conv2d_attn_g")


def _random(shape, seed):
  return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _block(shape, seed=0, sigma=0.0, **kwargs):
  keras.utils.set_random_seed(seed)
  block = attention.NonLocalBlock(**kwargs)
  block.build(shape)
  block.sigma.assign(sigma)
  return block


def _convs(block):
  return [block.theta, block.phi, block.g, block.attn_g]


def np_sn_left(kernel, u):
  """compare_gan's default SN ("left", one power iteration) in numpy."""
  w = kernel.reshape(-1, kernel.shape[-1]).astype(np.float64)
  v = w.T @ u
  v /= np.linalg.norm(v)
  u = w @ v
  u /= np.linalg.norm(u)
  return kernel / (u.T @ w @ v).item()


def np_non_local(x, kernels, sigma):
  """x + sigma · conv1x1(attn · g) with compare_gan's reductions and pooling."""
  b, h, w, c = x.shape
  x = x.astype(np.float64)

  def conv1x1(inputs, kernel):
    return np.einsum("bhwc,co->bhwo", inputs, kernel[0, 0])

  def pool(features):  # 2x2 max pool, stride 2, VALID.
    return features.reshape(b, h // 2, 2, w // 2, 2, -1).max(axis=(2, 4))

  theta = conv1x1(x, kernels[0]).reshape(b, h * w, c // 8)
  phi = pool(conv1x1(x, kernels[1])).reshape(b, h * w // 4, c // 8)
  g = pool(conv1x1(x, kernels[2])).reshape(b, h * w // 4, c // 2)
  logits = theta @ phi.transpose(0, 2, 1)
  attn = np.exp(logits - logits.max(-1, keepdims=True))
  attn /= attn.sum(-1, keepdims=True)  # Softmax over the hw/4 keys.
  o = conv1x1((attn @ g).reshape(b, h, w, c // 2), kernels[3])
  return x + sigma * o


@pytest.mark.parametrize("shape", [(2, 4, 4, 16), (1, 2, 6, 8)])
def test_identity_at_initialisation(shape):
  block = attention.NonLocalBlock()  # Built by the call, sigma as initialised.
  x = _random(shape, 1)
  out = block(x)
  assert block.sigma.numpy() == 0.0  # compare_gan's zeros initializer.
  np.testing.assert_array_equal(out, x)


@pytest.mark.parametrize("spectral_norm", [False, True])
@pytest.mark.parametrize("shape", [(2, 4, 4, 16), (1, 2, 6, 8), (2, 4, 2, 32)])
def test_matches_numpy_reference(shape, spectral_norm):
  block = _block(shape, seed=2, sigma=0.7, spectral_norm=spectral_norm)
  # Larger kernels than N(0, 0.02²) so the softmax is far from uniform.
  for conv in _convs(block):
    conv.kernel.assign(_random(conv.kernel.shape, 3) * 0.5)
  kernels = [conv.kernel.numpy() for conv in _convs(block)]
  if spectral_norm:
    kernels = [np_sn_left(k, conv.u_var.numpy()) for k, conv in zip(kernels, _convs(block))]
  x = _random(shape, 4)
  out = block(x, training=True)
  want = np_non_local(x, kernels, 0.7)
  np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5)
  assert np.max(np.abs(want - x)) > 1e-2  # The attention branch does contribute.


@pytest.mark.parametrize("spectral_norm", [False, True])
@pytest.mark.parametrize("channels,count", [(8, 81), (16, 321), (32, 1281)])
def test_trainable_parameter_count(channels, count, spectral_norm):
  block = _block((1, 2, 2, channels), spectral_norm=spectral_norm)
  assert count == channels**2 // 8 * 2 + channels**2 // 2 + 1 + channels**2 // 2
  assert sum(int(np.prod(w.shape)) for w in block.trainable_weights) == count
  assert block.theta.kernel.shape == (1, 1, channels, channels // 8)
  assert block.phi.kernel.shape == (1, 1, channels, channels // 8)
  assert block.g.kernel.shape == (1, 1, channels, channels // 2)
  assert block.attn_g.kernel.shape == (1, 1, channels // 2, channels)
  assert all(conv.bias is None for conv in _convs(block))


@pytest.mark.parametrize("spectral_norm", [False, True])
def test_variable_creation_order_and_paths(spectral_norm, monkeypatch):
  created = []  # `block.weights` lists sigma first (own weights before sublayers).
  add_weight = keras.layers.Layer.add_weight
  monkeypatch.setattr(keras.layers.Layer, "add_weight", lambda self, *a, **kw: (
      created.append(f"{self.name}/{kw['name']}"), add_weight(self, *a, **kw))[1])
  block = attention.NonLocalBlock(spectral_norm=spectral_norm)
  block(_random((1, 4, 4, 8), 5))
  per_conv = ["kernel", "u_var"] if spectral_norm else ["kernel"]
  want = [f"{conv}/{name}" for conv in CONVS[:3] for name in per_conv]
  want += ["non_local_block/sigma"] + [f"conv2d_attn_g/{name}" for name in per_conv]
  assert created == want
  paths = sorted(w.path for w in block.weights)
  assert paths == sorted(["non_local_block/sigma"] + [
      f"non_local_block/{conv}/{name}" for conv in CONVS for name in per_conv])


def test_spectral_norm_on_all_four_convs():
  block = _block((2, 4, 4, 16), spectral_norm={"singular_value": "right"})
  x = _random((2, 4, 4, 16), 6)
  assert all(conv.u_var is not None for conv in _convs(block))
  assert all(conv.u_var.shape == (1, conv.kernel.shape[-1]) for conv in _convs(block))
  assert not any(w.name == "u_var" for w in block.trainable_weights)
  before = [conv.u_var.numpy() for conv in _convs(block)]
  block(x, training=False)  # Inference leaves u alone ...
  for conv, u in zip(_convs(block), before):
    np.testing.assert_array_equal(conv.u_var.numpy(), u)
  block(x, training=True)  # ... training updates all four, attn_g included.
  for conv, u in zip(_convs(block), before):
    assert np.max(np.abs(conv.u_var.numpy() - u)) > 1e-4
  assert _block((1, 2, 2, 8)).theta.u_var is None  # No SN by default.


def test_kernel_initializer_reaches_every_conv():
  block = _block((1, 2, 2, 16), kernel_initializer="orthogonal")
  kernels = [conv.kernel.numpy()[0, 0] for conv in _convs(block)]
  for kernel in kernels:  # Orthonormal along the shorter side.
    gram = kernel.T @ kernel if kernel.shape[0] >= kernel.shape[1] else kernel @ kernel.T
    np.testing.assert_allclose(gram, np.eye(len(gram)), atol=1e-5)
  # One shared Keras initializer would draw the same values for theta and phi.
  assert not np.allclose(kernels[0], kernels[1])
  assert block.sigma.numpy() == 0.0
  default = _block((1, 2, 2, 64))
  assert default.theta.kernel.numpy().std() == pytest.approx(0.02, rel=0.15)


@pytest.mark.parametrize("spectral_norm", [False, True])
def test_eager_function_and_two_replicas_agree(spectral_norm, two_replicas):
  x = _random((4, 4, 4, 8), 7)

  def build():
    block = _block(x.shape, seed=8, sigma=0.5, spectral_norm=spectral_norm)
    for conv in _convs(block):
      conv.kernel.assign(_random(conv.kernel.shape, 9) * 0.5)
    return block

  results = testing.run_three_ways(
      build, lambda block, x: block(x, training=True), [x], two_replicas)
  eager, eager_block = results["eager"]
  assert np.max(np.abs(eager - x)) > 1e-2
  for mode in ("function", "mirrored"):
    outputs, block = results[mode]
    np.testing.assert_allclose(outputs, eager, rtol=1e-5, atol=1e-6)
    if spectral_norm:
      for conv, want in zip(_convs(block), _convs(eager_block)):
        np.testing.assert_allclose(conv.u_var.numpy(), want.u_var.numpy(), atol=1e-6)


def test_unknown_batch_size_under_tf_function():
  block = _block((None, 4, 4, 8), sigma=0.3)
  traced = tf.function(block, input_signature=[tf.TensorSpec((None, 4, 4, 8))])
  x = _random((3, 4, 4, 8), 10)
  np.testing.assert_allclose(traced(x), block(x), rtol=1e-6)


def test_config_round_trip():
  block = _block((2, 4, 4, 16), sigma=0.4, kernel_initializer="orthogonal",
                 spectral_norm={"singular_value": "auto", "power_iterations": 2})
  config = block.get_config()
  assert config["spectral_norm"]["singular_value"] == "auto"
  assert config["spectral_norm"]["power_iterations"] == 2
  assert config["kernel_initializer"]["class_name"] == "Orthogonal"
  for clone in (attention.NonLocalBlock.from_config(config),
                keras.layers.deserialize(keras.layers.serialize(block))):
    assert type(clone) is attention.NonLocalBlock and clone.get_config() == config
    if not clone.built:
      clone.build((2, 4, 4, 16))
    assert clone.theta.spectral_norm == block.theta.spectral_norm
    clone.set_weights(block.get_weights())
    x = _random((2, 4, 4, 16), 11)
    np.testing.assert_allclose(clone(x), block(x), rtol=1e-6)
  plain = attention.NonLocalBlock().get_config()
  assert plain["spectral_norm"] is False and plain["kernel_initializer"] is None
  assert plain["name"] == "non_local_block"


@pytest.mark.parametrize("shape,reason", [
    ((1, 4, 4, 4), "C >= 8"), ((1, 3, 4, 8), "even H and W"), ((1, 4, 5, 8), "even H and W"),
    ((1, None, 4, 8), "static H, W and C"), ((1, 4, 4, None), "static H, W and C"),
    ((4, 4, 8), "expected NHWC")])
def test_invalid_shapes_raise(shape, reason):
  with pytest.raises(ValueError, match=reason):
    attention.NonLocalBlock().build(shape)
