"""Batch, conditional and self-modulated batch normalization as in compare_gan.

compare_gan `architectures/arch_ops.py:66-450` and `tpu/tpu_ops.py:94-125`
(layer norm is in layer_norm.py). Batch statistics use the biased variance
E[x²] − E[x]² over every axis but channels, so a rank-2 input is normalized per
feature. Inference uses either moving averages (compare_gan's default) or
"standing statistics" accumulated in an explicit pass over generated batches
(Brock et al. 2019, BigGAN §3.1; `use_moving_averages=False`):

    with standing_statistics(generator):   # accumulators reset, then filled
      for _ in range(num_batches):
        generator(z, y, training=False)
    images = generator(z, y, training=False)  # uses the accumulated statistics
"""

import contextlib
from collections.abc import Iterator
from typing import Any

import keras
import tensorflow as tf

from compare_gan2 import registry
from compare_gan2.ops import layers

# accu_counter starts here so inference before any accumulation divides by a
# tiny number instead of zero, as compare_gan (arch_ops.py:155).
_COUNTER_INIT = 1e-12
STANDING_VARIANCE_MODES = ("batch_average", "pooled")


def _use_cross_replica(cross_replica: bool | None) -> bool:
  if cross_replica is not None:
    return cross_replica
  # compare_gan's auto mode: synchronized statistics exactly when on TPU.
  return isinstance(tf.distribute.get_strategy(), tf.distribute.TPUStrategy)


def batch_moments(x: tf.Tensor, cross_replica: bool = False) -> tuple[tf.Tensor, tf.Tensor]:
  """Per-channel mean and biased variance of a batch, in float32.

  Args:
    x: a tensor whose last axis is channels.
    cross_replica: average E[x] and E[x²] over all replicas first (compare_gan's
      `cross_replica_moments` with `parallel=True`), so every replica gets the
      statistics of the global batch.

  Returns:
    (mean, variance), each of shape [channels].
  """
  x = tf.cast(x, tf.float32)
  axes = list(range(x.shape.rank - 1))
  mean = tf.reduce_mean(x, axis=axes)
  mean_of_squares = tf.reduce_mean(tf.square(x), axis=axes)
  context = tf.distribute.get_replica_context()
  if cross_replica and context is not None and context.num_replicas_in_sync > 1:
    mean, mean_of_squares = context.all_reduce(
        tf.distribute.ReduceOp.MEAN, [mean, mean_of_squares])
  return mean, mean_of_squares - tf.square(mean)


def _channels_shape(x: tf.Tensor, values: tf.Tensor) -> tf.Tensor:
  """Reshapes [B, C] modulation to broadcast against x of any rank."""
  return tf.reshape(values, [-1] + [1] * (x.shape.rank - 2) + [values.shape[-1]])


def configured(norm_class: type) -> type:
  """The constructor of `norm_class` that applies its gin bindings (`ops.<Name>.*`).

  Every norm an architecture creates goes through this, whether the class came
  from gin (`@ops.BatchNorm`), from Python, or is fixed by the architecture
  (InfoGAN G's batch norms, BigGAN's `final_norm`, layer norm): one set of
  bindings then reaches all of them. Instances are of `norm_class` itself.
  """
  return registry.configured(norm_class)


