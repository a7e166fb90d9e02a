"""ADA's augmentation pipeline (Karras et al. 2020, "Training Generative Adversarial
Networks with Limited Data", arXiv 2006.06676, Appendix B), as pure functions.

Facts from the official code, training/augment.py of
github.com/NVlabs/stylegan2-ada/blob/43eca5156619dd6ee649c70c4bc3f3cab19a5b79/training/augment.py
(`augment_pipeline`, whose defaults are the paper's distributions) and the
pipelines of train.py there ('bgc' = blit + geometric + color). Each op is
applied per example with probability p (times its multiplier); pre- and
post-rotation each with 1 - sqrt(1 - p), so that one of them happens with p.
Geometric ops compose an inverse 3x3 homogeneous matrix (output pixel ->
input pixel, about the image centre) and the image is resampled once; color
ops compose a 4x4 matrix applied to RGB in [-1, 1], the official code's range
(compare_gan2's [0, 1] images are mapped there and back around it, so contrast,
luma flip, hue and saturation pivot on mid-grey and brightness's std is 0.2 of
the [-1, 1] range, as in the paper).

Simplification: the official code resamples at twice the resolution between
two sym6 wavelet low-pass filters (against aliasing) and pads by reflection
only as far as the transformed corners need (zeros beyond). Here one bilinear
lookup at the image's own resolution samples with reflection at any distance:
gathers and elementwise ops only, so it is differentiable, XLA-compilable and
small on 32x32 images, and it is exact for the blit ops (flips, 90° rotations
and integer shifts land on pixel centres). What is lost is the anti-aliasing
of the scaled and rotated images; its effect on FID was not measured here.
"""

import dataclasses
import math

import tensorflow as tf

from compare_gan2.augment import draws

_OPS = ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac",
        "brightness", "contrast", "lumaflip", "hue", "saturation")
_BLIT = dict(xflip=1.0, rotate90=1.0, xint=1.0)
_GEOM = dict(scale=1.0, rotate=1.0, aniso=1.0, xfrac=1.0)
_COLOR = dict(brightness=1.0, contrast=1.0, lumaflip=1.0, hue=1.0, saturation=1.0)
# Pipeline name -> probability multiplier of each op (train.py's augpipe_specs).
PIPELINES = {"blit": _BLIT, "geom": _GEOM, "color": _COLOR, "bg": {**_BLIT, **_GEOM},
             "bgc": {**_BLIT, **_GEOM, **_COLOR}}


@dataclasses.dataclass(frozen=True)
class Ranges:
  """The parameter distributions of augment_pipeline's defaults (Appendix B)."""
  xint_max: float = 0.125  # integer translation U[-m, m) of the side, rounded to pixels
  scale_std: float = 0.2  # isotropic scaling 2^N(0, std²)
  rotate_max: float = 1.0  # rotation U[-π m, π m)
  aniso_std: float = 0.2  # anisotropic scaling 2^N(0, std²) on x, its inverse on y
  xfrac_std: float = 0.125  # fractional translation N(0, std²) of the side
  brightness_std: float = 0.2  # brightness N(0, std²) added in [-1, 1]
  contrast_std: float = 0.5  # contrast 2^N(0, std²)
  hue_max: float = 1.0  # hue rotation U[-π m, π m) about the luma axis
  saturation_std: float = 1.0  # saturation 2^N(0, std²)


def matrices(*rows: list) -> tf.Tensor:
  """[B, n, n] from n rows of scalars or [B] tensors (broadcast to the batch)."""
  entries = [tf.convert_to_tensor(e, tf.float32) for row in rows for e in row]
  batch = next(tf.shape(e)[0] for e in entries if e.shape.rank == 1)
  entries = [tf.broadcast_to(e, [batch]) for e in entries]
  return tf.reshape(tf.stack(entries, axis=1), [batch, len(rows), len(rows)])


