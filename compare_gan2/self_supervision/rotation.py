"""SS-GAN's rotation task as a GAN component: `self_supervision.Rotation()`.

Chen et al. 2019, "Self-Supervised GANs via Auxiliary Rotation Loss" (CVPR,
arXiv 1811.11212, eq. (1)-(2)):
  L_D = L_D^GAN + β·E_{x~P_data} E_r[−log Q_D(r | x^r)]
  L_G = L_G^GAN + α·E_{x~P_G} E_r[−log Q_D(r | x^r)]
with β = `weight_rotation_loss_d` = 1.0 and α = `weight_rotation_loss_g` = 0.2.
compare_gan `gans/ssgan.py`, per D or G update: n images of the real and of
the fake sub-batch are rotated by 90°, 180° and 270°, and D is called once on
concat(real, real rotated, fake, fake rotated); the GAN loss sees the upright
rows, the rotation loss the n upright rows plus their 3n rotations (labels
0…3, rotation-major). Rotation is a pure batch transform (`extend`); the head
Q_D is this component's, built on D's feature width with D's spectral norm.

How this departs from compare_gan (rotated fakes keep their own labels, the
rotated rows are strided, the head is the component's) is listed, with the
numbers each change moves, in gans/ssgan.py's docstring.
"""

from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf

from compare_gan2.gans import catalog
from compare_gan2.gans import components
from compare_gan2.self_supervision import rotations as ss

MODULE = "compare_gan2.self_supervision"
MODES = ("rotation_gan", "rotation_only")


def _num_replicas() -> int:
  context = tf.distribute.get_replica_context()
  return 1 if context is None else context.num_replicas_in_sync


def _check_rows(rotated_batch_size: int | None, rotated_batch_fraction: int | None) -> None:
  if (rotated_batch_size is None) == (rotated_batch_fraction is None):
    raise ValueError("Set exactly one of rotated_batch_size and rotated_batch_fraction, got "
                     f"{rotated_batch_size} and {rotated_batch_fraction}.")
  for name, value in (("rotated_batch_size", rotated_batch_size),
                      ("rotated_batch_fraction", rotated_batch_fraction)):
    if value is not None and value < 1:
      raise ValueError(f"{name} must be >= 1, got {value}.")


