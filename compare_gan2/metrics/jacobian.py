"""Generator conditioning: the spectrum of the metric tensor JᵀJ of G at z.

Odena et al. 2018, "Is Generator Conditioning Causally Related to GAN
Performance?" (arXiv:1802.08768): for G: R^{z_dim} → R^{n}, the metric
tensor M_z = J_zᵀ J_z (J_z = ∂G/∂z) has condition number
λ_max/λ_min; the paper reports its log, averaged over z, and finds it
correlated with Inception Score and FID.

Port of compare_gan `metrics/jacobian_conditioning.py`:
`compute_jacobian` (:88-119), `_analyze_metric_tensor` (:122-143),
`analyze_jacobian` (:146-173) and `GeneratorConditionNumberTask` (:32-85).
"""

import dataclasses
from collections.abc import Callable
from typing import ClassVar

import numpy as np
import tensorflow as tf

from compare_gan2 import registry
from compare_gan2.metrics import base

# "reverse": one backward pass per output (tape.batch_jacobian, as compare_gan);
# "forward": one JVP per latent dimension, far cheaper when outputs are images.
MODES = ("reverse", "forward")


def _flatten_outputs(fx: tf.Tensor, x: tf.Tensor) -> tf.Tensor:
  if fx.shape[0] is not None and x.shape[0] is not None and fx.shape[0] != x.shape[0]:
    raise ValueError(f"compute_jacobian: fn changed the batch size from {x.shape[0]} to "
                     f"{fx.shape[0]}; it must map [batch, x_dim] to [batch, ...].")
  return tf.reshape(fx, [tf.shape(fx)[0], -1])


def _reverse_jacobian(fn: Callable[[tf.Tensor], tf.Tensor], x: tf.Tensor) -> tf.Tensor:
  with tf.GradientTape() as tape:
    tape.watch(x)
    fx = _flatten_outputs(fn(x), x)
  return tape.batch_jacobian(fx, x)


def _forward_jacobian(fn: Callable[[tf.Tensor], tf.Tensor], x: tf.Tensor) -> tf.Tensor:
  columns = []
  for i in range(x.shape[1]):
    tangent = tf.one_hot(tf.fill(tf.shape(x)[:1], i), x.shape[1], dtype=x.dtype)
    with tf.autodiff.ForwardAccumulator(x, tangent) as accumulator:
      fx = _flatten_outputs(fn(x), x)
    columns.append(accumulator.jvp(fx, unconnected_gradients=tf.UnconnectedGradients.ZERO))
  return tf.stack(columns, axis=-1)


def compute_jacobian(fn: Callable[[tf.Tensor], tf.Tensor], x: tf.Tensor | np.ndarray,
                     mode: str = "reverse") -> tf.Tensor:
  """Per-sample Jacobians ∂fn(x)[b] / ∂x[b] (compare_gan jacobian_conditioning.py:88-119).

  As in compare_gan, row b of fn's output must depend on row b of x only (a
  generator in inference mode: no batch statistics), since the derivatives of
  the batch are taken together.

  Args:
    fn: maps x [batch, x_dim] to [batch, ...] (an image batch is flattened).
    x: float inputs [batch, x_dim].
    mode: "reverse" (tape.batch_jacobian, one backward pass per output value)
      or "forward" (one forward-mode JVP per input dimension; use it when the
      output is much larger than x_dim, as for a generator).

  Returns:
    J [batch, out_dim, x_dim], J[b, j, i] = ∂fn(x)[b, j] / ∂x[b, i].

  Raises:
    ValueError: if x is not a float matrix with a known x_dim, or mode is unknown.
  """
  x = tf.convert_to_tensor(x)
  if x.shape.rank != 2 or x.shape[1] is None or not x.dtype.is_floating:
    raise ValueError(f"compute_jacobian: x must be a float [batch, x_dim] tensor, got "
                     f"{x.dtype.name} of shape {x.shape}.")
  if mode not in MODES:
    raise ValueError(f"compute_jacobian: mode must be one of {MODES}, got {mode!r}.")
  return (_reverse_jacobian if mode == "reverse" else _forward_jacobian)(fn, x)


def _analyze_metric_tensor(metric_tensor: np.ndarray) -> dict[str, np.ndarray]:
  """Spectral statistics of [batch, dim, dim] SPD matrices (jacobian_conditioning.py:122-143).

  compare_gan uses `np.linalg.eig`; M is symmetric, so `eigvalsh` gives the same
  eigenvalues as real numbers (in ascending order).
  """
  return {
      "tensor": metric_tensor,
      "eigenvalues": np.linalg.eigvalsh(metric_tensor),
      "logdet": np.linalg.slogdet(metric_tensor)[1],
      # The 2-norm condition number σ_max/σ_min, = λ_max/λ_min for SPD M.
      "log_condition_number": np.log(np.linalg.cond(metric_tensor)),
  }


