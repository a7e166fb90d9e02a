"""Tests of compare_gan2.architectures.resnet_biggan (BigGAN G and D).

Against compare_gan `resnet_biggan.py` / `resnet_biggan_test.py`:
the pinned parameter counts at 128/256/512, a counter
written here from compare_gan's channel lists for every resolution and option
set, variable names and shapes, compare_gan's structural and initializer
checks, creation order, hierarchical-z routing, forward passes (eager ==
tf.function == 2 replicas), config round trips and the errors. Full-size
models are only built (`build_variables`, zero kernels), never run.
"""

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import testing
from compare_gan2.architectures import base
from compare_gan2.architectures import resnet_biggan as biggan
from compare_gan2.ops import normalization as norm_lib

CBN, BN, SMBN = norm_lib.ConditionalBatchNorm, norm_lib.BatchNorm, norm_lib.SelfModulatedBatchNorm
ZEROS = keras.initializers.Zeros()  # Counting only: zero kernels are the cheapest to create.
# compare_gan's lists (resnet_biggan.py:205-216, 344-356), kept apart from G_ARCH / D_ARCH.
G_MULT = {32: [4, 4, 4, 4], 64: [16, 16, 8, 4, 2], 128: [16, 16, 8, 4, 2, 1],
          256: [16, 16, 8, 8, 4, 2, 1], 512: [16, 16, 8, 8, 4, 2, 1, 1]}
D_MULT = {32: [2, 2, 2, 2], 64: [2, 4, 8, 16, 16], 128: [1, 2, 4, 8, 16, 16],
          256: [1, 2, 4, 8, 8, 16, 16], 512: [1, 1, 2, 4, 8, 8, 16, 16]}
# resnet_biggan.py:38-62 and resnet_biggan_test.py:139,154: (z, G attn, D attn, G, D).
PINNED = {128: (120, "B4", "B1", 70_433_988, 87_982_370),
          256: (140, "B5", "B2", 82_097_604, 98_635_298),
          512: (160, "B4", "B3", 82_468_068, 98_801_378)}


# compare_gan's counting rules, shared in compare_gan2.testing.
conv = testing.conv_params
non_local = testing.non_local_params
norm_params = testing.norm_params


def expected_g(res, ch=16, z=120, classes=10, norm=None, attention=("B4",), colors=3,
               hierarchical_z=True, embed_z=False, embed_y=True, embed_bias=False):
  """compare_gan's G parameter count (resnet_biggan.py:226-302)."""
  chans = [ch * m for m in G_MULT[res]]
  blocks = len(chans) - 1
  total = conv(1, z, z, embed_bias) if embed_z else 0
  y_dim = None
  if classes:
    total += conv(1, classes, 128, embed_bias) if embed_y else 0
    y_dim = 128 if embed_y else classes
  z_i = z // (blocks + 1) if hierarchical_z else z
  if y_dim and hierarchical_z:
    y_dim += z_i
  total += conv(1, z_i, 16 * chans[0])
  for i, (c_in, c_out) in enumerate(zip(chans, chans[1:])):
    total += norm_params(norm, c_in, z_i, y_dim) + conv(3, c_in, c_out)
    total += norm_params(norm, c_out, z_i, y_dim) + conv(3, c_out, c_out) + conv(1, c_in, c_out)
    total += non_local(c_out) if f"B{i + 1}" in attention else 0
  return total + 2 * chans[-1] + conv(3, chans[-1], colors)


def expected_d(res, ch=16, classes=10, attention=("B1",), colors=3, project_y=True,
               norm=None, layer_norm=False):
  """compare_gan's D parameter count (resnet_biggan.py:362-425)."""
  outs = [ch * m for m in D_MULT[res]]
  total = 0
  for i, (c_in, c_out) in enumerate(zip([colors] + outs, outs)):
    total += conv(3, c_in, c_out) + conv(3, c_out, c_out)
    total += conv(1, c_in, c_out) if c_in != c_out else 0  # No skip at all otherwise.
    total += norm_params(norm, c_in, None, classes) + norm_params(norm, c_out, None, classes)
    total += 2 * (c_in + c_out) if layer_norm else 0
    total += non_local(c_out) if f"B{i + 1}" in attention else 0
  return total + conv(1, outs[-1], 1) + (classes * outs[-1] if project_y else 0)


def built(cls, res, **kwargs):
  model = cls(image_shape=(res, res, kwargs.pop("colors", 3)), **kwargs)
  model.build_variables()
  return model


@pytest.fixture(scope="module")
def biggan_128():
  """compare_gan's test setup: 128 px, ch 96, z 120, 1000 classes, CBN in G."""
  g = built(biggan.Generator, 128, z_dim=120, num_classes=1000, batch_norm=CBN,
            kernel_initializer=ZEROS)
  d = built(biggan.Discriminator, 128, num_classes=1000, kernel_initializer=ZEROS)
  return g, d


