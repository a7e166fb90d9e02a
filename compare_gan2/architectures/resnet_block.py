"""SNGAN-style residual block shared by resnet5, resnet30, resnet_cifar and resnet_stl.

compare_gan `architectures/resnet_ops.py:70-219`,
after Miyato et al. 2018 (SNGAN, arXiv 1802.05957, Tables 4-5) and Gulrajani et
al. 2017 (WGAN-GP ResNet):

    shortcut = conv_shortcut(x)                 # 3x3 conv with bias, ALWAYS present
    h = relu(ln1(bn1(x)))                       # also on the raw image in D's first block
    h = conv1(h)                                # G resamples here (unpool -> conv)
    h = relu(ln2(bn2(h)))
    h = conv2(h)                                # D resamples here (conv -> avg pool)
    return h + shortcut

The shortcut resamples like the block (G unpools then convolves, D convolves
then pools). Weights are created in compare_gan's order: `<scale>_conv_shortcut`,
`bn1`, `ln1`, `<scale1>_conv1`, `bn2`, `ln2`, `<scale2>_conv2`
(resnet_norm_test.py:43-60). Layer names are compare_gan's scopes, so
`base.compare_gan_names` maps `generator/B1/up_conv1/kernel` etc. one to one.

Parameters of one block with C_in -> C_out channels: 3x3 convs with bias
`shortcut 9·C_in·C_out + C_out`, `conv1 9·C_in·C_out + C_out`,
`conv2 9·C_out² + C_out`, plus the norms of bn1 (C_in) and bn2 (C_out): 2C for
BatchNorm / LayerNorm, 2·d·C for ConditionalBatchNorm over a d-dim condition,
`(d·h + h) + 2(h·C + C)` for SelfModulatedBatchNorm with h hidden units.

This module also holds what the four families share, as compare_gan's
resnet_ops.py does: `BlockSpec` rows of the per-resolution tables and the
`ResNetGenerator` / `ResNetDiscriminator` bases that turn rows into blocks with
the network's options and check input shapes.
"""

from collections.abc import Sequence
from typing import Any, NamedTuple

import keras
import tensorflow as tf

from compare_gan2.architectures import base
from compare_gan2.architectures import resnet_ops
from compare_gan2.ops import layers

Shape = Sequence[int | None]

# compare_gan's ResNetGenerator/ResNetDiscriminator._resnet_block (resnet_ops.py:188-213)
# only let G blocks go up and D blocks go down.
_ALLOWED_SCALES = {True: ("up", "none"), False: ("down", "none")}


