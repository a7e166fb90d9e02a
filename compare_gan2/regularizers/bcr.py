"""Balanced consistency regularization (bCR), Zhao et al. 2021 (arXiv 2002.04724, §3, Algorithm 1).

CR (cr.py) on the reals and on the fakes, each with its own weight:
    L_D += λ_real · E‖D(x) − D(T(x))‖² + λ_fake · E‖D(G(z)) − D(T(G(z)))‖²,
λ_real = λ_fake = 10 (the paper's and PyTorch-StudioGAN's
src/configs/CIFAR10/BigGAN-ICR.yaml). T is CR's flip and translation, or with
`augment=None` the GAN's own augmentation (Zhao et al. 2020, arXiv 2006.02595,
§4 pairs bCR with other augmentations that way). The fakes are those of the D
update, without gradient to G. Draws as in cr.py, a stream per half.
"""

from typing import Any

from compare_gan2.gans import catalog
from compare_gan2.gans import components
from compare_gan2.regularizers import base
from compare_gan2.regularizers import cr


@catalog.component(base.MODULE)
class BCR(components.Component):
  """bCR: CR on the reals and on the fakes, in D's loss; logs "bcr_real_loss", "bcr_fake_loss"."""

  side = None

  def __init__(self, real_weight: float = 10.0, fake_weight: float = 10.0,
               augment: cr.Augment | None = cr.flip_and_translate, **kwargs: Any):
    """Args:
      real_weight: λ_real.
      fake_weight: λ_fake.
      augment: T, `(images, seed) -> images`; None for the GAN's augmentation.
      **kwargs: Keras layer arguments (name).
    """
    kwargs.setdefault("name", "bcr")
    super().__init__(**kwargs)
    self.real_weight, self.fake_weight, self.augment = real_weight, fake_weight, augment

  def metric_names(self) -> tuple[str, ...]:
    """The two squared differences, before their weights."""
    return ("bcr_real_loss", "bcr_fake_loss")

  def discriminator_terms(self, view: components.DiscriminatorView) -> components.Terms:
    """λ_real·E‖D(x) − D(T(x))‖² + λ_fake·E‖D(G(z)) − D(T(G(z)))‖² over this replica's rows."""
    real, fake = (cr.consistency(self.augment, view, half, base.own_seed(self, view, half), "BCR")
                  for half in (0, 1))
    return components.Terms(self.real_weight * real + self.fake_weight * fake,
                            {"bcr_real_loss": real, "bcr_fake_loss": fake})
