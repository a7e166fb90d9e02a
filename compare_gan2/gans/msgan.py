"""MSGAN: the multi-class minimax self-supervised task (rotations + a "fake" class).

Tran et al. 2019, "Self-supervised GAN: Analysis and Improvement with
Multi-class Minimax Game" (NeurIPS 2019, arXiv 1911.06997). The classifier C
(a head on D's features) has K + 1 = 5 outputs, class K+1 meaning "generated".
Two named objectives, `objective=`:

"paper", the paper's MS task (§3):
  Ψ⁺ = E_{P_d^T} E_k[log C_k(x)] + E_{P_g^T} E_k[log C_{K+1}(x)]
  Φ⁺ = E_{P_g^T} E_k[log C_k(x)] − E_{P_g^T} E_k[log C_{K+1}(x)]
D maximises V + λ_d·Ψ⁺ and G minimises V − λ_g·Φ⁺, i.e. as minimised losses
  L_D = L_D^GAN + λ_d·(CE(k | rotated reals) + CE(K+1 | rotated fakes))
  L_G = L_G^GAN + λ_g·(CE(k | rotated fakes) − CE(K+1 | rotated fakes)).

"code", what the authors' code optimises (github.com/tntrung/msgan at
8b8170f, msdistgan.py:289-301, 345-347, modules/imutils.py:116-200, ss_task=2):
  L_D = L_D^GAN + λ_d·CE5(one 5-way cross-entropy over the 4n rotated reals,
        labels k, and the n upright fakes, label K+1)
  L_G = L_G^GAN + λ_g·|CE5(k | rotated fakes) − CE5(k | rotated reals)|.
The single cross-entropy weighs a fake row like a real one, so the fake class
carries 1/5 of the D term (the paper form: 1/2). The code takes a random B of
the 5B (D) or 4B (G) candidate rows; every candidate row is used here, the
same loss in expectation without the sampling noise.

Weights default to the authors' ResNet values λ_d = 0.5, λ_g = 0.1 (their
msdistgan_cifar.py). compare_gan has no MSGAN: the batch (n upright + 3n
rotated reals and fakes, one D call), the head and the cross-entropy
(log(softmax + 1e-10); the code's fused softmax cross-entropy differs only
below probabilities of ~1e-8) are SSGAN's.
"""

from typing import Any

import keras
import tensorflow as tf

from compare_gan2 import self_supervision as ss
from compare_gan2.gans import modular_gan
from compare_gan2.gans import ssgan

FAKE_CLASS = ss.NUM_ROTATIONS  # index of the "generated" class, K + 1 in the paper
OBJECTIVES = ("paper", "code")


class MSGAN(ssgan.SSGAN):
  """SSGAN with a 5-way head and the multi-class minimax losses."""

  HEAD_UNITS = ss.NUM_ROTATIONS + 1

  def __init__(self, generator: keras.Model, discriminator: keras.Model,
               weight_rotation_loss_d: float = 0.5, weight_rotation_loss_g: float = 0.1,
               objective: str = "paper", **kwargs: Any):
    """Creates the GAN with a 5-way head on the (unbuilt) discriminator.

    Args:
      generator: as ModularGAN.
      discriminator: as ModularGAN, not yet built.
      weight_rotation_loss_d: λ_d (the authors' code: ResNet 0.5; DCGAN, SNGAN 1.0).
      weight_rotation_loss_g: λ_g (the authors' code: ResNet, DCGAN 0.1; SNGAN 0.01).
      objective: "paper" (−Ψ⁺ for D, −Φ⁺ for G) or "code" (the authors' code:
        one 5-way cross-entropy with upright fakes for D, |CE_fake − CE_real|
        for G); see the module docstring.
      **kwargs: SSGAN arguments (self_supervision, rotated_batch_size or
        rotated_batch_fraction) and ModularGAN ones.
    """
    if "generator_objective" in kwargs:
      raise ValueError("MSGAN: generator_objective was replaced by objective: \"paper\" (the "
                       "minimax form) or \"code\" (the authors' absolute difference).")
    if objective not in OBJECTIVES:
      raise ValueError(f"MSGAN: objective must be one of {OBJECTIVES}, got {objective!r}.")
    super().__init__(generator, discriminator, weight_rotation_loss_d=weight_rotation_loss_d,
                     weight_rotation_loss_g=weight_rotation_loss_g, **kwargs)
    self.objective = objective

  def metric_names(self) -> tuple[str, ...]:
    """ModularGAN's values plus the MS task's terms and D's rotation accuracy on reals."""
    return (*modular_gan.ModularGAN.metric_names(self), "ms_real_loss", "ms_fake_loss",
            "ms_g_loss", "d_rotation_accuracy")

  def discriminator_losses(self, batch: modular_gan.SubBatch, fake: tf.Tensor,
                           seed: tf.Tensor) -> dict[str, tf.Tensor]:
    """L_D^GAN (+ penalty) − λ_d·Ψ⁺ ("paper") or + λ_d·CE5 ("code"); see the module docstring."""
    if not self.rotation:
      return modular_gan.ModularGAN.discriminator_losses(self, batch, fake, seed)
    outputs = self.discriminate_rotated(batch, fake)
    values = self._gan_d_losses(batch, fake, seed, outputs)
    real_term = ss.cross_entropy(outputs.real_head, outputs.labels)
    # The fake rows: the rotated fakes (the paper's P_g^T), or the code's upright ones.
    fake_head = outputs.fake_head
    if self.objective == "code":
      fake_head = fake_head[:tf.shape(fake_head)[0] // ss.NUM_ROTATIONS]
    fake_term = ss.cross_entropy(fake_head, tf.fill(tf.shape(fake_head)[:1], FAKE_CLASS))
    if self.objective == "paper":
      term = real_term + fake_term
    else:  # the mean over 4n real rows and n fake rows: one cross-entropy over 5n rows
      term = (ss.NUM_ROTATIONS * real_term + fake_term) / (ss.NUM_ROTATIONS + 1)
    values["d_loss"] += self.weight_rotation_loss_d * term
    return {**values, "ms_real_loss": real_term, "ms_fake_loss": fake_term,
            "d_rotation_accuracy": ss.accuracy(outputs.real_head, outputs.labels)}

  def generator_losses(self, batch: modular_gan.SubBatch, fake: tf.Tensor,
                       seed: tf.Tensor) -> dict[str, tf.Tensor]:
    """L_G^GAN − λ_g·Φ⁺ ("paper") or + λ_g·|CE5_fake − CE5_real| ("code")."""
    if not self.rotation:
      return modular_gan.ModularGAN.generator_losses(self, batch, fake, seed)
    outputs = self.discriminate_rotated(batch, fake)
    fake_rotation = ss.cross_entropy(outputs.fake_head, outputs.labels)
    if self.objective == "paper":
      as_fake = ss.cross_entropy(outputs.fake_head, tf.fill(tf.shape(outputs.labels), FAKE_CLASS))
      term = fake_rotation - as_fake
    else:
      term = tf.abs(fake_rotation - ss.cross_entropy(outputs.real_head, outputs.labels))
    return {"g_loss": self._gan_g_loss(outputs) + self.weight_rotation_loss_g * term,
            "ms_g_loss": term}