def analyze_jacobian(jacobian: tf.Tensor | np.ndarray) -> dict[str, dict[str, np.ndarray]]:
  """Statistics of M = JᵀJ per sample and of the batch-mean M (jacobian_conditioning.py:146-173).

  Args:
    jacobian: J [batch, out_dim, x_dim], e.g. from `compute_jacobian`.

  Returns:
    {"metric_tensor": stats of M [batch, x_dim, x_dim], "mean_metric_tensor":
    stats of mean_b M [1, x_dim, x_dim]}, where stats are "tensor" (the
    matrices), "eigenvalues" [n, x_dim], "logdet" [n] and
    "log_condition_number" [n]. Computed in float64: forming JᵀJ squares the
    condition number, which float32 (compare_gan's precision) cannot hold for
    badly conditioned generators.

  Raises:
    ValueError: if `jacobian` is not rank 3.
  """
  jacobian = base.check_rank(np.asarray(jacobian, np.float64), 3, "jacobian")
  metric_tensor = np.matmul(np.transpose(jacobian, [0, 2, 1]), jacobian)
  mean_metric_tensor = np.mean(metric_tensor, axis=0, keepdims=True)
  return {"metric_tensor": _analyze_metric_tensor(metric_tensor),
          "mean_metric_tensor": _analyze_metric_tensor(mean_metric_tensor)}


@registry.register(module="compare_gan2.metrics")
@dataclasses.dataclass(frozen=True, eq=False)
class JacobianConditioning:
  """Log condition number of G's metric tensor over one batch of z.

  Odena et al. 2018; compare_gan `GeneratorConditionNumberTask`
  (jacobian_conditioning.py:32-85), which evaluates one batch of
  `gan.batch_size` = 64 latents. G runs through `ModelAccess.generate`, i.e. in
  inference mode, so the samples are independent.

  Attributes:
    batch_size: number of latents z (compare_gan: the GAN's batch size, 64).
    chunk_size: latents differentiated at once; bounds memory (a 128×128×3
      generator's J is 49152 × z_dim floats per sample) without changing the
      result.
    mode: "forward" (z_dim JVPs per chunk) or "reverse" (compare_gan's one
      gradient per output pixel); see `compute_jacobian`.
    seed: seed of z and of a conditional G's labels; None: the model's seed.
  """
  name: ClassVar[str] = "log_condition_number"
  requires: ClassVar[frozenset[str]] = frozenset()
  batch_size: int = 64
  chunk_size: int = 8
  mode: str = "forward"
  seed: int | None = None
  max_images: int | None = dataclasses.field(default=0, init=False)

  def __post_init__(self) -> None:
    if self.batch_size < 1 or self.chunk_size < 1:
      raise ValueError(f"JacobianConditioning: batch_size ({self.batch_size}) and chunk_size "
                       f"({self.chunk_size}) must be positive.")
    if self.mode not in MODES:
      raise ValueError(f"JacobianConditioning: mode must be one of {MODES}, got {self.mode!r}.")

  def log_condition_numbers(self, model: base.ModelAccess) -> np.ndarray:
    """log cond(J_zᵀJ_z) for each of the `batch_size` latents z, [batch_size]."""
    seed = tf.constant([model.seed if self.seed is None else self.seed, 0], tf.int64)
    z = tf.convert_to_tensor(model.sample_z([self.batch_size, model.z_dim], seed), tf.float32)
    y = model.sample_labels(self.batch_size, tf.random.experimental.stateless_fold_in(seed, 1))
    values = []
    for start in range(0, self.batch_size, self.chunk_size):
      part = slice(start, start + self.chunk_size)
      y_part = None if y is None else y[part]
      jacobian = compute_jacobian(lambda z_part: model.generate(z_part, y_part), z[part],
                                  self.mode)
      values.append(analyze_jacobian(jacobian)["metric_tensor"]["log_condition_number"])
    return np.concatenate(values)

  def __call__(self, model: base.ModelAccess, real: base.EvalSet | None = None) -> dict[str, float]:
    """{"log_condition_number_mean", "_std" (ddof 0), "_count"} (jacobian_conditioning.py:53-60)."""
    del real  # G alone is measured.
    values = self.log_condition_numbers(model)
    return {f"{self.name}_mean": float(np.mean(values)),
            f"{self.name}_std": float(np.std(values)),
            f"{self.name}_count": float(values.size)}
