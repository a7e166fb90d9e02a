"""Consistency regularization: CR, and the improved bCR and zCR.

CR, Zhang et al. 2020 (arXiv 1910.12027, §3 and Algorithm 1): D's final
logits on a real image and on an augmentation T of it should agree,
    L_D += λ · E‖D(x) − D(T(x))‖²,   λ = 10,
with T a random horizontal flip and a shift by a few pixels (§3).

bCR and zCR, Zhao et al. 2021 (arXiv 2002.04724, §3 and Algorithms
1-2): bCR applies the same term to the fakes too,
    L_D += λ_real · E‖D(x) − D(T(x))‖² + λ_fake · E‖D(G(z)) − D(T(G(z)))‖²,
and zCR perturbs the latent, T(z) = z + Δz with Δz ~ N(0, σ²I):
    L_D += λ_dis · E‖D(G(z)) − D(G(T(z)))‖²,
    L_G −= λ_gen · E‖G(z) − G(T(z))‖²  (G is pushed to *vary* with z).

Defaults are PyTorch-StudioGAN's (src/configs/CIFAR10/BigGAN-CR.yaml and
BigGAN-ICR.yaml): λ = 10; λ_real = λ_fake = 10; σ = 0.05 ("radius", scaling a
standard normal in src/utils/sample.py), λ_gen = 0.5, λ_dis = 20. Where
StudioGAN and the papers' notation differ:
  * StudioGAN's squared differences are torch.nn.MSELoss, a mean over every
    element. For D's [n, 1] logits that is E‖·‖² exactly; for zCR's G term on
    images it is ‖·‖² / (H·W·C), where the paper writes the squared norm. The
    default follows StudioGAN, whose λ_gen = 0.5 was tuned with the mean;
    `image_reduction="sum"` gives the paper's per-image squared norm.
  * StudioGAN's T (src/utils/cr.py) flips with probability ½ and shifts by up
    to ⌊size/8⌋ pixels with reflection padding; `flip_and_translate` here is
    that T. Any `(images, seed) -> images` callable may replace it.
Every draw (flip, shift, Δz) is stateless and per global example
(`global_batch.per_example`), so 1 and N replicas agree and resumed runs
repeat their draws.
"""

from collections.abc import Callable

import tensorflow as tf

from compare_gan2 import global_batch
from compare_gan2 import stateless_random
from compare_gan2.regularizers import base

Augment = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]
# Distinct seed streams, so two regularizers in one run never share draws.
_CR_REAL, _BCR_REAL, _BCR_FAKE, _ZCR_D, _ZCR_G = 101, 102, 103, 104, 105


def flip_and_translate(images: tf.Tensor, seed: tf.Tensor, ratio: float = 0.125,
                       flip_probability: float = 0.5) -> tf.Tensor:
  """CR's T: a random horizontal flip, then a random shift with reflection padding.

  Per example: flip with probability `flip_probability`; shift by integers
  (t_h, t_w) uniform in [−⌊H·ratio⌋, ⌊H·ratio⌋] × [−⌊W·ratio⌋, ⌊W·ratio⌋], so
  output pixel (i, j) is input pixel (i + t_h, j + t_w) of the reflect-padded
  image (StudioGAN src/utils/cr.py, `random_flip` then `random_translation`).

  Args:
    images: [n, H, W, C], this replica's examples.
    seed: stateless seed [2].
    ratio: largest shift as a fraction of the side.
    flip_probability: probability of a horizontal flip.

  Returns:
    Images of the same shape; differentiable in `images`.
  """
  images = tf.convert_to_tensor(images)
  height, width = images.shape[1], images.shape[2]
  pad_h, pad_w = int(height * ratio), int(width * ratio)
  rows = tf.shape(images)[0]
  flip = global_batch.uniform([rows], stateless_random.fold_in(seed, 0)) < flip_probability
  images = tf.where(flip[:, None, None, None], tf.reverse(images, axis=[2]), images)
  shifts = [_shifts(rows, pad, stateless_random.fold_in(seed, key))
            for key, pad in ((1, pad_h), (2, pad_w))]
  padded = tf.pad(images, [[0, 0], [pad_h, pad_h], [pad_w, pad_w], [0, 0]], mode="REFLECT")
  row_index = tf.range(height)[None, :] + pad_h + shifts[0][:, None]
  column_index = tf.range(width)[None, :] + pad_w + shifts[1][:, None]
  shifted = tf.gather(padded, row_index, axis=1, batch_dims=1)
  return tf.gather(shifted, column_index, axis=2, batch_dims=1)


def _shifts(rows: tf.Tensor, largest: int, seed: tf.Tensor) -> tf.Tensor:
  if largest == 0:
    return tf.zeros([rows], tf.int32)
  return global_batch.per_example(
      lambda n, s: stateless_random.integers([n], s, -largest, largest + 1), rows, seed)


