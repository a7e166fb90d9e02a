"""Residual blocks of BigGAN and BigGAN-deep, and the pieces both families share.

Brock et al. 2019 (arXiv 1809.11096), Fig. 15-16, as compare_gan re-implements
them (`resnet_biggan.py`, `resnet_biggan_deep.py`):

- `BigGanResNetBlock` (compare_gan `resnet_biggan.py:80-151`): bn1, [ln1], ReLU,
  conv1 3x3, bn2, [ln2], ReLU, conv2 3x3, plus an optional **1x1** conv shortcut;
  without it there is no skip at all (D drops it whenever in == out).
- `BigGanDeepResNetBlock` (`resnet_biggan_deep.py:61-179`): stages `conv1`..`conv4`
  (norm, ReLU, conv 1x1/3x3/3x3/1x1, bottleneck max(in, out)/4) and a parameter-
  free `shortcut`; sublayer names make Keras paths compare_gan's scopes
  (`B2/conv1/bn`, `B2/conv2/3x3_conv`, `B1/shortcut/add_channels`).
- Shared network parts: attention placement and the D head.
"""

import functools
from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

from compare_gan2.architectures import base
from compare_gan2.architectures import resnet_ops
from compare_gan2.ops import attention
from compare_gan2.ops import initializers
from compare_gan2.ops import layers

Shape = tuple[int | None, ...]
AttentionArg = str | Sequence[str] | None


class _ConfiguredLayer(keras.layers.Layer):
  """Holds a network's spectral norm, norm class and initializer for sublayers."""

  def __init__(self, spectral_norm: layers.SpectralNormArg = False,
               batch_norm: base.NormClass = None, kernel_initializer: Any = None, **kwargs):
    super().__init__(**kwargs)
    self.spectral_norm = layers.sn.SpectralNormConfig.resolve(spectral_norm)
    self.batch_norm = batch_norm
    self.kernel_initializer = (None if kernel_initializer is None
                               else keras.initializers.get(kernel_initializer))

  def _norm(self, name: str) -> keras.layers.Layer | None:
    return base.make_norm(self.batch_norm, name, self.spectral_norm, self.kernel_initializer)

  def _conv(self, filters: int, kernel_size: int, name: str) -> layers.Conv2D:
    return layers.Conv2D(filters, kernel_size, spectral_norm=self.spectral_norm,
                         kernel_initializer=self.kernel_initializer, name=name)

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    initializer = self.kernel_initializer and keras.initializers.serialize(self.kernel_initializer)
    norm_name = base.serialize_norm_class(self.batch_norm)
    return {**super().get_config(), "kernel_initializer": initializer, "batch_norm": norm_name,
            "spectral_norm": self.spectral_norm.to_dict() if self.spectral_norm else False}

  @classmethod
  def from_config(cls, config: dict[str, Any]) -> "_ConfiguredLayer":
    """Inverse of get_config (the norm class is stored by its registered name)."""
    return cls(**{**config, "batch_norm": base.deserialize_norm_class(config["batch_norm"])})


