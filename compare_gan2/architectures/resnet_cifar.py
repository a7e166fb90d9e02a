"""ResNet generator and discriminator for 32x32 images (SNGAN, CIFAR-10).

Miyato et al. 2018, "Spectral Normalization for GANs" (arXiv 1802.05957),
Table 4; compare_gan `architectures/resnet_cifar.py:35-167`, used by
`example_configs/resnet_cifar10.gin`.

Resolution: 32x32 only, 1 or 3 colours (compare_gan asserts 32, :71-72).

Generator (`ch` = 256 in compare_gan, fixed there):
  [embed_z: linear z_dim->z_dim] [embed_y: linear y->z_dim]
  fc_noise: linear -> 4x4xch; B1..B3: ResNetBlock ch->ch "up" (8, 16, 32);
  final_norm, ReLU, final_conv 3x3 -> colours, sigmoid. SN on EVERY layer.
  hierarchical_z splits z into 4 chunks: chunk 0 feeds fc_noise, chunk i+1
  block i, whose norms get y_i = concat([z_{i+1}, y]) (or None without y);
  without it every block gets the full z and y. final_norm always gets the full
  (embedded) z and the (embedded) y (resnet_cifar.py:76-107).
Discriminator (`ch` = 128): B1 colours->ch down (16), B2 down (8), B3, B4
  "none"; ReLU, MEAN over H, W -> h [B, ch]; disc_final_fc linear -> 1. With
  project_y: logits += Σ(embedding_fc(y) ⊙ h), embedding_fc bias-free (Miyato &
  Koyama 2018). SN on every layer. Returns (sigmoid(logits), logits, h).

Trainable parameters (z_dim 128, 3 colours; derived in tests/architectures/
resnet_cifar_test.py, see docs/design.md §10):
  G 5,846,019; with BatchNorm 5,849,603; with ConditionalBatchNorm over 10
  classes 5,881,859; with SelfModulatedBatchNorm 5,993,187.
  D 1,483,137; with project_y over 10 classes 1,484,417.

gin (compare_gan's `options.architecture = "resnet_cifar_arch"`, `G.*`, `D.*`
and `resnet_cifar.*` bind on these classes):
  ModularGAN.generator = @resnet_cifar.Generator()
  ModularGAN.discriminator = @resnet_cifar.Discriminator()
  resnet_cifar.Generator.batch_norm = @ops.BatchNorm      # G.batch_norm_fn = @batch_norm
  resnet_cifar.Generator.hierarchical_z = True            # and embed_z, embed_y
  resnet_cifar.Discriminator.spectral_norm = True         # D.spectral_norm = True
  resnet_cifar.Discriminator.project_y = True

Names: layer paths are compare_gan's scopes (`generator/B1/up_conv1/kernel`,
`discriminator/embedding_fc/kernel`); `base.compare_gan_names` adds the
`kernel/u_var`, `condition/`, `sbn/` parts. `ch` is our addition (default =
compare_gan's fixed widths) so tests can run narrow models.
"""

from typing import Any

import keras
import tensorflow as tf

from compare_gan2.architectures import base
from compare_gan2.architectures import families
from compare_gan2.architectures import resnet_block
from compare_gan2.ops import layers

Spec = resnet_block.BlockSpec
SEED_SIZE = 4
# resolution -> blocks; channels are multiples of ch (None: image colours).
G_BLOCKS = {32: (Spec("B1", 1, 1, "up"), Spec("B2", 1, 1, "up"), Spec("B3", 1, 1, "up"))}
D_BLOCKS = {32: (Spec("B1", None, 1, "down"), Spec("B2", 1, 1, "down"),
                 Spec("B3", 1, 1, "none"), Spec("B4", 1, 1, "none"))}


