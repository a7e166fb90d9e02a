"""Linear, convolution, transposed convolution and embedding layers with
compare_gan's semantics and optional spectral normalization.

compare_gan `architectures/arch_ops.py:538-592`
and `:453-535`. Kernels default to compare_gan's N(0, 0.02²), biases to zero,
convolutions use TF "SAME" padding in NHWC. With `spectral_norm` set, the layer
owns a non-trainable `u_var` and computes with kernel / σ (see spectral_norm.py).

Variable names follow compare_gan: `<layer>/kernel`, `<layer>/bias` and
`<layer>/u_var` for compare_gan's `<scope>/kernel/u_var` (Keras forbids "/" in a
variable name, so the map to the TF1 name inserts "kernel/").
"""

from typing import Any

import keras
import tensorflow as tf

from compare_gan2.ops import dense_conv
from compare_gan2.ops import initializers
from compare_gan2.ops import spectral_norm as sn

SpectralNormArg = bool | dict | sn.SpectralNormConfig | None


def lrelu(x: tf.Tensor, leak: float = 0.2) -> tf.Tensor:
  """max(x, leak·x), compare_gan's `lrelu` (arch_ops.py:595-597).

  For 0 <= leak <= 1 this is `tf.nn.leaky_relu`: one op forward and one
  backward instead of Mul, Maximum and Maximum's GreaterEqual/Select
  gradient.

  Differences from compare_gan: the values are the same; the gradient differs
  only at x == 0 exactly (leak instead of 1; docs/MIGRATION.md, "Differences
  that change numbers").
  """
  if 0.0 <= leak <= 1.0:
    return tf.nn.leaky_relu(x, alpha=leak)
  return tf.maximum(x, leak * x)


class KernelLayer(keras.layers.Layer):
  """Base for layers with one kernel, an optional bias and optional SN."""

  def __init__(self, *, use_bias: bool = True, kernel_initializer: Any = None,
               bias_initializer: Any = "zeros", spectral_norm: SpectralNormArg = False,
               **kwargs):
    super().__init__(**kwargs)
    self.use_bias = use_bias
    # A Keras 3 initializer instance draws the same values on every call, so a
    # layer clones the one it is given: one instance shared by several layers
    # (as an architecture passes its configured initializer) must still give
    # them independent kernels. An explicit integer seed survives the clone.
    self.kernel_initializer = keras.initializers.get(
        kernel_initializer or initializers.weight_initializer()).clone()
    self.bias_initializer = keras.initializers.get(bias_initializer)
    self.spectral_norm = sn.SpectralNormConfig.resolve(spectral_norm)

  def _build_kernel(self, kernel_shape: tuple[int, ...], bias_size: int) -> None:
    """Creates kernel, u_var (if SN) and bias, in compare_gan's order."""
    # autocast=False: `normalized_kernel` reads both in float32 and casts the
    # result, so spectral norm runs in float32 under a mixed policy too.
    self.kernel = self.add_weight(
        name="kernel", shape=kernel_shape, initializer=self.kernel_initializer, autocast=False)
    self.u_var = None
    if self.spectral_norm:
      self.u_var = self.add_weight(
          name="u_var",
          shape=sn.u_shape(kernel_shape, self.spectral_norm.singular_value),
          initializer=keras.initializers.RandomNormal(stddev=1.0),
          trainable=False, autocast=False,
          # Every replica computes the same u from the same mirrored kernel.
          aggregation="only_first_replica")
    self.bias = None
    if self.use_bias:
      self.bias = self.add_weight(
          name="bias", shape=(bias_size,), initializer=self.bias_initializer)

  def normalized_kernel(self, training: bool = False) -> tf.Tensor:
    """The kernel the forward pass uses: W, or W / σ(W) with SN.

    Args:
      training: store the new power-iteration vector in `u_var` (also done in
        inference when the config says `update_in_inference`).

    Returns:
      A tensor of the kernel's shape in the layer's compute dtype.
    """
    kernel = tf.convert_to_tensor(self.kernel)
    if self.spectral_norm:
      kernel, new_u, _ = sn.normalize(
          kernel, tf.convert_to_tensor(self.u_var), self.spectral_norm)
      if training or self.spectral_norm.update_in_inference:
        self.u_var.assign(new_u)
    return tf.cast(kernel, self.compute_dtype)  # a no-op in float32

  def _add_bias(self, outputs: tf.Tensor) -> tf.Tensor:
    return outputs if self.bias is None else tf.nn.bias_add(outputs, self.bias)

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    config = super().get_config()
    config.update(
        use_bias=self.use_bias,
        kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        bias_initializer=keras.initializers.serialize(self.bias_initializer),
        spectral_norm=self.spectral_norm.to_dict() if self.spectral_norm else False)
    return config