@keras.saving.register_keras_serializable(package="compare_gan2.resnet_block")
class ResNetBlock(keras.layers.Layer):
  """compare_gan's `ResNetBlock`: BN-ReLU-conv twice plus a learned 3x3 shortcut."""

  def __init__(self, in_channels: int, out_channels: int, scale: str, is_gen_block: bool,
               layer_norm: bool = False, spectral_norm: layers.SpectralNormArg = False,
               batch_norm: base.NormClass = None, kernel_initializer: Any = None, **kwargs):
    """Creates the block's sublayers (weights come in `build`).

    Args:
      in_channels: channels of the block input (checked in `build`).
      out_channels: channels of the block output.
      scale: "up" (G only), "down" (D only) or "none".
      is_gen_block: G blocks resample in conv1, D blocks in conv2 (resnet_ops.py:99-104).
      layer_norm: add LayerNorm `ln1`/`ln2` after each norm (compare_gan's `D.layer_norm`).
      spectral_norm: spectral norm on the three convs and on modulated norms' projections.
      batch_norm: norm class for `bn1`/`bn2` (BatchNorm, ConditionalBatchNorm,
        SelfModulatedBatchNorm) or None.
      kernel_initializer: initializer of every kernel (compare_gan's `weights`).
      **kwargs: Keras layer arguments; `name` is compare_gan's block scope ("B1", "B_0_up").
    """
    super().__init__(**kwargs)
    self.is_gen_block = bool(is_gen_block)
    self.scale = self._check_scale(scale)
    self.in_channels = int(in_channels)
    self.out_channels = int(out_channels)
    self.layer_norm = bool(layer_norm)
    self.spectral_norm = layers.sn.SpectralNormConfig.resolve(spectral_norm)
    self.batch_norm = batch_norm
    self.kernel_initializer = base.resolve_initializer(kernel_initializer or "normal")
    # SNGAN upsamples in G's first conv and downsamples after D's second conv.
    scale1, scale2 = (scale, "none") if self.is_gen_block else ("none", scale)
    # Attribute order = compare_gan's creation order, which Keras keeps for
    # `variables` (sublayers are listed in the order they were assigned).
    self.conv_shortcut = self._conv(scale, "conv_shortcut")
    self.bn1 = base.make_norm(batch_norm, "bn1", self.spectral_norm, self.kernel_initializer)
    self.ln1 = base.make_layer_norm("ln1") if self.layer_norm else None
    self.conv1 = self._conv(scale1, "conv1")
    self.bn2 = base.make_norm(batch_norm, "bn2", self.spectral_norm, self.kernel_initializer)
    self.ln2 = base.make_layer_norm("ln2") if self.layer_norm else None
    self.conv2 = self._conv(scale2, "conv2")

  def _check_scale(self, scale: str) -> str:
    allowed = _ALLOWED_SCALES[self.is_gen_block]
    if scale not in allowed:
      kind = "generator" if self.is_gen_block else "discriminator"
      raise ValueError(f"{self.name}: a {kind} block scales by one of {allowed}, got {scale!r}.")
    return scale

  def _conv(self, scale: str, suffix: str) -> resnet_ops.ResampledConv:
    return resnet_ops.ResampledConv(
        self.out_channels, 3, scale=scale, suffix=suffix, spectral_norm=self.spectral_norm,
        kernel_initializer=self.kernel_initializer)

  def build(self, inputs_shape: Shape, z_shape: Shape | None = None,
            y_shape: Shape | None = None) -> None:
    """Creates every weight from shapes, in compare_gan's order.

    Args:
      inputs_shape: [B, H, W, in_channels].
      z_shape: shape of the z this block's norms receive (self-modulated BN).
      y_shape: shape of the y this block's norms receive (conditional BN).

    Raises:
      ValueError: wrong input channels, or a modulated norm without its condition.
    """
    inputs_shape = tuple(inputs_shape)
    if len(inputs_shape) != 4 or inputs_shape[-1] != self.in_channels:
      raise ValueError(f"{self.name}: expected [B, H, W, {self.in_channels}] inputs, "
                       f"got {inputs_shape}.")
    self.conv_shortcut.build(inputs_shape)
    base.build_norm(self.bn1, inputs_shape, z_shape, y_shape)
    if self.ln1 is not None:
      self.ln1.build(inputs_shape)
    self.conv1.build(inputs_shape)
    hidden_shape = self.conv1.compute_output_shape(inputs_shape)
    base.build_norm(self.bn2, hidden_shape, z_shape, y_shape)
    if self.ln2 is not None:
      self.ln2.build(hidden_shape)
    self.conv2.build(hidden_shape)

  def call(self, inputs: tf.Tensor, z: tf.Tensor | None = None, y: tf.Tensor | None = None,
           training: bool = False) -> tf.Tensor:
    """conv2(relu(n2(conv1(relu(n1(x)))))) + conv_shortcut(x); n = bn then ln."""
    shortcut = self.conv_shortcut(inputs, training=training)
    x = base.apply_norm(self.bn1, inputs, z, y, training)
    if self.ln1 is not None:
      x = self.ln1(x)
    x = self.conv1(tf.nn.relu(x), training=training)
    x = base.apply_norm(self.bn2, x, z, y, training)
    if self.ln2 is not None:
      x = self.ln2(x)
    x = self.conv2(tf.nn.relu(x), training=training)
    return x + shortcut

  def compute_output_shape(self, inputs_shape: Shape, z_shape: Shape | None = None,
                           y_shape: Shape | None = None) -> tuple:
    """[B, H', W', out_channels], H' = 2H ("up"), ceil(H/2) ("down") or H."""
    return self.conv_shortcut.compute_output_shape(tuple(inputs_shape))

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    return {**super().get_config(), "in_channels": self.in_channels,
            "out_channels": self.out_channels, "scale": self.scale,
            "is_gen_block": self.is_gen_block, "layer_norm": self.layer_norm,
            "spectral_norm": self.spectral_norm.to_dict() if self.spectral_norm else False,
            "batch_norm": base.serialize_norm_class(self.batch_norm),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer)}

  @classmethod
  def from_config(cls, config: dict[str, Any]) -> "ResNetBlock":
    """Inverse of `get_config` (the norm class travels by its registered name)."""
    return cls(**{**config, "batch_norm": base.deserialize_norm_class(config.get("batch_norm"))})


