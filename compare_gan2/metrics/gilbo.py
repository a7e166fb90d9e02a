"""GILBO: a variational lower bound on the mutual information I(z; G(z)).

Alemi & Fischer 2018, "GILBO: One Metric to Measure Them All"
(arXiv:1802.04874), the GILBO's definition: for any encoder e(z|x),

    I(z; x) ≥ E_{z~p(z), x=G(z)}[log e(z|x) − log p(z)] = GILBO,

tight when e is G's true posterior. An encoder is trained to maximize it on
G's own samples; GILBO is then measured on fresh samples. Reported in nats.

Port of compare_gan `metrics/gilbo.py` (legacy):
the encoder `_build_regressor` (:82-97), the objective (:134-168), the training
schedule `_train_gilbo` (:215-267), `_eval_gilbo` (:270-322) and the self
consistency of `_run_gilbo_consistency` (:325-463). Not ported: checkpointing
the encoder between cycles, the z histograms and pickles, and the train/eval
image consistencies (they need real images of G's shape from the dataset).

The prior is U(−1, 1)^{z_dim}, compare_gan's default z: GILBO is only defined
for such a generator, and `GILBO` raises ValueError when the model's z leave
[−1, 1]. Images are float in [0, 1], at least 10×10 (the encoder's two 4×4
stride-2 VALID convolutions need it).
"""

import dataclasses
from typing import ClassVar, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from compare_gan2 import registry
from compare_gan2.metrics import base

# z is clipped to ±(1 − epsneg): the Beta density is infinite or zero at the
# ends of its support (gilbo.py:139-142).
EPSNEG = float(np.finfo(np.float32).epsneg)
_LOG_2 = float(np.log(2.0))
MIN_IMAGE_SIZE = 10


