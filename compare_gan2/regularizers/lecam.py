"""LeCam regularization, Tseng et al. 2021 (arXiv 2104.03310, §3.1, eq. 3).

D's predictions are pulled towards moving anchors of the other class:
    R_LC = E_x‖D(x) − α_F‖² + E_z‖D(G(z)) − α_R‖²,   L_D += λ · R_LC,
where α_R and α_F are exponential moving averages of D's mean prediction on
real and on generated images. λ = 0.3 as the authors' BigGAN-CIFAR scripts
(biggan_cifar/scripts/lc-*.sh, `--LC 0.3`) and PyTorch-StudioGAN's
src/configs/CIFAR10/BigGAN-LeCam.yaml, which also sets decay 0.99.

The authors' released code (github.com/google/lecam-gan: biggan_cifar/losses.py
`lecam_reg` and stylegan2/lecam_loss.py) and StudioGAN (src/utils/losses.py)
penalize one side only, E relu(D(x) − α_F)² + E relu(α_R − D(G(z)))²: a real
scored below the fake anchor, or a fake above the real anchor, costs nothing.
That is the default here (`one_sided=True`), since it produced the published
numbers; `one_sided=False` is eq. 3 as printed.

The anchor schedule is the authors' `ema_losses` (third_party/utils.py) as
StudioGAN's `LeCamEMA` keeps it: at every D update, before the term is
computed, α ← d·α + (1 − d)·mean with d = 0 while step < start_step (the
anchors copy the batch means) and d = decay from then on; the term itself
counts only once step > start_step. start_step = 1000 is the authors'
(biggan_cifar/train.py) and StudioGAN's. The authors' BigGAN-CIFAR script
leaves `ema_losses` at its default decay 0.9; their StyleGAN2 code and
StudioGAN use 0.99, the default here.

As a GAN component: D's update computes the stepped anchors and the term from
them; `update` (after the D update, on the same D outputs) assigns those same
anchors. The means are over the global batch (summed over replicas), so every
replica keeps the anchors one device would. The anchors are the component's
state (`side = None`), saved in the training checkpoint under
`components/lecam/...` (StudioGAN PR #150 lost them on resume).
"""

from typing import Any

import keras
import tensorflow as tf

from compare_gan2.gans import catalog
from compare_gan2.gans import components
from compare_gan2.regularizers import base


@catalog.component(base.MODULE)
class LeCam(components.Component):
  """λ·R_LC in D's loss, with checkpointed EMA anchors α_R, α_F.

  Logs "lecam_loss" (R_LC before λ and before start_step gates it) and the
  anchors "lecam_anchor_real", "lecam_anchor_fake".
  """

  side = None

  def __init__(self, weight: float = 0.3, decay: float = 0.99, start_step: int = 1000,
               one_sided: bool = True, **kwargs: Any):
    """Args:
      weight: λ.
      decay: EMA decay of the anchors from start_step on.
      start_step: the step (G updates done) from which the anchors average
        (before: the batch means) and after which the term counts.
      one_sided: the authors' relu form (True) or eq. 3 as printed (False).
      **kwargs: Keras layer arguments (name).
    """
    if not 0.0 <= decay < 1.0:
      raise ValueError(f"LeCam.decay must be in [0, 1), got {decay}.")
    kwargs.setdefault("name", "lecam")
    super().__init__(**kwargs)
    self.weight, self.decay, self.start_step, self.one_sided = weight, decay, start_step, one_sided

  def build_for(self, gan: keras.Model) -> None:
    """Creates the anchors α_R, α_F (0 until the first D update)."""
    del gan
    # Every replica assigns the same (globally reduced) value; the first one's is kept.
    make = lambda name: self.add_weight(name=name, shape=(), initializer="zeros", trainable=False,
                                        aggregation="only_first_replica")
    self.alpha_real, self.alpha_fake = make("alpha_real"), make("alpha_fake")
    self.built = True

  def metric_names(self) -> tuple[str, ...]:
    """R_LC and the two anchors."""
    return ("lecam_loss", "lecam_anchor_real", "lecam_anchor_fake")

  def stepped_anchors(self, view: components.DiscriminatorView) -> tuple[tf.Tensor, tf.Tensor]:
    """(α_R, α_F) after this D update's EMA step, from D's global-batch mean predictions."""
    decay = tf.where(tf.cast(view.step, tf.int64) < self.start_step, 0.0, self.decay)
    return tuple(
        decay * anchor + (1.0 - decay) * tf.stop_gradient(base.global_mean(out.logits))
        for anchor, out in ((self.alpha_real, view.real), (self.alpha_fake, view.fake_out)))

  def penalty(self, d_real_logits: tf.Tensor, d_fake_logits: tf.Tensor, alpha_real: tf.Tensor,
              alpha_fake: tf.Tensor) -> tf.Tensor:
    """R_LC of this replica's logits with the given anchors (no gradient to them)."""
    real_gap = tf.cast(d_real_logits, tf.float32) - tf.stop_gradient(alpha_fake)
    fake_gap = tf.stop_gradient(alpha_real) - tf.cast(d_fake_logits, tf.float32)
    if self.one_sided:
      real_gap, fake_gap = tf.nn.relu(real_gap), tf.nn.relu(fake_gap)
    return tf.reduce_mean(tf.square(real_gap)) + tf.reduce_mean(tf.square(fake_gap))

  def discriminator_terms(self, view: components.DiscriminatorView) -> components.Terms:
    """λ·R_LC with the stepped anchors, 0 until step > start_step."""
    alpha_real, alpha_fake = self.stepped_anchors(view)
    term = self.penalty(view.real.logits, view.fake_out.logits, alpha_real, alpha_fake)
    active = tf.cast(tf.cast(view.step, tf.int64) > self.start_step, tf.float32)
    return components.Terms(active * self.weight * term, {
        "lecam_loss": term, "lecam_anchor_real": alpha_real, "lecam_anchor_fake": alpha_fake})

  def update(self, view: components.DiscriminatorView) -> None:
    """After a D update: assigns the anchors its term used."""
    if view.phase == "discriminator":
      for anchor, value in zip((self.alpha_real, self.alpha_fake), self.stepped_anchors(view)):
        anchor.assign(value)
