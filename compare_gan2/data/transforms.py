"""Image transforms of the input pipeline: decoding, channels, crops, resizes.

Every function maps one image (no batch dimension) and runs inside tf.data.
Random crops take an explicit stateless seed (shape [2]) that the pipeline
derives from (seed, global example index), so they are a pure function of it.

Two resizes on purpose:
- `legacy_resize` is TF1's bilinear resize (align_corners=False,
  half_pixel_centers=False, no antialiasing), which compare_gan used for CelebA
  and ImageNet (`datasets.py:394`, `:474`). TF2's `tf.image.resize` differs by
  up to 158 intensity levels (docs/design.md §8), so the named
  datasets keep the legacy op for parity.
- `fit_image` (custom data) resizes with antialiased bilinear: user photos are
  usually much larger than the target and would alias badly without it.
"""

import tensorflow as tf

CROP_METHODS = ("distorted", "random", "middle", "zoomed", "none")

# Leading bytes of the formats tf.io.decode_image reads.
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"BM")


def to_unit_float(image: tf.Tensor) -> tf.Tensor:
  """uint8 [0, 255] -> float32 [0, 1] (compare_gan `datasets.py:225-227`)."""
  return tf.cast(image, tf.float32) / 255.0


def _starts_with(contents: tf.Tensor, magic: bytes) -> tf.Tensor:
  return tf.equal(tf.strings.substr(contents, 0, len(magic)), magic)


def looks_like_image(contents: tf.Tensor) -> tf.Tensor:
  """True if the bytes start like a JPEG, PNG, GIF or BMP file (cheap, in-graph)."""
  return tf.reduce_any([_starts_with(contents, magic) for magic in _MAGIC])


def decode(contents: tf.Tensor, channels: int, where: tf.Tensor | str = "") -> tf.Tensor:
  """Decodes a JPEG/PNG/GIF/BMP to uint8 [H, W, channels] (1 or 3).

  Gray, gray+alpha, RGB and RGBA files all convert (alpha is dropped). An
  empty or non-image file fails an assertion whose message names `where`
  (the file); TensorFlow's own decoder errors cannot carry the name, which is
  why the custom sources can also validate every file up front.
  """
  check = tf.debugging.Assert(looks_like_image(contents),
                              ["Not a JPEG/PNG/GIF/BMP image (empty or corrupt file):", where])
  with tf.control_dependencies([check]):
    if channels == 1:
      # The GIF decoder only produces RGB.
      image = tf.cond(
          _starts_with(contents, b"GIF8"),
          lambda: convert_channels(_decode(contents, 3, 3), 1),
          lambda: _decode(contents, 1, 1))
    else:
      image = _decode(contents, channels, channels)
  image.set_shape([None, None, channels])
  return image


def _decode(contents: tf.Tensor, channels: int, static_channels: int) -> tf.Tensor:
  image = tf.io.decode_image(contents, channels=channels, expand_animations=False)
  image.set_shape([None, None, static_channels])
  return image


def convert_channels(image: tf.Tensor, channels: int) -> tf.Tensor:
  """Converts a [H, W, C] image with a static C in {1, 2, 3, 4} to `channels`.

  Alpha (C = 2 or 4) is dropped; gray -> RGB tiles, RGB -> gray uses
  `tf.image.rgb_to_grayscale` (ITU-R 601 luma), rounded for integer images.

  Raises:
    ValueError: for a channel count that cannot be converted.
  """
  have = image.shape[-1]
  if have not in (1, 2, 3, 4) or channels not in (1, 3):
    raise ValueError(f"cannot convert an image with {have} channels to {channels} channels "
                     "(supported: 1, 2, 3 or 4 -> 1 or 3)")
  if have in (2, 4):
    image = image[..., :have - 1]
    have -= 1
  if have == channels:
    return image
  if channels == 3:
    return tf.tile(image, [1, 1, 3])
  gray = tf.image.rgb_to_grayscale(tf.cast(image, tf.float32))
  return gray if image.dtype.is_floating else tf.cast(tf.round(gray), image.dtype)


def center_crop_square(image: tf.Tensor) -> tf.Tensor:
  """Crops the central min(H, W) square (compare_gan's "middle", `datasets.py:464-471`)."""
  shape = tf.shape(image)
  side = tf.minimum(shape[0], shape[1])
  top, left = (shape[0] - side) // 2, (shape[1] - side) // 2
  return image[top:top + side, left:left + side, :]


def legacy_resize(image: tf.Tensor, size: int) -> tf.Tensor:
  """TF1 bilinear resize to [size, size] (float32 output, no antialiasing)."""
  resized = tf.compat.v1.image.resize_bilinear(
      image[tf.newaxis], [size, size], align_corners=False, half_pixel_centers=False)
  return resized[0]