@pytest.mark.parametrize("res", sorted(PINNED))
def test_pinned_parameter_counts(res, biggan_128):
  z, g_attention, d_attention, g_count, d_count = PINNED[res]
  if res == 128:
    g, d = biggan_128
  else:
    g = built(biggan.Generator, res, z_dim=z, num_classes=1000, batch_norm=CBN,
              blocks_with_attention=g_attention, kernel_initializer=ZEROS)
    d = built(biggan.Discriminator, res, num_classes=1000, blocks_with_attention=d_attention,
              kernel_initializer=ZEROS)
  assert (testing.trainable_count(g), testing.trainable_count(d)) == (g_count, d_count)
  assert g_count == expected_g(res, 96, z, 1000, CBN, (g_attention,))
  assert d_count == expected_d(res, 96, 1000, (d_attention,))
  assert biggan.RECOMMENDED[res] == (z, g_attention, d_attention)


G_OPTIONS = {  # CBN with compare_gan's defaults is also pinned at ch 96 (128-512 px).
    "bn_unconditional": dict(batch_norm=BN, num_classes=0),
    "no_norm_unconditional": dict(num_classes=0, embed_y=False),
    "smbn_sn": dict(batch_norm=SMBN, num_classes=0, spectral_norm=True),
    "cbn_sn_flat_z": dict(batch_norm=CBN, spectral_norm=True, hierarchical_z=False,
                          embed_z=True, embed_bias=True),
    "cbn_onehot_gray_two_attention": dict(batch_norm=CBN, embed_y=False, colors=1,
                                          blocks_with_attention="B2,B3"),
}


@pytest.mark.parametrize("option", sorted(G_OPTIONS))
@pytest.mark.parametrize("res", biggan.Generator.RESOLUTIONS)
def test_generator_count_matches_counter(res, option):
  kwargs = {"num_classes": 10, **G_OPTIONS[option]}
  g = built(biggan.Generator, res, ch=16, z_dim=20 * len(G_MULT[res]),
            kernel_initializer=ZEROS, **kwargs)
  counter_args = {k: v for k, v in kwargs.items() if k not in ("spectral_norm", "batch_norm")}
  counter_args["classes"] = counter_args.pop("num_classes")
  attention = counter_args.pop("blocks_with_attention", "" if res == 32 else "B4").split(",")
  assert testing.trainable_count(g) == expected_g(res, 16, 20 * len(G_MULT[res]), norm=kwargs.get("batch_norm"),
                                attention=attention, **counter_args)
  u_vars = [v for v in g.non_trainable_variables if v.name == "u_var"]
  kernels = [v for v in g.trainable_variables if v.name == "kernel" and "embed" not in v.path]
  assert len(u_vars) == (len(kernels) if kwargs.get("spectral_norm") else 0)


@pytest.mark.parametrize("res", [32, 64])
def test_generator_default_width_matches_counter(res):
  g = built(biggan.Generator, res, z_dim=120, num_classes=1000, batch_norm=CBN,
            kernel_initializer=ZEROS)
  assert g.ch == 96 and testing.trainable_count(g) == expected_g(res, 96, 120, 1000, CBN,
                                               () if res == 32 else ("B4",))


D_OPTIONS = {  # The defaults (projection, no norm) are also pinned at ch 96 (128-512 px).
    "bn_unconditional_gray": dict(batch_norm=BN, project_y=False, num_classes=0, colors=1),
    "sn_layer_norm": dict(spectral_norm=True, layer_norm=True),
    "cbn_two_attention_blocks": dict(batch_norm=CBN, blocks_with_attention=("B1", "B2")),
}


@pytest.mark.parametrize("option", sorted(D_OPTIONS))
@pytest.mark.parametrize("res", biggan.Discriminator.RESOLUTIONS)
def test_discriminator_count_matches_counter(res, option):
  kwargs = {"num_classes": 10, **D_OPTIONS[option]}
  d = built(biggan.Discriminator, res, ch=16, kernel_initializer=ZEROS, **kwargs)
  assert testing.trainable_count(d) == expected_d(
      res, 16, kwargs["num_classes"], kwargs.get("blocks_with_attention", ("B1",)),
      kwargs.get("colors", 3), kwargs.get("project_y", True), kwargs.get("batch_norm"),
      kwargs.get("layer_norm", False))


