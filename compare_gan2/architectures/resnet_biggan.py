"""BigGAN generator and discriminator, as compare_gan re-implements them.

Brock et al. 2019, "Large Scale GAN Training for High Fidelity Natural Image
Synthesis" (arXiv 1809.11096), Fig. 15 and Tables 4-6; ported from compare_gan
`architectures/resnet_biggan.py` (pinned by its `resnet_biggan_test.py`). The
block is `biggan_blocks.BigGanResNetBlock`, re-exported here as compare_gan has it.

Resolutions 32, 64, 128, 256 and 512 (`G_ARCH`, `D_ARCH`). Against the SNGAN
ResNets: wider layers, 1x1 conv shortcuts, an unconditional `final_norm`,
(tanh + 1) / 2 output, hierarchical z with one shared class embedding, no D
shortcut when a block keeps its channels, sum pooling in D, and a last D block
that does not down-sample.

Trainable parameters with compare_gan's recommended settings (`RECOMMENDED`;
G with ConditionalBatchNorm, 1000 classes; D with its defaults: projection,
no BN, no SN), pinned in tests/architectures/resnet_biggan_test.py:

    res   z_dim  G attention  D attention           G            D
    128    120       B4           B1        70,433,988   87,982,370
    256    140       B5           B2        82,097,604   98,635,298
    512    160       B4           B3        82,468,068   98,801,378

Gin (compare_gan's example_configs/biggan_imagenet128.gin, in our names):

    resnet_biggan.Generator.z_dim = 120
    resnet_biggan.Generator.batch_norm = @ops.ConditionalBatchNorm
    resnet_biggan.Generator.spectral_norm = @ops.SpectralNormConfig()
    resnet_biggan.Generator.kernel_initializer = "orthogonal"
    resnet_biggan.Discriminator.spectral_norm = @ops.SpectralNormConfig()
    resnet_biggan.Discriminator.kernel_initializer = "orthogonal"
    ops.SpectralNormConfig.singular_value = "auto"
    ops.ConditionalBatchNorm.decay = 0.9     # the blocks' norms
    ops.ConditionalBatchNorm.epsilon = 1e-5
    ops.ConditionalBatchNorm.use_moving_averages = False
    ops.BatchNorm.decay = 0.9                # final_norm: compare_gan's standardize_batch
    ops.BatchNorm.epsilon = 1e-5             # reaches every BN, so bind both classes
    ops.BatchNorm.use_moving_averages = False

At 256 and 512 px also bind `blocks_with_attention` (G "B5" / "B4", D "B2" /
"B3"): the defaults are compare_gan's constructor defaults, G "B4" and D "B1",
so a model built without them equals compare_gan's. compare_gan silently
ignores G's "B4" at 32 px, which has three blocks; here the 32 px default is no
attention and naming a missing block raises.

Names: Keras paths are compare_gan's variable names under the rules of
`base.compare_gan_names` (`generator/B1/bn1/condition/gamma/kernel`,
`generator/B1/up_conv1/kernel`, `discriminator/embedding_fc/kernel/u_var`).
Deviations: a second attention block gets its own weights under
`non_local_block_1` (compare_gan reuses the one `non_local_block` scope);
`embed_y` is skipped when G is called without labels (compare_gan fails).
"""

from collections.abc import Sequence
from typing import Any, NamedTuple

import keras
import tensorflow as tf

from compare_gan2.architectures import base
from compare_gan2.architectures import biggan_blocks
from compare_gan2.architectures import families
from compare_gan2.ops import layers

BigGanResNetBlock = biggan_blocks.BigGanResNetBlock
Shape = biggan_blocks.Shape
_SEED_SIZE = 4  # fc_noise is reshaped to a 4x4 map.


class Stages(NamedTuple):
  """One row of a per-resolution table."""
  multipliers: tuple[int, ...]  # channels in units of ch (see G_ARCH / D_ARCH)
  scales: tuple[str, ...]  # "up" / "down" / "none", one per block
  attention: tuple[str, ...]  # blocks followed by non-local attention by default


