"""DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient
GAN Training", arXiv 2006.10738): the authors' color, translation and cutout.

The math follows the authors' TensorFlow code, DiffAugment_tf.py at
github.com/mit-han-lab/data-efficient-gans/blob/0b6339510be1e3859d360cbf464d0a425514a6b4/DiffAugment_tf.py
(the same file as DiffAugment-biggan-imagenet/DiffAugment_tf.py there, which
their compare_gan fork applies to reals and fakes in `ModularGAN.create_loss`).
That fork feeds it compare_gan's images in [0, 1] (its datasets.py divides by
255), compare_gan2's range too, so the magnitudes below apply unchanged.

Per example (Section 3 and the code): brightness adds U[-0.5, 0.5); saturation
scales each pixel's deviation from its channel mean by U[0, 2); contrast scales
the deviation from the image mean by U[0.5, 1.5); translation shifts by whole
pixels, up to round(1/8 of the side) each way, filling with zeros; cutout zeroes
a square of half the side (rounded) at a random centre, clipped to the image.
The authors draw from TF's global generator; here every draw is stateless and
per global example (compare_gan2.augment.draws).
"""

import tensorflow as tf

from compare_gan2.augment import base
from compare_gan2.augment import draws

TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def _mean_shift_scale(x: tf.Tensor, scale: tf.Tensor, axes: list[int]) -> tf.Tensor:
  mean = tf.reduce_mean(x, axis=axes, keepdims=True)
  return (x - mean) * tf.cast(tf.reshape(scale, [-1, 1, 1, 1]), x.dtype) + mean


