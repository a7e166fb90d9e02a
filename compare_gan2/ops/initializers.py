"""Kernel initializers named as compare_gan's `weights.initializer` options.

compare_gan `architectures/arch_ops.py:46-63`.
"""

import keras

from compare_gan2 import registry

# compare_gan's names, plus the Glorot family it uses for BigGAN D's class
# embedding (`resnet_biggan.py:415-417`) and that the issue asks to expose.
INITIALIZER_NAMES = ("normal", "truncated", "orthogonal", "glorot_normal", "glorot_uniform")


@registry.register(module="compare_gan2.ops")
def weight_initializer(initializer: str = "normal",
                       stddev: float = 0.02) -> keras.initializers.Initializer:
  """Returns the kernel initializer compare_gan calls `weights`.

  Args:
    initializer: "normal" (N(0, stddev²), compare_gan's default), "truncated"
      (normal truncated at ±2·stddev), "orthogonal" (gain 1, stddev ignored),
      "glorot_normal" or "glorot_uniform" (Glorot & Bengio 2010; stddev
      ignored). "xavier" is accepted for "glorot_normal".
    stddev: standard deviation for "normal" and "truncated".

  Returns:
    A new, unseeded Keras initializer (reproducible through
    `keras.utils.set_random_seed`). Keras 3 initializers given an integer seed
    return the same values on every call, so one seeded instance shared by
    several layers would give them identical kernels.

  Raises:
    ValueError: for an unknown initializer name.
  """
  if initializer == "normal":
    return keras.initializers.RandomNormal(mean=0.0, stddev=stddev)
  if initializer == "truncated":
    return keras.initializers.TruncatedNormal(mean=0.0, stddev=stddev)
  if initializer == "orthogonal":
    return keras.initializers.Orthogonal(gain=1.0)
  if initializer in ("glorot_normal", "xavier"):
    return keras.initializers.GlorotNormal()
  if initializer == "glorot_uniform":
    return keras.initializers.GlorotUniform()
  raise ValueError(
      f"Unknown weight initializer {initializer!r}; expected one of "
      f"{INITIALIZER_NAMES + ('xavier',)}.")
