"""S3GAN: the "fewer labels" GANs (S2GAN, S2GAN-CO, S3GAN, S3GAN-CO, CLUSTERING (SS)).

Lucic et al. 2019, "High-Fidelity Image Generation With Fewer Labels" (ICML;
arXiv 1903.02271), compare_gan `gans/s3gan.py`.
A conditional GAN whose real labels may be missing (label -1, a zero row of
the label matrix), predicted or soft:
- co-training (`project_y`, `use_predictor`; eq. (3)): a linear classifier
  c_CT on D's features is trained on the labelled reals (weight λ =
  `weight_class_loss`); unlabelled reals are projected with its predictions
  (stop-gradient; soft with `use_soft_pred`, as the paper's -CO models);
- rotation self-supervision (`self_supervision="rotation"`, eqs. (4)-(5)):
  SSGAN's head and losses, β = `weight_rotation_loss_d`, α =
  `weight_rotation_loss_g`, rotating 1/`rotated_batch_fraction` of the rows.
  L_D = L_D^hinge(labels or predictions) + β·CE_rot(reals) + λ·CE_cls(labelled reals)
  L_G = L_G^hinge + α·CE_rot(fakes)
How the variants map (arXiv 1903.02271, Table 1): S2GAN =
`self_supervision="none"` on pre-trained labels (data.LabelOptions with
`labels_from_soft`, or soft labels with `use_soft_labels`); S3GAN = S2GAN +
rotation (β 0.5); S2GAN-CO = `project_y`, `use_predictor`, `use_soft_pred` on
k% labels; S3GAN-CO = S2GAN-CO + rotation (β 1.0); CLUSTERING (SS) and SINGLE
LABEL (SS) = rotation on cluster or single-class labels.

Differences from compare_gan, each deliberate (the numbers each changes:
docs/MIGRATION.md, "Differences that change numbers"):
- The GAN's penalty is refused rather than silently ignored (compare_gan's
  S3GAN never adds it).
- The class loss is the mean over the labelled reals of the whole global
  batch (a cross-replica count), so it does not depend on the replica count;
  compare_gan averaged per TPU core.
- Heads are sublayers of D (`discriminator/score_classify`,
  `discriminator/predictor_linear`, `discriminator/projection`; compare_gan:
  `discriminator_rotation/score_classify`, `discriminator_predictor/
  predictor_linear`, `discriminator_projection/kernel`).
- Rotated rows are every s-th row of the sub-batch (see ssgan.py).
"""

from typing import Any, NamedTuple

import keras
import tensorflow as tf

from compare_gan2 import penalties
from compare_gan2 import self_supervision as ss
from compare_gan2.gans import modular_gan
from compare_gan2.gans import ssgan
from compare_gan2.ops import layers

MODES = ("rotation", "none")
PREDICTOR = "predictor_head"  # attributes under which the heads hang on D
PROJECTION = "projection_head"


@keras.saving.register_keras_serializable(package="compare_gan2")
class ProjectionHead(layers.KernelLayer):
  """Σ_c (y·W)_c h_c: the projection term for one-hot, soft or predicted y.

  Miyato & Koyama 2018 (cGANs with projection discriminator); compare_gan
  s3gan.py:154-172: kernel W [num_classes, C], glorot-normal, spectrally
  normalized when D is.
  """

  def __init__(self, num_classes: int, **kwargs):
    kwargs.setdefault("use_bias", False)
    kwargs.setdefault("kernel_initializer", "glorot_normal")
    super().__init__(**kwargs)
    self.num_classes = num_classes

  def build(self, input_shape: tuple) -> None:
    """Creates W for features of shape [N, C]."""
    self._build_kernel((self.num_classes, int(input_shape[-1])), int(input_shape[-1]))

  def call(self, features: tf.Tensor, y: tf.Tensor, training: bool = False) -> tf.Tensor:
    """[N, 1] = row-wise <y·W, features>."""
    embedded = tf.matmul(y, self.normalized_kernel(training))
    return tf.reduce_sum(embedded * features, axis=1, keepdims=True)

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    return {**super().get_config(), "num_classes": self.num_classes}


