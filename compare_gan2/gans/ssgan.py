"""SSGAN: a GAN whose D also predicts the rotation of its inputs.

Chen et al. 2019, "Self-Supervised GANs via Auxiliary Rotation Loss" (CVPR;
arXiv 1811.11212, §3, the objective):
  L_D = L_D^GAN + β·E_{x~P_data} E_r[−log Q_D(r | x^r)]
  L_G = L_G^GAN + α·E_{x~P_G} E_r[−log Q_D(r | x^r)]
with β = `weight_rotation_loss_d` = 1.0 and α = `weight_rotation_loss_g` = 0.2.
compare_gan `gans/ssgan.py`, per D or G update:
n images of the real and of the fake sub-batch are rotated by 90°, 180° and
270°, and D is called once on concat(real, real rotated, fake, fake rotated);
the GAN loss sees the upright rows, the rotation loss the n upright rows plus
their 3n rotations (labels 0…3, rotation-major).

Differences from compare_gan, each deliberate (the numbers each changes:
docs/MIGRATION.md, "Differences that change numbers"):
- Rotated fakes are conditioned on their own sampled labels; compare_gan gave
  them the real labels (ssgan.py:166-168, a bug: Porting stance 2).
- The n rotated examples are every s-th row of the sub-batch (s = size / n,
  ending with the last row) instead of the last n rows, so the same examples
  are rotated whatever the replica count, as ModularGAN's strided sub-batches.
- The head is a sublayer of D (`discriminator.rotation_head`, path
  `discriminator/score_classify/...`; compare_gan:
  `discriminator_rotation/score_classify/...`), so the D optimizer trains it and
  checkpoints hold it with no extra machinery.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import keras
import tensorflow as tf

from compare_gan2 import self_supervision as ss
from compare_gan2.architectures import base
from compare_gan2.gans import modular_gan

MODES = ("rotation_gan", "rotation_only", "none")


class RotatedOutputs(NamedTuple):
  """One D call on upright and rotated reals and fakes, split back."""
  real: base.DiscriminatorOutput  # the upright real sub-batch
  fake: base.DiscriminatorOutput  # the upright fakes
  real_head: tf.Tensor  # head logits [4n, units] of the rotation rows of reals
  fake_head: tf.Tensor  # same for the fakes
  labels: tf.Tensor  # rotation labels [4n]: [0]*n + [1]*n + [2]*n + [3]*n


def _num_replicas() -> int:
  context = tf.distribute.get_replica_context()
  return 1 if context is None else context.num_replicas_in_sync


class SSGAN(modular_gan.ModularGAN):
  """ModularGAN plus the rotation task (compare_gan `SSGAN`, ssgan.py:39-225)."""

  HEAD_UNITS = ss.NUM_ROTATIONS

  def __init__(self, generator: keras.Model, discriminator: keras.Model,
               self_supervision: str = "rotation_gan", rotated_batch_size: int | None = None,
               rotated_batch_fraction: int | None = None, weight_rotation_loss_d: float = 1.0,
               weight_rotation_loss_g: float = 0.2, **kwargs: Any):
    """Creates the GAN and hangs the rotation head on the (unbuilt) discriminator.

    Args:
      generator: as ModularGAN.
      discriminator: as ModularGAN, not yet built.
      self_supervision: "rotation_gan" (GAN + rotation losses), "rotation_only"
        (GAN losses and penalty zeroed, as compare_gan) or "none" (ModularGAN).
      rotated_batch_size: global number of rotation rows per update (4n summed
        over replicas), compare_gan SSGAN's parameter.
      rotated_batch_fraction: per-replica sub-batch size / rotation rows,
        compare_gan S3GAN's parameter. Set exactly one of the two.
      weight_rotation_loss_d: β, weight of the real-image rotation loss in D.
      weight_rotation_loss_g: α, weight of the fake-image rotation loss in G.
      **kwargs: ModularGAN arguments.
    """
    if self_supervision not in MODES:
      raise ValueError(f"self_supervision must be one of {MODES}, got {self_supervision!r}.")
    rotation = self_supervision != "none"
    if rotation and (rotated_batch_size is None) == (rotated_batch_fraction is None):
      raise ValueError("Set exactly one of rotated_batch_size and rotated_batch_fraction, got "
                       f"{rotated_batch_size} and {rotated_batch_fraction}.")
    for name, value in (("rotated_batch_size", rotated_batch_size),
                        ("rotated_batch_fraction", rotated_batch_fraction)):
      if value is not None and value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}.")
    super().__init__(generator, discriminator, **kwargs)
    self.self_supervision = self_supervision
    self.rotated_batch_size, self.rotated_batch_fraction = rotated_batch_size, rotated_batch_fraction
    self.weight_rotation_loss_d = weight_rotation_loss_d
    self.weight_rotation_loss_g = weight_rotation_loss_g
    if rotation:
      ss.attach_head(discriminator, ss.make_head(
          self.HEAD_UNITS, discriminator.spectral_norm, discriminator.kernel_initializer))

  @property
  def rotation(self) -> bool:
    """Whether the rotation task is on."""
    return self.self_supervision != "none"

  def metric_names(self) -> tuple[str, ...]:
    """ModularGAN's values plus compare_gan's `c_real_loss`, `c_fake_loss`, `d_rotation`."""
    return (*super().metric_names(), "c_real_loss", "c_fake_loss", "d_rotation_accuracy")

  def build_heads(self) -> None:
    """Builds the rotation head once D is built (its width is D's feature width).

    ModularGAN.build_networks calls this before building the D optimizer, so
    the optimizer sees the head's variables; G and D are built in ModularGAN's
    order, so the same seed gives them the same weights.
    """
    if self.rotation:
      ss.build_head(self.discriminator, self.conditional)

  def rotated_per_replica(self, batch_size: int) -> int:
    """n, the examples of a per-replica sub-batch of `batch_size` that get rotated.

    Raises:
      ValueError: naming the parameter when n is not a whole number in
        [1, batch_size] dividing batch_size (needed for replica independence).
    """
    replicas = _num_replicas()
    if self.rotated_batch_fraction is not None:
      name, value, rows = "rotated_batch_fraction", self.rotated_batch_fraction, None
      if batch_size % value == 0:
        rows = batch_size // value
    else:
      name, value, rows = "rotated_batch_size", self.rotated_batch_size, None
      if value % replicas == 0:
        rows = value // replicas
    n = 0 if rows is None or rows % ss.NUM_ROTATIONS else rows // ss.NUM_ROTATIONS
    if not 1 <= n <= batch_size or batch_size % n:
      raise ValueError(
          f"{name}={value} does not fit a per-replica sub-batch of {batch_size} on {replicas} "
          f"replica(s): the rotation rows per replica must be 4n with n dividing {batch_size}.")
    return n

  def rotation_picker(self, size: int) -> Callable[[tf.Tensor], tf.Tensor]:
    """Picks the n rows of a per-replica sub-batch of `size` that get rotated."""
    stride = size // self.rotated_per_replica(size)
    return lambda t: t[stride - 1::stride]

  def rotated_inputs(self, batch: modular_gan.SubBatch, fake: tf.Tensor, real_y: tf.Tensor | None
                     ) -> tuple[tf.Tensor, tf.Tensor | None, tf.Tensor]:
    """D's input rows with their labels, and the rotation labels [4n].

    Rows are concat(reals, 3n rotated reals, fakes, 3n rotated fakes), as
    compare_gan's create_loss (ssgan.py:123-185); `real_y` is the label matrix
    of the reals (the fakes take `batch.sampled_y`).
    """
    pick = self.rotation_picker(batch.images.shape[0])
    real_rotated, labels = ss.rotation_batch(pick(batch.images))
    fake_rotated, _ = ss.rotation_batch(pick(fake))
    n = labels.shape[0] // ss.NUM_ROTATIONS
    images = tf.concat([batch.images, real_rotated[n:], fake, fake_rotated[n:]], axis=0)
    y = None
    if real_y is not None:
      tile = lambda t: tf.tile(pick(t), [ss.NUM_ROTATIONS - 1, 1])
      y = tf.concat([real_y, tile(real_y), batch.sampled_y, tile(batch.sampled_y)], axis=0)
    return images, y, labels

  def split_rows(self, rows: tf.Tensor, size: int) -> tuple[tf.Tensor, ...]:
    """Splits a per-row output of `rotated_inputs` rows (or of concat(real, fake) without rotation).

    Returns:
      (upright real rows [size], upright fake rows [size]) and, with rotation,
      the rotation rows of the reals and of the fakes ([4n] each: the n picked
      upright rows, then their 3n rotations).
    """
    halves = tf.split(rows, 2, axis=0)
    upright = (halves[0][:size], halves[1][:size])
    if not self.rotation:
      return upright
    pick = self.rotation_picker(size)
    return (*upright, *[tf.concat([pick(h[:size]), h[size:]], axis=0) for h in halves])

  def discriminate_rotated(self, batch: modular_gan.SubBatch, fake: tf.Tensor) -> RotatedOutputs:
    """One D call on reals, fakes and their rotations (compare_gan create_loss, ssgan.py:123-185)."""
    size = batch.images.shape[0]
    images, y, labels = self.rotated_inputs(batch, fake, batch.y)
    outputs = self.discriminator(images, y=y, training=True)
    head = ss.head_logits(self.discriminator, outputs.features)
    parts = [self.split_rows(t, size) for t in outputs]
    upright = [base.DiscriminatorOutput(*[p[i] for p in parts]) for i in (0, 1)]
    real_head, fake_head = self.split_rows(head, size)[2:]
    return RotatedOutputs(upright[0], upright[1], real_head, fake_head, labels)

  def _gan_d_losses(self, batch: modular_gan.SubBatch, fake: tf.Tensor, seed: tf.Tensor,
                    outputs: RotatedOutputs) -> dict[str, tf.Tensor]:
    gan = self.loss_fn(outputs.real.logits, outputs.fake.logits)
    penalty = self.penalty_fn(self.discriminator, batch.images, fake, batch.y,
                              training=True, seed=seed)
    d_loss = gan.d_loss + self.penalty_weight * penalty
    if self.self_supervision == "rotation_only":
      d_loss *= 0.0  # compare_gan drops the GAN loss and the penalty (ssgan.py:212-214)
    return {"d_loss": d_loss, "d_loss_real": gan.d_loss_real, "d_loss_fake": gan.d_loss_fake,
            "penalty": penalty}

  def _gan_g_loss(self, outputs: RotatedOutputs) -> tf.Tensor:
    g_loss = self.loss_fn(outputs.real.logits, outputs.fake.logits).g_loss
    return 0.0 * g_loss if self.self_supervision == "rotation_only" else g_loss

  def discriminator_losses(self, batch: modular_gan.SubBatch, fake: tf.Tensor,
                           seed: tf.Tensor) -> dict[str, tf.Tensor]:
    """L_D^GAN (+ penalty) + β·CE(rotation | real) (Chen et al. 2019; ssgan.py:197-216)."""
    if not self.rotation:
      return super().discriminator_losses(batch, fake, seed)
    outputs = self.discriminate_rotated(batch, fake)
    values = self._gan_d_losses(batch, fake, seed, outputs)
    c_real = ss.cross_entropy(outputs.real_head, outputs.labels)
    values["d_loss"] += self.weight_rotation_loss_d * c_real
    return {**values, "c_real_loss": c_real,
            "d_rotation_accuracy": ss.accuracy(outputs.real_head, outputs.labels)}

  def generator_losses(self, batch: modular_gan.SubBatch, fake: tf.Tensor,
                       seed: tf.Tensor) -> dict[str, tf.Tensor]:
    """L_G^GAN + α·CE(rotation | fake) (Chen et al. 2019; ssgan.py:197-216)."""
    if not self.rotation:
      return super().generator_losses(batch, fake, seed)
    outputs = self.discriminate_rotated(batch, fake)
    c_fake = ss.cross_entropy(outputs.fake_head, outputs.labels)
    return {"g_loss": self._gan_g_loss(outputs) + self.weight_rotation_loss_g * c_fake,
            "c_fake_loss": c_fake}