# G: block i maps ch·m[i] -> ch·m[i+1] channels (resnet_biggan.py:205-222).
G_ARCH = {
    32: Stages((4, 4, 4, 4), ("up",) * 3, ()),  # compare_gan's "B4" does not exist here.
    64: Stages((16, 16, 8, 4, 2), ("up",) * 4, ("B4",)),
    128: Stages((16, 16, 8, 4, 2, 1), ("up",) * 5, ("B4",)),
    256: Stages((16, 16, 8, 8, 4, 2, 1), ("up",) * 6, ("B4",)),
    512: Stages((16, 16, 8, 8, 4, 2, 1, 1), ("up",) * 7, ("B4",)),
}
# D: block i outputs ch·m[i] channels, block 1 reads the colours; only the last
# block keeps its resolution (resnet_biggan.py:344-360, 381-386).
D_ARCH = {
    32: Stages((2, 2, 2, 2), ("down",) * 3 + ("none",), ("B1",)),
    64: Stages((2, 4, 8, 16, 16), ("down",) * 4 + ("none",), ("B1",)),
    128: Stages((1, 2, 4, 8, 16, 16), ("down",) * 5 + ("none",), ("B1",)),
    256: Stages((1, 2, 4, 8, 8, 16, 16), ("down",) * 6 + ("none",), ("B1",)),
    512: Stages((1, 1, 2, 4, 8, 8, 16, 16), ("down",) * 7 + ("none",), ("B1",)),
}


class Recommended(NamedTuple):
  """compare_gan's "Required Gin settings" for a resolution (resnet_biggan.py:38-62)."""
  z_dim: int
  g_attention: str
  d_attention: str


RECOMMENDED = {128: Recommended(120, "B4", "B1"), 256: Recommended(140, "B5", "B2"),
               512: Recommended(160, "B4", "B3")}


def _network_options(network: base.Network) -> dict[str, Any]:
  return {"spectral_norm": network.spectral_norm,
          "kernel_initializer": network.kernel_initializer}


