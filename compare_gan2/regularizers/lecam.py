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

The anchors are tf.Variables of this tf.Module, so a tf.train.Checkpoint that
holds the module saves and restores them (StudioGAN PR #150 lost them on
resume). The means that update them are over the global batch (summed over
replicas), so every replica keeps the same anchors as one device would.
"""

import tensorflow as tf

from compare_gan2.regularizers import base


@base.register
class LeCam(base.Regularizer):
  """λ·R_LC in D's loss, with checkpointed EMA anchors α_R, α_F."""

  def __init__(self, weight: float = 0.3, decay: float = 0.99, start_step: int = 1000,
               one_sided: bool = True):
    """Creates the anchors; construct it inside the strategy's scope (the GAN is).

    Args:
      weight: λ.
      decay: EMA decay of the anchors from start_step on.
      start_step: the step from which the anchors average (before: the batch
        means) and after which the term counts.
      one_sided: the authors' relu form (True) or eq. 3 as printed (False).
    """
    super().__init__(name="lecam")
    if not 0.0 <= decay < 1.0:
      raise ValueError(f"LeCam.decay must be in [0, 1), got {decay}.")
    self.weight, self.decay, self.start_step, self.one_sided = weight, decay, start_step, one_sided
    # Every replica assigns the same (globally reduced) value; the first one's is kept.
    make = lambda name: tf.Variable(0.0, trainable=False, name=name,
                                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
    self.alpha_real, self.alpha_fake = make("alpha_real"), make("alpha_fake")

  def update(self, d_real_logits: tf.Tensor, d_fake_logits: tf.Tensor, step: tf.Tensor) -> None:
    """One EMA step of both anchors from D's global-batch mean predictions."""
    before_start = tf.cast(step, tf.int64) < self.start_step
    decay = tf.where(before_start, 0.0, self.decay)
    for anchor, logits in ((self.alpha_real, d_real_logits), (self.alpha_fake, d_fake_logits)):
      mean = tf.stop_gradient(base.global_mean(logits))
      anchor.assign(decay * anchor + (1.0 - decay) * mean)

  def penalty(self, d_real_logits: tf.Tensor, d_fake_logits: tf.Tensor) -> tf.Tensor:
    """R_LC with the current anchors (no gradient to them); local means."""
    real_gap = tf.cast(d_real_logits, tf.float32) - tf.stop_gradient(self.alpha_fake)
    fake_gap = tf.stop_gradient(self.alpha_real) - tf.cast(d_fake_logits, tf.float32)
    if self.one_sided:
      real_gap, fake_gap = tf.nn.relu(real_gap), tf.nn.relu(fake_gap)
    return tf.reduce_mean(tf.square(real_gap)) + tf.reduce_mean(tf.square(fake_gap))

  def d_terms(self, context: base.Context) -> dict[str, tf.Tensor]:
    """Updates the anchors, then returns {"lecam": λ·R_LC} (0 until step > start_step)."""
    self.update(context.d_real_logits, context.d_fake_logits, context.step)
    active = tf.cast(tf.cast(context.step, tf.int64) > self.start_step, tf.float32)
    return {"lecam": active * self.weight * self.penalty(context.d_real_logits,
                                                         context.d_fake_logits)}

  def metrics(self) -> dict[str, tf.Tensor]:
    """{"lecam_alpha_real": α_R, "lecam_alpha_fake": α_F}."""
    return {"lecam_alpha_real": tf.identity(self.alpha_real),
            "lecam_alpha_fake": tf.identity(self.alpha_fake)}