def test_variable_names_and_shapes(biggan_128):
  """resnet_biggan.py:155-425 and resnet_biggan_test.py:110-137 at ch 96, z 120."""
  g, d = biggan_128
  names = {base.compare_gan_names(m)[v.path]: tuple(v.shape)
           for m in (g, d) for v in m.trainable_variables}
  want = {"generator/embed_y/kernel": (1000, 128), "generator/fc_noise/kernel": (20, 24576),
          "generator/B1/bn1/condition/gamma/kernel": (148, 1536),
          "generator/B1/bn2/condition/beta/kernel": (148, 1536),
          "generator/B1/up_conv1/kernel": (3, 3, 1536, 1536),
          "generator/B1/same_conv2/bias": (1536,),
          "generator/B1/up_conv_shortcut/kernel": (1, 1, 1536, 1536),
          "generator/non_local_block/conv2d_theta/kernel": (1, 1, 192, 24),
          "generator/non_local_block/sigma": (), "generator/final_norm/gamma": (96,),
          "generator/final_conv/kernel": (3, 3, 96, 3),
          "discriminator/B1/same_conv1/kernel": (3, 3, 3, 96),
          "discriminator/B1/down_conv2/kernel": (3, 3, 96, 96),
          "discriminator/B1/down_conv_shortcut/kernel": (1, 1, 3, 96),
          "discriminator/non_local_block/conv2d_attn_g/kernel": (1, 1, 48, 96),
          "discriminator/final_fc/kernel": (1536, 1),
          "discriminator/embedding_fc/kernel": (1000, 1536)}
  assert {k: names.get(k) for k in want} == want
  g_layers = {n.split("/")[-2] for n in names if n.startswith("gen") and n.endswith("/bias")}
  assert g_layers == {"fc_noise", "up_conv_shortcut", "up_conv1", "same_conv2", "final_conv"}
  assert all(shape[0] == 148 for n, shape in names.items() if "/condition/" in n)
  assert not any(n.startswith("discriminator/B6/") and "shortcut" in n for n in names)
  assert "discriminator/B5/down_conv_shortcut/kernel" in names


def test_orthogonal_initializer():
  """resnet_biggan_test.py:156-186, at ch 16."""
  kwargs = dict(num_classes=1000, kernel_initializer="orthogonal")
  g = built(biggan.Generator, 128, ch=16, z_dim=120, batch_norm=CBN, **kwargs)
  d = built(biggan.Discriminator, 128, ch=16, spectral_norm=True, **kwargs)
  names = {**base.compare_gan_names(g), **base.compare_gan_names(d)}
  for v in g.trainable_variables + d.trainable_variables:
    value, name = v.numpy(), names[v.path]
    if name == "discriminator/embedding_fc/kernel":  # glorot_normal: truncated, fan-average.
      std = np.sqrt(2.0 / sum(value.shape))
      assert value.std() == pytest.approx(std, rel=0.03)
      assert np.abs(value).max() <= 2 * std / 0.87962566 + 1e-6
    elif name.endswith("/kernel"):
      w = value.reshape(-1, value.shape[-1])
      gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
      np.testing.assert_allclose(gram, np.eye(len(gram)), atol=2e-5, err_msg=name)
    else:
      want = 1.0 if name.endswith("final_norm/gamma") else 0.0  # biases, sigma, beta
      np.testing.assert_array_equal(value, np.full_like(value, want), err_msg=name)


def test_creation_order_follows_compare_gan(created_names):
  built(biggan.Generator, 32, ch=16, z_dim=120, num_classes=10, batch_norm=BN,
        blocks_with_attention="B2")
  block = ["moving_mean", "moving_variance", "gamma", "beta", "up_conv1", "bias",
           "moving_mean", "moving_variance", "gamma", "beta", "same_conv2", "bias",
           "up_conv_shortcut", "bias"]
  attention = ["conv2d_theta", "conv2d_phi", "conv2d_g", "sigma", "conv2d_attn_g"]
  final = ["moving_mean", "moving_variance", "gamma", "beta", "final_conv", "bias"]
  assert created_names() == ["embed_y", "fc_noise", "bias"] + block * 2 + attention + block + final


def test_forward_shapes_ranges_and_probabilities():
  keras.utils.set_random_seed(1)
  z = tf.random.normal([2, 120])
  y = tf.one_hot([3, 7], 10)
  for res, y_in, kwargs in ((32, y, dict(batch_norm=CBN)), (64, None, dict(num_classes=0))):
    g = biggan.Generator(image_shape=(res, res, 3), ch=16, z_dim=120, **kwargs)
    images = g(z, y_in, training=True)
    assert images.shape == (2, res, res, 3)
    assert 0.0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 1.0
    d = biggan.Discriminator(image_shape=(res, res, 3), ch=16, project_y=y_in is not None)
    probabilities, logits, features = d(images, y_in, training=True)
    assert logits.shape == (2, 1) and features.shape == (2, 16 * (2 if res == 32 else 16))
    np.testing.assert_allclose(probabilities, tf.sigmoid(logits), rtol=1e-6)
    assert np.all(features.numpy() >= 0)  # Sum of ReLUs.