@keras.saving.register_keras_serializable(package="compare_gan2")
class BatchNorm(keras.layers.Layer):
  """compare_gan's `batch_norm` (center and scale on) or `standardize_batch`."""

  def __init__(self, decay: float = 0.999, epsilon: float = 1e-3,
               use_moving_averages: bool = True, cross_replica: bool | None = None,
               center: bool = True, scale: bool = True,
               standing_variance: str = "batch_average", **kwargs):
    """Creates the layer.

    Args:
      decay: moving-average decay (compare_gan's default; its configs use 0.9).
      epsilon: added to the variance (compare_gan's default; configs use 1e-5).
      use_moving_averages: False selects accumulated standing statistics.
      cross_replica: synchronized statistics across replicas; None means
        "on TPU only", as compare_gan's `use_cross_replica_mean=None`.
      center: learn beta (zeros); compare_gan's `batch_norm` has it.
      scale: learn gamma (ones); compare_gan's `batch_norm` has it.
      standing_variance: "batch_average" averages per-batch biased variances
        (compare_gan); "pooled" gives the variance of all accumulated examples.
      **kwargs: Keras layer arguments (name, dtype).
    """
    super().__init__(**kwargs)
    if standing_variance not in STANDING_VARIANCE_MODES:
      raise ValueError(f"standing_variance must be one of {STANDING_VARIANCE_MODES}, "
                       f"got {standing_variance!r}.")
    self.decay = decay
    self.epsilon = epsilon
    self.use_moving_averages = use_moving_averages
    self.cross_replica = cross_replica
    self.center = center
    self.scale = scale
    self.standing_variance = standing_variance

  def _stat(self, name: str, shape, value: float, dtype="float32", aggregation="mean"):
    return self.add_weight(name=name, shape=shape, dtype=dtype, trainable=False,
                           initializer=keras.initializers.Constant(value),
                           aggregation=aggregation, autocast=False)

  def build(self, input_shape: tuple) -> None:
    """Creates the weights for inputs of this shape (compare_gan's creation order)."""
    channels = input_shape[-1]
    if channels is None or len(input_shape) not in (2, 4):
      raise ValueError(f"{self.name}: expected rank 2 or 4 input with known channels, "
                       f"got shape {tuple(input_shape)}.")
    shape = (int(channels),)
    if self.use_moving_averages:
      self.moving_mean = self._stat("moving_mean", shape, 0.0)
      self.moving_variance = self._stat("moving_variance", shape, 1.0)
    else:
      self.accu_mean = self._stat("accu_mean", shape, 0.0)
      self.accu_variance = self._stat("accu_variance", shape, 0.0)
      if self.standing_variance == "pooled":
        self.accu_mean_of_squares = self._stat("accu_mean_of_squares", shape, 0.0)
      self.accu_counter = self._stat("accu_counter", (), _COUNTER_INIT)
      self.update_accus = self._stat("update_accus", (), 0, "int32", "only_first_replica")
    # autocast=False: the layer computes in float32 (as compare_gan), so under a
    # mixed policy gamma and beta must not be read in the float16 compute dtype.
    self.gamma = (self.add_weight(name="gamma", shape=shape, initializer="ones", autocast=False)
                  if self.scale else None)
    self.beta = (self.add_weight(name="beta", shape=shape, initializer="zeros", autocast=False)
                 if self.center else None)

  def _standing_moments(self, mean: tf.Tensor, variance: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    # Branch-free so it runs in a replica context without control flow: the
    # switch is 0 or 1 and adding 0 leaves the accumulators unchanged.
    flag = tf.cast(self.update_accus, tf.float32)
    self.accu_mean.assign_add(flag * mean)
    self.accu_variance.assign_add(flag * variance)
    if self.standing_variance == "pooled":
      self.accu_mean_of_squares.assign_add(flag * tf.square(mean))
    self.accu_counter.assign_add(flag)
    mean = self.accu_mean / self.accu_counter
    variance = self.accu_variance / self.accu_counter
    if self.standing_variance == "pooled":
      # Law of total variance over equally sized batches.
      variance += self.accu_mean_of_squares / self.accu_counter - tf.square(mean)
    return mean, variance

  def _update_moving_averages(self, mean: tf.Tensor, variance: tf.Tensor) -> None:
    # tf.train's assign_moving_average with zero_debias=False, as compare_gan.
    self.moving_mean.assign_sub((self.moving_mean - mean) * (1.0 - self.decay))
    self.moving_variance.assign_sub((self.moving_variance - variance) * (1.0 - self.decay))

  def _moments(self, inputs: tf.Tensor, training: bool) -> tuple[tf.Tensor, tf.Tensor]:
    """Batch statistics in training; moving or standing statistics otherwise."""
    if not training and self.use_moving_averages:
      # No batch statistics here: under a strategy they would cost an all-reduce.
      return tf.convert_to_tensor(self.moving_mean), tf.convert_to_tensor(self.moving_variance)
    mean, variance = batch_moments(inputs, _use_cross_replica(self.cross_replica))
    if not training:
      return self._standing_moments(mean, variance)
    if self.use_moving_averages:
      self._update_moving_averages(mean, variance)
    return mean, variance

  def call(self, inputs: tf.Tensor, training: bool = False) -> tf.Tensor:
    """Normalizes `inputs` per channel (see the class docstring for statistics)."""
    mean, variance = self._moments(inputs, training)
    # compare_gan's tf.nn.batch_normalization (arch_ops.py:306-312), which folds
    # gamma into rsqrt(var + eps) and mean into the offset: x·s + (beta − mean·s),
    # two passes over x instead of four.
    outputs = tf.nn.batch_normalization(
        tf.cast(inputs, tf.float32), mean, variance,
        offset=None if self.beta is None else tf.cast(self.beta, tf.float32),
        scale=None if self.gamma is None else tf.cast(self.gamma, tf.float32),
        variance_epsilon=self.epsilon)
    return tf.cast(outputs, inputs.dtype)

  def compute_output_shape(self, input_shape: tuple) -> tuple:
    """The output shape, without running the layer."""
    return input_shape

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    return {**super().get_config(), "decay": self.decay, "epsilon": self.epsilon,
            "use_moving_averages": self.use_moving_averages,
            "cross_replica": self.cross_replica, "center": self.center,
            "scale": self.scale, "standing_variance": self.standing_variance}


class ModulatedBatchNorm(BatchNorm):
  """Base of the batch norms whose gamma and beta are computed per example.

  Subclasses say which conditioning input they use (`condition_name`, "y" or
  "z") and how gamma and beta follow from it (`_modulation`). Architectures call
  every such layer as `norm(x, norm.select_condition(z=z, y=y), training=...)`.
  """

  condition_name = ""

  def __init__(self, spectral_norm: layers.SpectralNormArg = False,
               kernel_initializer: Any = None, **kwargs):
    super().__init__(center=False, scale=False, **kwargs)
    self.spectral_norm = layers.sn.SpectralNormConfig.resolve(spectral_norm)
    self.kernel_initializer = (None if kernel_initializer is None
                               else keras.initializers.get(kernel_initializer))

  def select_condition(self, z: tf.Tensor | None, y: tf.Tensor | None) -> tf.Tensor:
    """Picks this layer's conditioning input; raises if it is missing."""
    condition = {"y": y, "z": z}[self.condition_name]
    if condition is None:
      raise ValueError(f"{self.name} ({type(self).__name__}) needs {self.condition_name}, "
                       "got None.")
    return condition

  def _linear(self, units: int, name: str, use_bias: bool = True,
              bias_initializer: str = "zeros") -> layers.Linear:
    return layers.Linear(units, use_bias=use_bias, spectral_norm=self.spectral_norm,
                         kernel_initializer=self.kernel_initializer,
                         bias_initializer=bias_initializer, name=name)

  def build(self, inputs_shape: tuple, condition_shape: tuple) -> None:
    """Creates the weights for inputs of this shape (compare_gan's creation order)."""
    if len(condition_shape) != 2:
      raise ValueError(f"{self.name}: {self.condition_name} must be rank 2 [batch, dim], "
                       f"got shape {tuple(condition_shape)}.")
    super().build(inputs_shape)
    self._build_projections(int(inputs_shape[-1]), tuple(condition_shape))

  def _build_projections(self, channels: int, condition_shape: tuple) -> None:
    raise NotImplementedError  # Abstract: each subclass creates its projections.

  def _modulation(self, condition: tf.Tensor, training: bool) -> tuple[tf.Tensor, tf.Tensor]:
    raise NotImplementedError  # Abstract: each subclass maps condition to (gamma, beta).

  def call(self, inputs: tf.Tensor, condition: tf.Tensor, training: bool = False) -> tf.Tensor:
    """x̂ · gamma(condition) + beta(condition), with x̂ the standardized input."""
    x = super().call(inputs, training=training)
    gamma, beta = self._modulation(condition, training)
    return (x * _channels_shape(x, tf.cast(gamma, x.dtype))
            + _channels_shape(x, tf.cast(beta, x.dtype)))

  def compute_output_shape(self, inputs_shape: tuple, condition_shape: tuple | None = None) -> tuple:
    """The output shape, without running the layer."""
    return inputs_shape

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    config = super().get_config()
    for key in ("center", "scale"):
      config.pop(key)
    return {**config,
            "spectral_norm": self.spectral_norm.to_dict() if self.spectral_norm else False,
            "kernel_initializer": (keras.initializers.serialize(self.kernel_initializer)
                                   if self.kernel_initializer is not None else None)}


@keras.saving.register_keras_serializable(package="compare_gan2")
class ConditionalBatchNorm(ModulatedBatchNorm):
  """Batch norm whose gamma and beta are linear in a conditioning vector y.

  de Vries et al. 2017, Dumoulin et al. 2017; compare_gan
  `conditional_batch_norm` (arch_ops.py:423-445): gamma = y·W_γ, beta = y·W_β,
  with no "+1" on gamma (so the scale starts near 0) unless `gamma_offset=1`,
  the BigGAN paper's 1 + γ(y). y is one-hot labels or any embedding, rank 2.
  """

  condition_name = "y"

  def __init__(self, use_bias: bool = False, gamma_offset: float = 0.0, **kwargs):
    super().__init__(**kwargs)
    self.use_bias = use_bias
    self.gamma_offset = gamma_offset

  def _build_projections(self, channels: int, condition_shape: tuple) -> None:
    self.gamma_projection = self._linear(channels, "gamma", use_bias=self.use_bias)
    self.beta_projection = self._linear(channels, "beta", use_bias=self.use_bias)
    self.gamma_projection.build(condition_shape)
    self.beta_projection.build(condition_shape)

  def _modulation(self, condition, training):
    gamma = self.gamma_projection(condition, training=training) + self.gamma_offset
    return gamma, self.beta_projection(condition, training=training)

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    return {**super().get_config(), "use_bias": self.use_bias, "gamma_offset": self.gamma_offset}


@keras.saving.register_keras_serializable(package="compare_gan2")
class SelfModulatedBatchNorm(ModulatedBatchNorm):
  """Batch norm whose gamma and beta are computed from the latent z.

  Chen et al. 2019, "On Self Modulation for GANs", eq. 2; compare_gan
  `self_modulated_batch_norm` (arch_ops.py:370-420): h = relu(z·W_h + b_h)
  (h = z when num_hidden is 0), gamma = h·W_γ + b_γ with b_γ starting at 1,
  beta = h·W_β + b_β with b_β starting at 0.
  """

  condition_name = "z"

  def __init__(self, num_hidden: int = 32, **kwargs):
    super().__init__(**kwargs)
    self.num_hidden = num_hidden

  def _build_projections(self, channels: int, condition_shape: tuple) -> None:
    self.hidden = self._linear(self.num_hidden, "hidden") if self.num_hidden else None
    if self.hidden is not None:
      self.hidden.build(condition_shape)
    h_shape = (condition_shape[0], self.num_hidden or condition_shape[-1])
    self.gamma_projection = self._linear(channels, "gamma", bias_initializer="ones")
    self.beta_projection = self._linear(channels, "beta")
    self.gamma_projection.build(h_shape)
    self.beta_projection.build(h_shape)

  def _modulation(self, condition, training):
    h = condition if self.hidden is None else tf.nn.relu(self.hidden(condition, training=training))
    return (self.gamma_projection(h, training=training),
            self.beta_projection(h, training=training))

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    return {**super().get_config(), "num_hidden": self.num_hidden}


def standing_statistics_layers(model: keras.layers.Layer) -> list[BatchNorm]:
  """Every batch-norm layer in `model` that uses accumulated statistics."""
  return [layer for layer in model._flatten_layers(include_self=True, recursive=True)  # pylint: disable=protected-access
          if isinstance(layer, BatchNorm) and layer.built and not layer.use_moving_averages]


def reset_standing_statistics(model: keras.layers.Layer) -> None:
  """Zeroes the accumulators of every standing-statistics layer in `model`."""
  for layer in standing_statistics_layers(model):
    for variable in (layer.accu_mean, layer.accu_variance):
      variable.assign(tf.zeros_like(variable))
    if layer.standing_variance == "pooled":
      layer.accu_mean_of_squares.assign(tf.zeros_like(layer.accu_mean_of_squares))
    layer.accu_counter.assign(_COUNTER_INIT)


@contextlib.contextmanager
def standing_statistics(model: keras.layers.Layer, reset: bool = True) -> Iterator[list[BatchNorm]]:
  """Accumulates batch statistics over the inference calls made inside.

  compare_gan fills the accumulators by running the generator with
  `update_accus = 1` (eval_gan_lib.py:65-91). Calls with `training=False`
  inside the block add their batch mean and variance; after the block, inference
  normalizes with the averages. Works eagerly and in traced functions, since the
  switch is a variable.

  Args:
    model: a built model (call it once first so its layers exist).
    reset: zero the accumulators first. compare_gan never resets them, so a
      second fill there averages over both passes.

  Yields:
    The layers being accumulated.

  Raises:
    ValueError: if the model has no built standing-statistics layer.
  """
  bn_layers = standing_statistics_layers(model)
  if not bn_layers:
    raise ValueError(
        f"{model.name} has no built BatchNorm with use_moving_averages=False; "
        "build the model (call it once) before accumulating standing statistics.")
  if reset:
    reset_standing_statistics(model)
  for layer in bn_layers:
    layer.update_accus.assign(1)
  try:
    yield bn_layers
  finally:
    for layer in bn_layers:
      layer.update_accus.assign(0)
