"""Adaptive discriminator augmentation (Karras et al. 2020, arXiv 2006.06676):
the pipeline of compare_gan2.augment.ada_pipeline with a strength p that a
controller adjusts from D's overfitting heuristic.

The controller (Section 3 and Eq. 1's r_t; the official training/augment.py
`AdaptiveAugment.tune` and training/training_loop.py at
github.com/NVlabs/stylegan2-ada/blob/43eca5156619dd6ee649c70c4bc3f3cab19a5b79/):
r_t = E[sign(D(x_real))] over the real images D scored since the last
adjustment; every `interval` (4) D steps, p += sign(r_t - target) x (images
seen in the interval) / (kimg x 1000), i.e. p can go from 0 to 1 in 500k
images, and the accumulator restarts (the official default has no EMA of the
statistic). The official code only floors p at 0; here p is also capped at 1,
where every op already fires on every image (the gates compare U[0, 1) < p),
so the cap only keeps p from drifting above where it has any effect.

All state is in non-trainable variables of this component (p, the last r_t,
the accumulators and the step count within an interval), created by
`build_for` when the GAN builds it, so the GAN's checkpoint
(compare_gan2.checkpoints, `components/ada/...`) restores the controller
exactly: the failure of NVlabs/stylegan2-ada#106, where p restarted at 0 on
resume, cannot happen. The statistics are summed over all replicas before use
and every replica computes the same update, so 1 and N replicas follow the
same p.
"""

from typing import Any

import keras
import tensorflow as tf

from compare_gan2.augment import ada_pipeline
from compare_gan2.augment import base

METRICS = ("ada/p", "ada/rt")
_augment_compiled = base.compiled(ada_pipeline.augment)


@base.register("ADA")
class ADA(base.Augmentation):
  """ADA: the 'bgc' (or another official) pipeline with an adaptive strength p.

  A GAN component (components.py): `gans.ModularGAN.augment = @augment.ADA()`
  builds its state with the networks, under the training strategy's scope,
  and calls `observe` after each D update with D's logits on the augmented
  reals. Used alone: `build_for(None)` under the strategy's scope, then
  `ada(images, seed)` and, once per D step inside the replica function,
  `ada.observe(real_logits)`.

  Args:
    pipeline: a key of ada_pipeline.PIPELINES: 'bgc' (the paper's default),
      'bg', 'blit', 'geom' or 'color'.
    initial_p: p before any adjustment (also the fixed p when target is None).
    target: the r_t the controller steers to (0.6, the paper's); None keeps p fixed.
    interval: D steps between adjustments (4, the paper's).
    kimg: thousands of images over which p can move by 1 (500, the paper's).
    ranges: parameter distributions (default: the paper's).
    jit_compile: run the pipeline compiled by XLA (base.compiled: less than
      half the forward cost on CPU); False runs it op by op.
    name: the component's name, the scope of its checkpoint keys ("ada").
  """

  def __init__(self, pipeline: str = "bgc", initial_p: float = 0.0, target: float | None = 0.6,
               interval: int = 4, kimg: float = 500.0,
               ranges: ada_pipeline.Ranges = ada_pipeline.Ranges(), jit_compile: bool = True,
               name: str = "ada"):
    super().__init__(name=name)
    if pipeline not in ada_pipeline.PIPELINES:
      raise ValueError(f"ADA pipeline {pipeline!r} is unknown; known: "
                       f"{', '.join(ada_pipeline.PIPELINES)}.")
    if not 0.0 <= initial_p <= 1.0:
      raise ValueError(f"ADA initial_p must be in [0, 1]; got {initial_p}.")
    if target is not None and not 0.0 <= target <= 1.0:
      raise ValueError(f"ADA target must be in [0, 1] or None; got {target}.")
    if interval < 1 or kimg <= 0:
      raise ValueError(f"ADA needs interval >= 1 and kimg > 0; got {interval}, {kimg}.")
    self.pipeline, self.target, self.interval, self.kimg = pipeline, target, interval, kimg
    self.ranges, self.initial_p, self.jit_compile = ranges, initial_p, jit_compile

  def build_for(self, gan: Any) -> None:
    """Creates the controller's state (under the strategy's scope when there is one).

    Every replica assigns the same value (`observe` all-reduces its inputs
    first), so the first replica's write is the write (components.py, 5.).
    """
    del gan
    def state(name, value, dtype="float32"):
      return self.add_weight(name=name, shape=(), dtype=dtype, trainable=False, autocast=False,
                             initializer=keras.initializers.Constant(value),
                             aggregation="only_first_replica")
    self.p = state("p", self.initial_p)
    self.rt = state("rt", 0.0)  # the r_t of the last adjustment
    self.sign_sum = state("sign_sum", 0.0)
    self.logit_count = state("logit_count", 0.0)
    self.image_count = state("image_count", 0.0)
    self.steps = state("steps", 0, "int64")  # D steps since the last adjustment
    self.built = True

  def _check_built(self) -> None:
    if not self.built:
      raise ValueError(f"ADA {self.name!r} has no state yet: the GAN builds it in "
                       "build_networks(); used alone, call build_for(None) first.")

  def __call__(self, images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Augments float images [B, H, W, C] in [0, 1] with this step's seed [2]."""
    self._check_built()
    augment = _augment_compiled if self.jit_compile else ada_pipeline.augment
    return augment(tf.convert_to_tensor(images), seed, tf.convert_to_tensor(self.p),
                   ada_pipeline.PIPELINES[self.pipeline], self.ranges)

  def observe(self, real_logits: tf.Tensor) -> None:
    """Accumulates sign(D(real)) over the global batch; adjusts p every `interval` calls.

    Args:
      real_logits: this replica's D logits on its real images, [B] or [B, ...].
    """
    self._check_built()
    logits = tf.cast(real_logits, tf.float32)
    local = tf.stack([tf.reduce_sum(tf.sign(logits)), tf.cast(tf.size(logits), tf.float32),
                      tf.cast(tf.shape(logits)[0], tf.float32)])
    context = tf.distribute.get_replica_context()
    total = local if context is None else context.all_reduce("SUM", local)
    sign_sum, logit_count = self.sign_sum + total[0], self.logit_count + total[1]
    image_count, steps = self.image_count + total[2], self.steps + 1
    due = steps >= self.interval
    rt = sign_sum / tf.maximum(logit_count, 1.0)
    p = self.p
    if self.target is not None:
      adjust = tf.sign(rt - self.target) * image_count / (self.kimg * 1000.0)
      p = tf.where(due, tf.clip_by_value(self.p + adjust, 0.0, 1.0), self.p)
    self.p.assign(p)
    self.rt.assign(tf.where(due, rt, self.rt))
    self.sign_sum.assign(tf.where(due, 0.0, sign_sum))
    self.logit_count.assign(tf.where(due, 0.0, logit_count))
    self.image_count.assign(tf.where(due, 0.0, image_count))
    self.steps.assign(tf.where(due, tf.constant(0, tf.int64), steps))

  def metric_names(self) -> tuple[str, ...]:
    """p and r_t, logged each step."""
    return METRICS

  def summaries(self) -> dict[str, tf.Tensor]:
    """p and the r_t of the last adjustment, to log each step."""
    self._check_built()
    return dict(zip(METRICS, (tf.convert_to_tensor(self.p), tf.convert_to_tensor(self.rt))))
