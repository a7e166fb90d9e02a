"""SSGAN: a ModularGAN with the rotation task bound (compare_gan `SSGAN`, ssgan.py:39-225).

The task itself, its head, losses and logged values are the component
`self_supervision.Rotation` (Chen et al. 2019, arXiv 1811.11212), which any
GAN class takes as `self_supervision=`; this class keeps compare_gan's
parameters, so `gans.SSGAN.*` bindings and translated compare_gan configs run
unchanged. New configs may bind
`gans.ModularGAN.self_supervision = @self_supervision.Rotation()` instead.

Differences from compare_gan, each deliberate (docs/MIGRATION.md,
"Differences that change numbers"):
- Rotated fakes are conditioned on their own sampled labels; compare_gan gave
  them the real labels (ssgan.py:166-168).
- The n rotated examples are every s-th row of the sub-batch (s = size / n,
  ending with the last row) instead of the last n rows, so the same examples
  are rotated whatever the replica count, as ModularGAN's strided sub-batches.
- The head belongs to the Rotation component, not to D; its variables are built in
  D's name scope (`discriminator/score_classify/...`), trained by the D
  optimizer and checkpointed with D. compare_gan's
  `discriminator_rotation/score_classify/...` names are mapped by
  compare_gan2.migration.checkpoint.
"""

from typing import Any

import keras

from compare_gan2 import self_supervision
from compare_gan2.gans import catalog
from compare_gan2.gans import components
from compare_gan2.gans import modular_gan

MODES = ("rotation_gan", "rotation_only", "none")


@catalog.gan
class SSGAN(modular_gan.ModularGAN):
  """ModularGAN plus the rotation task, configured by compare_gan SSGAN's parameters."""

  TASK = self_supervision.Rotation
  HEAD_UNITS = TASK.HEAD_UNITS

  def __init__(self, generator: keras.Model, discriminator: keras.Model,
               self_supervision: str | components.Component = "rotation_gan",  # pylint: disable=redefined-outer-name
               rotated_batch_size: int | None = None, rotated_batch_fraction: int | None = None,
               weight_rotation_loss_d: float = 1.0, weight_rotation_loss_g: float = 0.2,
               **kwargs: Any):
    """Creates the GAN with its task.

    Args:
      generator: as ModularGAN.
      discriminator: as ModularGAN.
      self_supervision: "rotation_gan" (GAN + rotation losses), "rotation_only"
        (GAN losses and penalty zeroed, as compare_gan), "none" (ModularGAN),
        or a component, which the other task arguments then do not configure.
      rotated_batch_size: global number of rotation rows per update (4n summed
        over replicas), compare_gan SSGAN's parameter.
      rotated_batch_fraction: per-replica sub-batch size / rotation rows,
        compare_gan S3GAN's parameter. Set exactly one of the two.
      weight_rotation_loss_d: β, weight of the real-image rotation loss in D.
      weight_rotation_loss_g: α, weight of the fake-image rotation loss in G.
      **kwargs: task arguments of the class's TASK (MSGAN: objective), then
        ModularGAN arguments.
    """
    task = self_supervision
    if isinstance(task, str):
      if task not in MODES:
        raise ValueError(f"self_supervision must be one of {MODES}, got {task!r}.")
      options = {k: kwargs.pop(k) for k in self.task_options() if k in kwargs}
      task = None if task == "none" else self.TASK(
          weight_rotation_loss_d, weight_rotation_loss_g, rotated_batch_size=rotated_batch_size,
          rotated_batch_fraction=rotated_batch_fraction, mode=task, **options)
    super().__init__(generator, discriminator, self_supervision=task, **kwargs)

  @classmethod
  def task_options(cls) -> tuple[str, ...]:
    """Arguments of TASK beyond SSGAN's own (MSGAN's objective)."""
    return ()
