"""The labeller: a feature extractor F with a rotation head and a class head, and its loss.

Lucic et al. 2019, "High-Fidelity Image Generation With Fewer Labels",
arXiv 1903.02271, §3.1. F is a `FeatureNetwork` (the paper's wide ResNet-50 v2,
resnet_v2.py) or any compare_gan2 discriminator architecture, whose
`features` output, flattened, is F(x). Two linear heads read F(x):
c_R (4 rotations, eq. (1)) and c_S²L (the classes, eq. (2)). The rotation
helpers and the cross-entropy are compare_gan's SSGAN ones
(`gans/utils.py:38-50`, `gans/ssgan.py:197-216`; compare_gan2.self_supervision).
"""

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from compare_gan2 import self_supervision
from compare_gan2.architectures import base as arch_base
from compare_gan2.ops import layers

ROTATION_HEAD = "score_classify"  # compare_gan's rotation head scope (ssgan.py:95-99)
CLASS_HEAD = "predictor_linear"   # compare_gan's S3GAN class head scope (s3gan.py:139-152)


class FeatureNetwork(keras.Model):
  """A network built for the labeller: call(images, training) -> F(x) [N, feature_dim].

  Subclasses build every variable in `build((None, H, W, C))` and may add a
  penalty to the loss through `regularization_loss` (weight decay).

  Attributes:
    image_shape: (H, W, C) of its images.
    kernel_initializer: the heads' kernel initializer.
  """

  def __init__(self, image_shape=(32, 32, 3), kernel_initializer="glorot_uniform", **kwargs):
    super().__init__(**kwargs)
    self.image_shape = tuple(int(d) for d in image_shape)
    if len(self.image_shape) != 3:
      raise ValueError(f"{type(self).__qualname__}: image_shape must be (H, W, C), got "
                       f"{tuple(image_shape)}.")
    self.kernel_initializer = keras.initializers.get(kernel_initializer)

  @property
  def feature_dim(self) -> int:
    """Width of F(x)."""
    raise NotImplementedError  # Abstract: each feature network knows its width.

  def regularization_loss(self) -> tf.Tensor | None:
    """A penalty added to the training loss, or None."""
    return None

  def get_config(self) -> dict:
    return {**super().get_config(), "image_shape": self.image_shape}


Network = arch_base.DiscriminatorBase | FeatureNetwork
FeatureExtractor = Network | Callable[..., Network]


