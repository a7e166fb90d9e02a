"""BigGAN-deep generator and discriminator, as compare_gan re-implements them.

Brock et al. 2019, "Large Scale GAN Training for High Fidelity Natural Image
Synthesis" (arXiv 1809.11096), Fig. 16 and Tables 7-9; ported from compare_gan
`architectures/resnet_biggan_deep.py` (pinned by its `resnet_biggan_deep_test.py`).
The block is `biggan_blocks.BigGanDeepResNetBlock`, re-exported here.

Resolutions 32, 64, 128, 256 and 512 (`G_ARCH`, `D_ARCH`). Against BigGAN:
twice the blocks, each a bottleneck (1x1, 3x3, 3x3, 1x1 convs at max(in,
out)/4 channels) with a parameter-free skip (G drops channels, D appends
`add_channels`); G blocks alternate "none" / "up" and D blocks "down" / "none";
every norm and fc_noise see concat(z, e(y)) with z not chunked; one attention
block at 64x64 (after an "up" G block / a "none" D block); D starts with
`initial_conv`; ch defaults to 128.

Trainable parameters (z_dim 128, 1000 classes, G with ConditionalBatchNorm, D
with its defaults: projection, no BN, no SN), pinned in
tests/architectures/resnet_biggan_deep_test.py (128 px: compare_gan's test;
the others: docs/design.md §10):

    res            G            D
     32    8,447,619    1,012,033
     64   49,583,876   34,289,665
    128   50,244,484   34,590,210
    256   55,736,708   38,247,426
    512   56,019,780   38,301,122

Gin: as resnet_biggan (`resnet_biggan_deep.Generator.batch_norm =
@ops.ConditionalBatchNorm`, spectral_norm, kernel_initializer, z_dim = 128).

Names: Keras paths are compare_gan's under `base.compare_gan_names`; the
nested scopes are sublayers, so `generator/B2/conv1/bn/condition/gamma/kernel`,
`generator/B2/conv2/3x3_conv/kernel`, `discriminator/B1/shortcut/add_channels/
kernel` come out verbatim. Deviations: D's `blocks_with_attention` (stored but
unused by compare_gan) must stay "B1"; `layer_norm=True` raises (compare_gan
ignores it for this family); `embed_y` is skipped without labels.
"""

from typing import Any

import keras
import tensorflow as tf

from compare_gan2.architectures import base
from compare_gan2.architectures import biggan_blocks
from compare_gan2.architectures import families
from compare_gan2.architectures import resnet_biggan
from compare_gan2.ops import layers

BigGanDeepResNetBlock = biggan_blocks.BigGanDeepResNetBlock
Shape = biggan_blocks.Shape
Stages = resnet_biggan.Stages
_SEED_SIZE = 4
_FAST_RGB_CHANNELS = 128  # experimental_fast_conv_to_rgb convolves to 128 maps.


def _g_row(multipliers: tuple[int, ...], attention: tuple[str, ...]) -> Stages:
  # Block i is "none" for even i and "up" for odd i (resnet_biggan_deep.py:279).
  return Stages(multipliers, tuple("up" if i % 2 else "none"
                                   for i in range(len(multipliers) - 1)), attention)


def _d_row(multipliers: tuple[int, ...], attention: tuple[str, ...]) -> Stages:
  # Block i is "down" for even i and "none" for odd i (resnet_biggan_deep.py:396).
  return Stages(multipliers, tuple("none" if i % 2 else "down"
                                   for i in range(len(multipliers) - 1)), attention)


# Block i maps ch·m[i] -> ch·m[i+1] in both networks (resnet_biggan_deep.py:222-238,
# 350-366). Attention follows the block whose output is 64x64: an "up" block in
# G, a "none" block in D (D at 32 and 64 px has none; G at 32 px neither).
G_ARCH = {
    32: _g_row((4,) * 8, ()),
    64: _g_row((16,) * 4 + (8,) * 2 + (4, 4, 2), ("B8",)),
    128: _g_row((16,) * 4 + (8,) * 2 + (4, 4, 2, 2, 1), ("B8",)),
    256: _g_row((16,) * 4 + (8,) * 4 + (4, 4, 2, 2, 1), ("B8",)),
    512: _g_row((16,) * 4 + (8,) * 4 + (4, 4, 2, 2, 1, 1, 1), ("B8",)),
}
D_ARCH = {
    32: _d_row((2,) * 8, ()),
    64: _d_row((2, 4, 4) + (8,) * 2 + (16,) * 4, ()),
    128: _d_row((1, 2, 2, 4, 4) + (8,) * 2 + (16,) * 4, ("B2",)),
    256: _d_row((1, 2, 2, 4, 4) + (8,) * 4 + (16,) * 4, ("B4",)),
    512: _d_row((1, 1, 1, 2, 2, 4, 4) + (8,) * 4 + (16,) * 4, ("B6",)),
}


