"""Tests of compare_gan2.architectures.resnet_biggan_deep (BigGAN-deep G and D).

Against compare_gan `resnet_biggan_deep.py` / `resnet_biggan_deep_test.py`
(and docs/design.md §10): the pinned parameter counts at every
resolution, a counter written here from compare_gan's channel lists for each
option set, attention placed by compare_gan's 64x64 rule, variable names and
shapes, the bottleneck block's creation order and skip path, conditioning
widths, forward passes (eager == tf.function == 2 replicas), config round
trips and the errors. Full-size models are only built, never run.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import testing
from compare_gan2.architectures import base
from compare_gan2.architectures import biggan_blocks
from compare_gan2.architectures import resnet_biggan_deep as deep
from compare_gan2.architectures import resnet_ops
from compare_gan2.ops import normalization as norm_lib

CBN, BN, SMBN = norm_lib.ConditionalBatchNorm, norm_lib.BatchNorm, norm_lib.SelfModulatedBatchNorm
ZEROS = keras.initializers.Zeros()  # Counting only: zero kernels are the cheapest to create.
# compare_gan's lists (resnet_biggan_deep.py:224-235, 352-363), apart from G_ARCH / D_ARCH.
G_MULT = {512: 4 * [16] + 4 * [8] + [4, 4, 2, 2, 1, 1, 1],
          256: 4 * [16] + 4 * [8] + [4, 4, 2, 2, 1], 128: 4 * [16] + 2 * [8] + [4, 4, 2, 2, 1],
          64: 4 * [16] + 2 * [8] + [4, 4, 2], 32: 8 * [4]}
D_MULT = {512: [1, 1, 1, 2, 2, 4, 4] + 4 * [8] + 4 * [16],
          256: [1, 2, 2, 4, 4] + 4 * [8] + 4 * [16], 128: [1, 2, 2, 4, 4] + 2 * [8] + 4 * [16],
          64: [2, 4, 4] + 2 * [8] + 4 * [16], 32: 8 * [2]}
# (G, D) at ch 128, z 128, 1000 classes, CBN in G: resnet_biggan_deep_test.py:57,60 at
# 128 px, docs/design.md §10 elsewhere.
PINNED = {32: (8_447_619, 1_012_033), 64: (49_583_876, 34_289_665),
          128: (50_244_484, 34_590_210), 256: (55_736_708, 38_247_426),
          512: (56_019_780, 38_301_122)}


# compare_gan's counting rules, shared in compare_gan2.testing.
conv = testing.conv_params
non_local = testing.non_local_params
norm_params = testing.norm_params


def attention_block(res, generator):
  """compare_gan's rule (:287-290, :404-408): after the G "up" / D "none" block at 64x64."""
  size = 4 if generator else res
  for i in range(len((G_MULT if generator else D_MULT)[res]) - 1):
    resamples = (i % 2 == 1) if generator else (i % 2 == 0)
    size = size * 2 if generator and resamples else size // 2 if resamples else size
    if size == 64 and resamples == generator:
      return f"B{i + 1}"
  return None


def block_params(c_in, c_out, norm, z_dim, y_dim):
  b = max(c_in, c_out) // 4
  total = norm_params(norm, c_in, z_dim, y_dim) + conv(1, c_in, b)
  total += 2 * (norm_params(norm, b, z_dim, y_dim) + conv(3, b, b))
  total += norm_params(norm, b, z_dim, y_dim) + conv(1, b, c_out)
  return total + (conv(1, c_in, c_out - c_in) if c_in < c_out else 0)


def expected_g(res, ch=16, z=128, classes=10, norm=None, embed_y=True, colors=3, fast=False):
  """compare_gan's G parameter count (resnet_biggan_deep.py:239-309)."""
  chans = [ch * m for m in G_MULT[res]]
  total = classes * 128 if classes and embed_y else 0
  cond = z + ((128 if embed_y else classes) if classes else 0)  # concat(z, e(y))
  total += conv(1, cond, 16 * chans[0])
  for i, (c_in, c_out) in enumerate(zip(chans, chans[1:])):
    total += block_params(c_in, c_out, norm, cond, cond)
    total += non_local(c_out) if attention_block(res, True) == f"B{i + 1}" else 0
  return total + 2 * chans[-1] + conv(3, chans[-1], 128 if fast else colors)


