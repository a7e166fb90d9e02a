"""Sample sheets, per-class sheets, latent interpolation and the truncation trick.

What StudioGAN (`utils/sample.py`, `utils/misc.py` interpolate) and
BigGAN-PyTorch (`utils.sample_sheet`, `utils.interp_sheet`) offer, on the
`compare_gan2.export.SamplingGenerator` interface, so every function works on a
live GAN (`export.live_generator`) and on an export (`export.load_generator`).

Images become uint8 as compare_gan's colabs convert them,
`np.uint8(np.clip(256 * x, 0, 255))` (`colabs/s3gan_demo.ipynb`): 256 equal
bins of [0, 1], i.e. floor(256 x) with x = 1 mapped to 255, not round(255 x).

Seeds: an integer `seed` makes every function deterministic; z comes from
`gen.sample_z` with the stateless seed pair (seed, 0), random labels from
(seed, 1), and truncation re-draws fold the round number into the z seed.
"""

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from compare_gan2 import export
from compare_gan2 import summaries

INTERPOLATIONS = ("slerp", "lerp", "compare_gan")
Labels = int | Sequence[int] | np.ndarray | None
_Z_STREAM, _LABEL_STREAM = 0, 1
_BATCH = 64  # images per generator call, bounding memory for large sheets


def to_uint8(images: np.ndarray) -> np.ndarray:
  """Images in [0, 1] as uint8, with the colabs' np.uint8(np.clip(256 x, 0, 255))."""
  return np.uint8(np.clip(256 * np.asarray(images), 0, 255))


def truncated_z(gen: export.SamplingGenerator, n: int, seed: int, threshold: float,
                max_rounds: int = 1000) -> np.ndarray:
  """z [n, z_dim] with every |z_i| <= threshold: the truncation trick.

  Brock et al. 2019 (BigGAN) §3.1: values whose magnitude exceeds the
  threshold are re-sampled until they fall inside, trading variety for
  fidelity. Each round re-draws, statelessly from the run's own distribution
  (`gen.sample_z`, so uniform and normal z both work), only the entries still
  outside; entries already inside are never changed. After `max_rounds` rounds
  the few entries still outside (for a threshold that the distribution rarely
  reaches) are clipped to +-threshold instead.

  Raises:
    ValueError: threshold <= 0 or max_rounds < 0.
  """
  if not threshold > 0:
    raise ValueError(f"truncation threshold must be > 0, got {threshold}.")
  if max_rounds < 0:
    raise ValueError(f"max_rounds must be >= 0, got {max_rounds}.")
  z_seed = tf.constant([seed, _Z_STREAM], tf.int64)
  z = gen.sample_z(n, z_seed.numpy())
  for round_index in range(1, max_rounds + 1):
    outside = np.abs(z) > threshold
    if not outside.any():
      return z
    fresh = gen.sample_z(n, tf.random.experimental.stateless_fold_in(z_seed, round_index).numpy())
    z = np.where(outside, fresh, z)
  return np.clip(z, -threshold, threshold)


def draw_z(gen: export.SamplingGenerator, n: int, seed: int,
           truncation: float | None = None) -> np.ndarray:
  """z [n, z_dim] from the seed pair (seed, 0), truncated when `truncation` is set."""
  if truncation is None:
    return gen.sample_z(n, np.array([seed, _Z_STREAM], np.int64))
  return truncated_z(gen, n, seed, truncation)


def resolve_labels(gen: export.SamplingGenerator, labels: Labels, n: int,
                   seed: int) -> np.ndarray | None:
  """n class ids: random (uniform, seed pair (seed, 1)) for None, repeated for one int.

  Returns:
    None for an unconditional generator.

  Raises:
    ValueError: labels for an unconditional generator, a wrong count, or a class out of range.
  """
  if not gen.conditional:
    if labels is not None:
      raise ValueError("labels were given, but the generator is unconditional.")
    return None
  if labels is None:
    draw = tf.random.stateless_uniform([n], [seed, _LABEL_STREAM], 0, gen.num_classes, tf.int32)
    return draw.numpy()
  labels = np.broadcast_to(np.asarray(labels), [n]) if np.ndim(labels) == 0 else np.asarray(labels)
  if labels.shape != (n,):
    raise ValueError(f"labels must be one class or {n} classes, got shape {labels.shape}.")
  check_classes(gen, labels)
  return labels.astype(np.int32)