class HeadOutputs(NamedTuple):
  """One D call with every head, split back into upright and rotation rows."""
  real_logits: tf.Tensor  # [B, 1], projection with labels or predictions included
  fake_logits: tf.Tensor
  real_rotation: tf.Tensor | None  # rotation-head logits [4n, 4] (None without rotation)
  fake_rotation: tf.Tensor | None
  rotation_labels: tf.Tensor | None  # [4n]
  real_classes: tf.Tensor | None  # predictor logits [B, num_classes] of the upright reals
  real_available: tf.Tensor  # [B] 1.0 where the real row has a label


def _global_sum(value: tf.Tensor) -> tf.Tensor:
  context = tf.distribute.get_replica_context()
  if context is None or context.num_replicas_in_sync == 1:
    return value
  return context.all_reduce(tf.distribute.ReduceOp.SUM, value)


def masked_class_loss(labels: tf.Tensor, logits: tf.Tensor, available: tf.Tensor) -> tf.Tensor:
  """Softmax CE averaged over the labelled rows of the global batch, 0 if none.

  compare_gan `tf.losses.softmax_cross_entropy(..., weights=available)`
  (SUM_BY_NONZERO_WEIGHTS, s3gan.py:308-319). The returned per-replica value,
  scaled by 1/replicas as every loss is, sums to the global masked mean.
  """
  cross_entropy = tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)
  context = tf.distribute.get_replica_context()
  replicas = 1 if context is None else context.num_replicas_in_sync
  count = _global_sum(tf.reduce_sum(available))
  return tf.math.divide_no_nan(tf.reduce_sum(available * cross_entropy) * replicas, count)


def _check_arguments(self_supervision: str, project_y: bool, use_predictor: bool,
                     use_soft_pred: bool, kwargs: dict[str, Any]) -> None:
  """Raises a ValueError naming the S3GAN parameter that does not fit the others."""
  if self_supervision not in MODES:
    raise ValueError(f"S3GAN.self_supervision must be one of {MODES}, got {self_supervision!r}.")
  if use_predictor and not project_y:
    raise ValueError("S3GAN.use_predictor=True needs project_y=True (the predictions are "
                     "projected; compare_gan s3gan.py:75-76).")
  if use_soft_pred and not use_predictor:
    raise ValueError("S3GAN.use_soft_pred=True needs use_predictor=True.")
  if not kwargs.get("conditional", False):
    raise ValueError("S3GAN needs conditional=True: its labels are what it learns from.")
  penalty_fn = kwargs.get("penalty_fn", penalties.no_penalty)
  if getattr(penalty_fn, "__wrapped__", penalty_fn) is not penalties.no_penalty:  # gin wraps
    raise ValueError("S3GAN takes no penalty_fn (compare_gan's S3GAN has no penalty term).")