def expected_d(res, ch=16, classes=10, colors=3, project_y=True, norm=None):
  """compare_gan's D parameter count (resnet_biggan_deep.py:367-433)."""
  chans = [ch * m for m in D_MULT[res]]
  total = conv(3, colors, chans[0])
  for i, (c_in, c_out) in enumerate(zip(chans, chans[1:])):
    total += block_params(c_in, c_out, norm, None, classes)
    total += non_local(c_out) if attention_block(res, False) == f"B{i + 1}" else 0
  return total + conv(1, chans[-1], 1) + (classes * chans[-1] if project_y else 0)


def built(cls, res, **kwargs):
  model = cls(image_shape=(res, res, kwargs.pop("colors", 3)), **kwargs)
  model.build_variables()
  return model


@pytest.fixture(scope="module")
def deep_128():
  """compare_gan's test setup: 128 px, ch 128, z 128, 1000 classes, CBN in G."""
  return (built(deep.Generator, 128, num_classes=1000, batch_norm=CBN, kernel_initializer=ZEROS),
          built(deep.Discriminator, 128, num_classes=1000, kernel_initializer=ZEROS))


@pytest.mark.parametrize("res", sorted(PINNED))
def test_pinned_parameter_counts(res, deep_128):
  if res == 128:
    g, d = deep_128
  else:
    g = built(deep.Generator, res, num_classes=1000, batch_norm=CBN, kernel_initializer=ZEROS)
    d = built(deep.Discriminator, res, num_classes=1000, kernel_initializer=ZEROS)
  assert (g.ch, g.z_dim, d.ch) == (128, 128, 128)
  assert (testing.trainable_count(g), testing.trainable_count(d)) == PINNED[res]
  assert PINNED[res] == (expected_g(res, 128, 128, 1000, CBN), expected_d(res, 128, 1000))


# CBN with the default embedding at ch 128 is what the pinned counts cover.
G_OPTIONS = {
    "bn_sn_unconditional_gray": dict(batch_norm=BN, spectral_norm=True, num_classes=0, colors=1),
    "smbn_onehot_fast_rgb": dict(batch_norm=SMBN, embed_y=False, fast=True),
}


@pytest.mark.parametrize("option", sorted(G_OPTIONS))
@pytest.mark.parametrize("res", deep.Generator.RESOLUTIONS)
def test_generator_count_matches_counter(res, option):
  kwargs = {"num_classes": 10, **G_OPTIONS[option]}
  fast = kwargs.pop("fast", False)
  g = built(deep.Generator, res, ch=16, experimental_fast_conv_to_rgb=fast,
            kernel_initializer=ZEROS, **kwargs)
  assert testing.trainable_count(g) == expected_g(res, 16, 128, kwargs["num_classes"], kwargs.get("batch_norm"),
                                kwargs.get("embed_y", True), kwargs.get("colors", 3), fast)
  u_vars = [v for v in g.non_trainable_variables if v.name == "u_var"]
  kernels = [v for v in g.trainable_variables if v.name == "kernel" and "embed_y" not in v.path]
  assert len(u_vars) == (len(kernels) if kwargs.get("spectral_norm") else 0)


D_OPTIONS = {  # The pinned counts cover the defaults (projection, no norm) at ch 128.
    "bn_unconditional_gray": dict(batch_norm=BN, project_y=False, num_classes=0, colors=1),
    "cbn_sn": dict(batch_norm=CBN, spectral_norm=True),
}


@pytest.mark.parametrize("option", sorted(D_OPTIONS))
@pytest.mark.parametrize("res", deep.Discriminator.RESOLUTIONS)
def test_discriminator_count_matches_counter(res, option):
  kwargs = {"num_classes": 10, **D_OPTIONS[option]}
  d = built(deep.Discriminator, res, ch=16, kernel_initializer=ZEROS, **kwargs)
  assert testing.trainable_count(d) == expected_d(res, 16, kwargs["num_classes"], kwargs.get("colors", 3),
                                kwargs.get("project_y", True), kwargs.get("batch_norm"))


