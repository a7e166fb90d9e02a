"""ModularGAN: compare_gan's GAN as a Keras model with a custom `train_step`.

compare_gan `gans/modular_gan.py`. One call of
`train_step` is one compare_gan "unrolled" step: `disc_iters` discriminator
updates, then one generator update, each on its own sub-batch of real images and
its own z (compare_gan's TPU semantics, :428-442). The local batch is split into
`disc_iters + 1` strided sub-batches (x[i::disc_iters+1]) rather than compare_gan's
contiguous chunks: with the data pipeline giving replica r the r-th slice of the
global batch, each sub-batch then holds the same examples on 1 or N replicas, so
training does not depend on the replica count. Sub-batch sizes are compare_gan's.

D is called once on concat(real, fake) per update, as compare_gan does, and
losses are scaled by 1/replicas because gradients are summed across replicas.
z, the labels of conditional fakes and the penalty's points
are drawn statelessly from (seed, G step, global example index)
(`global_batch.per_example`), so a resumed run, and a run on any number of
replicas, draws the same.

Self-supervision, augmentation and regularizers are components the GAN owns
and drives (components.py states their contract): `self_supervision =
@self_supervision.Rotation()` works with any GAN class. Variants (S3GAN) add
heads of their own with `discriminator_heads`, `score` and the
`gan_*_losses` hooks.
"""

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import keras
import tensorflow as tf

from compare_gan2 import global_batch
from compare_gan2 import losses
from compare_gan2 import penalties
from compare_gan2 import precision
from compare_gan2 import registry
from compare_gan2 import schedules
from compare_gan2 import stateless_random
from compare_gan2.architectures import base
from compare_gan2.gans import catalog
from compare_gan2.gans import components as component_lib
from compare_gan2.gans import ema as ema_lib

Augment = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]
BASE_METRICS = ("d_loss", "d_loss_real", "d_loss_fake", "penalty", "g_loss")


@registry.register(module="compare_gan2.gans", denylist=("shape", "seed"))
def uniform_latent(shape: Any, seed: tf.Tensor, minval: float = -1.0,
                   maxval: float = 1.0) -> tf.Tensor:
  """z ~ U[minval, maxval), compare_gan's default `z` (modular_gan.py:365-384)."""
  return stateless_random.uniform(shape, seed, minval=minval, maxval=maxval)


@registry.register(module="compare_gan2.gans", denylist=("shape", "seed"))
def normal_latent(shape: Any, seed: tf.Tensor, stddev: float = 1.0) -> tf.Tensor:
  """z ~ N(0, stddev²), compare_gan's `z.distribution_fn = @tf.random.normal`."""
  return stateless_random.normal(shape, seed, stddev=stddev)


class SubBatch(NamedTuple):
  """What one D or G update sees: real images, their one-hot labels, z, fake labels."""
  images: tf.Tensor
  y: tf.Tensor | None
  z: tf.Tensor
  sampled_y: tf.Tensor | None


def _checked_classes(generator: keras.Model, disc_iters: int, conditional: bool) -> int:
  """G's number of classes, after checking disc_iters and conditional."""
  if disc_iters < 1:
    raise ValueError(f"disc_iters must be >= 1, got {disc_iters}.")
  num_classes = getattr(generator, "num_classes", 0)
  if conditional and not num_classes:
    raise ValueError("conditional=True needs a generator built with num_classes > 0.")
  return num_classes