class _BlockBase(_ConfiguredLayer):
  """Channels and scale common to both residual blocks."""

  def __init__(self, in_channels: int, out_channels: int, scale: str, **kwargs):
    super().__init__(**kwargs)
    resnet_ops.scope_name(scale, "")  # Raises for an unknown scale.
    self.in_channels = int(in_channels)
    self.out_channels = int(out_channels)
    self.scale = scale

  def _check_input(self, inputs_shape: Shape) -> None:
    if inputs_shape[-1] != self.in_channels:  # compare_gan's check (resnet_biggan.py:113).
      raise ValueError(f"{self.name}: expected {self.in_channels} input channels, "
                       f"got shape {tuple(inputs_shape)}.")

  def compute_output_shape(self, inputs_shape: Shape, z_shape: Shape | None = None,
                           y_shape: Shape | None = None) -> Shape:
    """The output shape, without running the block."""
    # SAME pooling rounds odd sizes up.
    resample = {"up": lambda d: 2 * d, "down": lambda d: -(-d // 2), "none": lambda d: d}
    size = [None if d is None else resample[self.scale](d) for d in inputs_shape[1:3]]
    return (inputs_shape[0], *size, self.out_channels)

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    return {**super().get_config(), "in_channels": self.in_channels,
            "out_channels": self.out_channels, "scale": self.scale}


@keras.saving.register_keras_serializable(package="compare_gan2.biggan_blocks")
class BigGanResNetBlock(_BlockBase):
  """BigGAN residual block (compare_gan `resnet_biggan.py:80-151`).

  Weights are created in compare_gan's order: bn1, ln1, conv1, bn2, ln2, conv2,
  shortcut (the shortcut last, unlike the SNGAN ResNetBlock).
  """

  def __init__(self, in_channels: int, out_channels: int, scale: str,
               is_gen_block: bool = True, add_shortcut: bool = True, layer_norm: bool = False,
               **kwargs):
    """Creates the block.

    Args:
      in_channels, out_channels, scale: channels and "up" / "down" / "none".
      is_gen_block: resample in conv1 (G) rather than conv2 (D), resnet_ops.py:101-104.
      add_shortcut: add the 1x1 conv shortcut; otherwise there is no skip.
      layer_norm: layer norm after each norm (compare_gan's D.layer_norm).
      **kwargs: spectral_norm, batch_norm (class or None), kernel_initializer, name.
    """
    super().__init__(in_channels, out_channels, scale, **kwargs)
    self.is_gen_block = is_gen_block
    self.add_shortcut = add_shortcut
    self.layer_norm = layer_norm
    scale1, scale2 = (scale, "none") if is_gen_block else ("none", scale)
    conv = functools.partial(resnet_ops.ResampledConv, spectral_norm=self.spectral_norm,
                             kernel_initializer=self.kernel_initializer)  # scope {up,down,same}_*
    self.bn1 = self._norm("bn1")
    self.ln1 = base.make_layer_norm("ln1") if layer_norm else None
    self.conv1 = conv(self.out_channels, 3, scale1, "conv1")
    self.bn2 = self._norm("bn2")
    self.ln2 = base.make_layer_norm("ln2") if layer_norm else None
    self.conv2 = conv(self.out_channels, 3, scale2, "conv2")
    self.shortcut = conv(self.out_channels, 1, scale, "conv_shortcut") if add_shortcut else None

  def build(self, inputs_shape: Shape, z_shape: Shape | None = None,
            y_shape: Shape | None = None) -> None:
    """Creates every weight from the input and conditioning shapes."""
    self._check_input(inputs_shape)
    shape = tuple(inputs_shape)
    for norm, ln, conv in ((self.bn1, self.ln1, self.conv1), (self.bn2, self.ln2, self.conv2)):
      base.build_norm(norm, shape, z_shape, y_shape)
      if ln is not None:
        ln.build(shape)
      conv.build(shape)
      shape = conv.compute_output_shape(shape)
    if self.shortcut is not None:
      self.shortcut.build(tuple(inputs_shape))

  def call(self, inputs: tf.Tensor, z: tf.Tensor | None = None, y: tf.Tensor | None = None,
           training: bool = False) -> tf.Tensor:
    """Residual branch (+ 1x1 shortcut when `add_shortcut`)."""
    x = inputs
    for norm, ln, conv in ((self.bn1, self.ln1, self.conv1), (self.bn2, self.ln2, self.conv2)):
      x = base.apply_norm(norm, x, z, y, training)
      if ln is not None:
        x = ln(x)
      x = conv(tf.nn.relu(x), training=training)
    if self.shortcut is not None:
      x += self.shortcut(inputs, training=training)
    return x

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    return {**super().get_config(), "is_gen_block": self.is_gen_block,
            "add_shortcut": self.add_shortcut, "layer_norm": self.layer_norm}


@keras.saving.register_keras_serializable(package="compare_gan2.biggan_blocks")
class BottleneckStage(_ConfiguredLayer):
  """One `convN` scope of a BigGAN-deep block: norm "bn", ReLU, resample, conv.

  compare_gan `resnet_biggan_deep.py:145-172`: conv2 unpools before its 3x3
  conv ("up"), conv4 average-pools before its 1x1 conv ("down").
  """

  def __init__(self, filters: int, kernel_size: int, resample: str = "none", **kwargs):
    super().__init__(**kwargs)
    self.filters = filters
    self.kernel_size = kernel_size
    self.resample = resample
    self.bn = self._norm("bn")
    self.conv = self._conv(filters, kernel_size, f"{kernel_size}x{kernel_size}_conv")

  def build(self, inputs_shape: Shape, z_shape: Shape | None = None,
            y_shape: Shape | None = None) -> None:
    """Creates the norm's and the conv's weights (both only need the channels)."""
    base.build_norm(self.bn, tuple(inputs_shape), z_shape, y_shape)
    self.conv.build(tuple(inputs_shape))

  def call(self, inputs: tf.Tensor, z: tf.Tensor | None = None, y: tf.Tensor | None = None,
           training: bool = False) -> tf.Tensor:
    """conv(resample(relu(norm(x))))."""
    x = tf.nn.relu(base.apply_norm(self.bn, inputs, z, y, training))
    if self.resample == "up":
      x = resnet_ops.unpool(x)
    elif self.resample == "down":
      x = resnet_ops.downsample(x)
    return self.conv(x, training=training)

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    return {**super().get_config(), "filters": self.filters,
            "kernel_size": self.kernel_size, "resample": self.resample}


@keras.saving.register_keras_serializable(package="compare_gan2.biggan_blocks")
class DeepShortcut(_BlockBase):
  """BigGAN-deep's identity-preserving skip (`resnet_biggan_deep.py:94-118`).

  Drops surplus channels (only on "up"), unpools or pools, then appends
  `add_channels = conv1x1(x, out - in)` for missing channels (only on "down").
  """

  def __init__(self, in_channels: int, out_channels: int, scale: str, **kwargs):
    kwargs.setdefault("name", "shortcut")
    super().__init__(in_channels, out_channels, scale, **kwargs)
    # compare_gan asserts these; a table violating them would silently mis-wire.
    if (in_channels > out_channels and scale != "up") or (
        in_channels < out_channels and scale != "down"):
      raise ValueError(f"BigGAN-deep drops channels only in 'up' blocks and adds them only "
                       f"in 'down' blocks; got {in_channels} -> {out_channels}, {scale!r}.")
    self.add_channels = (self._conv(out_channels - in_channels, 1, "add_channels")
                         if in_channels < out_channels else None)

  def build(self, inputs_shape: Shape) -> None:
    """Creates `add_channels` when the block adds channels."""
    if self.add_channels is not None:
      self.add_channels.build(tuple(inputs_shape))

  def call(self, inputs: tf.Tensor, training: bool = False) -> tf.Tensor:
    """The skip path of the block."""
    x = inputs[..., :self.out_channels]
    if self.scale == "up":
      x = resnet_ops.unpool(x)
    elif self.scale == "down":
      x = resnet_ops.downsample(x)
    if self.add_channels is not None:
      x = tf.concat([x, self.add_channels(x, training=training)], axis=-1)
    return x


@keras.saving.register_keras_serializable(package="compare_gan2.biggan_blocks")
class BigGanDeepResNetBlock(_BlockBase):
  """BigGAN-deep bottleneck block (compare_gan `resnet_biggan_deep.py:61-179`).

  Weights in compare_gan's order: conv1/{bn, 1x1_conv}, conv2/{bn, 3x3_conv},
  conv3/{bn, 3x3_conv}, conv4/{bn, 1x1_conv}, shortcut/add_channels. All convs
  have biases and honour spectral norm.
  """

  def __init__(self, in_channels: int, out_channels: int, scale: str, **kwargs):
    """Creates the block; kwargs as `BigGanResNetBlock` (no layer norm here)."""
    super().__init__(in_channels, out_channels, scale, **kwargs)
    bottleneck = max(self.in_channels, self.out_channels) // 4
    shared = {"spectral_norm": self.spectral_norm, "batch_norm": self.batch_norm,
              "kernel_initializer": self.kernel_initializer}
    stage = functools.partial(BottleneckStage, **shared)
    self.conv1 = stage(bottleneck, 1, name="conv1")
    self.conv2 = stage(bottleneck, 3, "up" if scale == "up" else "none", name="conv2")
    self.conv3 = stage(bottleneck, 3, name="conv3")
    self.conv4 = stage(self.out_channels, 1, "down" if scale == "down" else "none", name="conv4")
    self.shortcut = DeepShortcut(self.in_channels, self.out_channels, scale,
                                 spectral_norm=self.spectral_norm,
                                 kernel_initializer=self.kernel_initializer)

  def build(self, inputs_shape: Shape, z_shape: Shape | None = None,
            y_shape: Shape | None = None) -> None:
    """Creates every weight from the input and conditioning shapes."""
    self._check_input(inputs_shape)
    batch, height, width, _ = inputs_shape
    up = 2 if self.scale == "up" else 1
    bottleneck = (batch, height, width, self.conv1.filters)
    upsampled = (batch, height * up, width * up, self.conv1.filters)  # conv4 pools after its bn.
    for stage, shape in zip((self.conv1, self.conv2, self.conv3, self.conv4),
                            (tuple(inputs_shape), bottleneck, upsampled, upsampled)):
      stage.build(shape, z_shape, y_shape)
    self.shortcut.build(tuple(inputs_shape))

  def call(self, inputs: tf.Tensor, z: tf.Tensor | None = None, y: tf.Tensor | None = None,
           training: bool = False) -> tf.Tensor:
    """Bottleneck branch plus the identity-preserving skip."""
    x = inputs
    for stage in (self.conv1, self.conv2, self.conv3, self.conv4):
      x = stage(x, z, y, training=training)
    return x + self.shortcut(inputs, training=training)


def attention_names(blocks_with_attention: AttentionArg, num_blocks: int,
                    network: str) -> tuple[str, ...]:
  """Parses compare_gan's comma-separated block list ("B4", "B1,B4") or a sequence.

  Raises:
    ValueError: for names of blocks this resolution lacks (compare_gan ignores them).
  """
  if isinstance(blocks_with_attention, str):
    blocks_with_attention = blocks_with_attention.split(",")
  names = tuple(dict.fromkeys(n.strip() for n in blocks_with_attention or () if n.strip()))
  valid = [f"B{i + 1}" for i in range(num_blocks)]
  unknown = [n for n in names if n not in valid]
  if unknown:
    raise ValueError(f"{network}: blocks_with_attention names {unknown}, but this resolution "
                     f"has blocks {valid[0]}..{valid[-1]}.")
  return names


def with_attention(blocks: Sequence[keras.layers.Layer], names: Sequence[str],
                   spectral_norm: layers.SpectralNormArg,
                   kernel_initializer: Any) -> list[keras.layers.Layer]:
  """Blocks in order, each followed by a non-local block if its name is listed.

  The first is named `non_local_block` as compare_gan's only scope; further ones
  get `non_local_block_1`, ... and their own weights (compare_gan would reuse one
  scope, i.e. share or clash, arch_ops.py:709).
  """
  body = []
  for block in blocks:
    body.append(block)
    if block.name in names:
      count = sum(isinstance(layer, attention.NonLocalBlock) for layer in body)
      body.append(attention.NonLocalBlock(
          spectral_norm=spectral_norm, kernel_initializer=kernel_initializer,
          name="non_local_block" + (f"_{count}" if count else "")))
  return body


def build_body(body: Sequence[keras.layers.Layer], shape: Shape,
               conditions: Sequence[tuple[Shape | None, Shape | None]]) -> Shape:
  """Builds blocks (with their (z, y) shapes) and attention; returns the output shape."""
  conditions = iter(conditions)
  for layer in body:
    if isinstance(layer, attention.NonLocalBlock):
      layer.build(shape)
    else:
      layer.build(shape, *next(conditions))
      shape = layer.compute_output_shape(shape)
  return shape


def run_body(body: Sequence[keras.layers.Layer], net: tf.Tensor,
             conditions: Sequence[tuple[tf.Tensor | None, tf.Tensor | None]],
             training: bool) -> tf.Tensor:
  """Runs blocks (each with its (z, y)) and attention in order."""
  conditions = iter(conditions)
  for layer in body:
    if isinstance(layer, attention.NonLocalBlock):
      net = layer(net, training=training)
    else:
      net = layer(net, *next(conditions), training=training)
  return net


def head_layers(channels: int, project_y: bool, spectral_norm: layers.SpectralNormArg,
                kernel_initializer: Any) -> tuple[layers.Linear, layers.Linear | None]:
  """D's `final_fc` and `embedding_fc`: bias-free [num_classes, C], always
  glorot_normal (not `weights.initializer`), SN if D has it (resnet_biggan.py:403-424)."""
  final_fc = layers.Linear(1, spectral_norm=spectral_norm,
                           kernel_initializer=kernel_initializer, name="final_fc")
  embedding_fc = None
  if project_y:
    glorot = initializers.weight_initializer("glorot_normal")
    embedding_fc = layers.Linear(channels, use_bias=False, spectral_norm=spectral_norm,
                                 kernel_initializer=glorot, name="embedding_fc")
  return final_fc, embedding_fc


def build_head(final_fc: layers.Linear, embedding_fc: layers.Linear | None, features: Shape,
               y_shape: Shape | None, network: str) -> None:
  """Builds final_fc on the pooled features and embedding_fc on y."""
  final_fc.build(tuple(features))
  if embedding_fc is not None:
    if y_shape is None:
      raise ValueError(f"{network}: project_y=True needs class labels y (set num_classes > 0, "
                       "or project_y=False).")
    embedding_fc.build(tuple(y_shape))


def discriminator_head(net: tf.Tensor, y: tf.Tensor | None, final_fc: layers.Linear,
                       embedding_fc: layers.Linear | None, training: bool,
                       network: str) -> base.DiscriminatorOutput:
  """ReLU, **sum** pooling, final_fc and the projection term (resnet_biggan.py:403-425)."""
  features = tf.reduce_sum(tf.nn.relu(net), axis=[1, 2])
  logits = final_fc(features, training=training)
  if embedding_fc is not None:
    if y is None:
      raise ValueError(f"{network}: project_y=True needs class labels y.")
    logits = base.project_labels(logits, embedding_fc(y, training=training), features)
  return base.discriminator_output(logits, features)