@keras.saving.register_keras_serializable(package="compare_gan2.resnet_cifar")
class Generator(resnet_block.ResNetGenerator):
  """SNGAN CIFAR generator: 4x4 seed, three "up" blocks of width ch, sigmoid output."""

  RESOLUTIONS = tuple(G_BLOCKS)

  def __init__(self, ch: int = 256, hierarchical_z: bool = False, embed_z: bool = False,
               embed_y: bool = False, **kwargs):
    """Creates the layers (weights come in `build`).

    Args:
      ch: channels of every block (256 in compare_gan, fixed there).
      hierarchical_z: split z into num_blocks + 1 = 4 chunks (z_dim % 4 == 0).
      embed_z: replace z by a learned linear map z_dim -> z_dim (with bias).
      embed_y: replace y by a learned linear map num_classes -> z_dim (with bias).
      **kwargs: `base.GeneratorBase` arguments (image_shape, z_dim, batch_norm, ...).
    """
    super().__init__(ch=ch, **kwargs)
    self.hierarchical_z = hierarchical_z
    self.embed_z = embed_z
    self.embed_y = embed_y
    specs = G_BLOCKS[self.image_shape[0]]
    if hierarchical_z and self.z_dim % (len(specs) + 1):
      raise ValueError(f"hierarchical_z splits z into {len(specs) + 1} chunks; "
                       f"z_dim={self.z_dim} is not divisible by {len(specs) + 1}.")
    self.z_embedding = self._linear(self.z_dim, "embed_z") if embed_z else None
    self.y_embedding = self._linear(self.z_dim, "embed_y") if embed_y else None
    self.fc_noise = self._linear(SEED_SIZE * SEED_SIZE * ch, "fc_noise")
    self.blocks = self.make_blocks(specs, ch)
    self.final_norm = self.norm("final_norm")
    self.final_conv = layers.Conv2D(self.image_shape[-1], 3, spectral_norm=self.spectral_norm,
                                    kernel_initializer=self.kernel_initializer, name="final_conv")

  def _linear(self, units: int, name: str) -> layers.Linear:
    return layers.Linear(units, spectral_norm=self.spectral_norm,
                         kernel_initializer=self.kernel_initializer, name=name)

  def _block_shapes(self, z_shape: tuple, y_shape: tuple | None):
    """(fc_noise input, per-block z, per-block y) shapes, as resnet_cifar.py:81-88."""
    if not self.hierarchical_z:
      return z_shape, z_shape, y_shape
    chunk = (z_shape[0], z_shape[1] // (len(self.blocks) + 1))
    block_y = None if y_shape is None else (y_shape[0], chunk[1] + y_shape[1])
    return chunk, chunk, block_y

  def build(self, z_shape: tuple, y_shape: tuple | None = None) -> None:
    """Creates every weight from the shapes of z [B, z_dim] and y [B, num_classes]."""
    z_shape = self.check_z_shape(z_shape)
    y_shape = None if y_shape is None else tuple(y_shape)
    if self.z_embedding is not None:
      self.z_embedding.build(z_shape)
    if self.y_embedding is not None:
      if y_shape is None:
        raise ValueError(f"{self.name}: embed_y=True needs labels y; got None.")
      self.y_embedding.build(y_shape)
      y_shape = (y_shape[0], self.z_dim)
    fc_shape, block_z, block_y = self._block_shapes(z_shape, y_shape)
    self.fc_noise.build(fc_shape)
    shape = resnet_block.build_blocks(
        self.blocks, (z_shape[0], SEED_SIZE, SEED_SIZE, self.ch), block_z, block_y)
    base.build_norm(self.final_norm, shape, z_shape, y_shape)
    self.final_conv.build(shape)

  def _split(self, z: tf.Tensor, y: tf.Tensor | None):
    """(z0, per-block z, per-block y) as compare_gan's hierarchical_z (:81-88)."""
    num_blocks = len(self.blocks)
    if not self.hierarchical_z:
      return z, [z] * num_blocks, [y] * num_blocks
    z0, *z_per_block = tf.split(z, num_blocks + 1, axis=1)
    y_per_block = ([None] * num_blocks if y is None
                   else [tf.concat([zi, y], axis=1) for zi in z_per_block])
    return z0, z_per_block, y_per_block

  def call(self, z: tf.Tensor, y: tf.Tensor | None = None, training: bool = False) -> tf.Tensor:
    """Images [B, 32, 32, colours] in [0, 1] from z [B, z_dim] and one-hot y."""
    if self.z_embedding is not None:
      z = self.z_embedding(z, training=training)
    if self.y_embedding is not None:
      y = self.y_embedding(y, training=training)
    z0, z_per_block, y_per_block = self._split(z, y)
    x = self.fc_noise(z0, training=training)
    x = tf.reshape(x, [-1, SEED_SIZE, SEED_SIZE, self.ch])
    for block, block_z, block_y in zip(self.blocks, z_per_block, y_per_block):
      x = block(x, block_z, block_y, training=training)
    x = tf.nn.relu(base.apply_norm(self.final_norm, x, z, y, training))
    return tf.sigmoid(self.final_conv(x, training=training))

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    return {**super().get_config(), "hierarchical_z": self.hierarchical_z,
            "embed_z": self.embed_z, "embed_y": self.embed_y}



@keras.saving.register_keras_serializable(package="compare_gan2.resnet_cifar")
class Discriminator(resnet_block.PooledResNetDiscriminator):
  """SNGAN CIFAR discriminator: four blocks of width ch, mean pooling, optional projection."""

  RESOLUTIONS = tuple(D_BLOCKS)

  def __init__(self, ch: int = 128, project_y: bool = False, **kwargs):
    """Creates the layers (weights come in `build`).

    Args:
      ch: channels of every block (128 in compare_gan, fixed there).
      project_y: add the projection term Σ(embedding_fc(y) ⊙ h) to the logits;
        needs num_classes > 0 and y at every call.
      **kwargs: `base.DiscriminatorBase` arguments (image_shape, num_classes, ...).
    """
    super().__init__(ch=ch, **kwargs)
    if project_y and self.num_classes <= 0:
      raise ValueError("resnet_cifar.Discriminator: project_y=True needs num_classes > 0.")
    self.project_y = project_y
    self.make_layers(D_BLOCKS[self.image_shape[0]])
    # compare_gan embeds with its `weights` initializer, not Glorot (resnet_cifar.py:163).
    self.embedding_fc = (layers.Linear(ch, use_bias=False, spectral_norm=self.spectral_norm,
                                       kernel_initializer=self.kernel_initializer,
                                       name="embedding_fc") if project_y else None)

  def build(self, images_shape: tuple, y_shape: tuple | None = None) -> None:
    """Creates every weight from the shapes of images and y [B, num_classes]."""
    images_shape = self.check_images_shape(images_shape)
    if self.project_y and y_shape is None:
      raise ValueError(f"{self.name}: project_y=True needs class information y; got None.")
    super().build(images_shape, y_shape)
    if self.embedding_fc is not None:
      self.embedding_fc.build(y_shape)

  def call(self, images: tf.Tensor, y: tf.Tensor | None = None,
           training: bool = False) -> base.DiscriminatorOutput:
    """(sigmoid(logits), logits [B, 1], h [B, ch]) for images in [0, 1]."""
    if self.project_y and y is None:
      raise ValueError(f"{self.name}: project_y=True needs class information y; got None.")
    h = self.pooled_features(images, y, training)
    logits = self.disc_final_fc(h, training=training)
    if self.embedding_fc is not None:
      logits = base.project_labels(logits, self.embedding_fc(y, training=training), h)
    return base.discriminator_output(logits, h)

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    return {**super().get_config(), "project_y": self.project_y}


families.register(families.Family(
    "resnet_cifar", Generator, Discriminator,
    resolutions=Generator.RESOLUTIONS, tiny={"ch": 2},
    generator_options={"hierarchical_z": True, "embed_z": True, "embed_y": True},
    discriminator_options={"project_y": True}))
