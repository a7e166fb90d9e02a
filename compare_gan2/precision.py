"""Mixed precision: one gin switch for the compute dtype, and loss scaling for float16.

compare_gan trained in float32 only (its TPU runs kept float32
activations). Here a run may compute in bfloat16 (TPU) or
float16 (GPU) while every variable stays float32 (Micikevicius et al. 2018,
"Mixed Precision Training", §3.1: fp32 master weights), through the Keras global
dtype policy:

    precision.set_precision.policy = "mixed_bfloat16"   # in a gin file

The runner calls `set_precision()` after parsing gin and before anything is
built (layers read the global policy when they are created), and passes both
optimizers through `loss_scale_optimizer`. float16 has 5 exponent bits, so small
gradients underflow unless the loss is multiplied by a large factor first and
the gradients divided by it afterwards (Micikevicius et al. 2018, §3.2):
`loss_scale_optimizer` wraps an optimizer in `keras.optimizers.LossScaleOptimizer`
(dynamic scale, a step with non-finite gradients is skipped and the scale
halved) under "mixed_float16", and ModularGAN scales its losses with the
optimizer's `scale_loss`. bfloat16 has float32's exponent range and needs no
scaling.

What stays float32 under a mixed policy: variables, batch-norm statistics and
normalization (ops.normalization), spectral-norm power iterations
(ops.spectral_norm), D's logits and the GAN losses, and the images G hands to D
(the library's images are float32, compare_gan2 convention).

Checkpoints do not depend on the policy (variables are float32), except that a
LossScaleOptimizer adds its `dynamic_scale` and `step_counter` variables.
"""

import contextlib
from collections.abc import Iterator

import keras

from compare_gan2 import registry

POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")


@registry.register(module="compare_gan2.precision")
def set_precision(policy: str = "float32") -> str:
  """Sets the Keras global dtype policy for the layers built from now on.

  Args:
    policy: "float32" (compare_gan's), "mixed_bfloat16" (TPU) or
      "mixed_float16" (GPU; wrap the optimizers with `loss_scale_optimizer`).

  Returns:
    The policy name now in force.

  Raises:
    ValueError: for any other policy name.
  """
  if policy not in POLICIES:
    raise ValueError(f"precision.set_precision: policy must be one of {POLICIES}, "
                     f"got {policy!r}.")
  keras.mixed_precision.set_global_policy(policy)
  return policy


def current_policy() -> str:
  """The name of the Keras global dtype policy ("float32" by default)."""
  return keras.mixed_precision.global_policy().name


def needs_loss_scaling() -> bool:
  """Whether the global policy computes in float16 (and so needs loss scaling)."""
  return keras.mixed_precision.global_policy().compute_dtype == "float16"


def loss_scale_optimizer(optimizer: keras.optimizers.Optimizer,
                         initial_scale: float = 2.0**15) -> keras.optimizers.Optimizer:
  """The optimizer wrapped in a dynamic LossScaleOptimizer under float16, else itself.

  Call it before the optimizer is built (ModularGAN.compile / build_networks),
  for every optimizer of the run, at training and when rebuilding a run for
  evaluation, so that checkpoints match. While the scale is too large, steps
  are skipped (and the scale halved) without advancing `iterations`.

  Args:
    optimizer: the optimizer to wrap (returned as is when no scaling is needed).
    initial_scale: the first loss scale (Keras' default 2^15).
  """
  if not needs_loss_scaling() or isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
    return optimizer
  return keras.optimizers.LossScaleOptimizer(optimizer, initial_scale=initial_scale)


@contextlib.contextmanager
def precision_policy(policy: str) -> Iterator[str]:
  """Sets a policy for the block and restores the previous global policy after it."""
  previous = keras.mixed_precision.global_policy()
  try:
    yield set_precision(policy)
  finally:
    keras.mixed_precision.set_global_policy(previous)