def check_classes(gen: export.SamplingGenerator, classes: Sequence[int] | np.ndarray) -> None:
  """Raises ValueError unless gen is conditional and every class is in [0, num_classes)."""
  if not gen.conditional:
    raise ValueError("Per-class sampling needs a conditional generator; this one is "
                     "unconditional (num_classes 0).")
  bad = [int(c) for c in np.ravel(classes) if not 0 <= int(c) < gen.num_classes]
  if bad:
    raise ValueError(f"classes {bad} are out of range: the generator has {gen.num_classes} "
                     f"classes (0 .. {gen.num_classes - 1}).")


def generate(gen: export.SamplingGenerator, z: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
  """gen.generate in batches of 64: images [n, H, W, C] in [0, 1]."""
  parts = [gen.generate(z[i:i + _BATCH], None if labels is None else labels[i:i + _BATCH])
           for i in range(0, len(z), _BATCH)]
  return np.concatenate(parts)


def sample_sheet(gen: export.SamplingGenerator, rows: int, columns: int, seed: int,
                 truncation: float | None = None, labels: Labels = None) -> np.ndarray:
  """A rows x columns uint8 grid [rows*H, columns*W, C] of samples.

  Args:
    gen: the generator.
    rows: rows of the sheet.
    columns: images per row.
    seed: seed of z (and of random labels).
    truncation: truncation threshold (see `truncated_z`), None for plain z.
    labels: for conditional generators: None for uniformly random classes
      (as compare_gan's evaluation draws them), one class for all, or
      rows*columns classes in row-major order.
  """
  _check_positive(rows=rows, columns=columns)
  n = rows * columns
  z = draw_z(gen, n, seed, truncation)
  images = generate(gen, z, resolve_labels(gen, labels, n, seed))
  return summaries.image_grid(to_uint8(images), columns)


def class_sheet(gen: export.SamplingGenerator, classes: Sequence[int], per_class: int, seed: int,
                truncation: float | None = None) -> np.ndarray:
  """One row per class, per_class images each, as a uint8 grid.

  Column j uses the same z in every row (as BigGAN-PyTorch's `sample_sheet`),
  so a column shows what the class alone changes.

  Raises:
    ValueError: an unconditional generator, no classes, or a class out of range.
  """
  _check_positive(per_class=per_class, classes=len(classes))
  check_classes(gen, classes)
  z = np.tile(draw_z(gen, per_class, seed, truncation), [len(classes), 1])
  labels = np.repeat(np.asarray(classes, np.int32), per_class)
  return summaries.image_grid(to_uint8(generate(gen, z, labels)), per_class)


def interpolation_weights(a: np.ndarray, z_a: np.ndarray, z_b: np.ndarray,
                          mode: str) -> tuple[np.ndarray, np.ndarray]:
  """Coefficients (u, v) with z = u A + v B, per alpha and endpoint pair.

  - "lerp": u = 1 - a, v = a.
  - "compare_gan": the colabs' variance-preserving ((1-a)A + aB)/sqrt(a^2 + (1-a)^2)
    (compare_gan `colabs/s3gan_demo.ipynb`).
  - "slerp": spherical, u = sin((1-a)W)/sin W, v = sin(aW)/sin W with W the
    angle between A and B (Shoemake 1985; White 2016, "Sampling generative
    networks"); lerp when A and B are (anti)parallel.

  Args:
    a: alphas [steps].
    z_a: start points [pairs, z_dim].
    z_b: end points [pairs, z_dim].
    mode: one of INTERPOLATIONS.

  Returns:
    (u, v), each [pairs, steps].
  """
  a = np.broadcast_to(np.asarray(a, np.float64), [len(z_a), len(a)])
  if mode == "lerp":
    return 1 - a, a
  if mode == "compare_gan":
    norm = np.sqrt(a ** 2 + (1 - a) ** 2)
    return (1 - a) / norm, a / norm
  if mode != "slerp":
    raise ValueError(f"interpolation mode must be one of {INTERPOLATIONS}, got {mode!r}.")
  cosine = np.sum(z_a * z_b, 1) / (np.linalg.norm(z_a, axis=1) * np.linalg.norm(z_b, axis=1))
  omega = np.arccos(np.clip(cosine, -1.0, 1.0))[:, None]
  sin_omega = np.sin(omega)
  flat = np.abs(sin_omega) < 1e-6
  safe = np.where(flat, 1.0, sin_omega)
  u = np.where(flat, 1 - a, np.sin((1 - a) * omega) / safe)
  v = np.where(flat, a, np.sin(a * omega) / safe)
  return u, v


def interpolate(gen: export.SamplingGenerator, steps: int, pairs: int, seed: int,
                mode: str = "slerp", labels: Labels = None, end_labels: Labels = None,
                truncation: float | None = None) -> np.ndarray:
  """pairs rows of steps images from z_A to z_B, as a uint8 grid.

  Row i goes from z[2i] to z[2i+1] of one draw (so its first and last images
  are those z's images) at alphas linspace(0, 1, steps).

  Args:
    gen: the generator.
    steps: images per row (>= 2: both endpoints).
    pairs: rows.
    seed: seed of the endpoints (and of random labels).
    mode: "slerp", "lerp" or "compare_gan" (see `interpolation_weights`).
    labels: conditional generators: each row's class (None random, one int for
      all rows, or one per row); it stays fixed along the row unless end_labels.
    end_labels: classes each row ends at: the one-hot class vector is mixed
      linearly with the same alphas, which interpolates the class embedding
      (linear in y in compare_gan's conditional layers).
    truncation: truncation threshold of the endpoints.
  """
  _check_positive(pairs=pairs)
  if steps < 2:
    raise ValueError(f"steps must be >= 2 (both endpoints), got {steps}.")
  ends = draw_z(gen, 2 * pairs, seed, truncation).astype(np.float64)
  z_a, z_b = ends[0::2], ends[1::2]
  alphas = np.linspace(0.0, 1.0, steps)
  u, v = interpolation_weights(alphas, z_a, z_b, mode)
  z = (u[..., None] * z_a[:, None] + v[..., None] * z_b[:, None]).reshape(-1, gen.z_dim)
  y = _row_class_vectors(gen, labels, end_labels, alphas, pairs, seed)
  images = generate(gen, z.astype(np.float32), y)
  return summaries.image_grid(to_uint8(images), steps)


def _row_class_vectors(gen: export.SamplingGenerator, labels: Labels, end_labels: Labels,
                       alphas: np.ndarray, pairs: int, seed: int) -> np.ndarray | None:
  """[pairs * steps, num_classes] one-hot rows, mixed towards end_labels; None if unconditional."""
  start = resolve_labels(gen, labels, pairs, seed)
  if start is None:
    if end_labels is not None:
      raise ValueError("end_labels were given, but the generator is unconditional.")
    return None
  y_a = np.eye(gen.num_classes)[start]
  y_b = y_a if end_labels is None else np.eye(gen.num_classes)[
      resolve_labels(gen, end_labels, pairs, seed)]
  mix = alphas[None, :, None]
  y = (1 - mix) * y_a[:, None] + mix * y_b[:, None]
  return y.reshape(-1, gen.num_classes).astype(np.float32)


def _check_positive(**sizes: int) -> None:
  for name, value in sizes.items():
    if int(value) < 1:
      raise ValueError(f"{name} must be >= 1, got {value}.")