def latent_noise(z: tf.Tensor, sigma: float, seed: tf.Tensor) -> tf.Tensor:
  """Δz ~ N(0, σ²I) of z's shape, drawn per global example."""
  z = tf.convert_to_tensor(z)
  return global_batch.per_example(
      lambda n, s: stateless_random.normal([n, z.shape[-1]], s, stddev=sigma),
      tf.shape(z)[0], seed)


@base.register
class CR(base.Regularizer):
  """CR (arXiv 1910.12027): λ·E‖D(x) − D(T(x))‖² on the reals, in D's loss."""

  def __init__(self, weight: float = 10.0, augment: Augment = flip_and_translate):
    """Args: weight: λ (the paper's 10). augment: T, `(images, seed) -> images`."""
    super().__init__(name="cr")
    self.weight, self.augment = weight, augment

  def d_terms(self, context: base.Context) -> dict[str, tf.Tensor]:
    """{"cr": λ·E‖D(x) − D(T(x))‖²}."""
    seed = stateless_random.fold_in(base.check_seed(context.seed, "CR"), _CR_REAL)
    augmented = context.discriminate(self.augment(context.real, seed), True)
    return {"cr": self.weight * base.squared_difference(context.d_real_logits, augmented)}


@base.register
class BCR(base.Regularizer):
  """bCR (arXiv 2002.04724, Algorithm 1): CR on the reals and on the fakes, in D's loss."""

  def __init__(self, real_weight: float = 10.0, fake_weight: float = 10.0,
               augment: Augment = flip_and_translate):
    """Args: real_weight: λ_real. fake_weight: λ_fake. augment: T."""
    super().__init__(name="bcr")
    self.real_weight, self.fake_weight, self.augment = real_weight, fake_weight, augment

  def d_terms(self, context: base.Context) -> dict[str, tf.Tensor]:
    """{"bcr_real": λ_real·E‖D(x) − D(T(x))‖², "bcr_fake": λ_fake·E‖D(G(z)) − D(T(G(z)))‖²}."""
    seed = base.check_seed(context.seed, "BCR")
    terms = {}
    for name, images, logits, real, weight, key in (
        ("bcr_real", context.real, context.d_real_logits, True, self.real_weight, _BCR_REAL),
        ("bcr_fake", context.fake, context.d_fake_logits, False, self.fake_weight, _BCR_FAKE)):
      augmented = self.augment(images, stateless_random.fold_in(seed, key))
      terms[name] = weight * base.squared_difference(logits, context.discriminate(augmented, real))
    return terms


@base.register
class ZCR(base.Regularizer):
  """zCR (arXiv 2002.04724, Algorithm 2): D consistent and G sensitive under z + Δz."""

  def __init__(self, sigma: float = 0.05, d_weight: float = 20.0, g_weight: float = 0.5,
               image_reduction: str = "mean"):
    """Args:
      sigma: standard deviation σ of Δz.
      d_weight: λ_dis.
      g_weight: λ_gen.
      image_reduction: "mean" over every pixel (StudioGAN) or "sum" per image,
        then the batch mean (the paper's ‖G(z) − G(T(z))‖²).
    """
    super().__init__(name="zcr")
    if image_reduction not in ("mean", "sum"):
      raise ValueError(f"ZCR.image_reduction must be 'mean' or 'sum', got {image_reduction!r}.")
    self.sigma, self.d_weight, self.g_weight = sigma, d_weight, g_weight
    self.image_reduction = image_reduction

  def _perturbed(self, context: base.Context, key: int) -> tf.Tensor:
    seed = stateless_random.fold_in(base.check_seed(context.seed, "ZCR"), key)
    return context.generate(context.z + latent_noise(context.z, self.sigma, seed))

  def d_terms(self, context: base.Context) -> dict[str, tf.Tensor]:
    """{"zcr_d": λ_dis·E‖D(G(z)) − D(G(z + Δz))‖²}; G(z + Δz) without gradient."""
    # D's update must not reach G: the perturbed fakes are constants here.
    perturbed = tf.stop_gradient(self._perturbed(context, _ZCR_D))
    logits = context.discriminate(perturbed, False)
    return {"zcr_d": self.d_weight * base.squared_difference(context.d_fake_logits, logits)}

  def g_terms(self, context: base.Context) -> dict[str, tf.Tensor]:
    """{"zcr_g": −λ_gen·E‖G(z) − G(z + Δz)‖²}, with gradient to G through both."""
    difference = tf.square(tf.cast(context.fake, tf.float32)
                           - tf.cast(self._perturbed(context, _ZCR_G), tf.float32))
    if self.image_reduction == "sum":
      difference = tf.reduce_sum(difference, axis=list(range(1, difference.shape.rank)))
    return {"zcr_g": -self.g_weight * tf.reduce_mean(difference)}
