"""Latent consistency regularization (zCR), Zhao et al. 2021 (arXiv 2002.04724, §3, Algorithm 2).

The latent is perturbed, T(z) = z + Δz with Δz ~ N(0, σ²I):
    L_D += λ_dis · E‖D(G(z)) − D(G(T(z)))‖²,
    L_G −= λ_gen · E‖G(z) − G(T(z))‖²  (G is pushed to *vary* with z).
Defaults are PyTorch-StudioGAN's (src/configs/CIFAR10/BigGAN-ICR.yaml):
σ = 0.05 ("radius", scaling a standard normal in src/utils/sample.py),
λ_dis = 20, λ_gen = 0.5. StudioGAN's squared differences are
torch.nn.MSELoss, a mean over every element: for D's [n, 1] logits that is
E‖·‖² exactly; for the G term on images it is ‖·‖² / (H·W·C) where the paper
writes the squared norm. The default follows StudioGAN, whose λ_gen = 0.5 was
tuned with the mean; `image_reduction="sum"` is the paper's per-image norm.

G(z + Δz) takes the fakes' labels. In D's term it has no gradient to G and
goes through the GAN's augmentation with the fakes' seed (the same transform
per row as D's fakes), so the two D outputs differ by Δz alone; G's term
compares the images before augmentation. Δz is drawn statelessly per global
example from the component's seed of the update.
"""

from typing import Any

import tensorflow as tf

from compare_gan2 import global_batch
from compare_gan2 import stateless_random
from compare_gan2.gans import catalog
from compare_gan2.gans import components
from compare_gan2.regularizers import base

REDUCTIONS = ("mean", "sum")


def latent_noise(z: tf.Tensor, sigma: float, seed: tf.Tensor) -> tf.Tensor:
  """Δz ~ N(0, σ²I) of z's shape, drawn per global example."""
  z = tf.convert_to_tensor(z)
  return global_batch.per_example(
      lambda n, s: stateless_random.normal([n, z.shape[-1]], s, stddev=sigma),
      tf.shape(z)[0], seed)


@catalog.component(base.MODULE)
class ZCR(components.Component):
  """zCR: D consistent and G sensitive under z + Δz; logs "zcr_d_loss" and "zcr_g_loss"."""

  side = None

  def __init__(self, sigma: float = 0.05, d_weight: float = 20.0, g_weight: float = 0.5,
               image_reduction: str = "mean", **kwargs: Any):
    """Args:
      sigma: standard deviation σ of Δz.
      d_weight: λ_dis.
      g_weight: λ_gen.
      image_reduction: "mean" over every pixel (StudioGAN) or "sum" per image,
        then the batch mean (the paper's ‖G(z) − G(T(z))‖²).
      **kwargs: Keras layer arguments (name).
    """
    if image_reduction not in REDUCTIONS:
      raise ValueError(f"ZCR.image_reduction must be one of {REDUCTIONS}, got {image_reduction!r}.")
    kwargs.setdefault("name", "zcr")
    super().__init__(**kwargs)
    self.sigma, self.d_weight, self.g_weight = sigma, d_weight, g_weight
    self.image_reduction = image_reduction

  def metric_names(self) -> tuple[str, ...]:
    """E‖D(G(z)) − D(G(z + Δz))‖² and E‖G(z) − G(z + Δz)‖², before their weights."""
    return ("zcr_d_loss", "zcr_g_loss")

  def perturbed(self, view: components.DiscriminatorView) -> tf.Tensor:
    """G(z + Δz) with the fakes' labels, Δz from this update's seed."""
    z = view.batch.z
    return base.generate(view, z + latent_noise(z, self.sigma, base.own_seed(self, view, 0)))

  def discriminator_terms(self, view: components.DiscriminatorView) -> components.Terms:
    """λ_dis·E‖D(G(z)) − D(G(z + Δz))‖²; G(z + Δz) without gradient (D's update)."""
    images = base.augment_fakes(view, tf.stop_gradient(self.perturbed(view)))
    logits = base.discriminator_logits(view, images, view.batch.sampled_y)
    term = base.squared_difference(view.fake_out.logits, logits)
    return components.Terms(self.d_weight * term, {"zcr_d_loss": term})

  def generator_terms(self, view: components.DiscriminatorView) -> components.Terms:
    """−λ_gen·E‖G(z) − G(z + Δz)‖², with gradient to G through both."""
    difference = tf.square(tf.cast(view.fake, tf.float32) - self.perturbed(view))
    if self.image_reduction == "sum":
      difference = tf.reduce_sum(difference, axis=list(range(1, difference.shape.rank)))
    term = tf.reduce_mean(difference)
    return components.Terms(-self.g_weight * term, {"zcr_g_loss": term})