@keras.saving.register_keras_serializable(package="compare_gan2.resnet_biggan")
class Generator(base.GeneratorBase):
  """BigGAN G: fc_noise -> 4x4 seed -> "up" blocks (+ attention) -> BN, ReLU, conv."""

  RESOLUTIONS = tuple(G_ARCH)

  def __init__(self, ch: int = 96, blocks_with_attention: biggan_blocks.AttentionArg = None,
               hierarchical_z: bool = True, embed_z: bool = False, embed_y: bool = True,
               embed_y_dim: int = 128, embed_bias: bool = False, **kwargs):
    """Creates the generator (compare_gan `resnet_biggan.py:154-191`).

    Args:
      ch: channel multiplier.
      blocks_with_attention: blocks followed by a non-local block, as "B4",
        "B1,B4" or a sequence of names; None means the table's default.
      hierarchical_z: split z into num_blocks + 1 chunks: the first feeds
        fc_noise, chunk i+1 conditions block i as concat(z_i, e(y)).
      embed_z: replace z by a learned linear map of it (`embed_z`, z_dim wide).
      embed_y: replace y by a shared learned embedding (`embed_y`).
      embed_y_dim: width of that embedding.
      embed_bias: give embed_z and embed_y a bias.
      **kwargs: `base.GeneratorBase` arguments (image_shape, z_dim, num_classes,
        batch_norm, spectral_norm, kernel_initializer, name).
    """
    super().__init__(**kwargs)
    self.ch, self.hierarchical_z = ch, hierarchical_z
    self.embed_y_dim, self.embed_bias = embed_y_dim, embed_bias
    stages = G_ARCH[self.image_shape[0]]
    self.channels = tuple(ch * m for m in stages.multipliers)
    self.blocks_with_attention = biggan_blocks.attention_names(
        stages.attention if blocks_with_attention is None else blocks_with_attention,
        len(stages.scales), "resnet_biggan.Generator")
    options = _network_options(self)
    init = self.kernel_initializer  # embed_z / embed_y never get SN (resnet_biggan.py:244-249).
    self.embed_z = (layers.Linear(self.z_dim, use_bias=embed_bias, kernel_initializer=init,
                                  name="embed_z") if embed_z else None)
    self.embed_y = (layers.Linear(embed_y_dim, use_bias=embed_bias, kernel_initializer=init,
                                  name="embed_y") if embed_y else None)
    self.fc_noise = layers.Linear(_SEED_SIZE**2 * self.channels[0], name="fc_noise", **options)
    blocks = [BigGanResNetBlock(c_in, c_out, scale, batch_norm=self.batch_norm,
                                name=f"B{i + 1}", **options)
              for i, (c_in, c_out, scale) in enumerate(
                  zip(self.channels[:-1], self.channels[1:], stages.scales))]
    self.body = biggan_blocks.with_attention(blocks, self.blocks_with_attention, **options)
    self.final_norm = self.plain_norm("final_norm")
    self.final_conv = layers.Conv2D(self.image_shape[2], 3, name="final_conv", **options)

  @property
  def num_blocks(self) -> int:
    """Residual blocks at this resolution."""
    return len(self.channels) - 1

  def z_chunk_dim(self, z_dim: int) -> int:
    """Width of fc_noise's and each block's z: a 1/(num_blocks+1) chunk, or all of z."""
    if not self.hierarchical_z:
      return z_dim
    chunks = self.num_blocks + 1
    if z_dim % chunks:
      raise ValueError(
          f"resnet_biggan.Generator: hierarchical_z splits z into {chunks} chunks at "
          f"{self.image_shape[0]} px ({self.num_blocks} blocks + fc_noise), but z_dim="
          f"{z_dim} is not divisible by {chunks}; use e.g. z_dim={20 * chunks} or "
          "hierarchical_z=False.")
    return z_dim // chunks

  def build(self, z_shape: Shape, y_shape: Shape | None = None) -> None:
    """Creates every weight from the z and y shapes, in compare_gan's order."""
    batch, z_dim = z_shape[0], z_shape[-1]
    if z_dim != self.z_dim:
      raise ValueError(f"resnet_biggan.Generator: z has {z_dim} dims, z_dim is {self.z_dim}.")
    if self.embed_z is not None:
      self.embed_z.build(tuple(z_shape))
    y_dim = None if y_shape is None else y_shape[-1]
    if y_shape is not None and self.embed_y is not None:
      self.embed_y.build(tuple(y_shape))
      y_dim = self.embed_y_dim
    z_block = self.z_chunk_dim(z_dim)
    if y_dim is not None and self.hierarchical_z:
      y_dim += z_block  # Blocks see concat(z_i, e(y)).
    self.fc_noise.build((batch, z_block))
    conditions = [((batch, z_block), None if y_dim is None else (batch, y_dim))]
    shape = biggan_blocks.build_body(
        self.body, (batch, _SEED_SIZE, _SEED_SIZE, self.channels[0]),
        conditions * self.num_blocks)
    self.final_norm.build(shape)
    self.final_conv.build(shape)

  def call(self, z: tf.Tensor, y: tf.Tensor | None = None, training: bool = False) -> tf.Tensor:
    """Images [B, H, W, C] in [0, 1] from z [B, z_dim] and one-hot y (or None)."""
    if self.embed_z is not None:
      z = self.embed_z(z, training=training)
    if y is not None and self.embed_y is not None:
      y = self.embed_y(y, training=training)
    if self.hierarchical_z:
      z0, *z_per_block = tf.split(z, self.num_blocks + 1, axis=1)
      y_per_block = [None if y is None else tf.concat([z_i, y], axis=1) for z_i in z_per_block]
    else:
      z0, z_per_block, y_per_block = z, [z] * self.num_blocks, [y] * self.num_blocks
    net = tf.reshape(self.fc_noise(z0, training=training),
                     [-1, _SEED_SIZE, _SEED_SIZE, self.channels[0]])
    net = biggan_blocks.run_body(self.body, net, list(zip(z_per_block, y_per_block)), training)
    net = tf.nn.relu(self.final_norm(net, training=training))
    return (tf.nn.tanh(self.final_conv(net, training=training)) + 1.0) / 2.0

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    return {**super().get_config(), "ch": self.ch,
            "blocks_with_attention": list(self.blocks_with_attention),
            "hierarchical_z": self.hierarchical_z, "embed_z": self.embed_z is not None,
            "embed_y": self.embed_y is not None, "embed_y_dim": self.embed_y_dim,
            "embed_bias": self.embed_bias}


