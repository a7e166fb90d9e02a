"""The parts a ModularGAN is assembled from: self-supervision, augmentation, regularizers.

A ModularGAN owns G, D, a loss, a penalty, and these optional components:

- `self_supervision`: one `Component` (`self_supervision.Rotation()` for
  SS-GAN, Chen et al. 2019, arXiv 1811.11212; `self_supervision.MultiClassMinimax()`
  for MS-GAN, Tran et al. 2019, arXiv 1911.06997);
- `augment`: a differentiable augmentation, a callable `(images, seed) -> images`,
  optionally a `Component` too (for state such as ADA's p);
- `regularizers`: a list of `Component`s adding loss terms (CR, zCR, LeCam, top-k).

The GAN drives every component through the hooks below; none is called from a
constructor, so a component (or a GAN subclass) may set its state in any order.

Contract, per D or G update of one replica (ModularGAN.train_step):

1. Batch. `batch.images` [b, H, W, C] (this replica's rows of the update's
   global sub-batch, in global order), `batch.y` [b, classes] or None,
   `batch.z`, `batch.sampled_y`; `fake` [b, H, W, C] float32 (without G
   gradients on a D update).
2. Augmentation. `augment(images, seed)` runs on the reals and on the fakes
   separately, each [b, H, W, C], before anything else sees them, on D and G
   updates alike; seed [2] int64 is `augment_seed(update_seed, half)`, half 0
   for reals, 1 for fakes. Its random draws must go per global example
   (`global_batch.per_example`), so 1 and N replicas augment alike. It must be
   differentiable in `images` (G's gradient flows through it). The GAN loss
   and the penalty read D on the augmented upright rows (`view.images`).
3. Rows. `extend(images, y)` of each component returns rows appended after
   each half's (augmented) upright rows, or None: D then sees, in one call,
   concat(reals, reals' appended rows, fakes, fakes' appended rows). Rotation
   appends the 3n rotated copies of n picked rows (a pure batch transform).
4. Terms. `discriminator_terms(view)` on D updates, `generator_terms(view)` on
   G updates, each returning `Terms`: `loss` (a scalar added to the update's
   loss, already weighted; None for none), `logged` (named scalars, averaged
   per step and logged to TensorBoard and the console; their names must be in
   `metric_names()`), `gan_scale` (a factor on the GAN loss and the penalty;
   SS-GAN's "rotation_only" gives 0). Every term is this replica's mean over
   its own rows, like the GAN loss; the GAN divides the total by the replica
   count because gradients are summed over replicas. A statistic over the
   batch must reduce over replicas (`global_batch.moments`).
   `generator_logits(real, fake, view)` may choose the rows of D's real and
   fake logits ([b, 1] each) the G loss reduces over, as a pair of equal
   shapes (top-k keeps the k fakes D scores highest; the losses' G terms read
   only the fakes); the default keeps them all. A choice over the batch is
   replica-independent only if made over the global batch (all-gather).
5. State. `update(view)` runs after each D update (view.phase
   "discriminator") and each G update ("generator"), in replica context.
   Variables it assigns there need `aggregation="mean"` (or
   "only_first_replica") and a value equal on every replica.
6. Variables. A component is a Keras layer. `build_for(gan)` creates its
   variables once G and D are built (before the optimizers). With
   `side = "discriminator"` its trainable variables are trained by the D
   optimizer and checkpointed with D (build them in D's name scope:
   `discriminator/score_classify/...`); with `side = None` it may hold only
   non-trainable state, checkpointed under `components/<name>/...`.

`DiscriminatorView` gives a hook everything it may need: the GAN (D, G,
`gan.call_discriminator`), the update's batch and fakes, D's outputs on the
upright rows and on every component's appended rows, the G step and a seed
(`component_seed(view.seed, index)`) of its own.
"""

from typing import Any, NamedTuple

import keras
import tensorflow as tf

from compare_gan2 import stateless_random
from compare_gan2.architectures import base

SIDES = ("discriminator", None)
# fold_in keys of the update seed; 1 and 2 are the penalty's and the splits' own uses.
_AUGMENT_KEY, _COMPONENT_KEY = 101, 201


def augment_seed(seed: tf.Tensor, half: int) -> tf.Tensor:
  """The augmentation seed of one update: half 0 for the reals, 1 for the fakes."""
  return stateless_random.fold_in(stateless_random.fold_in(seed, _AUGMENT_KEY), half)