class Labeller:
  """F(x) = flatten(D(x).features), c_R on F(x), and c_S²L on F(x) when there are classes.

  Attributes:
    network: F: a FeatureNetwork, or a discriminator (its logit unused).
    rotation_head: linear c_R, 4 outputs.
    class_head: linear c_S²L with bias (num_classes outputs), or None.
  """

  def __init__(self, network: Network, num_classes: int | None):
    self.network = network
    # Plain linear heads: the paper's S²L heads sit on a ResNet, not a GAN
    # discriminator, so no spectral norm here whatever F uses.
    init = network.kernel_initializer
    self.rotation_head = layers.Linear(self_supervision.NUM_ROTATIONS, kernel_initializer=init,
                                       name=ROTATION_HEAD)
    self.class_head = (layers.Linear(num_classes, kernel_initializer=init, name=CLASS_HEAD)
                       if num_classes else None)
    self._build()
    # Traced once for any batch size: tracing the rotations costs about a second.
    images = tf.TensorSpec((None, *network.image_shape), tf.float32)
    self.inference = tf.function(self._inference, input_signature=[images])
    self.eval_counts = tf.function(self._eval_counts,
                                   input_signature=[images, tf.TensorSpec([None], tf.int32)])

  @property
  def num_classes(self) -> int | None:
    """Classes of the class head, or None without one."""
    return None if self.class_head is None else self.class_head.units

  def _build(self) -> None:
    """Builds F from shapes, then the heads for its flattened feature width."""
    if isinstance(self.network, FeatureNetwork):
      self.network.build((None, *self.network.image_shape))
      width = self.network.feature_dim
    else:
      self.network.build_variables(batch_size=2, conditional=False)
      spec = tf.TensorSpec((2, *self.network.image_shape), tf.float32)
      trace = tf.function(lambda x: self.network(x, None, training=False).features)
      features = trace.get_concrete_function(spec).structured_outputs
      width = int(np.prod(features.shape[1:]))
    for head in self.heads:
      head.build((None, width))

  @property
  def heads(self) -> list[layers.Linear]:
    """c_R, then c_S²L when present."""
    return [h for h in (self.rotation_head, self.class_head) if h is not None]

  @property
  def trainable_variables(self) -> list[tf.Variable]:
    """F's and the heads' trainable variables."""
    return [*self.network.trainable_variables,
            *(v for h in self.heads for v in h.trainable_variables)]

  def features(self, images: tf.Tensor, training: bool = False) -> tf.Tensor:
    """F(x): the network's features flattened to [N, -1]."""
    if isinstance(self.network, FeatureNetwork):
      return self.network(images, training=training)
    features = self.network(images, None, training=training).features
    return tf.reshape(features, [tf.shape(features)[0], -1])

  def regularization_loss(self) -> tf.Tensor | None:
    """F's penalty term (weight decay of a FeatureNetwork), or None."""
    if isinstance(self.network, FeatureNetwork):
      return self.network.regularization_loss()
    return None

  def _inference(self, images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """(F(x), c_S²L(F(x))) in inference mode; logits [N, 0] without a class head."""
    flat = self.features(images, training=False)
    if self.class_head is None:
      return flat, tf.zeros([tf.shape(flat)[0], 0])
    return flat, self.class_head(flat)

  def _eval_counts(self, images: tf.Tensor, labels: tf.Tensor
                   ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(correct rotations of the 4 rotated copies, correct classes, labelled images)."""
    rotated, rotations = self_supervision.rotation_batch(images)
    flat, class_logits = self._inference(rotated)
    predicted = tf.argmax(self.rotation_head(flat), -1, output_type=tf.int32)
    rotation_hits = tf.reduce_sum(tf.cast(predicted == rotations, tf.int64))
    labelled = labels >= 0
    if self.class_head is None:
      return rotation_hits, tf.constant(0, tf.int64), tf.constant(0, tf.int64)
    # The first rows of the rotation-major batch are the unrotated images.
    classes = tf.argmax(class_logits[:tf.shape(images)[0]], -1, output_type=tf.int32)
    class_hits = tf.reduce_sum(tf.cast(tf.logical_and(labelled, classes == labels), tf.int64))
    return rotation_hits, class_hits, tf.reduce_sum(tf.cast(labelled, tf.int64))


def make_labeller(feature_extractor: FeatureExtractor, image_shape: tuple[int, int, int],
                  num_classes: int | None) -> Labeller:
  """A built Labeller for images of `image_shape`.

  Args:
    feature_extractor: an (unbuilt) FeatureNetwork or discriminator, or a
      class / factory of one called with `image_shape` (gin:
      `@pretraining.ResNetV2`, `@infogan.Discriminator`).
    image_shape: the dataset's (H, W, C).
    num_classes: classes of the class head; None or 0 for rotation only.

  Raises:
    ValueError: the network is neither a FeatureNetwork nor a discriminator,
      or is made for other images.
  """
  network = feature_extractor
  if not isinstance(network, keras.layers.Layer):
    network = feature_extractor(image_shape=tuple(image_shape))
  if not isinstance(network, (arch_base.DiscriminatorBase, FeatureNetwork)):
    raise ValueError(f"feature_extractor must be a pretraining.FeatureNetwork or a "
                     f"compare_gan2 discriminator, got {type(network).__name__}.")
  if tuple(network.image_shape) != tuple(image_shape):
    raise ValueError(f"feature_extractor {network.name} is made for {network.image_shape} "
                     f"images; the dataset has {tuple(image_shape)}.")
  return Labeller(network, num_classes)


def s2l_loss(labeller: Labeller, images: tf.Tensor, labelled_images: tf.Tensor | None = None,
             labels: tf.Tensor | None = None, class_weight: float = 0.5,
             training: bool = True) -> dict[str, tf.Tensor]:
  """The S²L loss, eq. (2); with no labelled batch, the rotation loss eq. (1).

  L = −1/|R| Σ_r { E_x log p(c_R(F(x^r)) = r) + γ E_(x,y) log p(c_S²L(F(x^r)) = y) }.
  The rotation term runs over all images (both batches), the class term over
  the labelled batch in all four rotations, so both are means over rows of
  the rotated batches. One pass of F sees every row (shared batch statistics).

  Args:
    labeller: the model.
    images: [B, H, H, C] images (all train images, labelled or not).
    labelled_images: [L, H, H, C] labelled images, or None.
    labels: [L] int classes of `labelled_images`.
    class_weight: γ (0.5 in the paper).
    training: passed to F (batch-norm and spectral-norm updates).

  Returns:
    {"loss", "rotation_loss", "rotation_accuracy"}, "class_loss" and
    "class_accuracy" (rotated rows too) with a labelled batch, and F's
    "regularization_loss" (weight decay, in "loss") when it has one.
  """
  batches = [images] if labelled_images is None else [images, labelled_images]
  rotated = [self_supervision.rotation_batch(b) for b in batches]
  rotations = tf.concat([r for _, r in rotated], axis=0)
  flat = labeller.features(tf.concat([x for x, _ in rotated], axis=0), training=training)
  rotation_logits = labeller.rotation_head(flat, training=training)
  values = {"rotation_loss": self_supervision.cross_entropy(rotation_logits, rotations),
            "rotation_accuracy": self_supervision.accuracy(rotation_logits, rotations)}
  values["loss"] = values["rotation_loss"]
  if labelled_images is not None:
    labelled_rows = tf.shape(rotated[1][0])[0]
    # rotation_batch is rotation-major, so the labels repeat once per rotation.
    targets = tf.tile(tf.cast(labels, tf.int32), [self_supervision.NUM_ROTATIONS])
    class_logits = labeller.class_head(flat[-labelled_rows:], training=training)
    values["class_loss"] = self_supervision.cross_entropy(class_logits, targets)
    values["class_accuracy"] = self_supervision.accuracy(class_logits, targets)
    values["loss"] = values["loss"] + class_weight * values["class_loss"]
  return _with_penalty(values, labeller.regularization_loss())


def _with_penalty(values: dict[str, tf.Tensor], penalty: tf.Tensor | None
                  ) -> dict[str, tf.Tensor]:
  """Adds F's penalty to "loss" and logs it as "regularization_loss"."""
  if penalty is not None:
    values["regularization_loss"] = penalty
    values["loss"] = values["loss"] + penalty
  return values


def evaluate(labeller: Labeller, batches: tf.data.Dataset) -> dict[str, float]:
  """Held-out accuracies: c_R over all four rotations, c_S²L on unrotated labelled images.

  Args:
    labeller: the model (run in inference mode).
    batches: batches of {"images", "labels"} (`data.eval_input(dataset, n)`).

  Returns:
    {"rotation_accuracy", "examples"} and, with a class head and labelled
    images, {"class_accuracy", "labelled_examples"}.
  """
  totals, examples = np.zeros(3, np.int64), 0
  for batch in batches:
    counts = labeller.eval_counts(batch["images"], tf.cast(batch["labels"], tf.int32))
    totals += np.array([int(c) for c in counts])
    examples += int(batch["labels"].shape[0])
  if not examples:
    raise ValueError("evaluate: the eval split has no examples.")
  result = {"rotation_accuracy": totals[0] / (self_supervision.NUM_ROTATIONS * examples),
            "examples": examples}
  if totals[2]:
    result.update(class_accuracy=totals[1] / totals[2], labelled_examples=int(totals[2]))
  return {k: float(v) if k.endswith("accuracy") else v for k, v in result.items()}