@pytest.mark.parametrize("res", deep.Generator.RESOLUTIONS)
def test_attention_placement_follows_the_64px_rule(res):
  for cls, generator in ((deep.Generator, True), (deep.Discriminator, False)):
    body = [layer.name for layer in cls(image_shape=(res, res, 3), ch=16).body]
    want = attention_block(res, generator)
    assert body.count("non_local_block") == (want is not None)
    if want:
      assert body[body.index("non_local_block") - 1] == want
  assert attention_block(128, True) == "B8" and attention_block(128, False) == "B2"
  assert attention_block(64, False) is None and attention_block(32, True) is None


def test_variable_names_and_shapes(deep_128):
  """compare_gan resnet_biggan_deep.py:62-433 at ch 128, z 128, 1000 classes."""
  g, d = deep_128
  names = {base.compare_gan_names(m)[v.path]: tuple(v.shape)
           for m in (g, d) for v in m.trainable_variables}
  want = {"generator/embed_y/kernel": (1000, 128), "generator/fc_noise/kernel": (256, 32768),
          "generator/B2/conv1/bn/condition/gamma/kernel": (256, 2048),
          "generator/B2/conv2/3x3_conv/kernel": (3, 3, 512, 512),
          "generator/B4/conv4/1x1_conv/kernel": (1, 1, 512, 1024),
          "generator/non_local_block/conv2d_theta/kernel": (1, 1, 256, 32),
          "generator/final_norm/beta": (128,), "generator/final_conv/kernel": (3, 3, 128, 3),
          "discriminator/initial_conv/kernel": (3, 3, 3, 128),
          "discriminator/B1/shortcut/add_channels/kernel": (1, 1, 128, 128),
          "discriminator/B1/conv4/1x1_conv/bias": (256,),
          "discriminator/non_local_block/sigma": (),
          "discriminator/final_fc/kernel": (2048, 1),
          "discriminator/embedding_fc/kernel": (1000, 2048)}
  assert {k: names.get(k) for k in want} == want
  assert all(shape[0] == 256 for n, shape in names.items() if "/condition/" in n)
  assert not any("shortcut" in n for n in names if n.startswith("generator"))


def test_block_creation_order(created_names):
  block = deep.BigGanDeepResNetBlock(16, 32, "down", batch_norm=BN, name="B1")
  block.build((2, 8, 8, 16))
  stage = ["moving_mean", "moving_variance", "gamma", "beta"]
  assert created_names() == (stage + ["1x1_conv", "bias"] + (stage + ["3x3_conv", "bias"]) * 2
                     + stage + ["1x1_conv", "bias", "add_channels", "bias"])
  assert block.compute_output_shape((2, 8, 8, 16)) == (2, 4, 4, 32)


@pytest.mark.parametrize("c_in,c_out,scale", [(32, 16, "up"), (16, 32, "down"), (16, 16, "none")])
def test_skip_path_without_the_residual_branch(c_in, c_out, scale):
  """With conv4 zeroed the block is its skip: drop channels + unpool, or pool + add."""
  block = deep.BigGanDeepResNetBlock(c_in, c_out, scale)
  x = np.random.default_rng(4).normal(size=(2, 8, 8, c_in)).astype(np.float32)
  block.build(x.shape)
  for weight in (block.conv4.conv.kernel, block.conv4.conv.bias):
    weight.assign(tf.zeros_like(weight))
  out = block(x).numpy()
  if scale == "up":
    np.testing.assert_array_equal(out, resnet_ops.unpool(x[..., :c_out]))
  elif scale == "down":
    pooled = resnet_ops.downsample(x)
    np.testing.assert_allclose(out[..., :c_in], pooled, rtol=1e-6)
    np.testing.assert_allclose(out[..., c_in:], block.shortcut.add_channels(pooled), rtol=1e-5)
  else:
    np.testing.assert_array_equal(out, x)


def input_widths(model, names):
  layers = model._flatten_layers()  # pylint: disable=protected-access
  return {layer.kernel.shape[0] for layer in layers if layer.name in names}


