"""What every regularizer shares: its gin module, its own seed, D's logits, reductions.

A regularizer is a `components.Component` (compare_gan2/gans/components.py
states the contract) registered with `@catalog.component(MODULE)`, so gin
knows it as `regularizers.<Class>` and `registered()` lists it. Nothing here
knows a GAN class: a regularizer reaches D, G and the batch through the
`DiscriminatorView` of each update.
"""

import tensorflow as tf

from compare_gan2 import global_batch
from compare_gan2 import stateless_random
from compare_gan2.gans import catalog
from compare_gan2.gans import components

MODULE = "compare_gan2.regularizers"


def registered() -> dict[str, type]:
  """Every regularizer class by name (the catalog's `regularizers.<Class>` entries)."""
  return {cls.__name__: cls for module, cls in catalog.components() if module == MODULE}


def own_seed(component: components.Component, view: components.DiscriminatorView,
             stream: int) -> tf.Tensor:
  """The component's seed for one update and one of its random streams.

  `components.component_seed` of its index in `gan.components()`, so two
  regularizers of one GAN never share draws, folded with `stream`.
  """
  owned = [i for i, c in enumerate(view.gan.components()) if c is component]
  if len(owned) != 1:
    raise ValueError(f"{component.name} is not one of its GAN's components "
                     "(list it in ModularGAN.regularizers).")
  return stateless_random.fold_in(components.component_seed(view.seed, owned[0]), stream)


def discriminator_logits(view: components.DiscriminatorView, images: tf.Tensor,
                         y: tf.Tensor | None) -> tf.Tensor:
  """D's final logits [n, 1] on other images, scored as the GAN scores its own rows.

  `gan.score` adds what a GAN variant puts on D's logits (S3GAN's projection
  of labels or predictions), so these logits compare with `view.real.logits`.
  """
  gan = view.gan
  outputs, _ = gan.score(gan.call_discriminator(images, y), y)
  return tf.cast(outputs.logits, tf.float32)


def generate(view: components.DiscriminatorView, z: tf.Tensor) -> tf.Tensor:
  """G on other latents with the fakes' labels, as the GAN made `view.fake` (float32)."""
  return tf.cast(view.gan.generator(z, view.batch.sampled_y, training=True), tf.float32)


def augment_fakes(view: components.DiscriminatorView, images: tf.Tensor) -> tf.Tensor:
  """Other fakes through the GAN's own augmentation with the fakes' seed, or unchanged.

  With the same seed, row i gets the transform D's fake row i got, so D's
  outputs on the two batches differ only by what differs in the images.
  """
  if view.gan.augment is None:
    return images
  return view.gan.augment(images, components.augment_seed(view.seed, 1))


def squared_difference(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
  """mean((a − b)²) over every element: E‖a − b‖² for D's [n, 1] logits."""
  return tf.reduce_mean(tf.square(tf.cast(a, tf.float32) - tf.cast(b, tf.float32)))


def global_mean(x: tf.Tensor) -> tf.Tensor:
  """Mean of every element of `x` over the global batch (all replicas)."""
  context = tf.distribute.get_replica_context()
  x = tf.cast(x, tf.float32)
  total, count = tf.reduce_sum(x), tf.cast(tf.size(x), tf.float32)
  if context is not None and global_batch.replica()[1] > 1:
    total, count = context.all_reduce("SUM", [total, count])
  return total / count