@catalog.component(MODULE)
class Rotation(components.Component):
  """The rotation task: rotated rows for D, a 4-way head on D's features, its losses."""

  HEAD_UNITS = ss.NUM_ROTATIONS
  side = "discriminator"

  def __init__(self, weight_rotation_loss_d: float = 1.0, weight_rotation_loss_g: float = 0.2,
               rotated_batch_size: int | None = None, rotated_batch_fraction: int | None = None,
               mode: str = "rotation_gan", **kwargs: Any):
    """Creates the task; its head is made when the GAN builds it.

    Args:
      weight_rotation_loss_d: β, weight of the real-image rotation loss in D.
      weight_rotation_loss_g: α, weight of the fake-image rotation loss in G.
      rotated_batch_size: global number of rotation rows per update (4n summed
        over replicas), compare_gan SSGAN's parameter.
      rotated_batch_fraction: per-replica sub-batch size / rotation rows,
        compare_gan S3GAN's parameter. Set exactly one of the two.
      mode: "rotation_gan" (GAN + rotation losses) or "rotation_only" (the GAN
        losses and penalty zeroed, as compare_gan's ssgan.py:212-214).
      **kwargs: Keras layer arguments (name).
    """
    if mode not in MODES:
      raise ValueError(f"self_supervision mode must be one of {MODES}, got {mode!r}.")
    _check_rows(rotated_batch_size, rotated_batch_fraction)
    kwargs.setdefault("name", "rotation")
    super().__init__(**kwargs)
    self.weight_rotation_loss_d, self.weight_rotation_loss_g = (weight_rotation_loss_d,
                                                                weight_rotation_loss_g)
    self.rotated_batch_size, self.rotated_batch_fraction = rotated_batch_size, rotated_batch_fraction
    self.mode = mode
    self.head = None

  def build_for(self, gan: keras.Model) -> None:
    """The head `linear(features, units, scope="score_classify", use_sn=D's SN)` (ssgan.py:80-102).

    Raises:
      ValueError: if this component already serves another GAN.
    """
    if self.head is not None:
      raise ValueError(f"{self.name} already has a head: use a fresh {type(self).__name__} "
                       "per GAN.")
    d = gan.discriminator
    self.head = ss.make_head(self.HEAD_UNITS, d.spectral_norm, d.kernel_initializer)
    components.build_discriminator_head(self.head, gan, ss.feature_width(d, gan.conditional))
    self.built = True

  def metric_names(self) -> tuple[str, ...]:
    """compare_gan's `c_real_loss`, `c_fake_loss` and `accuracy/d_rotation`."""
    return ("c_real_loss", "c_fake_loss", "d_rotation_accuracy")

  def rotated_per_replica(self, batch_size: int) -> int:
    """n, the examples of a per-replica sub-batch of `batch_size` that get rotated.

    Raises:
      ValueError: naming the parameter when n is not a whole number in
        [1, batch_size] dividing batch_size (needed for replica independence).
    """
    replicas = _num_replicas()
    rows = None
    if self.rotated_batch_fraction is not None:
      name, value = "rotated_batch_fraction", self.rotated_batch_fraction
      if batch_size % value == 0:
        rows = batch_size // value
    else:
      name, value = "rotated_batch_size", self.rotated_batch_size
      if value % replicas == 0:
        rows = value // replicas
    n = 0 if rows is None or rows % ss.NUM_ROTATIONS else rows // ss.NUM_ROTATIONS
    if not 1 <= n <= batch_size or batch_size % n:
      raise ValueError(
          f"{name}={value} does not fit a per-replica sub-batch of {batch_size} on {replicas} "
          f"replica(s): the rotation rows per replica must be 4n with n dividing {batch_size}.")
    return n

  def rotation_picker(self, size: int) -> Callable[[tf.Tensor], tf.Tensor]:
    """Picks the n rows of a per-replica sub-batch of `size` that get rotated."""
    stride = size // self.rotated_per_replica(size)
    return lambda t: t[stride - 1::stride]

  def extend(self, images: tf.Tensor, y: tf.Tensor | None
             ) -> tuple[tf.Tensor, tf.Tensor | None]:
    """The 3n rotated copies (90°, 180°, 270°) of the n picked rows, with their labels."""
    pick = self.rotation_picker(images.shape[0])
    rotated, labels = ss.rotation_batch(pick(images))
    n = labels.shape[0] // ss.NUM_ROTATIONS
    tiled = None if y is None else tf.tile(pick(y), [ss.NUM_ROTATIONS - 1, 1])
    return rotated[n:], tiled

  def head_logits(self, view: components.DiscriminatorView
                  ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(head logits [4n, units] of the reals' rotation rows, of the fakes', labels [4n]).

    One head call per update on both halves, as compare_gan's one call on all
    of D's features (its spectral norm's power iteration steps once).
    """
    pick = self.rotation_picker(view.batch.images.shape[0])
    real_rotated, fake_rotated = view.appended[self.name]
    rows = [pick(view.real.features), real_rotated.features,
            pick(view.fake_out.features), fake_rotated.features]
    logits = self.head(tf.concat([ss.flat_features(r) for r in rows], axis=0), training=True)
    real, fake = tf.split(logits, 2, axis=0)
    n = tf.shape(real)[0] // ss.NUM_ROTATIONS
    return real, fake, tf.repeat(tf.range(ss.NUM_ROTATIONS, dtype=tf.int32), n)

  @property
  def gan_scale(self) -> float:
    """0 in "rotation_only" (the GAN loss and penalty dropped), else 1."""
    return 0.0 if self.mode == "rotation_only" else 1.0

  def discriminator_terms(self, view: components.DiscriminatorView) -> components.Terms:
    """β·CE(rotation | real) (ssgan.py:197-216) and D's rotation accuracy on reals."""
    real, _, labels = self.head_logits(view)
    c_real = ss.cross_entropy(real, labels)
    return components.Terms(self.weight_rotation_loss_d * c_real, {
        "c_real_loss": c_real, "d_rotation_accuracy": ss.accuracy(real, labels)}, self.gan_scale)

  def generator_terms(self, view: components.DiscriminatorView) -> components.Terms:
    """α·CE(rotation | fake) (ssgan.py:197-216)."""
    _, fake, labels = self.head_logits(view)
    c_fake = ss.cross_entropy(fake, labels)
    return components.Terms(self.weight_rotation_loss_g * c_fake, {"c_fake_loss": c_fake},
                            self.gan_scale)