@catalog.gan
class ModularGAN(keras.Model):
  """G and D trained with a GAN loss, an optional D penalty and optional G EMA."""

  def __init__(self, generator: keras.Model, discriminator: keras.Model,
               loss_fn: losses.LossFn = losses.non_saturating,
               penalty_fn: penalties.PenaltyFn = penalties.no_penalty,
               penalty_weight: float = penalties.DEFAULT_PENALTY_WEIGHT, disc_iters: int = 1,
               z_fn: Callable[..., tf.Tensor] = uniform_latent, conditional: bool = False,
               fit_label_distribution: bool = False, ema: ema_lib.EmaConfig | None = None,
               seed: int = 0, self_supervision: component_lib.Component | None = None,
               augment: Augment | None = None, regularizers: Sequence[component_lib.Component] = (),
               **kwargs):
    """Creates the GAN (compare_gan's ModularGAN parameters, :60-158).

    Args:
      generator: maps (z, y) to images in [0, 1] (architectures.base contract).
      discriminator: maps (images, y) to (probabilities, logits, features).
      loss_fn: a `losses` function (compare_gan `loss.fn`).
      penalty_fn: a `penalties` function (compare_gan `penalty.fn`).
      penalty_weight: weight of the penalty in the D loss (compare_gan `options.lamba`).
      disc_iters: D updates per G update.
      z_fn: stateless latent sampler `(shape, seed) -> z`.
      conditional: feed one-hot labels to G and D (needs num_classes > 0).
      fit_label_distribution: fakes take the real labels of their sub-batch
        instead of uniformly sampled classes.
      ema: keep an EMA of G's weights (compare_gan `g_use_ema`); None for off.
      seed: seed of z, fake labels and penalty points.
      self_supervision: a self-supervised task (`self_supervision.Rotation()`).
      augment: `(images, seed) -> images` on every image D sees, or a component (`augment.ADA()`).
      regularizers: Components adding loss terms (components.py, 4.-5.).
      **kwargs: Keras model arguments.
    """
    super().__init__(**kwargs)
    num_classes = _checked_classes(generator, disc_iters, conditional)
    self.generator, self.discriminator = generator, discriminator
    self.loss_fn, self.penalty_fn, self.penalty_weight = loss_fn, penalty_fn, penalty_weight
    self.disc_iters, self.z_fn, self.seed = disc_iters, z_fn, seed
    self.conditional, self.fit_label_distribution, self.num_classes = (
        conditional, fit_label_distribution, num_classes)
    self.ema = None if ema is None else ema_lib.GeneratorEma(generator, ema)
    self.self_supervision, self.augment, self.regularizers = (
        self_supervision, augment, list(regularizers))
    self._trackers = None  # made on first use: metric_names may read any later state

  def components(self) -> list[component_lib.Component]:
    """Self-supervision, a stateful augmentation, then the regularizers, in hook order."""
    stateful = self.augment if isinstance(self.augment, component_lib.Component) else None
    return [c for c in (self.self_supervision, stateful, *self.regularizers) if c is not None]

  def metric_names(self) -> tuple[str, ...]:
    """The logged values: the GAN's and its components'; variants add theirs."""
    return (*BASE_METRICS, *(n for c in self.components() for n in c.metric_names()))

  @property
  def trackers(self) -> dict[str, keras.metrics.Mean]:
    """A mean tracker per metric name (created on first use, outside any tf.function)."""
    if self._trackers is None:
      self._trackers = {name: keras.metrics.Mean(name=name) for name in self.metric_names()}
    return self._trackers

  @property
  def metrics(self) -> list[keras.metrics.Metric]:
    """Mean trackers, reset by `fit` every epoch."""
    return list(self.trackers.values())

  def compile(self, d_optimizer: keras.optimizers.Optimizer,
              g_optimizer: keras.optimizers.Optimizer, **kwargs) -> None:
    """Sets the two optimizers (TTUR: give them different learning rates).

    Their compare_gan2.schedules learning-rate schedules then count training
    steps: D's makes disc_iters updates per step, G's one.
    """
    super().compile(**kwargs)
    schedules.bind_to_training_steps(d_optimizer, self.disc_iters, "the D optimizer")
    schedules.bind_to_training_steps(g_optimizer, 1, "the G optimizer")
    # Under mixed_float16 both get a dynamic loss scale (precision.py); else unchanged.
    self.d_optimizer = precision.loss_scale_optimizer(d_optimizer)
    self.g_optimizer = precision.loss_scale_optimizer(g_optimizer)

  def build_networks(self) -> None:
    """Builds G, D, the EMA twin and both optimizers, from shapes alone.

    Keras would otherwise build the model by calling it on a data batch, which
    a GAN cannot take (docs/design.md §4); call this (in the strategy scope)
    before `fit`, restoring a checkpoint, or the runner's own loop.
    """
    self.generator.build_variables(conditional=self.conditional)
    self.discriminator.build_variables(conditional=self.conditional)
    self.build_heads()
    if self.ema is not None:
      self.ema.build()
    if getattr(self, "d_optimizer", None) is None:
      raise ValueError("compile(d_optimizer=..., g_optimizer=...) before build_networks().")
    self.d_optimizer.build(self.discriminator_trainable_variables())
    self.g_optimizer.build(self.generator.trainable_variables)
    self.trackers  # pylint: disable=pointless-statement  (created here, not in a trace)
    self.built = True

  def build_heads(self) -> None:
    """Builds the components' variables (D's heads), after G and D, before the optimizers."""
    for component in self.components():
      if not component.built:
        component.build_for(self)
        component.gan_id = id(self)
      elif getattr(component, "gan_id", id(self)) != id(self):
        raise ValueError(f"{component.name} is already built for another GAN: use a fresh "
                         f"{type(component).__name__} per GAN (its variables would be shared).")
      component_lib.check_side(component)

  def discriminator_heads(self) -> list[keras.layers.Layer]:
    """Layers the GAN owns on D's side: trained by the D optimizer, checkpointed with D."""
    return [c for c in self.components() if c.side == "discriminator"]

  def discriminator_trainable_variables(self) -> list[keras.Variable]:
    """What the D optimizer trains: D's trainable variables, then its heads'."""
    heads = [v for head in self.discriminator_heads() for v in head.trainable_variables]
    return [*self.discriminator.trainable_variables, *heads]

  def call(self, z: tf.Tensor, y: tf.Tensor | None = None, training: bool = False) -> tf.Tensor:
    """Samples images: the EMA generator when there is one (as compare_gan exports)."""
    generator = self.generator if self.ema is None else self.ema.generator
    return generator(z, y, training=training)

  # -- one training step ---------------------------------------------------

  def train_step(self, data: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """disc_iters D updates, then one G update (compare_gan model_fn, :512-604)."""
    step = tf.cast(self.g_optimizer.iterations, tf.int64)
    seed = tf.stack([tf.constant(self.seed, tf.int64), step])
    sub_batches = self.split_batch(data, seed)
    for index, sub_batch in enumerate(sub_batches[:-1]):
      self._d_step(sub_batch, stateless_random.fold_in(seed, index + 1))
    self._g_step(sub_batches[-1], stateless_random.fold_in(seed, 0))
    return {name: tracker.result() for name, tracker in self.trackers.items()}

  def split_batch(self, data: dict[str, tf.Tensor], seed: tf.Tensor) -> list[SubBatch]:
    """Strided sub-batches of the local batch, with z and fake labels drawn."""
    images = tf.convert_to_tensor(data["images"])
    parts = self.disc_iters + 1
    local = images.shape[0]
    if local is not None and local % parts:
      raise ValueError(f"The per-replica batch ({local}) must be divisible by disc_iters + 1 "
                       f"({parts}).")
    local = tf.shape(images)[0]
    z = self._global_draw(lambda n, s: self.z_fn([n, self.generator.z_dim], s), local, seed, 1)
    y = sampled_y = None
    if self.conditional:
      labels = tf.convert_to_tensor(data["labels"])
      y = self.real_labels(data)
      sampled = labels if self.fit_label_distribution else self._global_draw(
          lambda n, s: stateless_random.integers([n], s, 0, self.num_classes),
          local, seed, 2)
      sampled_y = tf.one_hot(sampled, self.num_classes)
    pick = lambda t, i: None if t is None else t[i::parts]
    return [SubBatch(pick(images, i), pick(y, i), pick(z, i), pick(sampled_y, i))
            for i in range(parts)]

  def real_labels(self, data: dict[str, tf.Tensor]) -> tf.Tensor:
    """The label matrix D sees for the reals: one-hot, unlabelled (-1) rows all zeros."""
    return tf.one_hot(data["labels"], self.num_classes)

  def _global_draw(self, draw: Callable, local: tf.Tensor, seed: tf.Tensor, key: int) -> tf.Tensor:
    # Example j gets the same value whatever the number of replicas.
    return global_batch.per_example(draw, local, stateless_random.fold_in(seed, key))

  def _d_step(self, batch: SubBatch, seed: tf.Tensor) -> None:
    # compare_gan generates the fakes before the D update, without G gradients.
    # Images and losses are float32 under any policy (precision.py); casts of
    # float32 are no-ops.
    fake = self.generator(batch.z, batch.sampled_y, training=True)
    fake = tf.stop_gradient(tf.cast(fake, tf.float32))
    variables = self.discriminator_trainable_variables()
    with tf.GradientTape() as tape:
      values, view = self.update_values("discriminator", batch, fake, seed)
      # scale_loss: the float16 loss scale (precision.py), which apply() divides out.
      loss = self.d_optimizer.scale_loss(tf.cast(values["d_loss"], tf.float32) / global_batch.replica()[1])
    self.d_optimizer.apply(tape.gradient(loss, variables), variables)
    self._after_update(values, view)

  def _g_step(self, batch: SubBatch, seed: tf.Tensor) -> None:
    variables = self.generator.trainable_variables
    with tf.GradientTape() as tape:
      fake = tf.cast(self.generator(batch.z, batch.sampled_y, training=True), tf.float32)
      values, view = self.update_values("generator", batch, fake, seed)
      loss = self.g_optimizer.scale_loss(tf.cast(values["g_loss"], tf.float32) / global_batch.replica()[1])
    self.g_optimizer.apply(tape.gradient(loss, variables), variables)
    if self.ema is not None:
      self.ema.update(self.g_optimizer.iterations)
    self._after_update(values, view)

  def _after_update(self, values: dict[str, tf.Tensor], view: component_lib.DiscriminatorView) -> None:
    for component in self.components():
      component.update(view)
    for name, value in values.items():
      self.trackers[name].update_state(value)

  # -- one D call, the losses, and the hooks of variants ----------------------

  def call_discriminator(self, images: tf.Tensor, y: tf.Tensor | None,
                         training: bool = True) -> base.DiscriminatorOutput:
    """D on images as given (augment them first where they stand for a batch D sees)."""
    return self.discriminator(images, y=y, training=training)

  def discriminate(self, batch: SubBatch, fake: tf.Tensor, seed: tf.Tensor,
                   phase: str = "discriminator") -> component_lib.DiscriminatorView:
    """One D call on every row of an update (compare_gan create_loss, :618-670).

    Each half (reals, fakes) is augmented, then followed by the rows the
    components append (components.py, 2.-3.); D sees
    concat(reals, their appended rows, fakes, their appended rows).
    """
    _check_same_image_shape(batch.images, fake)
    parts, halves, counts = [], [], []
    for half, (images, y) in enumerate(((batch.images, batch.y), (fake, batch.sampled_y))):
      if self.augment is not None:
        images = self.augment(images, component_lib.augment_seed(seed, half))
      halves.append(images)
      parts.append((None, images, y))
      for component in self.components():
        rows = component.extend(images, y)
        if rows is not None:
          parts.append((component.name, *rows))
      counts.append(len(parts))
    if 2 * counts[0] != counts[1]:
      raise ValueError("A component appended rows to only one half of D's batch: extend() must "
                       "return rows for both the reals and the fakes, or None for both.")
    y = None if batch.y is None else tf.concat([p[2] for p in parts], axis=0)
    outputs = self.call_discriminator(tf.concat([p[1] for p in parts], axis=0), y)
    outputs, extras = self.score(outputs, y)
    sizes = tf.stack([tf.shape(p[1])[0] for p in parts])
    pieces = [tf.split(t, sizes, num=len(parts), axis=0) for t in outputs]
    split = [base.DiscriminatorOutput(*[p[i] for p in pieces]) for i in range(len(parts))]
    appended, half = {}, len(parts) // 2
    for index in range(1, half):
      appended[parts[index][0]] = (split[index], split[half + index])
    step = tf.cast(self.g_optimizer.iterations, tf.int64)
    return component_lib.DiscriminatorView(self, phase, batch, fake, split[0], split[half], appended,
                                        tuple(halves), step, seed, extras)

  def score(self, outputs: base.DiscriminatorOutput, y: tf.Tensor | None
            ) -> tuple[base.DiscriminatorOutput, dict[str, tf.Tensor]]:
    """D's outputs on every row, as the GAN scores them (S3GAN adds its heads); unchanged."""
    del y
    return outputs, {}

  def update_values(self, phase: str, batch: SubBatch, fake: tf.Tensor, seed: tf.Tensor
                    ) -> tuple[dict[str, tf.Tensor], component_lib.DiscriminatorView]:
    """The losses of a D or G update with their logged parts, and the view they came from."""
    view = self.discriminate(batch, fake, seed, phase)
    if phase == "discriminator":
      values, terms, key = self.gan_discriminator_losses(view), "discriminator_terms", "d_loss"
    else:
      values, terms, key = self.gan_generator_losses(view), "generator_terms", "g_loss"
    return component_lib.merge(values, key, [getattr(c, terms)(view) for c in self.components()]), view

  def discriminator_losses(self, batch: SubBatch, fake: tf.Tensor,
                           seed: tf.Tensor) -> dict[str, tf.Tensor]:
    """D loss and its logged parts, components' terms included; contains "d_loss"."""
    return self.update_values("discriminator", batch, fake, seed)[0]

  def generator_losses(self, batch: SubBatch, fake: tf.Tensor,
                       seed: tf.Tensor) -> dict[str, tf.Tensor]:
    """G loss and its logged parts, components' terms included; contains "g_loss"."""
    return self.update_values("generator", batch, fake, seed)[0]

  def gan_discriminator_losses(self, view: component_lib.DiscriminatorView) -> dict[str, tf.Tensor]:
    """The GAN loss of D and the penalty, on the images D saw (augmented, upright)."""
    gan = self.loss_fn(view.real.logits, view.fake_out.logits)
    penalty = self.penalty_fn(self.discriminator, *view.images, view.batch.y,
                              training=True, seed=view.seed)
    return {"d_loss": gan.d_loss + self.penalty_weight * penalty,
            "d_loss_real": gan.d_loss_real, "d_loss_fake": gan.d_loss_fake, "penalty": penalty}

  def gan_generator_losses(self, view: component_lib.DiscriminatorView) -> dict[str, tf.Tensor]:
    """The GAN loss of G over the fake logits the components keep (all but for top-k)."""
    real, fake = view.real.logits, view.fake_out.logits
    for component in self.components():
      real, fake = component.generator_logits(real, fake, view)
    return {"g_loss": self.loss_fn(real, fake).g_loss}


def _check_same_image_shape(real: tf.Tensor, fake: tf.Tensor) -> None:
  """Names the mismatch of a G configured for other images than the dataset's (at trace time)."""
  shapes = [list(t.shape[1:]) for t in (real, fake)]
  if all(None not in s for s in shapes) and shapes[0] != shapes[1]:
    real_shape, fake_shape = (f"[{','.join(map(str, s))}]" for s in shapes)
    raise ValueError(f"The dataset's images are {real_shape} but the generator makes "
                     f"{fake_shape}: set the architecture's image_shape to the dataset's.")
