"""MSGAN: the multi-class minimax self-supervised task (rotations + a "fake" class).

Tran et al. 2019, "Self-supervised GAN: Analysis and Improvement with
Multi-class Minimax Game" (NeurIPS; METHODS.md §3.3). The classifier C (a head
on D's features) has K + 1 = 5 outputs, class K+1 meaning "generated":
  Ψ⁺ = E_{P_d^T} E_k[log C_k(x)] + E_{P_g^T} E_k[log C_{K+1}(x)]
  Φ⁺ = E_{P_g^T} E_k[log C_k(x)] − E_{P_g^T} E_k[log C_{K+1}(x)]
D maximises V + λ_d·Ψ⁺ and G minimises V − λ_g·Φ⁺, i.e. as minimised losses
  L_D = L_D^GAN + λ_d·(CE(k | rotated reals) + CE(K+1 | rotated fakes))
  L_G = L_G^GAN + λ_g·(CE(k | rotated fakes) − CE(K+1 | rotated fakes)).
`generator_objective="absolute_difference"` uses the authors' code instead
(tntrung/msgan, METHODS.md §3.4): λ_g·|CE(k | rotated fakes) − CE(k | rotated reals)|,
both 5-way. Weights default to the paper's ResNet values λ_d = 0.5, λ_g = 0.1
(METHODS.md §3.4). compare_gan has no MSGAN (Porting stance 3): the batch
(n upright + 3n rotated reals and fakes, one D call), the head and the
cross-entropy (log(softmax + 1e-10)) are SSGAN's (COMPARE_GAN.md part 2, §4.1).
The D fake term uses the rotated fakes (the paper's P_g^T), not the code's
upright fakes (METHODS.md §8, ambiguity 5).
"""

from typing import Any

import keras
import tensorflow as tf

from compare_gan2 import self_supervision as ss
from compare_gan2.gans import modular_gan
from compare_gan2.gans import ssgan

FAKE_CLASS = ss.NUM_ROTATIONS  # index of the "generated" class, K + 1 in the paper
OBJECTIVES = ("minimax", "absolute_difference")


class MSGAN(ssgan.SSGAN):
  """SSGAN with a 5-way head and the multi-class minimax losses."""

  HEAD_UNITS = ss.NUM_ROTATIONS + 1

  def __init__(self, generator: keras.Model, discriminator: keras.Model,
               weight_rotation_loss_d: float = 0.5, weight_rotation_loss_g: float = 0.1,
               generator_objective: str = "minimax", **kwargs: Any):
    """Creates the GAN with a 5-way head on the (unbuilt) discriminator.

    Args:
      generator: as ModularGAN.
      discriminator: as ModularGAN, not yet built.
      weight_rotation_loss_d: λ_d (paper ResNet: 0.5; DCGAN and SNGAN: 1.0).
      weight_rotation_loss_g: λ_g (paper ResNet and DCGAN: 0.1; SNGAN: 0.01).
      generator_objective: "minimax" (the paper's −Φ⁺) or "absolute_difference"
        (the authors' code).
      **kwargs: SSGAN arguments (self_supervision, rotated_batch_size or
        rotated_batch_fraction) and ModularGAN ones.
    """
    if generator_objective not in OBJECTIVES:
      raise ValueError(f"generator_objective must be one of {OBJECTIVES}, "
                       f"got {generator_objective!r}.")
    super().__init__(generator, discriminator, weight_rotation_loss_d=weight_rotation_loss_d,
                     weight_rotation_loss_g=weight_rotation_loss_g, **kwargs)
    self.generator_objective = generator_objective

  def metric_names(self) -> tuple[str, ...]:
    """ModularGAN's values plus the MS task's terms and D's rotation accuracy on reals."""
    return (*modular_gan.ModularGAN.metric_names(self), "ms_real_loss", "ms_fake_loss",
            "ms_g_loss", "d_rotation_accuracy")

  def discriminator_losses(self, batch: modular_gan.SubBatch, fake: tf.Tensor,
                           seed: tf.Tensor) -> dict[str, tf.Tensor]:
    """L_D^GAN (+ penalty) − λ_d·Ψ⁺ (Tran et al. 2019, Ψ⁺ of §3.3 in METHODS.md)."""
    if not self.rotation:
      return modular_gan.ModularGAN.discriminator_losses(self, batch, fake, seed)
    outputs = self.discriminate_rotated(batch, fake)
    values = self._gan_d_losses(batch, fake, seed, outputs)
    real_term = ss.cross_entropy(outputs.real_head, outputs.labels)
    fake_term = ss.cross_entropy(outputs.fake_head, tf.fill(tf.shape(outputs.labels), FAKE_CLASS))
    values["d_loss"] += self.weight_rotation_loss_d * (real_term + fake_term)
    return {**values, "ms_real_loss": real_term, "ms_fake_loss": fake_term,
            "d_rotation_accuracy": ss.accuracy(outputs.real_head, outputs.labels)}

  def generator_losses(self, batch: modular_gan.SubBatch, fake: tf.Tensor,
                       seed: tf.Tensor) -> dict[str, tf.Tensor]:
    """L_G^GAN − λ_g·Φ⁺, or the code's λ_g·|CE_fake − CE_real| (METHODS.md §3.3-3.4)."""
    if not self.rotation:
      return modular_gan.ModularGAN.generator_losses(self, batch, fake, seed)
    outputs = self.discriminate_rotated(batch, fake)
    fake_rotation = ss.cross_entropy(outputs.fake_head, outputs.labels)
    if self.generator_objective == "minimax":
      as_fake = ss.cross_entropy(outputs.fake_head, tf.fill(tf.shape(outputs.labels), FAKE_CLASS))
      term = fake_rotation - as_fake
    else:
      term = tf.abs(fake_rotation - ss.cross_entropy(outputs.real_head, outputs.labels))
    return {"g_loss": self._gan_g_loss(outputs) + self.weight_rotation_loss_g * term,
            "ms_g_loss": term}
