"""Consistency regularization (CR), Zhang et al. 2020 (arXiv 1910.12027, §3, Algorithm 1).

D's final logits on a real image and on an augmentation T of it should agree:
    L_D += λ · E‖D(x) − D(T(x))‖²,   λ = 10,
with T a random horizontal flip and a shift by a few pixels (§3). λ = 10 is
the paper's and PyTorch-StudioGAN's (src/configs/CIFAR10/BigGAN-CR.yaml).

`flip_and_translate` is StudioGAN's T (src/utils/cr.py): a flip with
probability ½, then a shift by up to ⌊size/8⌋ pixels with reflection padding.
Any `(images, seed) -> images` may replace it; `augment=None` takes the GAN's
own augmentation (`ModularGAN.augment`, e.g. DiffAugment) as T. T applies to
the reals D saw (after the GAN's augmentation, if any), so the term compares
D on one batch and on T of that same batch. Its draws are stateless and per
global example (`global_batch.per_example`) from the component's seed of the
update, so 1 and N replicas, and a resumed run, draw alike.
"""

from collections.abc import Callable
from typing import Any

import tensorflow as tf

from compare_gan2 import global_batch
from compare_gan2 import registry
from compare_gan2 import stateless_random
from compare_gan2.gans import catalog
from compare_gan2.gans import components
from compare_gan2.regularizers import base

Augment = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


@registry.register(module=base.MODULE, denylist=("images", "seed"))
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


def transform(augment: Augment | None, view: components.DiscriminatorView, images: tf.Tensor,
              seed: tf.Tensor, who: str) -> tf.Tensor:
  """T(images): `augment`, or the GAN's own augmentation when `augment` is None."""
  if augment is None:
    augment = view.gan.augment
    if augment is None:
      raise ValueError(f"{who}.augment=None takes the GAN's augmentation as T, but the GAN "
                       "has none: set ModularGAN.augment or give the regularizer its own.")
  return augment(images, seed)


def consistency(augment: Augment | None, view: components.DiscriminatorView, half: int,
                seed: tf.Tensor, who: str) -> tf.Tensor:
  """E‖D(x) − D(T(x))‖² on the reals (half 0) or the fakes (half 1) D saw."""
  images = view.images[half]
  logits = (view.real, view.fake_out)[half].logits
  y = (view.batch.y, view.batch.sampled_y)[half]
  changed = base.discriminator_logits(view, transform(augment, view, images, seed, who), y)
  return base.squared_difference(logits, changed)


@catalog.component(base.MODULE)
class CR(components.Component):
  """CR (arXiv 1910.12027): λ·E‖D(x) − D(T(x))‖² on the reals, in D's loss; logs "cr_loss"."""

  side = None

  def __init__(self, weight: float = 10.0, augment: Augment | None = flip_and_translate,
               **kwargs: Any):
    """Args:
      weight: λ (the paper's 10).
      augment: T, `(images, seed) -> images`; None for the GAN's augmentation.
      **kwargs: Keras layer arguments (name).
    """
    kwargs.setdefault("name", "cr")
    super().__init__(**kwargs)
    self.weight, self.augment = weight, augment

  def metric_names(self) -> tuple[str, ...]:
    """"cr_loss": E‖D(x) − D(T(x))‖², before the weight."""
    return ("cr_loss",)

  def discriminator_terms(self, view: components.DiscriminatorView) -> components.Terms:
    """λ·E‖D(x) − D(T(x))‖² over this replica's reals."""
    term = consistency(self.augment, view, 0, base.own_seed(self, view, 0), "CR")
    return components.Terms(self.weight * term, {"cr_loss": term})