@keras.saving.register_keras_serializable(package="compare_gan2.resnet_biggan")
class Discriminator(base.DiscriminatorBase):
  """BigGAN D: "down" blocks (+ attention), ReLU, sum pooling, final_fc + projection."""

  RESOLUTIONS = tuple(D_ARCH)

  def __init__(self, ch: int = 96, blocks_with_attention: biggan_blocks.AttentionArg = None,
               project_y: bool = True, **kwargs):
    """Creates the discriminator (compare_gan `resnet_biggan.py:305-425`).

    Args:
      ch: channel multiplier.
      blocks_with_attention: as for the Generator; None means "B1".
      project_y: add the projection term Σ(e(y) ⊙ h) (Miyato & Koyama 2018);
        needs y.
      **kwargs: `base.DiscriminatorBase` arguments (image_shape, num_classes,
        batch_norm, layer_norm, spectral_norm, kernel_initializer, name).
    """
    super().__init__(**kwargs)
    self.ch, self.project_y = ch, project_y
    stages = D_ARCH[self.image_shape[0]]
    self.num_blocks = len(stages.scales)
    out_channels = [ch * m for m in stages.multipliers]
    in_channels = [self.image_shape[2]] + out_channels[:-1]
    self.blocks_with_attention = biggan_blocks.attention_names(
        stages.attention if blocks_with_attention is None else blocks_with_attention,
        len(stages.scales), "resnet_biggan.Discriminator")
    options = _network_options(self)
    # No skip at all when a block keeps its channels, even if it pools (:339).
    blocks = [BigGanResNetBlock(c_in, c_out, scale, is_gen_block=False,
                                add_shortcut=c_in != c_out, layer_norm=self.layer_norm,
                                batch_norm=self.batch_norm, name=f"B{i + 1}", **options)
              for i, (c_in, c_out, scale) in enumerate(
                  zip(in_channels, out_channels, stages.scales))]
    self.body = biggan_blocks.with_attention(blocks, self.blocks_with_attention, **options)
    self.final_fc, self.embedding_fc = biggan_blocks.head_layers(
        out_channels[-1], project_y, **options)

  def build(self, images_shape: Shape, y_shape: Shape | None = None) -> None:
    """Creates every weight from the image and y shapes, in compare_gan's order."""
    check_images(self, images_shape)
    shape = biggan_blocks.build_body(self.body, tuple(images_shape),
                                     [(None, y_shape)] * self.num_blocks)
    biggan_blocks.build_head(self.final_fc, self.embedding_fc, (images_shape[0], shape[-1]),
                             y_shape, "resnet_biggan.Discriminator")

  def call(self, images: tf.Tensor, y: tf.Tensor | None = None,
           training: bool = False) -> base.DiscriminatorOutput:
    """(sigmoid(logits), logits [B, 1], sum-pooled features [B, C])."""
    net = biggan_blocks.run_body(self.body, images, [(None, y)] * self.num_blocks, training)
    return biggan_blocks.discriminator_head(net, y, self.final_fc, self.embedding_fc, training,
                                            "resnet_biggan.Discriminator")

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    return {**super().get_config(), "ch": self.ch,
            "blocks_with_attention": list(self.blocks_with_attention),
            "project_y": self.project_y}


def check_images(network: base.Network, images_shape: Sequence[int | None]) -> None:
  """D is built for `image_shape`; other images would silently mis-size the tables."""
  if tuple(images_shape[1:]) != network.image_shape:
    raise ValueError(f"{network.name}: built for images of shape {network.image_shape}, "
                     f"got {tuple(images_shape)}.")


families.register(families.Family(
    "resnet_biggan", Generator, Discriminator,
    resolutions=Generator.RESOLUTIONS, tiny={"ch": 8},
    tiny_generator={"embed_y_dim": 4}, fixed_g_norms=True,
    generator_options={"blocks_with_attention": "B2"}))