def component_seed(seed: tf.Tensor, index: int) -> tf.Tensor:
  """The seed of the index-th component (in `ModularGAN.components()` order) on one update."""
  return stateless_random.fold_in(stateless_random.fold_in(seed, _COMPONENT_KEY), index)


class Terms(NamedTuple):
  """What a component adds to one update's loss (see the module docstring, 4.)."""
  loss: tf.Tensor | None = None
  logged: dict[str, tf.Tensor] = {}
  gan_scale: float = 1.0


class DiscriminatorView(NamedTuple):
  """One D call of a D or G update, as the components see it."""
  gan: Any  # the ModularGAN
  phase: str  # "discriminator" or "generator"
  batch: Any  # modular_gan.SubBatch: reals as loaded, their labels, z, fake labels
  fake: tf.Tensor  # the generated images, before augmentation
  real: base.DiscriminatorOutput  # D on the upright (augmented) reals
  fake_out: base.DiscriminatorOutput  # D on the upright (augmented) fakes
  appended: dict[str, tuple[base.DiscriminatorOutput, base.DiscriminatorOutput]]  # by component
  #   name: D on the rows it appended to the reals, and to the fakes
  images: tuple[tf.Tensor, tf.Tensor]  # the upright reals and fakes D saw (augmented)
  step: tf.Tensor  # the G step (int64)
  seed: tf.Tensor  # the update's seed [2]; components fold theirs from it
  extras: dict[str, tf.Tensor]  # what a GAN variant adds (S3GAN's class logits)


class Component(keras.layers.Layer):
  """Base of the GAN's components; every hook defaults to doing nothing."""

  side: str | None = "discriminator"

  def build_for(self, gan: keras.Model) -> None:
    """Creates the variables once G and D are built; none here."""
    del gan
    self.built = True

  def metric_names(self) -> tuple[str, ...]:
    """The names of every value `Terms.logged` may hold."""
    return ()

  def extend(self, images: tf.Tensor, y: tf.Tensor | None
             ) -> tuple[tf.Tensor, tf.Tensor | None] | None:
    """Rows (images, labels) D also sees after these upright rows; None for none."""
    del images, y
    return None

  def discriminator_terms(self, view: DiscriminatorView) -> Terms:
    """Loss terms of a D update."""
    del view
    return Terms()

  def generator_terms(self, view: DiscriminatorView) -> Terms:
    """Loss terms of a G update."""
    del view
    return Terms()

  def generator_logits(self, real: tf.Tensor, fake: tf.Tensor, view: DiscriminatorView
                       ) -> tuple[tf.Tensor, tf.Tensor]:
    """The real and fake logits the G loss reduces over (all of them here)."""
    del view
    return real, fake

  def update(self, view: DiscriminatorView) -> None:
    """State changes after an update; none here."""
    del view

  def call(self, *args, **kwargs):
    raise TypeError(f"{type(self).__name__} is driven by its GAN's hooks, not called.")


def check_side(component: Component) -> None:
  """Raises a ValueError when a component's variables have no optimizer to go to."""
  side = getattr(component, "side", None)
  if side not in SIDES:
    raise ValueError(f"{type(component).__name__}.side must be one of {SIDES}, got {side!r}.")
  if side is None and component.trainable_variables:
    raise ValueError(f"{type(component).__name__} has trainable variables but side None: "
                     "set side = \"discriminator\" so the D optimizer trains them.")


def build_discriminator_head(head: keras.layers.Layer, gan: keras.Model, width: int) -> None:
  """Builds a head for [N, width] inputs in D's name scope (paths `<D>/<head>/...`).

  Its variables then checkpoint with D's under the keys they had when heads
  were D's sublayers (`score_classify/kernel`), so older checkpoints restore.
  """
  with keras.name_scope(gan.discriminator.name):
    head.build((None, width))


def merge(values: dict[str, tf.Tensor], loss_key: str, terms: list[Terms]) -> dict[str, tf.Tensor]:
  """`values` (a GAN's losses) with every component's terms added to values[loss_key]."""
  scale = 1.0
  for t in terms:
    scale *= t.gan_scale
  total = values[loss_key] if scale == 1.0 else scale * values[loss_key]
  merged = dict(values)
  for t in terms:
    if t.loss is not None:
      total += t.loss
    merged.update(t.logged)
  merged[loss_key] = total
  return merged
