"""ResNet generator and discriminator for 48x48 images (SNGAN, STL-10).

Miyato et al. 2018, "Spectral Normalization for GANs" (arXiv 1802.05957),
Table 5; compare_gan `architectures/resnet_stl.py:33-108`.

Resolution: 48x48 only (not a power of two; compare_gan validates D inputs
with validate_power2=False). D accepts 1 or 3 colours.

Generator (`ch` = 64, fixed in compare_gan): fc_noise linear z -> 6x6x8ch (no SN);
  B1 8ch->4ch, B2 4ch->2ch, B3 2ch->ch, all "up" (12, 24, 48); final norm,
  ReLU, final_conv 3x3 (no SN), sigmoid. Every block sees the full z and y.
  SN on the blocks only.
Discriminator: B0 colours->ch "down" (24), B1 ch->2ch down (12), B2 2ch->4ch down
  (6), B3 4ch->8ch down (3), B4 8ch->16ch "none" (3); ReLU, MEAN over H, W ->
  pre_logits [B, 16ch]; disc_final_fc linear -> 1 (SN). Returns (sigmoid, logits,
  pre_logits).

Trainable parameters (z_dim 128, 3 colours; derived in tests/architectures/
resnet_stl_test.py, see docs/design.md §10): G 6,251,523 (with BatchNorm
6,254,339); D 25,114,817.

gin: compare_gan selects it with `options.architecture = "resnet_stl_arch"` and
does not register the classes (only `G.*`/`D.*` reach them):
  ModularGAN.generator = @resnet_stl.Generator()
  resnet_stl.Generator.batch_norm = @ops.BatchNorm     # G.batch_norm_fn = @batch_norm
  resnet_stl.Discriminator.spectral_norm = True

Names, and two deliberate differences from compare_gan:
- compare_gan calls the final norm with `scope="final_norm"`, a keyword no norm
  function accepts, so it is dropped and the variables land in the norm's
  default scope: `generator/batch_norm/gamma`, not `final_norm` (resnet_stl.py:
  61-62). We keep that name (layer `batch_norm`, attribute `final_norm`) so
  compare_gan checkpoints map one to one.
- compare_gan reshapes the seed with the static batch size (resnet_stl.py:50-53),
  which breaks a batch-None export; we reshape with -1.
`ch` is our addition (default = compare_gan's 64) so tests can run narrow models.
"""

from collections.abc import Sequence

import keras

from compare_gan2.architectures import families
from compare_gan2.architectures import resnet_block

Spec = resnet_block.BlockSpec
SEED_SIZE = 6
# resolution -> blocks; channels are multiples of ch (None: image colours).
G_BLOCKS = {48: (Spec("B1", 8, 4, "up"), Spec("B2", 4, 2, "up"), Spec("B3", 2, 1, "up"))}
D_BLOCKS = {48: (Spec("B0", None, 1, "down"), Spec("B1", 1, 2, "down"),
                 Spec("B2", 2, 4, "down"), Spec("B3", 4, 8, "down"),
                 Spec("B4", 8, 16, "none"))}
# The scope compare_gan's final norm really gets (see the module docstring).
FINAL_NORM_SCOPE = "batch_norm"


@keras.saving.register_keras_serializable(package="compare_gan2.resnet_stl")
class Generator(resnet_block.SeededResNetGenerator):
  """SNGAN STL generator: 6x6 seed, three "up" blocks, final norm, sigmoid output."""

  RESOLUTIONS = tuple(G_BLOCKS)

  def __init__(self, ch: int = 64, image_shape: Sequence[int] = (48, 48, 3),
               **kwargs):
    """Creates the layers (weights come in `build`).

    Args:
      ch: base width (compare_gan: 64); the seed has 8ch channels.
      image_shape: (H, W, colours); 48x48 only (the default).
      **kwargs: `base.GeneratorBase` arguments (image_shape, z_dim, batch_norm, ...).
    """
    super().__init__(ch=ch, image_shape=image_shape, **kwargs)
    specs = G_BLOCKS[self.image_shape[0]]
    # compare_gan gives fc_noise and final_conv no SN (resnet_stl.py:52, 64-65).
    self.make_layers(specs, SEED_SIZE, ch * specs[0].in_mult, final_norm=FINAL_NORM_SCOPE)


@keras.saving.register_keras_serializable(package="compare_gan2.resnet_stl")
class Discriminator(resnet_block.PooledResNetDiscriminator):
  """SNGAN STL discriminator: five blocks, mean pooling, linear logit."""

  RESOLUTIONS = tuple(D_BLOCKS)

  def __init__(self, ch: int = 64, image_shape: Sequence[int] = (48, 48, 3),
               **kwargs):
    """Creates the layers (weights come in `build`).

    Args:
      ch: base width (compare_gan: 64); the last block has 16ch channels.
      image_shape: (H, W, colours); 48x48 only (the default).
      **kwargs: `base.DiscriminatorBase` arguments (image_shape, layer_norm, ...).
    """
    super().__init__(ch=ch, image_shape=image_shape, **kwargs)
    self.make_layers(D_BLOCKS[self.image_shape[0]])


families.register(families.Family(
    "resnet_stl", Generator, Discriminator,
    resolutions=Generator.RESOLUTIONS, tiny={"ch": 2}))