class BlockSpec(NamedTuple):
  """One row of a per-resolution table: channels as multiples of the width `ch`.

  `in_mult=None` means "the image's colour channels" (a discriminator's first block).
  """
  name: str
  in_mult: int | None
  out_mult: int
  scale: str


def build_blocks(blocks: Sequence[ResNetBlock], inputs_shape: Shape,
                 z_shape: Shape | None = None, y_shape: Shape | None = None) -> tuple:
  """Builds blocks in sequence (all with the same conditioning); returns the output shape."""
  shape = tuple(inputs_shape)
  for block in blocks:
    block.build(shape, z_shape, y_shape)
    shape = block.compute_output_shape(shape)
  return shape


class ResNetGenerator(base.GeneratorBase):
  """compare_gan's `ResNetGenerator` (resnet_ops.py:185-200): G blocks go "up" or "none".

  Every ResNet family has a base width `ch` (fixed in compare_gan, bindable here).
  """

  def __init__(self, ch: int, **kwargs):
    super().__init__(**kwargs)
    self.ch = ch

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    return {**super().get_config(), "ch": self.ch}

  def make_blocks(self, specs: Sequence[BlockSpec], ch: int, divisor: int = 1) -> list[ResNetBlock]:
    """ResNetBlocks for table rows with this network's norm, SN and initializer.

    Channels are `ch * mult // divisor` (resnet30's tables count in quarters of ch).
    compare_gan's G blocks never get layer norm (resnet_ops.py:195-200).
    """
    return [ResNetBlock(
        ch * spec.in_mult // divisor, ch * spec.out_mult // divisor, spec.scale,
        is_gen_block=True, spectral_norm=self.spectral_norm, batch_norm=self.batch_norm,
        kernel_initializer=self.kernel_initializer, name=spec.name) for spec in specs]

  def check_z_shape(self, z_shape: Shape) -> tuple:
    """z must be [B, z_dim], the declared z_dim (compare_gan reads it off z)."""
    z_shape = tuple(z_shape)
    if len(z_shape) != 2 or z_shape[-1] != self.z_dim:
      raise ValueError(f"{self.name}: expected z of shape [B, {self.z_dim}], got {z_shape}.")
    return z_shape


class ResNetDiscriminator(base.DiscriminatorBase):
  """compare_gan's `ResNetDiscriminator` (resnet_ops.py:203-219): D blocks go "down" or "none".

  Every ResNet discriminator accepts 1 or 3 colour channels only (e.g. resnet_cifar.py:139-142)
  and has a base width `ch`.
  """

  def __init__(self, ch: int, **kwargs):
    super().__init__(**kwargs)
    colors = self.image_shape[-1]
    if colors not in (1, 3):
      raise ValueError(f"{type(self).__module__.rsplit('.', 1)[-1]}.{type(self).__name__}: "
                       f"number of color channels must be 1 or 3, got {colors}.")
    self.ch = ch

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    return {**super().get_config(), "ch": self.ch}

  def make_blocks(self, specs: Sequence[BlockSpec], ch: int, divisor: int = 1) -> list[ResNetBlock]:
    """ResNetBlocks for table rows with this network's norm, layer norm, SN and initializer.

    `in_mult=None` is the image's colour channels; others are `ch * mult // divisor`.
    """
    colors = self.image_shape[-1]
    return [ResNetBlock(
        colors if spec.in_mult is None else ch * spec.in_mult // divisor,
        ch * spec.out_mult // divisor, spec.scale, is_gen_block=False,
        layer_norm=self.layer_norm, spectral_norm=self.spectral_norm,
        batch_norm=self.batch_norm, kernel_initializer=self.kernel_initializer,
        name=spec.name) for spec in specs]

  def check_images_shape(self, images_shape: Shape) -> tuple:
    """compare_gan's input checks (resnet_ops.py:59-67): [B, H, W, C] of the configured shape."""
    images_shape = tuple(images_shape)
    if len(images_shape) != 4 or images_shape[1:] != self.image_shape:
      raise ValueError(f"{self.name}: expected images of shape [B, "
                       f"{', '.join(map(str, self.image_shape))}], got {images_shape}.")
    return images_shape