@keras.saving.register_keras_serializable(package="compare_gan2")
class Linear(KernelLayer):
  """y = x · W + b on the last axis (compare_gan `linear`, arch_ops.py:538)."""

  def __init__(self, units: int, **kwargs):
    super().__init__(**kwargs)
    self.units = units

  def build(self, input_shape: tuple) -> None:
    """Creates the weights for inputs of this shape (compare_gan's creation order)."""
    if input_shape[-1] is None:
      raise ValueError(f"{self.name}: the last input axis must be known, got {input_shape}.")
    self._build_kernel((int(input_shape[-1]), self.units), self.units)

  def call(self, inputs: tf.Tensor, training: bool = False) -> tf.Tensor:
    """x · W (W / σ with spectral norm) + b."""
    return self._add_bias(tf.matmul(inputs, self.normalized_kernel(training)))

  def compute_output_shape(self, input_shape: tuple) -> tuple:
    """The output shape, without running the layer."""
    return (*input_shape[:-1], self.units)

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    return {**super().get_config(), "units": self.units}


def _pair(value: int | tuple[int, int]) -> tuple[int, int]:
  return (value, value) if isinstance(value, int) else tuple(value)


@keras.saving.register_keras_serializable(package="compare_gan2")
class Conv2D(KernelLayer):
  """2-D convolution, "SAME" padding, NHWC (compare_gan `conv2d`, :559).

  `Conv2D(c, 1)` is compare_gan's `conv1x1`.
  """

  def __init__(self, filters: int, kernel_size: int | tuple[int, int],
               strides: int | tuple[int, int] = 1, **kwargs):
    super().__init__(**kwargs)
    self.filters = filters
    self.kernel_size = _pair(kernel_size)
    self.strides = _pair(strides)

  def build(self, input_shape: tuple) -> None:
    """Creates the weights for inputs of this shape (compare_gan's creation order)."""
    if len(input_shape) != 4 or input_shape[-1] is None:
      raise ValueError(f"{self.name}: expected NHWC input with known channels, got {input_shape}.")
    self._build_kernel((*self.kernel_size, int(input_shape[-1]), self.filters), self.filters)

  def call(self, inputs: tf.Tensor, training: bool = False) -> tf.Tensor:
    """SAME-padded NHWC convolution with the (normalized) kernel, plus bias.

    On a map with no more pixels than the kernel has taps, as a dense matrix
    product (`dense_conv`): the same values in less time.
    """
    kernel = self.normalized_kernel(training)
    out_hw = self.compute_output_shape(inputs.shape)[1:3]
    if dense_conv.applies(inputs.shape[1:3], out_hw, self.kernel_size, inputs.shape[0]):
      outputs = dense_conv.conv2d(inputs, kernel, self.strides)
    else:
      outputs = tf.nn.conv2d(inputs, kernel, strides=(1, *self.strides, 1), padding="SAME")
    return self._add_bias(outputs)

  def compute_output_shape(self, input_shape: tuple) -> tuple:
    """The output shape, without running the layer."""
    size = [None if d is None else -(-d // s) for d, s in zip(input_shape[1:3], self.strides)]
    return (input_shape[0], *size, self.filters)

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    return {**super().get_config(), "filters": self.filters,
            "kernel_size": self.kernel_size, "strides": self.strides}


@keras.saving.register_keras_serializable(package="compare_gan2")
class Deconv2D(KernelLayer):
  """Transposed 2-D convolution, "SAME" padding (compare_gan `deconv2d`, :579).

  The kernel has the transposed layout (KH, KW, C_out, C_in). The output is
  `strides` times the input unless `output_size` fixes it, e.g. 4 -> 7 for the
  28x28 architectures, which compare_gan gets from its explicit output shape.
  """

  def __init__(self, filters: int, kernel_size: int | tuple[int, int],
               strides: int | tuple[int, int] = 2,
               output_size: tuple[int, int] | None = None, **kwargs):
    super().__init__(**kwargs)
    self.filters = filters
    self.kernel_size = _pair(kernel_size)
    self.strides = _pair(strides)
    self.output_size = None if output_size is None else _pair(output_size)

  def build(self, input_shape: tuple) -> None:
    """Creates the weights for inputs of this shape (compare_gan's creation order)."""
    if len(input_shape) != 4 or input_shape[-1] is None:
      raise ValueError(f"{self.name}: expected NHWC input with known channels, got {input_shape}.")
    self._build_kernel((*self.kernel_size, self.filters, int(input_shape[-1])), self.filters)

  def _spatial_output(self, height, width):
    if self.output_size is not None:
      return self.output_size
    return height * self.strides[0], width * self.strides[1]

  def call(self, inputs: tf.Tensor, training: bool = False) -> tf.Tensor:
    """SAME-padded transposed convolution to the output size, plus bias.

    To a map with no more pixels than the kernel has taps, as a dense matrix
    product (`dense_conv`): the same values in less time.
    """
    kernel = self.normalized_kernel(training)
    shape = tf.shape(inputs)
    out_hw = self._spatial_output(inputs.shape[1] or shape[1], inputs.shape[2] or shape[2])
    if dense_conv.applies(out_hw, inputs.shape[1:3], self.kernel_size, inputs.shape[0]):
      outputs = dense_conv.conv2d_transpose(inputs, kernel, self.strides, out_hw)
    else:
      outputs = tf.nn.conv2d_transpose(inputs, kernel, tf.stack([shape[0], *out_hw, self.filters]),
                                       strides=(1, *self.strides, 1), padding="SAME")
    return self._add_bias(outputs)

  def compute_output_shape(self, input_shape: tuple) -> tuple:
    """The output shape, without running the layer."""
    height, width = input_shape[1:3]
    if height is not None and width is not None:
      height, width = self._spatial_output(height, width)
    return (input_shape[0], height, width, self.filters)

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
            "strides": self.strides, "output_size": self.output_size}


@keras.saving.register_keras_serializable(package="compare_gan2")
class Embedding(KernelLayer):
  """Class embedding table, optionally spectrally normalized.

  compare_gan embeds classes with a bias-free `linear` on one-hot labels; this
  layer stores the same (num_classes, output_dim) kernel and gathers rows, so
  `Embedding(n, d)(ids)` equals `Linear(d, use_bias=False)(one_hot(ids, n))`.
  """

  def __init__(self, input_dim: int, output_dim: int, **kwargs):
    kwargs.setdefault("use_bias", False)
    super().__init__(**kwargs)
    self.input_dim = input_dim
    self.output_dim = output_dim

  def build(self, input_shape: tuple) -> None:
    """Creates the weights for inputs of this shape (compare_gan's creation order)."""
    self._build_kernel((self.input_dim, self.output_dim), self.output_dim)

  def call(self, inputs: tf.Tensor, training: bool = False) -> tf.Tensor:
    """Rows of the (normalized) table for integer class ids."""
    ids = tf.cast(inputs, tf.int32)
    return self._add_bias(tf.gather(self.normalized_kernel(training), ids))

  def compute_output_shape(self, input_shape: tuple) -> tuple:
    """The output shape, without running the layer."""
    return (*input_shape, self.output_dim)

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim}