def beta_affine_log_prob(z: tf.Tensor, a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
  """log e(z|x) for e = Beta(a, b) mapped to (−1, 1) by z = 2u − 1, independent over z's last axis.

  Per dimension: log Beta((z+1)/2; a, b) − log 2 (the Jacobian of the affine
  map), i.e. compare_gan's `TransformedDistribution(Independent(Beta(a, b)),
  Affine(−1, 2))` (gilbo.py:92-96).

  Args:
    z: values in (−1, 1), [..., z_dim].
    a: concentration1 (exponent of u), > 0, broadcastable to z.
    b: concentration0 (exponent of 1 − u), > 0, broadcastable to z.

  Returns:
    The log-density summed over the last axis, [...].
  """
  z, a, b = (tf.cast(t, tf.float32) for t in (z, a, b))
  log_u = tf.math.log1p(z) - _LOG_2  # log((1 + z) / 2), exact near z = −1.
  log_1mu = tf.math.log1p(-z) - _LOG_2
  log_beta = tf.math.lgamma(a) + tf.math.lgamma(b) - tf.math.lgamma(a + b)
  return tf.reduce_sum((a - 1.0) * log_u + (b - 1.0) * log_1mu - log_beta - _LOG_2, axis=-1)


def beta_kl(a1: tf.Tensor, b1: tf.Tensor, a2: tf.Tensor, b2: tf.Tensor) -> tf.Tensor:
  """KL(Beta(a1, b1) ‖ Beta(a2, b2)) summed over the last axis (independent dimensions)."""
  lbeta = lambda a, b: tf.math.lgamma(a) + tf.math.lgamma(b) - tf.math.lgamma(a + b)
  kl = (lbeta(a2, b2) - lbeta(a1, b1) + (a1 - a2) * tf.math.digamma(a1)
        + (b1 - b2) * tf.math.digamma(b1) + (a2 - a1 + b2 - b1) * tf.math.digamma(a1 + b1))
  return tf.reduce_sum(kl, axis=-1)


def build_encoder(image_shape: tuple[int, ...], z_dim: int, seed: int = 0) -> keras.Sequential:
  """compare_gan's GILBO regressor (gilbo.py:82-90): images → 2·z_dim raw Beta parameters.

  conv(64, 4×4, stride 2) → conv(128, 4×4, stride 2), VALID as `tf.layers`,
  leaky ReLU (slope 0.2) → flatten → dense(1024, leaky ReLU) → dense(2·z_dim).

  Raises:
    ValueError: if an image side is below 10 pixels.
  """
  if len(image_shape) != 3 or min(image_shape[:2]) < MIN_IMAGE_SIZE:
    raise ValueError(f"GILBO encoder: images must be [H, W, C] with H, W >= {MIN_IMAGE_SIZE}, "
                     f"got {tuple(image_shape)}.")
  init = lambda i: keras.initializers.GlorotUniform(seed=seed * 4 + i)
  return keras.Sequential([
      keras.Input(tuple(image_shape)),
      keras.layers.Conv2D(64, 4, 2, activation=tf.nn.leaky_relu, kernel_initializer=init(0)),
      keras.layers.Conv2D(128, 4, 2, activation=tf.nn.leaky_relu, kernel_initializer=init(1)),
      keras.layers.Flatten(),
      keras.layers.Dense(1024, activation=tf.nn.leaky_relu, kernel_initializer=init(2)),
      keras.layers.Dense(2 * z_dim, kernel_initializer=init(3)),
  ], name="gilbo_encoder")


def posterior(encoder: keras.Sequential, images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
  """(a, b) = 1 + softplus(raw − 5): starts near the uniform Beta(1, 1) (gilbo.py:91-93)."""
  raw_a, raw_b = tf.split(encoder(images, training=False), 2, axis=-1)
  return 1.0 + tf.nn.softplus(raw_a - 5.0), 1.0 + tf.nn.softplus(raw_b - 5.0)


def information(encoder: keras.Sequential, images: tf.Tensor, z: tf.Tensor) -> tf.Tensor:
  """log e(z|G(z)) − log p(z) per sample, p = U(−1, 1)^{z_dim} (gilbo.py:134-156)."""
  z = tf.clip_by_value(tf.cast(z, tf.float32), -(1.0 - EPSNEG), 1.0 - EPSNEG)
  a, b = posterior(encoder, images)
  return beta_affine_log_prob(z, a, b) + z.shape[-1] * _LOG_2


class ScheduleState(NamedTuple):
  """compare_gan's training-cycle bookkeeping (gilbo.py:226-228)."""
  learning_rate: float
  min_ai: float = -2.0  # the GILBO the next cycle must reach to count as progress
  previous_ai: float = 0.0
  stop: bool = False


def update_schedule(state: ScheduleState, ai: float, lr_scale: float = 0.5,
                    min_lr: float = 1e-8, min_ai_step_value: float = 0.5,
                    min_ai_step_scale: float = 0.75) -> ScheduleState:
  """The schedule after a cycle whose mean GILBO was `ai` (gilbo.py:241-267).

  Too little progress (ai < min_ai) scales the learning rate by `lr_scale`;
  training stops once it falls below `min_lr` or ai is NaN. The next cycle
  must then beat ai by (ai − previous ai)·step_scale, clamped to [0, step_value].
  """
  learning_rate = state.learning_rate * lr_scale if ai < state.min_ai else state.learning_rate
  if learning_rate < min_lr or np.isnan(ai):
    return state._replace(learning_rate=learning_rate, stop=True)
  step = max(0.0, min(min_ai_step_value, (ai - state.previous_ai) * min_ai_step_scale))
  return ScheduleState(learning_rate, max(state.min_ai, ai + step), ai)


def _sample_beta(a: tf.Tensor, b: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
  x = tf.random.stateless_gamma(tf.shape(a), seed, alpha=a)
  y = tf.random.stateless_gamma(tf.shape(b), tf.random.experimental.stateless_fold_in(seed, 1),
                                alpha=b)
  return x / (x + y)


class _Estimator:
  """The encoder, its optimizer and the traced steps for one model."""

  def __init__(self, metric: "GILBO", model: base.ModelAccess, seed: int):
    self.metric, self.model = metric, model
    self.seed = tf.constant([seed, 0], tf.int64)
    z, y = self._draw(self._seed(0, 0))
    z_np = np.asarray(z)
    if z_np.shape != (metric.batch_size, model.z_dim):
      raise ValueError(f"GILBO: sample_z gave z of shape {z_np.shape}, expected "
                       f"{(metric.batch_size, model.z_dim)}.")
    if np.abs(z_np).max() > 1.0:  # Checked on this first batch only.
      raise ValueError(
          f"GILBO assumes z ~ U(-1, 1)^{model.z_dim} (compare_gan's default z), but the "
          f"model's sample_z gave |z| up to {np.abs(z_np).max():.3g}.")
    image_shape = tuple(model.generate(z, y).shape[1:])
    self.encoder = build_encoder(image_shape, model.z_dim, seed)
    # tf.train.AdamOptimizer's epsilon (keras' default is 1e-7).
    self.optimizer = keras.optimizers.Adam(metric.learning_rate, epsilon=1e-8)
    self.optimizer.build(self.encoder.trainable_variables)
    self.train_step = tf.function(self._train_step)
    self.eval_step = tf.function(self._eval_step)
    self.consistency_step = tf.function(self._consistency_step)

  def _seed(self, stream: int, step: tf.Tensor | int) -> tf.Tensor:
    fold = tf.random.experimental.stateless_fold_in
    return fold(fold(self.seed, stream), tf.cast(step, tf.int64))

  def _draw(self, seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor | None]:
    fold = tf.random.experimental.stateless_fold_in
    z = self.model.sample_z([self.metric.batch_size, self.model.z_dim], fold(seed, 0))
    if not self.model.num_classes:
      return tf.cast(z, tf.float32), None
    labels = tf.random.stateless_uniform([self.metric.batch_size], fold(seed, 1), 0,
                                         self.model.num_classes, tf.int32)
    return tf.cast(z, tf.float32), tf.one_hot(labels, self.model.num_classes)

  def _train_step(self, step: tf.Tensor) -> tf.Tensor:
    z, y = self._draw(self._seed(1, step))
    images = self.model.generate(z, y)
    variables = self.encoder.trainable_variables
    with tf.GradientTape() as tape:
      info = information(self.encoder, images, z)
      # compare_gan minimizes the vector −info, i.e. its sum over the batch.
      loss = -tf.reduce_sum(info)
    self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return tf.reduce_mean(info)

  def _eval_step(self, step: tf.Tensor) -> tf.Tensor:
    z, y = self._draw(self._seed(2, step))
    return tf.reduce_mean(information(self.encoder, self.model.generate(z, y), z))

  def _consistency_step(self, step: tf.Tensor) -> tf.Tensor:
    # gilbo.py:357-406 in "self" mode: encode G(z), sample z' from the
    # posterior, encode G(z') and compare the two posteriors.
    seed = self._seed(3, step)
    z, y = self._draw(seed)
    a, b = posterior(self.encoder, self.model.generate(z, y))
    z_new = 2.0 * _sample_beta(a, b, tf.random.experimental.stateless_fold_in(seed, 2)) - 1.0
    a_new, b_new = posterior(self.encoder, self.model.generate(z_new, y))
    return tf.reduce_mean(beta_kl(a, b, a_new, b_new) + beta_kl(a_new, b_new, a, b)) / 2.0

  def train(self) -> ScheduleState:
    """compare_gan's cycles (gilbo.py:226-267); returns the final schedule state."""
    m = self.metric
    state, step = ScheduleState(m.learning_rate), 0
    for _ in range(m.max_train_cycles):
      if state.stop or state.learning_rate < m.min_lr:
        break
      self.optimizer.learning_rate.assign(state.learning_rate)
      total = tf.constant(0.0)
      for _ in range(m.train_steps_per_cycle):
        total += self.train_step(tf.constant(step, tf.int64))
        step += 1
      state = update_schedule(state, float(total) / m.train_steps_per_cycle, m.lr_scale,
                              m.min_lr, m.min_ai_step_value, m.min_ai_step_scale)
    return state

  def batch_values(self, step_fn: tf.types.experimental.PolymorphicFunction,
                   count: int) -> np.ndarray:
    """The per-batch values of `step_fn` over `count` batches, float64 [count]."""
    return np.asarray([step_fn(tf.constant(i, tf.int64)) for i in range(count)], np.float64)


@registry.register(module="compare_gan2.metrics")
@dataclasses.dataclass(frozen=True, eq=False)
class GILBO:
  """Trains a GILBO encoder on G's samples, then reports the bound in nats.

  Alemi & Fischer 2018; compare_gan `train_gilbo` (gilbo.py:100-212)
  with its `options` defaults as fields. A conditional G gets random labels
  (fixed per batch) that the encoder does not see.

  Attributes:
    batch_size: samples per step (compare_gan: the GAN's batch size).
    learning_rate: Adam's initial learning rate (gilbo_learning_rate).
    max_train_cycles: at most this many training cycles.
    train_steps_per_cycle: Adam steps per cycle.
    lr_scale, min_lr, min_ai_step_value, min_ai_step_scale: the schedule of
      `update_schedule`.
    eval_steps: batches averaged for the reported GILBO.
    consistency_batches: batches of the self-consistency (0: not reported).
    seed: seed of z, labels and encoder weights; None: the model's seed.
  """
  name: ClassVar[str] = "gilbo"
  requires: ClassVar[frozenset[str]] = frozenset()
  batch_size: int = 64
  learning_rate: float = 4e-4
  max_train_cycles: int = 50
  train_steps_per_cycle: int = 10000
  lr_scale: float = 0.5
  min_lr: float = 1e-8
  min_ai_step_value: float = 0.5
  min_ai_step_scale: float = 0.75
  eval_steps: int = 10000
  consistency_batches: int = 5
  seed: int | None = None
  max_images: int | None = dataclasses.field(default=0, init=False)

  def __post_init__(self) -> None:
    for field in ("batch_size", "train_steps_per_cycle", "eval_steps"):
      if getattr(self, field) < 1:
        raise ValueError(f"GILBO: {field} must be positive, got {getattr(self, field)}.")
    if self.max_train_cycles < 0 or self.consistency_batches < 0:
      raise ValueError("GILBO: max_train_cycles and consistency_batches must be >= 0, got "
                       f"{self.max_train_cycles} and {self.consistency_batches}.")

  def __call__(self, model: base.ModelAccess,
               real: base.EvalSet | None = None) -> dict[str, float]:
    """{"gilbo"} and, if consistency_batches > 0, {"gilbo_self_consistency"}: the mean
    symmetric KL (KL(p‖q) + KL(q‖p))/2 between e(·|G(z)) and e(·|G(z')), z' ~ e(·|G(z)).

    Raises:
      ValueError: if the model's z are not in [−1, 1] or its images are below 10×10.
    """
    del real  # G alone is measured.
    estimator = _Estimator(self, model, model.seed if self.seed is None else self.seed)
    estimator.train()
    # A NaN batch counts as 0 in GILBO (gilbo.py:295-312), not in the consistency (:463).
    values = estimator.batch_values(estimator.eval_step, self.eval_steps)
    result = {self.name: float(np.mean(np.nan_to_num(values)))}
    if self.consistency_batches:
      result[f"{self.name}_self_consistency"] = float(np.mean(estimator.batch_values(
          estimator.consistency_step, self.consistency_batches)))
    return result