def compose(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
  """a @ b for [B, n, n] @ [B, n, m], as explicit multiply-adds in a fixed order.

  A batched matmul kernel may block its sums differently for another batch
  size, so one replica's half-batch would round otherwise than the whole batch
  on one device; elementwise ops give every example the same bits either way.
  """
  terms = [a[:, :, k, tf.newaxis] * b[:, tf.newaxis, k, :] for k in range(a.shape[-1])]
  total = terms[0]
  for term in terms[1:]:
    total = total + term
  return total


def translate_2d(tx: tf.Tensor, ty: tf.Tensor) -> tf.Tensor:
  """[B, 3, 3] homogeneous translation by (tx, ty)."""
  return matrices([1, 0, tx], [0, 1, ty], [0, 0, 1])


def scale_2d(sx: tf.Tensor, sy: tf.Tensor) -> tf.Tensor:
  """[B, 3, 3] homogeneous scaling by (sx, sy)."""
  return matrices([sx, 0, 0], [0, sy, 0], [0, 0, 1])


def rotate_2d(cos: tf.Tensor, sin: tf.Tensor) -> tf.Tensor:
  """Rotation by the angle with this cosine and sine (given, so 90° steps are exact)."""
  return matrices([cos, -sin, 0], [sin, cos, 0], [0, 0, 1])


# Each op's columns in a call's draws.Table: a gate word, then up to 4 parameter
# words (a normal of width w takes 2w); the post-rotation has its own block.
_BLOCK = 5
_COLUMNS = {op: _BLOCK * index for index, op in enumerate((*_OPS, "rotate_post"))}


class Draw:
  """Per-example parameters of one pipeline call: gated draws from each op's
  fixed columns of one table (draws.Table), so the ops of a pipeline never
  change each other's draws."""

  def __init__(self, batch: tf.Tensor, seed: tf.Tensor, p: tf.Tensor, multipliers: dict):
    self.batch, self.seed, self.p, self.multipliers = batch, seed, p, multipliers
    self.table = draws.Table(batch, seed, _BLOCK * len(_COLUMNS))

  def on(self, op: str) -> bool:
    """Whether the pipeline has `op` at all (a static choice, unlike its gate)."""
    return self.multipliers.get(op, 0.0) > 0

  def gate(self, op: str, value: tf.Tensor, disabled: float, probability=None) -> tf.Tensor:
    """`value` [B, k] where U[0, 1) < probability (default p x multiplier), else `disabled`."""
    if probability is None:
      probability = self.p * self.multipliers[op]
    chosen = self.table.uniform(_COLUMNS[op]) < probability
    return tf.where(chosen, value, tf.cast(disabled, value.dtype))

  def uniform(self, op: str, low: float, high: float, width: int = 1, then=None) -> tf.Tensor:
    """`op`'s U[low, high) parameters [B, width] (draws.Table.uniform)."""
    return self.table.uniform(_COLUMNS[op] + 1, low, high, width, then)

  def normal(self, op: str, std: float, width: int = 1, then=None) -> tf.Tensor:
    """`op`'s N(0, std²) parameters [B, width] (draws.Table.normal)."""
    return self.table.normal(_COLUMNS[op] + 1, std, width, then)


def _exp2(v: tf.Tensor) -> tf.Tensor:
  return tf.pow(2.0, v)


def _cos_sin(theta: tf.Tensor) -> tf.Tensor:
  return tf.concat([tf.cos(theta), tf.sin(theta)], axis=1)


def blit_matrix(d: Draw, height: int, width: int, r: Ranges) -> tf.Tensor:
  """x-flip, 90° rotations and integer translation, as an inverse [B, 3, 3] matrix."""
  g_inv = tf.eye(3, batch_shape=[d.batch])
  if d.on("xflip"):
    i = d.gate("xflip", tf.floor(d.uniform("xflip", 0.0, 2.0)), 0.0)[:, 0]
    g_inv = compose(g_inv, scale_2d(1 - 2 * i, tf.ones_like(i)))
  if d.on("rotate90"):
    i = tf.cast(d.gate("rotate90", tf.floor(d.uniform("rotate90", 0.0, 4.0)), 0.0)[:, 0], tf.int32)
    # rotate_2d_inv(-π/2 i) = rotation by +π/2 i, with exact cosines and sines.
    g_inv = compose(g_inv, rotate_2d(tf.gather([1.0, 0.0, -1.0, 0.0], i),
                                      tf.gather([0.0, 1.0, 0.0, -1.0], i)))
  if d.on("xint"):
    t = d.gate("xint", d.uniform("xint", -r.xint_max, r.xint_max, width=2), 0.0)
    g_inv = compose(g_inv, translate_2d(-tf.round(t[:, 0] * width), -tf.round(t[:, 1] * height)))
  return g_inv


def general_matrix(d: Draw, height: int, width: int, r: Ranges) -> tf.Tensor:
  """Isotropic scaling, pre-rotation, anisotropic scaling, post-rotation and
  fractional translation, as an inverse [B, 3, 3] matrix."""
  g_inv = tf.eye(3, batch_shape=[d.batch])
  if d.on("scale"):
    s = d.gate("scale", d.normal("scale", r.scale_std, then=_exp2), 1.0)[:, 0]
    g_inv = compose(g_inv, scale_2d(1 / s, 1 / s))
  p_rot = 1 - tf.sqrt(tf.maximum(1 - d.p * d.multipliers.get("rotate", 0.0), 0.0))
  if d.on("rotate"):  # pre-rotation; rotate_2d_inv(-θ) is a rotation by θ
    cs = d.gate("rotate", d.uniform("rotate", -math.pi * r.rotate_max, math.pi * r.rotate_max,
                                    then=_cos_sin), [1.0, 0.0], p_rot)
    g_inv = compose(g_inv, rotate_2d(cs[:, 0], cs[:, 1]))
  if d.on("aniso"):
    s = d.gate("aniso", d.normal("aniso", r.aniso_std, then=_exp2), 1.0)[:, 0]
    g_inv = compose(g_inv, scale_2d(1 / s, s))
  if d.on("rotate"):  # post-rotation: its own draws, from its own columns
    cs = d.gate("rotate_post", d.uniform("rotate_post", -math.pi * r.rotate_max,
                                         math.pi * r.rotate_max, then=_cos_sin), [1.0, 0.0], p_rot)
    g_inv = compose(g_inv, rotate_2d(cs[:, 0], cs[:, 1]))
  if d.on("xfrac"):
    t = d.gate("xfrac", d.normal("xfrac", r.xfrac_std, width=2), 0.0)
    g_inv = compose(g_inv, translate_2d(-t[:, 0] * width, -t[:, 1] * height))
  return g_inv


def reflect(index: tf.Tensor, size: int) -> tf.Tensor:
  """Integer pixel indices folded into [0, size) by mirror reflection without
  repeating the edge (tf.pad's REFLECT: -1 -> 1, size -> size - 2), at any distance."""
  if size == 1:
    return tf.zeros_like(index)
  period = 2 * (size - 1)
  folded = tf.math.floormod(index, period)
  return tf.where(folded >= size, period - folded, folded)


def transform(images: tf.Tensor, g_inv: tf.Tensor) -> tf.Tensor:
  """Resamples [B, H, W, C] images: output pixel (x, y) reads the input at
  g_inv @ (x - cx, y - cy, 1) + (cx, cy), pixel centres at integers and
  c = (size - 1) / 2, bilinearly with reflection."""
  height, width, channels = images.shape[1:]
  cx, cy = (width - 1) / 2, (height - 1) / 2
  ys, xs = tf.meshgrid(tf.range(height, dtype=tf.float32) - cy,
                       tf.range(width, dtype=tf.float32) - cx, indexing="ij")
  grid = tf.stack([tf.reshape(xs, [-1]), tf.reshape(ys, [-1]), tf.ones([height * width])])
  source = compose(g_inv, tf.broadcast_to(grid, [tf.shape(g_inv)[0], 3, height * width]))
  x, y = source[:, 0] + cx, source[:, 1] + cy  # [B, H*W] input coordinates
  x0, y0 = tf.floor(x), tf.floor(y)
  wx, wy = (x - x0)[..., tf.newaxis], (y - y0)[..., tf.newaxis]
  x0, y0 = tf.cast(x0, tf.int32), tf.cast(y0, tf.int32)
  flat = tf.reshape(images, [-1, height * width, channels])

  def tap(row: tf.Tensor, column: tf.Tensor) -> tf.Tensor:
    index = reflect(row, height) * width + reflect(column, width)
    return tf.gather(flat, index, batch_dims=1)

  wx, wy = tf.cast(wx, images.dtype), tf.cast(wy, images.dtype)
  out = ((tap(y0, x0) * (1 - wx) + tap(y0, x0 + 1) * wx) * (1 - wy)
         + (tap(y0 + 1, x0) * (1 - wx) + tap(y0 + 1, x0 + 1) * wx) * wy)
  return tf.reshape(out, tf.shape(images))


def _luma_projector() -> tf.Tensor:
  """v vᵀ of the luma axis v = (1, 1, 1, 0) / √3, as a [4, 4] matrix."""
  v = tf.constant([1.0, 1.0, 1.0, 0.0]) / math.sqrt(3.0)
  return v[:, tf.newaxis] * v[tf.newaxis, :]


def rotate_luma(c: tf.Tensor, s: tf.Tensor) -> tf.Tensor:
  """[B, 4, 4] rotation of RGB about the luma axis by the angle with cosine c and
  sine s (augment.py rotate_3d)."""
  v = 1 / math.sqrt(3.0)
  cc, vs = (1 - c) * v * v, v * s
  return matrices([cc + c, cc - vs, cc + vs, 0], [cc + vs, cc + c, cc - vs, 0],
                  [cc - vs, cc + vs, cc + c, 0], [0, 0, 0, 1])


def color_matrix(d: Draw, channels: int, r: Ranges) -> tf.Tensor:
  """Brightness, contrast, luma flip, hue rotation and saturation, as [B, 4, 4]
  acting on (r, g, b, 1) in [-1, 1]; hue and saturation need colour channels."""
  eye = tf.eye(4, batch_shape=[d.batch])
  c = eye
  if d.on("brightness"):
    b = d.gate("brightness", d.normal("brightness", r.brightness_std), 0.0)[:, 0]
    c = compose(matrices([1, 0, 0, b], [0, 1, 0, b], [0, 0, 1, b], [0, 0, 0, 1]), c)
  if d.on("contrast"):
    k = d.gate("contrast", d.normal("contrast", r.contrast_std, then=_exp2), 1.0)[:, 0]
    c = compose(matrices([k, 0, 0, 0], [0, k, 0, 0], [0, 0, k, 0], [0, 0, 0, 1]), c)
  projector = _luma_projector()
  if d.on("lumaflip"):  # Householder reflection of the luma component
    i = d.gate("lumaflip", tf.floor(d.uniform("lumaflip", 0.0, 2.0)), 0.0)[:, :, tf.newaxis]
    c = compose(eye - 2 * projector * i, c)
  if d.on("hue") and channels > 1:
    cs = d.gate("hue", d.uniform("hue", -math.pi * r.hue_max, math.pi * r.hue_max,
                                 then=_cos_sin), [1.0, 0.0])
    c = compose(rotate_luma(cs[:, 0], cs[:, 1]), c)
  if d.on("saturation") and channels > 1:
    s = d.gate("saturation", d.normal("saturation", r.saturation_std, then=_exp2),
               1.0)[:, :, tf.newaxis]
    c = compose(projector + (tf.eye(4) - projector) * s, c)
  return c


def apply_color(images: tf.Tensor, c: tf.Tensor) -> tf.Tensor:
  """[B, 4, 4] color matrices applied to [0, 1] images via [-1, 1]; a
  single-channel image uses the mean of the three output rows, as augment.py."""
  channels = images.shape[-1]
  c = tf.cast(c, images.dtype)
  signed = images * 2 - 1
  if channels == 3:
    pixels = tf.reshape(signed, [tf.shape(images)[0], -1, 3])  # rows (r, g, b)
    # c @ (r, g, b, 1) as rows @ c[:3, :3]ᵀ + c[:3, 3]: no transposes or ones column.
    out = tf.matmul(pixels, c[:, :3, :3], transpose_b=True) + c[:, tf.newaxis, :3, 3]
    out = tf.reshape(out, tf.shape(images))
  elif channels == 1:
    rows = tf.reduce_mean(c[:, :3, :], axis=1)  # [B, 4]
    gain = tf.reduce_sum(rows[:, :3], axis=1)
    out = signed * gain[:, None, None, None] + rows[:, None, None, 3:]
  else:
    raise ValueError(f"ADA's color ops take RGB (3 channels) or L (1 channel); got {channels}.")
  return (out + 1) / 2


def augment(images: tf.Tensor, seed: tf.Tensor, p: tf.Tensor, multipliers: dict[str, float],
            ranges: Ranges = Ranges()) -> tf.Tensor:
  """The ADA pipeline on float images [B, H, W, C] in [0, 1] with strength p.

  Args:
    images: the batch (static height, width and channels).
    seed: stateless seed [2] of this step and sub-batch.
    p: augmentation probability, a scalar (a tf.Variable for ADA).
    multipliers: op name -> probability multiplier (a PIPELINES entry).
    ranges: the parameter distributions.
  """
  images = tf.convert_to_tensor(images)
  height, width, channels = draws.check_images(images, "ADA")
  unknown = sorted(set(multipliers) - set(_OPS))
  if unknown:
    raise ValueError(f"ADA pipeline has unknown ops {unknown}; known: {', '.join(_OPS)}.")
  d = Draw(tf.shape(images)[0], seed, tf.cast(p, tf.float32), multipliers)
  if any(d.on(op) for op in (*_BLIT, *_GEOM)):
    g_inv = compose(blit_matrix(d, height, width, ranges), general_matrix(d, height, width, ranges))
    images = transform(images, g_inv)
  if any(d.on(op) for op in _COLOR):
    images = apply_color(images, color_matrix(d, channels, ranges))
  return images