def _blocks(network: base.Network, stages: Stages) -> list[BigGanDeepResNetBlock]:
  channels = [network.ch * m for m in stages.multipliers]
  return [BigGanDeepResNetBlock(c_in, c_out, scale, batch_norm=network.batch_norm,
                                spectral_norm=network.spectral_norm,
                                kernel_initializer=network.kernel_initializer,
                                name=f"B{i + 1}")
          for i, (c_in, c_out, scale) in enumerate(zip(channels[:-1], channels[1:],
                                                       stages.scales))]


@keras.saving.register_keras_serializable(package="compare_gan2.resnet_biggan_deep")
class Generator(base.GeneratorBase):
  """BigGAN-deep G: fc_noise -> 4x4 seed -> bottleneck blocks -> BN, ReLU, conv."""

  RESOLUTIONS = tuple(G_ARCH)

  def __init__(self, ch: int = 128, embed_y: bool = True, embed_y_dim: int = 128,
               experimental_fast_conv_to_rgb: bool = False, **kwargs):
    """Creates the generator (compare_gan `resnet_biggan_deep.py:182-309`).

    Args:
      ch: channel multiplier.
      embed_y: replace y by a learned bias-free embedding (`embed_y`, no SN).
      embed_y_dim: width of that embedding.
      experimental_fast_conv_to_rgb: `final_conv` makes 128 channels and keeps
        the first `colors` (compare_gan's speed trick; more parameters).
      **kwargs: `base.GeneratorBase` arguments (image_shape, z_dim, num_classes,
        batch_norm, spectral_norm, kernel_initializer, name).
    """
    super().__init__(**kwargs)
    self.ch, self.embed_y_dim = ch, embed_y_dim
    self.experimental_fast_conv_to_rgb = experimental_fast_conv_to_rgb
    stages = G_ARCH[self.image_shape[0]]
    options = {"spectral_norm": self.spectral_norm,
               "kernel_initializer": self.kernel_initializer}
    self.embed_y = (layers.Linear(embed_y_dim, use_bias=False, name="embed_y",
                                  kernel_initializer=self.kernel_initializer)
                    if embed_y else None)
    self.seed_channels = ch * stages.multipliers[0]
    self.fc_noise = layers.Linear(_SEED_SIZE**2 * self.seed_channels, name="fc_noise", **options)
    blocks = _blocks(self, stages)
    self.body = biggan_blocks.with_attention(blocks, stages.attention, **options)
    self.final_norm = self.plain_norm("final_norm")
    colors = self.image_shape[2]
    self.final_conv = layers.Conv2D(_FAST_RGB_CHANNELS if experimental_fast_conv_to_rgb
                                    else colors, 3, name="final_conv", **options)

  @property
  def num_blocks(self) -> int:
    """Residual blocks at this resolution."""
    return len(G_ARCH[self.image_shape[0]].scales)

  def build(self, z_shape: Shape, y_shape: Shape | None = None) -> None:
    """Creates every weight from the z and y shapes, in compare_gan's order."""
    batch, z_dim = z_shape[0], z_shape[-1]
    if z_dim != self.z_dim:
      raise ValueError(f"resnet_biggan_deep.Generator: z has {z_dim} dims, "
                       f"z_dim is {self.z_dim}.")
    condition = (batch, z_dim)
    if y_shape is not None:
      y_dim = y_shape[-1]
      if self.embed_y is not None:
        self.embed_y.build(tuple(y_shape))
        y_dim = self.embed_y_dim
      condition = (batch, z_dim + y_dim)  # concat(z, e(y)) feeds fc_noise and every norm.
    self.fc_noise.build(condition)
    shape = biggan_blocks.build_body(
        self.body, (batch, _SEED_SIZE, _SEED_SIZE, self.seed_channels),
        [(condition, None if y_shape is None else condition)] * self.num_blocks)
    self.final_norm.build(shape)
    self.final_conv.build(shape)

  def call(self, z: tf.Tensor, y: tf.Tensor | None = None, training: bool = False) -> tf.Tensor:
    """Images [B, H, W, C] in [0, 1] from z [B, z_dim] and one-hot y (or None)."""
    if y is not None:
      if self.embed_y is not None:
        y = self.embed_y(y, training=training)
      y = z = tf.concat([z, y], axis=1)  # compare_gan sets both (resnet_biggan_deep.py:259-261).
    net = tf.reshape(self.fc_noise(z, training=training),
                     [-1, _SEED_SIZE, _SEED_SIZE, self.seed_channels])
    net = biggan_blocks.run_body(self.body, net, [(z, y)] * self.num_blocks, training)
    net = tf.nn.relu(self.final_norm(net, training=training))
    net = self.final_conv(net, training=training)[..., :self.image_shape[2]]
    return (tf.nn.tanh(net) + 1.0) / 2.0

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    return {**super().get_config(), "ch": self.ch, "embed_y": self.embed_y is not None,
            "embed_y_dim": self.embed_y_dim,
            "experimental_fast_conv_to_rgb": self.experimental_fast_conv_to_rgb}