class S3GAN(ssgan.SSGAN):
  """Conditional GAN with co-training, rotation, soft or missing labels (compare_gan `S3GAN`)."""

  def __init__(self, generator: keras.Model, discriminator: keras.Model,
               self_supervision: str = "rotation", rotated_batch_fraction: int | None = None,
               weight_rotation_loss_d: float = 1.0, weight_rotation_loss_g: float = 0.2,
               project_y: bool = False, use_predictor: bool = False, use_soft_pred: bool = False,
               weight_class_loss: float = 1.0, use_soft_labels: bool = False, **kwargs: Any):
    """Creates the GAN and hangs its heads on the (unbuilt) discriminator.

    Args:
      generator: as ModularGAN, conditional.
      discriminator: as ModularGAN, not yet built.
      self_supervision: "rotation" (eqs. (4)-(5)) or "none".
      rotated_batch_fraction: per-replica sub-batch size / rotation rows.
      weight_rotation_loss_d, weight_rotation_loss_g: β (S3GAN 0.5, S3GAN-CO
        1.0) and α (0.2).
      project_y: add this GAN's projection head, fed with labels for labelled
        rows and predictions for the others; set the architecture's own
        `project_y` False so there is one projection, as in the paper.
      use_predictor: train the linear classifier c_CT (needs project_y).
      use_soft_pred: project softmax predictions instead of one-hot argmax.
      weight_class_loss: λ, weight of the classifier's CE in the D loss.
      use_soft_labels: the reals' labels are the dataset's `soft_labels`.
      **kwargs: ModularGAN arguments; `conditional=True` is required.

    Raises:
      ValueError: naming the parameter that does not fit (`_check_arguments`).
    """
    _check_arguments(self_supervision, project_y, use_predictor, use_soft_pred, kwargs)
    self.project_y, self.use_predictor, self.use_soft_pred = project_y, use_predictor, use_soft_pred
    self.weight_class_loss, self.use_soft_labels = weight_class_loss, use_soft_labels
    self._rotates = self_supervision == "rotation"  # metric_names runs before SSGAN sets its mode
    super().__init__(generator, discriminator,
                     self_supervision="rotation_gan" if self_supervision == "rotation" else "none",
                     rotated_batch_fraction=rotated_batch_fraction,
                     weight_rotation_loss_d=weight_rotation_loss_d,
                     weight_rotation_loss_g=weight_rotation_loss_g, **kwargs)
    self._attach_heads(discriminator)

  def _attach_heads(self, discriminator: keras.Model) -> None:
    """Projection and predictor heads, spectrally normalized when D is (s3gan.py:139-172)."""
    options = {"spectral_norm": discriminator.spectral_norm}
    if self.project_y:
      ss.attach_head(discriminator, ProjectionHead(self.num_classes, name="projection", **options),
                     PROJECTION)
    if self.use_predictor:
      ss.attach_head(discriminator, layers.Linear(
          self.num_classes, kernel_initializer=discriminator.kernel_initializer,
          name="predictor_linear", **options), PREDICTOR)

  def metric_names(self) -> tuple[str, ...]:
    """ModularGAN's values, the rotation terms and the classifier's (compare_gan's summaries)."""
    names = [*modular_gan.ModularGAN.metric_names(self), "label_fraction"]
    if self._rotates:
      names += ["c_real_loss", "c_fake_loss", "d_rotation_accuracy"]
    if self.use_predictor:
      names += ["class_loss_real", "classifier_accuracy"]
    return tuple(names)

  def heads(self) -> tuple[str, ...]:
    """The attributes of the heads this GAN hangs on D."""
    return ((ss.HEAD_ATTRIBUTE,) if self.rotation else ()) + (
        (PROJECTION,) if self.project_y else ()) + ((PREDICTOR,) if self.use_predictor else ())

  def build_heads(self) -> None:
    """Builds every head for D's feature width (before the D optimizer is built)."""
    if self.heads():
      ss.build_head(self.discriminator, self.conditional, self.heads())

  def real_labels(self, data: dict[str, tf.Tensor]) -> tf.Tensor:
    """One-hot labels (zero rows for -1), or the soft labels with `use_soft_labels`."""
    if not self.use_soft_labels:
      return super().real_labels(data)
    if "soft_labels" not in data:
      raise ValueError("S3GAN.use_soft_labels=True but the dataset yields no 'soft_labels': "
                       "set data.LabelOptions.soft_labels_file (compare_gan: soft_labeled_*).")
    return tf.cast(data["soft_labels"], tf.float32)

  @property
  def classify(self):
    """images -> c_CT logits (for metrics.ClassifierAccuracy), or None without a predictor."""
    return self._classify if self.use_predictor else None

  def _classify(self, images: tf.Tensor) -> tf.Tensor:
    y = tf.zeros([tf.shape(images)[0], self.num_classes])  # unlabelled: no projection term
    features = self.discriminator(images, y=y, training=False).features
    return getattr(self.discriminator, PREDICTOR)(ss.flat_features(features), training=False)

  def discriminate_heads(self, batch: modular_gan.SubBatch, fake: tf.Tensor) -> HeadOutputs:
    """One D call on every row, then the heads (compare_gan s3gan.py:96-265)."""
    size = batch.images.shape[0]
    labels = None
    if self.rotation:
      images, y, labels = self.rotated_inputs(batch, fake, batch.y)
    else:
      images = tf.concat([batch.images, fake], axis=0)
      y = tf.concat([batch.y, batch.sampled_y], axis=0)
    outputs = self.discriminator(images, y=y, training=True)
    flat = ss.flat_features(outputs.features)
    available = tf.cast(tf.reduce_sum(y, axis=1) > 0.5, tf.float32)
    logits, classes = outputs.logits, None
    if self.use_predictor:
      classes = getattr(self.discriminator, PREDICTOR)(flat, training=True)
      predicted = (tf.nn.softmax(classes) if self.use_soft_pred
                   else tf.one_hot(tf.argmax(classes, axis=1), self.num_classes))
      y = tf.stop_gradient((1.0 - available[:, None]) * predicted + available[:, None] * y)
      classes = self.split_rows(classes, size)[0]
    if self.project_y:
      logits = logits + getattr(self.discriminator, PROJECTION)(flat, y, training=True)
    rotation = (None, None)
    if self.rotation:
      rotation = self.split_rows(ss.head_logits(self.discriminator, outputs.features), size)[2:]
    real_logits, fake_logits = self.split_rows(logits, size)[:2]
    return HeadOutputs(real_logits, fake_logits, *rotation, labels, classes,
                       self.split_rows(available, size)[0])

  def discriminator_losses(self, batch: modular_gan.SubBatch, fake: tf.Tensor,
                           seed: tf.Tensor) -> dict[str, tf.Tensor]:
    """L_D^GAN + β·CE_rot(reals) + λ·CE_cls(labelled reals) (eqs. (3)-(4); s3gan.py:267-321)."""
    del seed  # no penalty
    out = self.discriminate_heads(batch, fake)
    gan = self.loss_fn(out.real_logits, out.fake_logits)
    values = {"d_loss": gan.d_loss, "d_loss_real": gan.d_loss_real,
              "d_loss_fake": gan.d_loss_fake, "penalty": tf.constant(0.0),
              "label_fraction": tf.reduce_mean(out.real_available)}
    if self.rotation:
      values["c_real_loss"] = ss.cross_entropy(out.real_rotation, out.rotation_labels)
      values["d_rotation_accuracy"] = ss.accuracy(out.real_rotation, out.rotation_labels)
      values["d_loss"] += self.weight_rotation_loss_d * values["c_real_loss"]
    if self.use_predictor:
      values["class_loss_real"] = masked_class_loss(batch.y, out.real_classes, out.real_available)
      correct = tf.cast(tf.equal(tf.argmax(out.real_classes, 1), tf.argmax(batch.y, 1)), tf.float32)
      values["classifier_accuracy"] = tf.math.divide_no_nan(
          tf.reduce_sum(correct * out.real_available), tf.reduce_sum(out.real_available))
      values["d_loss"] += self.weight_class_loss * values["class_loss_real"]
    return values

  def generator_losses(self, batch: modular_gan.SubBatch, fake: tf.Tensor,
                       seed: tf.Tensor) -> dict[str, tf.Tensor]:
    """L_G^GAN + α·CE_rot(fakes) (eq. (5); s3gan.py:267-293)."""
    del seed
    out = self.discriminate_heads(batch, fake)
    values = {"g_loss": self.loss_fn(out.real_logits, out.fake_logits).g_loss}
    if self.rotation:
      values["c_fake_loss"] = ss.cross_entropy(out.fake_rotation, out.rotation_labels)
      values["g_loss"] += self.weight_rotation_loss_g * values["c_fake_loss"]
    return values
