"""ResNet with five residual blocks in G and six in D ("ResNet5").

Gulrajani et al. 2017, "Improved Training of Wasserstein GANs" (the 64x64
ResNet of github.com/igul222/improved_wgan_training gan_64x64.py) with SNGAN
blocks; compare_gan `architectures/resnet5.py:36-145`,
used by `example_configs/resnet_lsun-bedroom128.gin`.

Resolutions: 4, 8, 16, 32, 64 and 128 px (compare_gan: log2(H/4) in [0, 5],
resnet5.py:71-77; its tests cover 32, 64, 128). D accepts 1 or 3 colours.

Generator (`ch`=64, `channels`=(8, 8, 4, 4, 2, 1)):
  fc_noise linear z -> 4x4x(ch·channels[0]) (no SN); B1..B5 ResNetBlock
  ch·channels[i] -> ch·channels[i+1], "up" for the first log2(H/4) blocks, then
  "none" (table `G_SCALES`); final_norm, ReLU, final_conv 3x3 (no SN), sigmoid.
  Every block sees the full z and y. SN on the blocks only.
Discriminator (`ch`=64, `channels`=(1, 2, 4, 4, 8, 8)): B0 colours -> ch·channels[0]
  "down", B1..B5 ch·channels[i] -> ch·channels[i+1] "down": six halvings at
  every resolution (SAME pooling keeps 1x1 at 1x1); ReLU, MEAN over H, W ->
  pre_logits [B, ch·channels[5]]; disc_final_fc linear -> 1. SN on blocks and
  disc_final_fc. Returns (sigmoid(logits), logits, pre_logits).

Trainable parameters at 128 px, z_dim 128, 3 colours (derived in
tests/architectures/resnet5_test.py, see docs/design.md §10):
  G 13,780,227 (with BatchNorm 13,786,115); D 15,086,529.
  The count does not depend on the resolution except through "up" vs "none",
  which have the same weights: G and D have these counts at every size.

gin: compare_gan selects it with `options.architecture = "resnet5_arch"` and
does not register the classes (only `G.*`/`D.*` reach them), so `ch`/`channels`
are new bindable options here, defaulting to compare_gan. E.g.
`example_configs/resnet_lsun-bedroom128.gin` becomes
  ModularGAN.generator = @resnet5.Generator()
  ModularGAN.discriminator = @resnet5.Discriminator()
  resnet5.Generator.batch_norm = @ops.BatchNorm      # G.batch_norm_fn = @batch_norm
  ops.BatchNorm.decay = 0.9                          # standardize_batch.decay
  resnet5.Discriminator.spectral_norm = False        # D.spectral_norm

Names: layer paths are compare_gan's scopes (`generator/B1/up_conv1/kernel`,
`discriminator/B0/down_conv_shortcut/kernel`, `discriminator/disc_final_fc/kernel`).
compare_gan's D builds B0 with `ch` outputs and B1 with `ch·channels[0]` inputs,
which only works for channels[0] == 1; we use ch·channels[0] for both (the same
model for every configuration compare_gan accepts).
"""

from collections.abc import Sequence
from typing import Any

import keras

from compare_gan2.architectures import families
from compare_gan2.architectures import resnet_block

SEED_SIZE = 4
NUM_G_BLOCKS = 5
# resolution -> scale of G blocks B1..B5: "up" for the first log2(H/4) blocks.
G_SCALES = {
    4: ("none", "none", "none", "none", "none"),
    8: ("up", "none", "none", "none", "none"),
    16: ("up", "up", "none", "none", "none"),
    32: ("up", "up", "up", "none", "none"),
    64: ("up", "up", "up", "up", "none"),
    128: ("up", "up", "up", "up", "up"),
}
# D blocks B0..B5 all halve, whatever the resolution (resnet5.py:125-138).
D_SCALES = ("down",) * (NUM_G_BLOCKS + 1)


def _specs(names: Sequence[str], channels: Sequence[int],
           scales: Sequence[str]) -> tuple[resnet_block.BlockSpec, ...]:
  """Table rows: block i maps ch·channels[i] -> ch·channels[i+1] with scales[i]."""
  return tuple(resnet_block.BlockSpec(name, channels[i], channels[i + 1], scale)
               for i, (name, scale) in enumerate(zip(names, scales)))


def _check_channels(channels: Sequence[int], expected: int, default: tuple) -> tuple[int, ...]:
  channels = tuple(int(c) for c in channels)
  if len(channels) != expected:
    raise ValueError(f"resnet5: channels needs {expected} multipliers (like {default}), "
                     f"got {channels}.")
  return channels


@keras.saving.register_keras_serializable(package="compare_gan2.resnet5")
class Generator(resnet_block.SeededResNetGenerator):
  """ResNet5 generator: 4x4 seed, five blocks, final norm, sigmoid output."""

  RESOLUTIONS = tuple(G_SCALES)

  def __init__(self, ch: int = 64, channels: Sequence[int] = (8, 8, 4, 4, 2, 1), **kwargs):
    """Creates the layers (weights come in `build`).

    Args:
      ch: base width.
      channels: six multipliers of ch: the seed's, then each block's output.
      **kwargs: `base.GeneratorBase` arguments (image_shape, z_dim, batch_norm, ...).
    """
    super().__init__(ch=ch, **kwargs)
    self.channels = _check_channels(channels, NUM_G_BLOCKS + 1, (8, 8, 4, 4, 2, 1))
    specs = _specs([f"B{i + 1}" for i in range(NUM_G_BLOCKS)], self.channels,
                   G_SCALES[self.image_shape[0]])
    # compare_gan gives fc_noise and final_conv no SN (resnet5.py:62-64, 90-91).
    self.make_layers(specs, SEED_SIZE, ch * self.channels[0], final_norm="final_norm")

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    return {**super().get_config(), "channels": self.channels}


@keras.saving.register_keras_serializable(package="compare_gan2.resnet5")
class Discriminator(resnet_block.PooledResNetDiscriminator):
  """ResNet5 discriminator: six "down" blocks, mean pooling, linear logit."""

  RESOLUTIONS = tuple(G_SCALES)

  def __init__(self, ch: int = 64, channels: Sequence[int] = (1, 2, 4, 4, 8, 8), **kwargs):
    """Creates the layers (weights come in `build`).

    Args:
      ch: base width.
      channels: six multipliers of ch: B0's output, then B1..B5's outputs.
      **kwargs: `base.DiscriminatorBase` arguments (image_shape, layer_norm, ...).
    """
    super().__init__(ch=ch, **kwargs)
    self.channels = _check_channels(channels, NUM_G_BLOCKS + 1, (1, 2, 4, 4, 8, 8))
    b0 = resnet_block.BlockSpec("B0", None, self.channels[0], D_SCALES[0])
    rest = _specs([f"B{i + 1}" for i in range(NUM_G_BLOCKS)], self.channels, D_SCALES[1:])
    self.make_layers((b0, *rest))

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    return {**super().get_config(), "channels": self.channels}


families.register(families.Family(
    "resnet5", Generator, Discriminator,
    resolutions=Generator.RESOLUTIONS, tiny={"ch": 2}))
