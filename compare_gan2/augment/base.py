"""The augmentation interface and its plain-Python registry (name -> class).

An augmentation is applied to every image the discriminator sees, real and
fake, in D and G updates, so it must be differentiable w.r.t. the images
(G's gradient flows through it) and pure given its seed. The GAN calls
`augmentation(images, seed)` with images float32 [B, H, W, C] in [0, 1] and a
stateless seed [2] for this step and sub-batch; every random draw is made per
GLOBAL example (compare_gan2.global_batch), so 1 and N replicas augment the
same example identically and a resumed run redraws what it drew before.

Stateful augmentations (ADA's strength p) keep their state in tf.Variables of
this tf.Module, so a tf.train.Checkpoint that tracks the object saves it; the
GAN reports D's logits on real images through `update` once per D step.

The registry maps the names used in configurations to classes; gin
registration happens at the edge (compare_gan2.configurables), not here.
"""

from collections.abc import Callable

import tensorflow as tf

_CLASSES: dict[str, type["Augmentation"]] = {}


class Augmentation(tf.Module):
  """Base class: `(images, seed) -> images`, plus hooks for stateful ones."""

  def __call__(self, images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    raise NotImplementedError(f"{type(self).__name__} must implement __call__(images, seed).")

  def update(self, real_logits: tf.Tensor) -> None:
    """Observes D's logits on the (augmented) real images of one D step.

    Stateless augmentations ignore them; ADA adjusts its strength from them.
    """
    del real_logits

  def summaries(self) -> dict[str, tf.Tensor]:
    """Scalars worth logging each step (name -> value); none by default."""
    return {}


def register(name: str) -> Callable[[type[Augmentation]], type[Augmentation]]:
  """Class decorator: makes the class available as `name` in `get` and `names`."""
  def decorator(cls: type[Augmentation]) -> type[Augmentation]:
    if name in _CLASSES and _CLASSES[name] is not cls:
      raise ValueError(f"Augmentation name {name!r} is taken by {_CLASSES[name].__qualname__}.")
    if not (isinstance(cls, type) and issubclass(cls, Augmentation)):
      raise TypeError(f"{cls!r} registered as augmentation {name!r} is not an Augmentation.")
    _CLASSES[name] = cls
    return cls
  return decorator


def get(name: str) -> type[Augmentation]:
  """The class registered as `name`; a clear error listing the known names otherwise."""
  if name not in _CLASSES:
    raise KeyError(f"Unknown augmentation {name!r}; known: {', '.join(names())}.")
  return _CLASSES[name]


def names() -> list[str]:
  """Every registered augmentation name, sorted."""
  return sorted(_CLASSES)