class SeededResNetGenerator(ResNetGenerator):
  """The G of compare_gan's resnet5, resnet30 and resnet_stl.

  z -> fc_noise (linear, no SN) reshaped to a seed map -> blocks, each seeing the
  full z and y -> [final norm, ReLU] -> final_conv 3x3 (no SN) -> sigmoid.
  Subclasses call `make_layers` in `__init__`.
  """

  def make_layers(self, specs: Sequence[BlockSpec], seed_size: int, seed_channels: int,
                  final_norm: str | None, divisor: int = 1) -> None:
    """Creates the layers in compare_gan's order (weights come in `build`).

    Args:
      specs: block table rows (see `make_blocks`).
      seed_size: side of the square seed map fc_noise is reshaped to.
      seed_channels: channels of the seed map.
      final_norm: scope of the norm before final_conv, or None for no norm and
        no ReLU there (resnet30).
      divisor: channels are `ch * mult // divisor`.
    """
    self.seed_shape = (seed_size, seed_size, seed_channels)
    self.fc_noise = layers.Linear(seed_size * seed_size * seed_channels,
                                  kernel_initializer=self.kernel_initializer, name="fc_noise")
    self.blocks = self.make_blocks(specs, self.ch, divisor=divisor)
    self.has_final_norm = final_norm is not None
    self.final_norm = self.norm(final_norm) if self.has_final_norm else None
    self.final_conv = layers.Conv2D(self.image_shape[-1], 3,
                                    kernel_initializer=self.kernel_initializer, name="final_conv")

  def build(self, z_shape: tuple, y_shape: tuple | None = None) -> None:
    """Creates every weight from the shapes of z [B, z_dim] and y [B, num_classes]."""
    z_shape = self.check_z_shape(z_shape)
    self.fc_noise.build(z_shape)
    shape = build_blocks(self.blocks, (z_shape[0], *self.seed_shape), z_shape, y_shape)
    if self.has_final_norm:
      base.build_norm(self.final_norm, shape, z_shape, y_shape)
    self.final_conv.build(shape)

  def call(self, z: tf.Tensor, y: tf.Tensor | None = None, training: bool = False) -> tf.Tensor:
    """Images [B, H, W, colours] in [0, 1] from z [B, z_dim] (and one-hot y for CBN)."""
    x = tf.reshape(self.fc_noise(z, training=training), [-1, *self.seed_shape])
    for block in self.blocks:
      x = block(x, z, y, training=training)
    if self.has_final_norm:
      x = tf.nn.relu(base.apply_norm(self.final_norm, x, z, y, training))
    return tf.sigmoid(self.final_conv(x, training=training))


class PooledResNetDiscriminator(ResNetDiscriminator):
  """The D of compare_gan's resnet5, resnet_stl and resnet_cifar.

  images -> blocks -> ReLU -> mean over H, W = features -> disc_final_fc linear
  (SN if set) -> the logit. Subclasses call `make_layers` in `__init__`.
  """

  def make_layers(self, specs: Sequence[BlockSpec]) -> None:
    """Creates the blocks and disc_final_fc (weights come in `build`)."""
    self.blocks = self.make_blocks(specs, self.ch)
    self.disc_final_fc = layers.Linear(1, spectral_norm=self.spectral_norm,
                                       kernel_initializer=self.kernel_initializer,
                                       name="disc_final_fc")

  def build(self, images_shape: tuple, y_shape: tuple | None = None) -> None:
    """Creates every weight from the shapes of images (and y, for a conditional D norm)."""
    images_shape = self.check_images_shape(images_shape)
    shape = build_blocks(self.blocks, images_shape, None, y_shape)
    self.disc_final_fc.build((shape[0], shape[-1]))

  def pooled_features(self, images: tf.Tensor, y: tf.Tensor | None,
                      training: bool) -> tf.Tensor:
    """The features [B, C]: the blocks' output after ReLU, averaged over H and W."""
    x = images
    for block in self.blocks:
      x = block(x, None, y, training=training)
    return tf.reduce_mean(tf.nn.relu(x), axis=[1, 2])

  def call(self, images: tf.Tensor, y: tf.Tensor | None = None,
           training: bool = False) -> base.DiscriminatorOutput:
    """(sigmoid(logits), logits [B, 1], pre_logits [B, C])."""
    pre_logits = self.pooled_features(images, y, training)
    return base.discriminator_output(self.disc_final_fc(pre_logits, training=training),
                                     pre_logits)
