"""MSGAN: a ModularGAN with the multi-class minimax game bound (Tran et al. 2019).

The game, its 5-way head, losses and logged values are the component
`self_supervision.MultiClassMinimax` (arXiv 1911.06997; objectives "paper" and
"code" documented there), which any GAN class takes as `self_supervision=`.
This class keeps the parameters `gans.MSGAN.*` configs bind.
"""

from typing import Any

import keras

from compare_gan2 import self_supervision
from compare_gan2.gans import catalog
from compare_gan2.gans import ssgan

FAKE_CLASS = self_supervision.FAKE_CLASS


@catalog.gan
class MSGAN(ssgan.SSGAN):
  """SSGAN with the multi-class minimax game instead of the rotation task."""

  TASK = self_supervision.MultiClassMinimax
  HEAD_UNITS = TASK.HEAD_UNITS

  def __init__(self, generator: keras.Model, discriminator: keras.Model,
               weight_rotation_loss_d: float = 0.5, weight_rotation_loss_g: float = 0.1,
               objective: str = "paper", **kwargs: Any):
    """Creates the GAN with its game.

    Args:
      generator: as ModularGAN.
      discriminator: as ModularGAN.
      weight_rotation_loss_d: λ_d (the authors' code: ResNet 0.5; DCGAN, SNGAN 1.0).
      weight_rotation_loss_g: λ_g (the authors' code: ResNet, DCGAN 0.1; SNGAN 0.01).
      objective: "paper" or "code" (self_supervision.multi_class).
      **kwargs: SSGAN arguments (self_supervision, rotated_batch_size or
        rotated_batch_fraction) and ModularGAN ones.
    """
    if "generator_objective" in kwargs:
      raise ValueError("MSGAN: generator_objective was replaced by objective: \"paper\" (the "
                       "minimax form) or \"code\" (the authors' absolute difference).")
    super().__init__(generator, discriminator, weight_rotation_loss_d=weight_rotation_loss_d,
                     weight_rotation_loss_g=weight_rotation_loss_g, objective=objective, **kwargs)

  @classmethod
  def task_options(cls) -> tuple[str, ...]:
    """The game's objective."""
    return ("objective",)
