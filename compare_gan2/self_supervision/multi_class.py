"""MS-GAN's multi-class minimax game as a GAN component: `self_supervision.MultiClassMinimax()`.

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
msdistgan_cifar.py). compare_gan has no MS-GAN: the batch (n upright + 3n
rotated reals and fakes, one D call), the head and the cross-entropy
(log(softmax + 1e-10); the code's fused softmax cross-entropy differs only
below probabilities of ~1e-8) are the Rotation component's.
"""

from typing import Any

import tensorflow as tf

from compare_gan2.gans import catalog
from compare_gan2.gans import components
from compare_gan2.self_supervision import rotation
from compare_gan2.self_supervision import rotations as ss

FAKE_CLASS = ss.NUM_ROTATIONS  # index of the "generated" class, K + 1 in the paper
OBJECTIVES = ("paper", "code")


@catalog.component(rotation.MODULE)
class MultiClassMinimax(rotation.Rotation):
  """The rotation batch with a 5-way head and the multi-class minimax losses."""

  HEAD_UNITS = ss.NUM_ROTATIONS + 1

  def __init__(self, weight_rotation_loss_d: float = 0.5, weight_rotation_loss_g: float = 0.1,
               objective: str = "paper", **kwargs: Any):
    """Creates the game.

    Args:
      weight_rotation_loss_d: λ_d (the authors' code: ResNet 0.5; DCGAN, SNGAN 1.0).
      weight_rotation_loss_g: λ_g (the authors' code: ResNet, DCGAN 0.1; SNGAN 0.01).
      objective: "paper" (−Ψ⁺ for D, −Φ⁺ for G) or "code" (the authors' code:
        one 5-way cross-entropy with upright fakes for D, |CE_fake − CE_real|
        for G); see the module docstring.
      **kwargs: Rotation arguments (rotated_batch_size or
        rotated_batch_fraction, mode, name).
    """
    if objective not in OBJECTIVES:
      raise ValueError(f"MSGAN: objective must be one of {OBJECTIVES}, got {objective!r}.")
    kwargs.setdefault("name", "multi_class_minimax")
    super().__init__(weight_rotation_loss_d, weight_rotation_loss_g, **kwargs)
    self.objective = objective

  def metric_names(self) -> tuple[str, ...]:
    """The MS task's terms and D's rotation accuracy on reals."""
    return ("ms_real_loss", "ms_fake_loss", "ms_g_loss", "d_rotation_accuracy")

  def discriminator_terms(self, view: components.DiscriminatorView) -> components.Terms:
    """−λ_d·Ψ⁺ ("paper") or λ_d·CE5 ("code"); see the module docstring."""
    real_head, fake_head, labels = self.head_logits(view)
    real_term = ss.cross_entropy(real_head, labels)
    # The fake rows: the rotated fakes (the paper's P_g^T), or the code's upright ones.
    if self.objective == "code":
      fake_head = fake_head[:tf.shape(fake_head)[0] // ss.NUM_ROTATIONS]
    fake_term = ss.cross_entropy(fake_head, tf.fill(tf.shape(fake_head)[:1], FAKE_CLASS))
    if self.objective == "paper":
      term = real_term + fake_term
    else:  # the mean over 4n real rows and n fake rows: one cross-entropy over 5n rows
      term = (ss.NUM_ROTATIONS * real_term + fake_term) / (ss.NUM_ROTATIONS + 1)
    return components.Terms(self.weight_rotation_loss_d * term, {
        "ms_real_loss": real_term, "ms_fake_loss": fake_term,
        "d_rotation_accuracy": ss.accuracy(real_head, labels)}, self.gan_scale)

  def generator_terms(self, view: components.DiscriminatorView) -> components.Terms:
    """−λ_g·Φ⁺ ("paper") or λ_g·|CE5_fake − CE5_real| ("code")."""
    real_head, fake_head, labels = self.head_logits(view)
    fake_rotation = ss.cross_entropy(fake_head, labels)
    if self.objective == "paper":
      term = fake_rotation - ss.cross_entropy(fake_head, tf.fill(tf.shape(labels), FAKE_CLASS))
    else:
      term = tf.abs(fake_rotation - ss.cross_entropy(real_head, labels))
    return components.Terms(self.weight_rotation_loss_g * term, {"ms_g_loss": term},
                            self.gan_scale)