def brightness(x: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
  """x + U[-0.5, 0.5) per example (rand_brightness)."""
  shift = draws.uniform(tf.shape(x)[0], seed, -0.5, 0.5)
  return x + tf.cast(tf.reshape(shift, [-1, 1, 1, 1]), x.dtype)


def saturation(x: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
  """Deviation from the per-pixel channel mean times U[0, 2) (rand_saturation)."""
  return _mean_shift_scale(x, draws.uniform(tf.shape(x)[0], seed, 0.0, 2.0), [3])


def contrast(x: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
  """Deviation from the image mean times U[0.5, 1.5) (rand_contrast)."""
  return _mean_shift_scale(x, draws.uniform(tf.shape(x)[0], seed, 0.5, 1.5), [1, 2, 3])


def _shift_axis(x: tf.Tensor, shifts: tf.Tensor, axis: int) -> tf.Tensor:
  """out[b, i] = x[b, i + shifts[b]] along `axis` (1 or 2), zero outside the image.

  As the authors' gather from a one-pixel zero border: indices are clipped into
  the border, so every source outside the image reads a zero.
  """
  size = x.shape[axis]
  padding = [[0, 0]] * 4
  padding[axis] = [1, 1]
  padded = tf.pad(x, padding)
  index = tf.clip_by_value(tf.range(size)[tf.newaxis, :] + shifts + 1, 0, size + 1)  # [B, size]
  return tf.gather(padded, index, axis=axis, batch_dims=1)


def translation_shifts(height: int, width: int, ratio: float = TRANSLATION_RATIO) -> tuple[int, int]:
  """The largest shift along each axis, int(side * ratio + 0.5) as the authors."""
  return int(height * ratio + 0.5), int(width * ratio + 0.5)


def translation(x: tf.Tensor, seed: tf.Tensor, ratio: float = TRANSLATION_RATIO) -> tf.Tensor:
  """Integer shifts U{-s, ..., s} per example and axis, zero fill (rand_translation)."""
  height, width, _ = draws.check_images(x, "DiffAugment translation")
  max_y, max_x = translation_shifts(height, width, ratio)
  batch = tf.shape(x)[0]
  shift_y = draws.integers(batch, draws.stream(seed, 0), -max_y, max_y + 1)
  shift_x = draws.integers(batch, draws.stream(seed, 1), -max_x, max_x + 1)
  return _shift_axis(_shift_axis(x, shift_y, 1), shift_x, 2)


def cutout_mask(batch: tf.Tensor | int, height: int, width: int, seed: tf.Tensor,
                ratio: float = CUTOUT_RATIO) -> tf.Tensor:
  """The [B, H, W, 1] 0/1 mask of rand_cutout: zero on a size_y x size_x square.

  size = int(side * ratio + 0.5); the square's centre index is U{0, ..., side - 1
  + (1 if size is even)} and it spans [centre - size // 2, centre - size // 2 +
  size), clipped to the image (the authors clip the scatter indices, which
  zeroes exactly this intersection).
  """
  sizes = (int(height * ratio + 0.5), int(width * ratio + 0.5))
  masks = []
  for axis, (side, size) in enumerate(zip((height, width), sizes)):
    centre = draws.integers(batch, draws.stream(seed, axis), 0, side + (1 - size % 2))
    start = centre - size // 2
    index = tf.range(side)[tf.newaxis, :]
    masks.append((index >= start) & (index < start + size))  # [B, side]: inside the square
  inside = masks[0][:, :, tf.newaxis] & masks[1][:, tf.newaxis, :]
  return tf.cast(~inside, tf.float32)[..., tf.newaxis]


def cutout(x: tf.Tensor, seed: tf.Tensor, ratio: float = CUTOUT_RATIO) -> tf.Tensor:
  """x times `cutout_mask` (rand_cutout)."""
  height, width, _ = draws.check_images(x, "DiffAugment cutout")
  return x * tf.cast(cutout_mask(tf.shape(x)[0], height, width, seed, ratio), x.dtype)


# Policy name -> its ops in the authors' order (AUGMENT_FNS).
POLICIES = {
    "color": (brightness, saturation, contrast),
    "translation": (translation,),
    "cutout": (cutout,),
}
# Each op's random stream: fixed, so one op's draws never depend on the policy.
_STREAMS = {brightness: 0, saturation: 1, contrast: 2, translation: 3, cutout: 4}


def parse_policy(policy: str) -> tuple[str, ...]:
  """The policy names of a comma-separated policy ("" = no augmentation).

  Raises:
    ValueError: naming an unknown or empty entry and the known policies.
  """
  if not policy:
    return ()
  parts = tuple(p.strip() for p in policy.split(","))
  for part in parts:
    if part not in POLICIES:
      raise ValueError(f"DiffAugment policy {policy!r}: unknown entry {part!r}; "
                       f"known: {', '.join(POLICIES)} (comma-separated).")
  return parts


def apply(images: tf.Tensor, seed: tf.Tensor, parts: tuple[str, ...]) -> tf.Tensor:
  """The ops of policy `parts` (parse_policy) in the authors' order, each on its own stream."""
  for op in (op for part in parts for op in POLICIES[part]):
    images = op(images, draws.stream(seed, _STREAMS[op]))
  return images


_apply_compiled = base.compiled(apply)


@base.register("DiffAugment")
class DiffAugment(base.Augmentation):
  """DiffAugment with a comma-separated policy of 'color', 'translation', 'cutout'.

  Args:
    policy: e.g. "color,translation,cutout" (the authors' choice for small
      datasets, the default), "translation,cutout" (their BigGAN CIFAR runs) or
      "translation" (their BigGAN ImageNet runs); "" applies nothing, as theirs.
    jit_compile: run the ops compiled by XLA (base.compiled). Off by default:
      alone XLA halves their cost, but inside a CPU train step it gained
      nothing measurable (benchmarks/component_overhead.py,
      docs/regularization.md "Cost") and compiling costs about 2.5 s.
    name: the component's name (it holds no state).
  """

  def __init__(self, policy: str = "color,translation,cutout", jit_compile: bool = False,
               name: str = "diff_augment"):
    super().__init__(name=name)
    self.policy, self.jit_compile = policy, jit_compile
    self._parts = parse_policy(policy)

  def __call__(self, images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Augments float images [B, H, W, C] in [0, 1] with this step's seed [2]."""
    images = tf.convert_to_tensor(images)
    draws.check_images(images, f"DiffAugment({self.policy!r})")
    if not self._parts:
      return images
    return (_apply_compiled if self.jit_compile else apply)(images, seed, self._parts)