@keras.saving.register_keras_serializable(package="compare_gan2.resnet_biggan_deep")
class Discriminator(base.DiscriminatorBase):
  """BigGAN-deep D: initial_conv, bottleneck blocks, ReLU, sum pooling, projection."""

  RESOLUTIONS = tuple(D_ARCH)

  def __init__(self, ch: int = 128, blocks_with_attention: str = "B1", project_y: bool = True,
               **kwargs):
    """Creates the discriminator (compare_gan `resnet_biggan_deep.py:312-433`).

    Args:
      ch: channel multiplier.
      blocks_with_attention: compare_gan's unused argument; only "B1" (its
        default) is accepted, since attention is placed by resolution.
      project_y: add the projection term Σ(e(y) ⊙ h); needs y.
      **kwargs: `base.DiscriminatorBase` arguments (image_shape, num_classes,
        batch_norm, spectral_norm, kernel_initializer, name). layer_norm must
        stay False.

    Raises:
      ValueError: for another blocks_with_attention or layer_norm=True, which
        compare_gan would silently ignore.
    """
    super().__init__(**kwargs)
    if blocks_with_attention != "B1":
      raise ValueError("resnet_biggan_deep.Discriminator places attention after the 'none' "
                       "block at 64x64 (resnet_biggan_deep.py:404-408); blocks_with_attention "
                       f"is unused and must stay 'B1', got {blocks_with_attention!r}.")
    if self.layer_norm:
      raise ValueError("resnet_biggan_deep.Discriminator has no layer norm (compare_gan "
                       "ignores D.layer_norm for BigGAN-deep).")
    self.ch, self.project_y = ch, project_y
    stages = D_ARCH[self.image_shape[0]]
    options = {"spectral_norm": self.spectral_norm,
               "kernel_initializer": self.kernel_initializer}
    self.initial_conv = layers.Conv2D(ch * stages.multipliers[0], 3, name="initial_conv",
                                      **options)
    self.body = biggan_blocks.with_attention(_blocks(self, stages), stages.attention, **options)
    self.final_fc, self.embedding_fc = biggan_blocks.head_layers(
        ch * stages.multipliers[-1], project_y, **options)

  @property
  def num_blocks(self) -> int:
    """Residual blocks at this resolution."""
    return len(D_ARCH[self.image_shape[0]].scales)

  def build(self, images_shape: Shape, y_shape: Shape | None = None) -> None:
    """Creates every weight from the image and y shapes, in compare_gan's order."""
    resnet_biggan.check_images(self, images_shape)
    self.initial_conv.build(tuple(images_shape))
    shape = biggan_blocks.build_body(self.body, self.initial_conv.compute_output_shape(
        tuple(images_shape)), [(None, y_shape)] * self.num_blocks)
    biggan_blocks.build_head(self.final_fc, self.embedding_fc, (images_shape[0], shape[-1]),
                             y_shape, "resnet_biggan_deep.Discriminator")

  def call(self, images: tf.Tensor, y: tf.Tensor | None = None,
           training: bool = False) -> base.DiscriminatorOutput:
    """(sigmoid(logits), logits [B, 1], sum-pooled features [B, C])."""
    net = self.initial_conv(images, training=training)
    net = biggan_blocks.run_body(self.body, net, [(None, y)] * self.num_blocks, training)
    return biggan_blocks.discriminator_head(net, y, self.final_fc, self.embedding_fc, training,
                                            "resnet_biggan_deep.Discriminator")

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    return {**super().get_config(), "ch": self.ch, "blocks_with_attention": "B1",
            "project_y": self.project_y}


families.register(families.Family(
    "resnet_biggan_deep", Generator, Discriminator,
    resolutions=Generator.RESOLUTIONS, tiny={"ch": 8},
    tiny_generator={"embed_y_dim": 4}, d_layer_norm=False, fixed_g_norms=True))