def fit_image(image: tf.Tensor, resolution: int, channels: int) -> tf.Tensor:
  """Image of any size -> float32 [resolution, resolution, channels] in [0, 1].

  Takes uint8 in [0, 255] or float in [0, 1]. Non-square images are
  center-cropped to a square first, so nothing is stretched; the resize is
  antialiased bilinear and skipped when the size already matches.
  """
  image = convert_channels(image, channels)
  image = to_unit_float(image) if image.dtype == tf.uint8 else tf.cast(image, tf.float32)
  image = center_crop_square(image)
  side = tf.shape(image)[0]
  image = tf.cond(tf.equal(side, resolution), lambda: image,
                  lambda: tf.image.resize(image, [resolution, resolution], antialias=True))
  image = tf.clip_by_value(image, 0.0, 1.0)  # bilinear antialiasing can overshoot slightly.
  return tf.ensure_shape(image, [resolution, resolution, channels])


def pad_or_resize(image: tf.Tensor, resolution: int, upscale: str = "pad") -> tf.Tensor:
  """Float square image -> [resolution, resolution]: zero-pad or resize up, resize down.

  MNIST-style 28x28 digits are usually zero-padded to 32x32 (the digit keeps
  its size and the background stays black); `upscale="resize"` stretches instead.
  """
  if upscale not in ("pad", "resize"):
    raise ValueError(f"upscale must be 'pad' or 'resize', got {upscale!r}")
  side = image.shape[0]
  if side == resolution:
    return image
  if side is not None and side < resolution and upscale == "pad":
    return tf.image.resize_with_crop_or_pad(image, resolution, resolution)
  return tf.image.resize(image, [resolution, resolution], antialias=True)


def crop_imagenet(image: tf.Tensor, method: str, seed: tf.Tensor) -> tf.Tensor:
  """compare_gan's ImageNet crops (`datasets.py:430-477`), stateless.

  Args:
    image: float32 [H, W, 3].
    method: "distorted" (a square box covering 50-100% of the area, the train
      default), "random" (a random min(H, W) square), "middle" (the central
      square, the eval default), "zoomed" (the DiffAugment fork's: a central
      square covering 50-100% of the min(H, W) square, `zoomed_crop`) or "none".
    seed: int64 [2] stateless seed; only the random methods use it.

  Returns:
    The cropped image, [None, None, 3].
  """
  if method == "distorted":
    begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(
        tf.shape(image), tf.zeros([0, 0, 4], tf.float32), seed=seed,
        min_object_covered=0.1, aspect_ratio_range=[1.0, 1.0], area_range=[0.5, 1.0],
        max_attempts=100, use_image_if_no_bounding_boxes=True)
    return tf.slice(image, begin, size)
  if method == "random":
    shape = tf.shape(image)
    side = tf.minimum(shape[0], shape[1])
    room = tf.cast(tf.stack([shape[0] - side, shape[1] - side]), tf.float32)
    offset = tf.cast(tf.floor(room * tf.random.stateless_uniform([2], seed=seed)), tf.int32)
    return tf.slice(image, tf.concat([offset, [0]], 0), tf.stack([side, side, shape[2]]))
  if method == "middle":
    return center_crop_square(image)
  if method == "zoomed":
    return zoomed_crop(image, seed)
  if method == "none":
    return image
  raise ValueError(f"crop method must be one of {CROP_METHODS}, got {method!r}")


def zoomed_crop(image: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
  """A central square whose area is 50-100% of the min(H, W) square, stateless.

  The crop of mit-han-lab/data-efficient-gans' compare_gan fork
  (DiffAugment-biggan-imagenet/compare_gan/datasets.py at 0b63395, crop_method
  "zoomed"): a square box is sampled inside the min(H, W) square as
  "distorted" samples it, then only its size is kept and it is centred, so the
  crop zooms into the image's middle by a random factor in [1, sqrt(2)].
  """
  shape = tf.shape(image)
  side = tf.minimum(shape[0], shape[1])
  _, size, _ = tf.image.stateless_sample_distorted_bounding_box(
      tf.stack([side, side, shape[2]]), tf.zeros([0, 0, 4], tf.float32), seed=seed,
      min_object_covered=0.1, aspect_ratio_range=[1.0, 1.0], area_range=[0.5, 1.0],
      max_attempts=100, use_image_if_no_bounding_boxes=True)
  begin = tf.concat([(shape[:2] - size[:2]) // 2, [0]], 0)
  return tf.slice(image, begin, tf.concat([size[:2], [shape[2]]], 0))
