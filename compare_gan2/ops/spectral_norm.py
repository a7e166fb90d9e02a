"""Spectral normalization as a reparametrization, with compare_gan's semantics.

Miyato et al. 2018, "Spectral Normalization for GANs", Algorithm 1; ported from
compare_gan `architectures/arch_ops.py:453-535`.

The forward pass uses W / σ(W) while the raw kernel W is the trained variable,
so the gradient reaches W through σ as well (u and v are held constant by
`stop_gradient`). `keras.layers.SpectralNormalization` differs: it overwrites the
kernel with W / σ and its gradient skips σ (docs/design.md §5).

The kernel is viewed as a matrix W of shape (prod(shape[:-1]), shape[-1]), i.e.
(KH·KW·C_in, C_out) for a conv kernel: the transpose of the paper's W.
"""

import dataclasses
from typing import Any

import tensorflow as tf

from compare_gan2 import registry

SINGULAR_VALUE_MODES = ("left", "right", "auto")


@registry.register(module="compare_gan2.ops")
@dataclasses.dataclass(frozen=True)
class SpectralNormConfig:
  """How a layer spectrally normalizes its kernel.

  Attributes:
    singular_value: which singular vector is stored in `u`: "left" (shape
      (rows, 1), compare_gan's default), "right" (shape (1, cols), as Keras and
      the SN paper), or "auto" (the shorter of the two).
    epsilon: floor on the squared norm in l2-normalization,
      x · rsqrt(max(Σx², ε)), as compare_gan.
    power_iterations: power-iteration rounds per call (compare_gan: 1).
    update_in_inference: also store the new `u` when `training=False`.
      compare_gan updates `u` on every evaluation; the default updates it in
      training only, which leaves σ of a single inference call unchanged.
  """
  singular_value: str = "left"
  epsilon: float = 1e-12
  power_iterations: int = 1
  update_in_inference: bool = False

  def __post_init__(self):
    if self.singular_value not in SINGULAR_VALUE_MODES:
      raise ValueError(
          f"SpectralNormConfig.singular_value must be one of {SINGULAR_VALUE_MODES}, "
          f"got {self.singular_value!r}.")
    if self.power_iterations < 1:
      raise ValueError(
          f"SpectralNormConfig.power_iterations must be >= 1, got {self.power_iterations}.")

  def to_dict(self) -> dict[str, Any]:
    """Plain-dict form, for a layer's get_config."""
    return dataclasses.asdict(self)

  @classmethod
  def resolve(cls, value: "bool | dict | SpectralNormConfig | None") -> "SpectralNormConfig | None":
    """Maps a layer's `spectral_norm` argument to a config, or None for off.

    True and a dict build the config as gin configures it (`registry.configured`),
    so `ops.SpectralNormConfig.*` bindings reach `spectral_norm = True` exactly
    as they reach `@ops.SpectralNormConfig()`; a dict's keys win over them.
    """
    if value is None or value is False:
      return None
    if value is True:
      return registry.configured(cls)()
    if isinstance(value, cls):
      return value
    if isinstance(value, dict):
      return registry.configured(cls)(**value)
    raise TypeError(
        f"spectral_norm must be a bool, a dict or a SpectralNormConfig, got {value!r}.")


def resolve_mode(kernel_shape: tuple[int, ...], mode: str) -> str:
  """"left" or "right" for a kernel; "auto" picks the shorter vector (:489-491)."""
  if len(kernel_shape) < 2:
    raise ValueError(
        f"spectral norm needs a kernel of rank >= 2, got shape {tuple(kernel_shape)}.")
  rows, cols = _matrix_shape(kernel_shape)
  if mode == "auto":
    return "left" if rows <= cols else "right"
  return mode


def u_shape(kernel_shape: tuple[int, ...], mode: str) -> tuple[int, int]:
  """Shape of the stored singular vector for a kernel (compare_gan :487-497)."""
  left = resolve_mode(kernel_shape, mode) == "left"  # Checks the rank first.
  rows, cols = _matrix_shape(kernel_shape)
  return (rows, 1) if left else (1, cols)


def _matrix_shape(kernel_shape: tuple[int, ...]) -> tuple[int, int]:
  rows = 1
  for dim in kernel_shape[:-1]:
    rows *= int(dim)
  return rows, int(kernel_shape[-1])


def _l2_normalize(x: tf.Tensor, epsilon: float) -> tf.Tensor:
  # ε floors the squared norm of the whole tensor; it is not added to it.
  return x * tf.math.rsqrt(tf.maximum(tf.reduce_sum(tf.square(x)), epsilon))


def normalize(kernel: tf.Tensor, u: tf.Tensor, config: SpectralNormConfig
              ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
  """Divides a kernel by its largest singular value, estimated from `u`.

  Args:
    kernel: the raw weight, any rank >= 2.
    u: the stored singular vector, shaped by `u_shape(kernel.shape, mode)`.
    config: mode, epsilon and the number of power iterations.

  Returns:
    (kernel / σ, the new u, σ). The new u carries no gradient; σ does.
  """
  left = resolve_mode(tuple(kernel.shape), config.singular_value) == "left"
  w = tf.reshape(kernel, (-1, kernel.shape[-1]))
  for _ in range(config.power_iterations):
    if left:  # u: (rows, 1), v: (cols, 1).
      v = _l2_normalize(tf.matmul(w, u, transpose_a=True), config.epsilon)
      u = _l2_normalize(tf.matmul(w, v), config.epsilon)
    else:  # u: (1, cols), v: (1, rows).
      v = _l2_normalize(tf.matmul(u, w, transpose_b=True), config.epsilon)
      u = _l2_normalize(tf.matmul(v, w), config.epsilon)
  u = tf.stop_gradient(u)
  v = tf.stop_gradient(v)
  if left:
    sigma = tf.matmul(tf.matmul(u, w, transpose_a=True), v)
  else:
    sigma = tf.matmul(tf.matmul(v, w), u, transpose_b=True)
  sigma = tf.reshape(sigma, [])
  return kernel / sigma, u, sigma
