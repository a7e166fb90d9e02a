"""ResNet with six superblocks of five residual blocks ("ResNet30"), 128x128.

Gulrajani et al. 2017, "Improved Training of Wasserstein GANs" (the deep
ResNet of github.com/igul222/improved_wgan_training gan_64x64.py, here at
128 px) with SNGAN blocks; compare_gan
`architectures/resnet30.py:36-143`.

Resolution: 128x128 only (compare_gan's G always outputs 128 px and its D
reshapes to 4·4·8·ch, resnet30.py:61-63,139). D accepts 1 or 3 colours.

Generator (`ch` = 64, fixed in compare_gan): fc_noise linear z -> 4x4x8ch (no SN);
  superblocks s = 0..5 of width 8ch/2^s: five "none" blocks B_s_0..B_s_4, then
  (s < 5) B_s_up halving the width, "up"; final_conv 3x3 (no SN), sigmoid.
  35 blocks (30 "none" + 5 "up"); NO final norm or ReLU before final_conv.
  Every block sees the full z and y. SN on the blocks only.
Discriminator: color_conv 3x3 -> ch/4 (no SN); superblocks s = 0..5 of width
  ch/4·2^s: five "none" blocks B_s_i, then (s < 5) a "down" block doubling the
  width, still NAMED B_s_up as in compare_gan; flatten [B, 4·4·8ch] (no ReLU,
  no pooling); disc_final_fc linear -> 1 (SN). Returns (sigmoid, logits, flat).

Trainable parameters (z_dim 128, 3 colours; derived in tests/architectures/
resnet30_test.py, see docs/design.md §10): G 52,176,531; D 53,486,449.

gin: compare_gan selects it with `options.architecture = "resnet30_arch"` and
does not register the classes (only `G.*`/`D.*` reach them):
  ModularGAN.generator = @resnet30.Generator()
  resnet30.Generator.batch_norm = @ops.BatchNorm       # G.batch_norm_fn = @batch_norm
  resnet30.Discriminator.spectral_norm = True
`ch` is our addition (default = compare_gan's 64; a multiple of 4) so tests can
run narrow models. compare_gan's Python-3 `in_channels /= 2` gives float
widths (resnet30.py:82-83); the tables here are integers.
"""

from collections.abc import Sequence

import keras
import tensorflow as tf

from compare_gan2.architectures import base
from compare_gan2.architectures import families
from compare_gan2.architectures import resnet_block
from compare_gan2.ops import layers

Spec = resnet_block.BlockSpec
SEED_SIZE = 4
BLOCKS_PER_SUPERBLOCK = 5
QUARTERS = 4  # widths below are in units of ch/4
# resolution -> superblocks as (width, width after the resampling block or None).
G_SUPERBLOCKS = {128: ((32, 16), (16, 8), (8, 4), (4, 2), (2, 1), (1, None))}
D_SUPERBLOCKS = {128: ((1, 2), (2, 4), (4, 8), (8, 16), (16, 32), (32, None))}


def expand(superblocks: tuple, scale: str) -> tuple[Spec, ...]:
  """Table rows B_s_0..B_s_4 ("none") and B_s_up (`scale`) for each superblock s."""
  specs = []
  for s, (width, next_width) in enumerate(superblocks):
    specs += [Spec(f"B_{s}_{i}", width, width, "none") for i in range(BLOCKS_PER_SUPERBLOCK)]
    if next_width is not None:
      # compare_gan names the resampling block "B_s_up" in D too, where it goes down.
      specs.append(Spec(f"B_{s}_up", width, next_width, scale))
  return tuple(specs)


def _check_ch(ch: int) -> int:
  if ch % QUARTERS:
    raise ValueError(f"resnet30: ch must be a multiple of {QUARTERS}, got {ch}.")
  return ch


@keras.saving.register_keras_serializable(package="compare_gan2.resnet30")
class Generator(resnet_block.SeededResNetGenerator):
  """ResNet30 generator: 4x4 seed, 35 blocks, sigmoid output at 128x128."""

  RESOLUTIONS = tuple(G_SUPERBLOCKS)

  def __init__(self, ch: int = 64, image_shape: Sequence[int] = (128, 128, 3),
               **kwargs):
    """Creates the layers (weights come in `build`).

    Args:
      ch: base width (compare_gan: 64); the seed has 8ch channels.
      image_shape: (H, W, colours); 128x128 only (the default).
      **kwargs: `base.GeneratorBase` arguments (image_shape, z_dim, batch_norm, ...).
    """
    super().__init__(ch=ch, image_shape=image_shape, **kwargs)
    _check_ch(ch)
    superblocks = G_SUPERBLOCKS[self.image_shape[0]]
    # compare_gan gives fc_noise and final_conv no SN (resnet30.py:61, 85-87), and
    # has no final norm or ReLU.
    self.make_layers(expand(superblocks, "up"), SEED_SIZE, ch * superblocks[0][0] // QUARTERS,
                     final_norm=None, divisor=QUARTERS)


@keras.saving.register_keras_serializable(package="compare_gan2.resnet30")
class Discriminator(resnet_block.ResNetDiscriminator):
  """ResNet30 discriminator: colour conv, 35 blocks, flatten, linear logit."""

  RESOLUTIONS = tuple(D_SUPERBLOCKS)

  def __init__(self, ch: int = 64, image_shape: Sequence[int] = (128, 128, 3),
               **kwargs):
    """Creates the layers (weights come in `build`).

    Args:
      ch: base width (compare_gan: 64); the colour conv has ch/4 channels.
      image_shape: (H, W, colours); 128x128 only (the default).
      **kwargs: `base.DiscriminatorBase` arguments (image_shape, layer_norm, ...).
    """
    super().__init__(ch=ch, image_shape=image_shape, **kwargs)
    _check_ch(ch)
    superblocks = D_SUPERBLOCKS[self.image_shape[0]]
    # compare_gan gives color_conv no SN (resnet30.py:114-116).
    self.color_conv = layers.Conv2D(ch * superblocks[0][0] // QUARTERS, 3,
                                    kernel_initializer=self.kernel_initializer, name="color_conv")
    self.blocks = self.make_blocks(expand(superblocks, "down"), ch, divisor=QUARTERS)
    self.disc_final_fc = layers.Linear(1, spectral_norm=self.spectral_norm,
                                       kernel_initializer=self.kernel_initializer,
                                       name="disc_final_fc")

  def build(self, images_shape: tuple, y_shape: tuple | None = None) -> None:
    """Creates every weight from the shapes of images (and y, for a conditional D norm)."""
    images_shape = self.check_images_shape(images_shape)
    self.color_conv.build(images_shape)
    shape = resnet_block.build_blocks(self.blocks, self.color_conv.compute_output_shape(
        images_shape), None, y_shape)
    self.disc_final_fc.build((shape[0], shape[1] * shape[2] * shape[3]))

  def call(self, images: tf.Tensor, y: tf.Tensor | None = None,
           training: bool = False) -> base.DiscriminatorOutput:
    """(sigmoid(logits), logits [B, 1], flattened last feature map [B, 4·4·8ch])."""
    x = self.color_conv(images, training=training)
    for block in self.blocks:
      x = block(x, None, y, training=training)
    flat = tf.reshape(x, [-1, x.shape[1] * x.shape[2] * x.shape[3]])
    return base.discriminator_output(self.disc_final_fc(flat, training=training), flat)


families.register(families.Family(
    "resnet30", Generator, Discriminator,
    resolutions=Generator.RESOLUTIONS, tiny={"ch": 4}))