@pytest.mark.parametrize("block", [1, 2])
def test_hierarchical_z_routes_one_chunk_per_block(block):
  """Chunk 0 feeds fc_noise, chunk i feeds B_i's norms as concat(z_i, e(y))."""
  keras.utils.set_random_seed(2)
  g = built(biggan.Generator, 32, ch=16, z_dim=120, num_classes=10, batch_norm=CBN,
            kernel_initializer="orthogonal")
  for bn in (g.body[block - 1].bn1, g.body[block - 1].bn2):  # B_i ignores its z chunk now.
    for projection in (bn.gamma_projection, bn.beta_projection):
      assert projection.kernel.shape[0] == 30 + 128
      projection.kernel.assign(tf.tensor_scatter_nd_update(
          projection.kernel, [[r] for r in range(30)], tf.zeros([30, projection.units])))
  z = np.random.default_rng(3).normal(size=(2, 120)).astype(np.float32)
  y = tf.one_hot([0, 5], 10)

  def changed(chunk):
    moved = z.copy()
    moved[:, 30 * chunk:30 * (chunk + 1)] += 1.0
    return np.max(np.abs(g(moved, y) - g(z, y)))

  assert changed(block) == 0.0
  assert all(changed(other) > 1e-5 for other in {0, 1, 2, 3} - {block})


def test_final_norm_is_the_configured_plain_batch_norm():
  """final_norm is compare_gan's `batch_norm` (gamma and beta) with the ops.BatchNorm
  bindings, whatever the blocks' norm; ops.ConditionalBatchNorm's stay the blocks'."""
  from compare_gan2 import configurables  # noqa: F401  (registers ops.BatchNorm)
  gin.parse_config("ops.BatchNorm.decay = 0.9\nops.BatchNorm.epsilon = 1e-5\n"
                   "ops.BatchNorm.use_moving_averages = False\nops.BatchNorm.center = False\n"
                   "ops.ConditionalBatchNorm.decay = 0.5")
  for batch_norm in (None, CBN):
    g = biggan.Generator(image_shape=(32, 32, 3), ch=16, z_dim=120, batch_norm=batch_norm)
    final = g.final_norm
    assert (final.decay, final.epsilon, final.use_moving_averages) == (0.9, 1e-5, False)
    assert type(final) is BN and final.center and final.scale
  assert g.body[0].bn1.decay == 0.5


@pytest.mark.parametrize("cls,kwargs", [
    (biggan.Generator, dict(z_dim=120, batch_norm=CBN, spectral_norm={"singular_value": "auto"},
                            blocks_with_attention="B1,B3", embed_z=True, embed_bias=True)),
    (biggan.Discriminator, dict(batch_norm=BN, layer_norm=True, kernel_initializer="orthogonal",
                                project_y=False, blocks_with_attention=())),
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


def test_errors():
  with pytest.raises(ValueError, match="32, 64, 128, 256, 512 px; got 48x48"):
    biggan.Generator(image_shape=(48, 48, 3))
  with pytest.raises(ValueError, match="32, 64, 128, 256, 512 px; got 100x100"):
    biggan.Discriminator(image_shape=(100, 100, 3))
  with pytest.raises(ValueError, match=r"6 chunks at 128 px.*z_dim=128 is not divisible"):
    biggan.Generator(image_shape=(128, 128, 3), ch=16).build_variables()
  with pytest.raises(ValueError, match=r"\['B4'\].*B1\.\.B3"):
    biggan.Generator(image_shape=(32, 32, 3), blocks_with_attention="B4")
  with pytest.raises(ValueError, match=r"\['B7'\]"):
    biggan.Discriminator(image_shape=(64, 64, 3), blocks_with_attention="B1, B7")
  d = biggan.Discriminator(image_shape=(32, 32, 3), ch=16)
  with pytest.raises(ValueError, match="project_y=True needs class labels"):
    d.build_variables(conditional=False)
  with pytest.raises(ValueError, match="z has 100 dims, z_dim is 120"):
    biggan.Generator(image_shape=(32, 32, 3), ch=16, z_dim=120).build((2, 100))
  with pytest.raises(ValueError, match="built for images of shape"):
    d.build((2, 64, 64, 3), (2, 10))


def test_block_config_round_trip_and_no_skip():
  block = biggan.BigGanResNetBlock(16, 16, "down", is_gen_block=False, add_shortcut=False,
                                   layer_norm=True, batch_norm=CBN, spectral_norm=True)
  clone = biggan.BigGanResNetBlock.from_config(block.get_config())
  assert clone.get_config() == block.get_config() and clone.shortcut is None
  assert [clone.conv1.name, clone.conv2.name, clone.ln1.name] == ["same_conv1", "down_conv2", "ln1"]
  assert clone.compute_output_shape((2, 5, 5, 16)) == (2, 3, 3, 16)  # SAME pooling rounds up.