def test_conditioning_widths():
  """fc_noise and every norm see concat(z, e(y)); without y only z (:256-261)."""
  g = built(deep.Generator, 32, ch=16, z_dim=120, num_classes=10, batch_norm=CBN)
  assert input_widths(g, ("gamma", "beta", "fc_noise")) == {120 + 128}
  g = built(deep.Generator, 32, ch=16, z_dim=120, num_classes=0, batch_norm=SMBN)
  assert input_widths(g, ("hidden", "fc_noise")) == {120}


def test_forward_shapes_ranges_and_probabilities():
  keras.utils.set_random_seed(1)
  z = tf.random.normal([2, 128])
  y = tf.one_hot([3, 7], 10)
  for res, y_in, kwargs in ((32, y, dict(batch_norm=CBN)), (64, None, dict(num_classes=0))):
    g = deep.Generator(image_shape=(res, res, 3), ch=16, **kwargs)
    images = g(z, y_in, training=True)
    assert images.shape == (2, res, res, 3)
    assert 0.0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 1.0
    d = deep.Discriminator(image_shape=(res, res, 3), ch=16, project_y=y_in is not None)
    probabilities, logits, features = d(images, y_in, training=True)
    assert logits.shape == (2, 1) and features.shape == (2, 16 * (2 if res == 32 else 16))
    np.testing.assert_allclose(probabilities, tf.sigmoid(logits), rtol=1e-6)


def test_fast_conv_to_rgb_keeps_the_first_channels():
  g = built(deep.Generator, 32, ch=16, num_classes=0, experimental_fast_conv_to_rgb=True)
  assert g.final_conv.kernel.shape == (3, 3, 64, 128)
  z = tf.random.normal([2, 128], seed=3)
  before = g(z)
  kernel = g.final_conv.kernel
  kernel.assign(tf.concat([kernel[..., :3], tf.random.normal([3, 3, 64, 125])], axis=-1))
  np.testing.assert_array_equal(g(z), before)
  assert before.shape == (2, 32, 32, 3)


@pytest.mark.parametrize("cls,kwargs", [
    (deep.Generator, dict(batch_norm=BN, embed_y=False, experimental_fast_conv_to_rgb=True)),
    (deep.Discriminator, dict(kernel_initializer="orthogonal", project_y=False)),
])
def test_config_round_trip(cls, kwargs):
  model = cls(image_shape=(32, 32, 3), ch=16, num_classes=10, **kwargs)
  config = model.get_config()
  for clone in (cls.from_config(config),
                keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))):
    assert type(clone) is cls and clone.get_config() == config
    for network in (clone, model):
      if not network.built:
        network.build_variables()
    assert [(v.path, v.shape) for v in clone.variables] == [
        (v.path, v.shape) for v in model.variables]
  block = deep.BigGanDeepResNetBlock(16, 32, "down", batch_norm=CBN, spectral_norm=True)
  assert deep.BigGanDeepResNetBlock.from_config(block.get_config()).get_config() == (
      block.get_config())


def test_errors():
  with pytest.raises(ValueError, match="32, 64, 128, 256, 512 px; got 48x48"):
    deep.Generator(image_shape=(48, 48, 3))
  with pytest.raises(ValueError, match="has no layer norm"):
    deep.Discriminator(image_shape=(32, 32, 3), layer_norm=True)
  with pytest.raises(ValueError, match="blocks_with_attention is unused and must stay 'B1'"):
    deep.Discriminator(image_shape=(128, 128, 3), blocks_with_attention="B3")
  with pytest.raises(ValueError, match="project_y=True needs class labels"):
    deep.Discriminator(image_shape=(32, 32, 3), ch=16).build_variables(conditional=False)
  with pytest.raises(ValueError, match="drops channels only in 'up' blocks"):
    deep.BigGanDeepResNetBlock(32, 16, "down")
  with pytest.raises(ValueError, match="expected 16 input channels"):
    deep.BigGanDeepResNetBlock(16, 16, "none").build((1, 4, 4, 8))
  with pytest.raises(ValueError, match="z has 100 dims, z_dim is 128"):
    deep.Generator(image_shape=(32, 32, 3), ch=16).build((2, 100))
  assert deep.BigGanDeepResNetBlock is biggan_blocks.BigGanDeepResNetBlock
