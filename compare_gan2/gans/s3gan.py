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
- Heads are this GAN's (the rotation head its Rotation component's), built in
  D's name scope (`discriminator/score_classify`, `discriminator/predictor_linear`,
  `discriminator/projection`); compare_gan's `discriminator_rotation/...`,
  `discriminator_predictor/...` and `discriminator_projection/...` names are
  mapped by compare_gan2.migration.checkpoint.
- Rotated rows are every s-th row of the sub-batch (self_supervision.rotation).
"""

import inspect
from typing import Any, NamedTuple

import keras
import tensorflow as tf

from compare_gan2 import penalties
from compare_gan2 import self_supervision as ss
from compare_gan2.architectures import base
from compare_gan2.gans import catalog
from compare_gan2.gans import components as component_lib
from compare_gan2.gans import modular_gan
from compare_gan2.ops import layers

MODES = ("rotation", "none")


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
  """The upright rows of one D call with every head."""
  real_logits: tf.Tensor  # [B, 1], projection with labels or predictions included
  fake_logits: tf.Tensor
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
  if isinstance(self_supervision, str) and self_supervision not in MODES:
    raise ValueError(f"S3GAN.self_supervision must be one of {MODES}, got {self_supervision!r}.")
  if use_predictor and not project_y:
    raise ValueError("S3GAN.use_predictor=True needs project_y=True (the predictions are "
                     "projected; compare_gan s3gan.py:75-76).")
  if use_soft_pred and not use_predictor:
    raise ValueError("S3GAN.use_soft_pred=True needs use_predictor=True.")
  if not kwargs.get("conditional", False):
    raise ValueError("S3GAN needs conditional=True: its labels are what it learns from.")
  penalty_fn = kwargs.get("penalty_fn", penalties.no_penalty)
  # A decorated penalty (a configured one, too) keeps the function in __wrapped__.
  if inspect.unwrap(penalty_fn) is not penalties.no_penalty:
    raise ValueError("S3GAN takes no penalty_fn (compare_gan's S3GAN has no penalty term).")


@catalog.gan
class S3GAN(modular_gan.ModularGAN):
  """Conditional GAN with co-training, rotation, soft or missing labels (compare_gan `S3GAN`)."""

  HEAD_UNITS = ss.Rotation.HEAD_UNITS

  def __init__(self, generator: keras.Model, discriminator: keras.Model,
               self_supervision: str | component_lib.Component = "rotation",
               rotated_batch_fraction: int | None = None,
               weight_rotation_loss_d: float = 1.0, weight_rotation_loss_g: float = 0.2,
               project_y: bool = False, use_predictor: bool = False, use_soft_pred: bool = False,
               weight_class_loss: float = 1.0, use_soft_labels: bool = False, **kwargs: Any):
    """Creates the GAN and its heads.

    Args:
      generator: as ModularGAN, conditional.
      discriminator: as ModularGAN.
      self_supervision: "rotation" (eqs. (4)-(5)), "none", or a component
        (which the rotation arguments then do not configure).
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
    task = self_supervision
    if isinstance(task, str):
      task = None if task == "none" else ss.Rotation(
          weight_rotation_loss_d, weight_rotation_loss_g,
          rotated_batch_fraction=rotated_batch_fraction)
    super().__init__(generator, discriminator, self_supervision=task, **kwargs)
    self.project_y, self.use_predictor, self.use_soft_pred = project_y, use_predictor, use_soft_pred
    self.weight_class_loss, self.use_soft_labels = weight_class_loss, use_soft_labels
    self.projection_head, self.predictor_head = self._make_heads(discriminator)

  def _make_heads(self, discriminator: keras.Model) -> tuple[keras.layers.Layer | None, ...]:
    """Projection and predictor, spectrally normalized when D is (s3gan.py:139-172)."""
    options = {"spectral_norm": discriminator.spectral_norm}
    projection = (ProjectionHead(self.num_classes, name="projection", **options)
                  if self.project_y else None)
    predictor = (layers.Linear(self.num_classes, name="predictor_linear",
                               kernel_initializer=discriminator.kernel_initializer, **options)
                 if self.use_predictor else None)
    return projection, predictor

  def metric_names(self) -> tuple[str, ...]:
    """ModularGAN's values, the rotation terms and the classifier's (compare_gan's summaries)."""
    names = [*super().metric_names(), "label_fraction"]
    if self.use_predictor:
      names += ["class_loss_real", "classifier_accuracy"]
    return tuple(names)

  def discriminator_heads(self) -> list[keras.layers.Layer]:
    """The task's head, then the projection and the predictor."""
    own = [h for h in (self.projection_head, self.predictor_head) if h is not None]
    return [*super().discriminator_heads(), *own]

  def build_heads(self) -> None:
    """Builds every head for D's feature width (before the D optimizer is built)."""
    super().build_heads()
    own = [h for h in (self.projection_head, self.predictor_head) if h is not None and not h.built]
    if own:
      width = ss.feature_width(self.discriminator, self.conditional)
      for head in own:
        component_lib.build_discriminator_head(head, self, width)

  def real_labels(self, data: dict[str, tf.Tensor]) -> tf.Tensor:
    """One-hot labels (zero rows for -1), or the soft labels with `use_soft_labels`."""
    if not self.use_soft_labels:
      # Named, not super(): once in a long test session autograph resolved the traced
      # zero-argument super() call to another converted method (build_heads).
      return modular_gan.ModularGAN.real_labels(self, data)
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
    features = self.call_discriminator(images, y, training=False).features
    return self.predictor_head(ss.flat_features(features), training=False)

  def score(self, outputs: base.DiscriminatorOutput, y: tf.Tensor | None
            ) -> tuple[base.DiscriminatorOutput, dict[str, tf.Tensor]]:
    """D's logits with the projection of labels or predictions (compare_gan s3gan.py:96-265)."""
    flat = ss.flat_features(outputs.features)
    available = tf.cast(tf.reduce_sum(y, axis=1) > 0.5, tf.float32)
    logits, extras = outputs.logits, {"available": available}
    if self.use_predictor:
      extras["classes"] = classes = self.predictor_head(flat, training=True)
      predicted = (tf.nn.softmax(classes) if self.use_soft_pred
                   else tf.one_hot(tf.argmax(classes, axis=1), self.num_classes))
      y = tf.stop_gradient((1.0 - available[:, None]) * predicted + available[:, None] * y)
    if self.project_y:
      logits = logits + self.projection_head(flat, y, training=True)
    return outputs._replace(logits=logits), extras

  def heads(self, view: component_lib.DiscriminatorView) -> HeadOutputs:
    """The upright rows' logits, class logits and label availability of one D call."""
    size = tf.shape(view.batch.images)[0]  # the reals come first in D's rows
    classes = view.extras.get("classes")
    return HeadOutputs(view.real.logits, view.fake_out.logits,
                       None if classes is None else classes[:size],
                       view.extras["available"][:size])

  def discriminate_heads(self, batch: modular_gan.SubBatch, fake: tf.Tensor,
                         seed: tf.Tensor | None = None) -> HeadOutputs:
    """One D call on every row, then the heads (compare_gan s3gan.py:96-265)."""
    seed = tf.zeros([2], tf.int64) if seed is None else seed
    return self.heads(self.discriminate(batch, fake, seed))

  def gan_discriminator_losses(self, view: component_lib.DiscriminatorView) -> dict[str, tf.Tensor]:
    """L_D^GAN + λ·CE_cls(labelled reals) (eq. (3); s3gan.py:267-321); no penalty."""
    out = self.heads(view)
    gan = self.loss_fn(out.real_logits, out.fake_logits)
    values = {"d_loss": gan.d_loss, "d_loss_real": gan.d_loss_real,
              "d_loss_fake": gan.d_loss_fake, "penalty": tf.constant(0.0),
              "label_fraction": tf.reduce_mean(out.real_available)}
    if self.use_predictor:
      y = view.batch.y
      values["class_loss_real"] = masked_class_loss(y, out.real_classes, out.real_available)
      correct = tf.cast(tf.equal(tf.argmax(out.real_classes, 1), tf.argmax(y, 1)), tf.float32)
      values["classifier_accuracy"] = tf.math.divide_no_nan(
          tf.reduce_sum(correct * out.real_available), tf.reduce_sum(out.real_available))
      values["d_loss"] += self.weight_class_loss * values["class_loss_real"]
    return values
