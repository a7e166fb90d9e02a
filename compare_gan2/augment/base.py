"""The augmentation interface and its plain-Python registry (name -> class).

An augmentation is applied to every image the discriminator sees, real and
fake, in D and G updates, so it must be differentiable w.r.t. the images
(G's gradient flows through it) and pure given its seed. The GAN calls
`augmentation(images, seed)` with images float32 [B, H, W, C] in [0, 1] and a
stateless seed [2] for this step and sub-batch; every random draw is made per
GLOBAL example (compare_gan2.global_batch), so 1 and N replicas augment the
same example identically and a resumed run redraws what it drew before.

An augmentation is a GAN component (compare_gan2.gans.components, side None)
that the GAN drives through its hooks: stateful ones (ADA's strength p) create
their non-trainable variables in `build_for`, under the training strategy's
scope, so the GAN's checkpoint saves them (`components/<name>/...`), log
through `discriminator_terms` and `metric_names`, and read D's logits on the
augmented reals in `update` after each D update.

The registry maps the names used in configurations to classes; `register`
also lists each class in the GAN catalog, from which compare_gan2.configurables
registers it with gin as `augment.<Class>` (`@augment.DiffAugment()`).
"""

from collections.abc import Callable

import tensorflow as tf

from compare_gan2.gans import catalog
from compare_gan2.gans import components

GIN_MODULE = "compare_gan2.augment"
_CLASSES: dict[str, type["Augmentation"]] = {}


class Augmentation(components.Component):
  """Base class: `(images, seed) -> images`, plus the component hooks for stateful ones.

  `__call__` is the augmentation itself, not Keras' layer call: images stay
  float32 under any dtype policy and no Keras call machinery runs per use.
  """

  side = None

  def __call__(self, images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    raise NotImplementedError(f"{type(self).__name__} must implement __call__(images, seed).")

  def observe(self, real_logits: tf.Tensor) -> None:
    """Takes D's logits on the (augmented) real images of one D update.

    Stateless augmentations ignore them; ADA adjusts its strength from them.
    """
    del real_logits

  def update(self, view: components.DiscriminatorView) -> None:
    """After each D update (components.py, 5.): `observe` D's logits on its augmented reals."""
    if view.phase == "discriminator":
      self.observe(view.real.logits)

  def metric_names(self) -> tuple[str, ...]:
    """The names `summaries` returns, logged each step."""
    return ()

  def discriminator_terms(self, view: components.DiscriminatorView) -> components.Terms:
    """No loss; `summaries` logged (to TensorBoard and the console) on each D update."""
    del view
    return components.Terms(logged=self.summaries())

  def summaries(self) -> dict[str, tf.Tensor]:
    """Scalars worth logging each step (name -> value); none by default."""
    return {}


def compiled(fn: Callable[..., tf.Tensor]) -> Callable[..., tf.Tensor]:
  """A pure augmentation function `fn(images, seed, *static)` compiled by XLA.

  Why: an augmentation is hundreds of small ops on a few hundred kilobytes
  (per-example draws, index arithmetic, gathers); TensorFlow's executor pays per op,
  XLA fuses them into a few loops. Measured alone on 64 32x32 images, 2 CPU
  cores (benchmarks/augment_overhead.py, December 2026): ADA 'bgc' forward 9.9
  -> 4.2 ms, with backward 11.7 -> 8.3 ms; DiffAugment's three policies 7.2 ->
  3.1 ms and 7.7 -> 5.0 ms. Inside a whole CPU train step ADA's gain was about
  3% of a DCGAN step (within the noise on ResNet-CIFAR) and DiffAugment's fell
  within the noise (benchmarks/component_overhead.py, docs/regularization.md
  "Cost"), so ADA compiles by default and DiffAugment does not. Compiling costs
  about 1 s (DiffAugment) to 2 s (ADA) per image shape, and again for the
  backward pass; made at module level, one compilation serves every instance in
  the process. Under an XLA-compiled train step (TPUStrategy) the inner
  compilation is part of the outer one. The compiled function is deterministic,
  so resume stays bitwise exact; it is not bitwise equal to the uncompiled one
  (XLA rounds some fused arithmetic otherwise, ~1e-5). Static arguments (policy,
  pipeline) must be hashable.
  """
  return tf.function(fn, jit_compile=True, autograph=False)


def register(name: str) -> Callable[[type[Augmentation]], type[Augmentation]]:
  """Class decorator: makes the class available as `name` in `get` and `names`, and
  to gin as `augment.<name>` (the class's own name)."""
  def decorator(cls: type[Augmentation]) -> type[Augmentation]:
    if name != cls.__name__:
      raise ValueError(f"Augmentation {cls.__qualname__} must be registered under its class "
                       f"name (gin's name for it), not {name!r}.")
    if name in _CLASSES and _CLASSES[name] is not cls:
      raise ValueError(f"Augmentation name {name!r} is taken by {_CLASSES[name].__qualname__}.")
    if not (isinstance(cls, type) and issubclass(cls, Augmentation)):
      raise TypeError(f"{cls!r} registered as augmentation {name!r} is not an Augmentation.")
    _CLASSES[name] = cls
    return catalog.component(GIN_MODULE)(cls)
  return decorator


def get(name: str) -> type[Augmentation]:
  """The class registered as `name`; a clear error listing the known names otherwise."""
  if name not in _CLASSES:
    raise KeyError(f"Unknown augmentation {name!r}; known: {', '.join(names())}.")
  return _CLASSES[name]


def names() -> list[str]:
  """Every registered augmentation name, sorted."""
  return sorted(_CLASSES)
