"""Shared test helpers: a 2-replica CPU strategy, tiny G and D, gin hygiene.

Every test suite of the project (and of a user's extension) stands on these:

- `configure_logical_cpus(2)` splits the CPU into two logical devices; call it
  before TensorFlow initializes its runtime (tests/conftest.py does).
- `two_replica_cpu_strategy()` is a MirroredStrategy over those devices, for
  checking that a component gives the same numbers on 1 and 2 replicas.
- `run_three_ways(fn, inputs)` runs a function eagerly, under `tf.function` and
  under the 2-replica strategy, returning the three results.
- `assert_three_ways_agree(results)` checks that those three results match.
- `trainable_count(model)` counts a model's trainable parameters.
- `record_weight_creation()` records every weight Keras layers create, in
  creation order, with the layer that created it (for checking compare_gan's
  variable order, e.g. before mapping checkpoints by position).
- `TinyGenerator` / `TinyDiscriminator` are compare_gan's test_utils dummies
  (test_utils.py:58-84): G = sigmoid(linear(z)) reshaped, D = linear(mean
  over H, W) returning (probabilities, logits, features).
- `save_tf1_checkpoint(prefix, values)` writes a TF1 checkpoint whose Adam
  state tf.compat.v1.train.AdamOptimizer itself named, as compare_gan's
  ModularGAN.model_fn builds it (`COMPARE_GAN_ADAM`) or default-named
  (`DEFAULT_ADAM`); `beta_power_names` gives the names of its beta powers.
"""

import collections
import contextlib
import re
import socket
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from compare_gan2.architectures import base
from compare_gan2.ops import layers
from compare_gan2.ops import normalization


def configure_logical_cpus(count: int = 2) -> None:
  """Splits the first CPU into `count` logical devices (once, before use).

  Raises:
    RuntimeError: if TensorFlow already initialized its devices differently.
  """
  cpu = tf.config.list_physical_devices("CPU")[0]
  # Reading the configuration does not initialize the runtime; listing the
  # logical devices would, and then they could no longer be split.
  existing = tf.config.get_logical_device_configuration(cpu)
  if existing is not None and len(existing) >= count:
    return
  try:
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * count)
  except RuntimeError as e:
    raise RuntimeError(
        f"configure_logical_cpus({count}) must run before TensorFlow creates its "
        "devices (before any op or strategy); call it at the top of conftest.py.") from e


def free_ports(count: int) -> list[int]:
  """`count` distinct TCP ports free on 127.0.0.1 now (for test clusters of worker processes)."""
  sockets = [socket.socket() for _ in range(count)]
  for s in sockets:  # all bound at once, so the ports differ
    s.bind(("127.0.0.1", 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


def two_replica_cpu_strategy() -> tf.distribute.MirroredStrategy:
  """A MirroredStrategy over /cpu:0 and /cpu:1 (see configure_logical_cpus)."""
  if len(tf.config.list_logical_devices("CPU")) < 2:
    raise RuntimeError("two_replica_cpu_strategy needs configure_logical_cpus(2) "
                       "to run before TensorFlow initializes.")
  return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])


def split_batch(strategy: tf.distribute.Strategy, values: Sequence[np.ndarray]):
  """Gives replica i the i-th contiguous slice of each array, as a PerReplica."""
  replicas = strategy.num_replicas_in_sync

  def slice_for(context):
    index = context.replica_id_in_sync_group
    return tuple(np.array_split(v, replicas)[index] for v in values)

  return strategy.experimental_distribute_values_from_function(slice_for)


def run_three_ways(build: Callable[[], Any], fn: Callable[..., Any],
                   inputs: Sequence[np.ndarray],
                   strategy: tf.distribute.Strategy | None = None) -> dict[str, Any]:
  """Runs `fn(obj, *inputs)` eagerly, traced and on a 2-replica strategy.

  Each mode gets a fresh object from `build()` (call keras.utils.set_random_seed
  inside `build` for equal initial weights). Under the strategy, each replica
  sees its slice of the batch and the outputs are concatenated along axis 0.

  Returns:
    {"eager": ..., "function": ..., "mirrored": ...}, each the numpy outputs
    and the object, as (outputs, obj).
  """
  results = {}
  obj = build()
  results["eager"] = (tf.nest.map_structure(np.asarray, fn(obj, *inputs)), obj)
  obj = build()
  traced = tf.function(lambda *args: fn(obj, *args))
  results["function"] = (tf.nest.map_structure(np.asarray, traced(*inputs)), obj)
  strategy = strategy or two_replica_cpu_strategy()
  with strategy.scope():
    obj = build()
  step = tf.function(lambda *args: strategy.run(lambda *a: fn(obj, *a), args=args))
  per_replica = step(*split_batch(strategy, inputs))
  gathered = tf.nest.map_structure(lambda t: strategy.gather(t, axis=0), per_replica)
  results["mirrored"] = (tf.nest.map_structure(np.asarray, gathered), obj)
  return results


def assert_three_ways_agree(results: dict[str, Any], rtol: float = 1e-5,
                            atol: float = 1e-6) -> None:
  """Asserts that the "function" and "mirrored" outputs of `run_three_ways` match "eager".

  Args:
    results: what `run_three_ways` returned.
    rtol: relative tolerance of `np.testing.assert_allclose`.
    atol: absolute tolerance of `np.testing.assert_allclose`.
  """
  eager = tf.nest.flatten(results["eager"][0])
  for mode in ("function", "mirrored"):
    for got, want in zip(tf.nest.flatten(results[mode][0]), eager, strict=True):
      np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=mode)


def trainable_count(model: keras.layers.Layer) -> int:
  """Number of trainable parameters (scalars) of a built layer or model."""
  return int(sum(np.prod(v.shape) for v in model.trainable_variables))


class WeightRecord(NamedTuple):
  """One weight creation: the layer whose `add_weight` ran, and the new variable."""
  layer: keras.layers.Layer
  variable: keras.Variable


@contextlib.contextmanager
def record_weight_creation() -> Iterator[list[WeightRecord]]:
  """Records every `keras.layers.Layer.add_weight` call while the context is open.

  Yields:
    A list that fills with a `WeightRecord` per created weight, in creation
    order (Keras lists a layer's trainable weights before the others, so this
    is the only way to see the true order).
  """
  records = []
  add_weight = keras.layers.Layer.add_weight

  def recording_add_weight(self, *args, **kwargs):
    variable = add_weight(self, *args, **kwargs)
    records.append(WeightRecord(self, variable))
    return variable

  keras.layers.Layer.add_weight = recording_add_weight
  try:
    yield records
  finally:
    keras.layers.Layer.add_weight = add_weight


@keras.saving.register_keras_serializable(package="compare_gan2.testing")
class TinyGenerator(base.GeneratorBase):
  """compare_gan's dummy G: sigmoid(linear(z)) reshaped to an image in [0, 1]."""

  def __init__(self, image_shape: Sequence[int] = (4, 4, 1), **kwargs):
    super().__init__(image_shape=image_shape, **kwargs)
    self.fc_noise = layers.Linear(int(np.prod(self.image_shape)), spectral_norm=self.spectral_norm,
                                  kernel_initializer=self.kernel_initializer, name="fc_noise")

  def build(self, z_shape: tuple, y_shape: tuple | None = None) -> None:
    """Creates fc_noise for z of this shape."""
    self.fc_noise.build(z_shape)

  def call(self, z: tf.Tensor, y: tf.Tensor | None = None, training: bool = False) -> tf.Tensor:
    """Images in [0, 1] of `image_shape` from z; y is ignored."""
    images = tf.sigmoid(self.fc_noise(z, training=training))
    return tf.reshape(images, [-1, *self.image_shape])


@keras.saving.register_keras_serializable(package="compare_gan2.testing")
class TinyDiscriminator(base.DiscriminatorBase):
  """compare_gan's dummy D: logits = linear(mean over H, W); optional SN."""

  def __init__(self, image_shape: Sequence[int] = (4, 4, 1), **kwargs):
    super().__init__(image_shape=image_shape, **kwargs)
    self.final_fc = layers.Linear(1, spectral_norm=self.spectral_norm,
                                  kernel_initializer=self.kernel_initializer, name="final_fc")

  def build(self, images_shape: tuple, y_shape: tuple | None = None) -> None:
    """Creates final_fc for images of this shape."""
    self.final_fc.build((images_shape[0], images_shape[-1]))

  def call(self, images: tf.Tensor, y: tf.Tensor | None = None,
           training: bool = False) -> base.DiscriminatorOutput:
    """(probabilities, logits, features) with features the per-channel mean."""
    features = tf.reduce_mean(images, axis=[1, 2])
    return base.discriminator_output(self.final_fc(features, training=training), features)



@keras.saving.register_keras_serializable(package="compare_gan2.testing")
class TinyQuadraticDiscriminator(TinyDiscriminator):
  """TinyDiscriminator on the per-channel mean of x²: logits = linear(mean_hw(x²)).

  The linear dummy D has the same input gradient everywhere, so a gradient
  penalty cannot tell where it was evaluated; this D's gradient, 2x·w/(H·W),
  depends on the point, which tests of the sampled points need.
  """

  def call(self, images: tf.Tensor, y: tf.Tensor | None = None,
           training: bool = False) -> base.DiscriminatorOutput:
    """(probabilities, logits, features) with features the per-channel mean of x²."""
    features = tf.reduce_mean(tf.square(images), axis=[1, 2])
    return base.discriminator_output(self.final_fc(features, training=training), features)

# Parameter counts from compare_gan's layer rules (arch_ops.py), for tests that
# pin an architecture's size independently of its own tables.
_NORM_KINDS = {"bn": normalization.BatchNorm, "cbn": normalization.ConditionalBatchNorm,
               "smbn": normalization.SelfModulatedBatchNorm}


def linear_params(fan_in: int, units: int, bias: bool = True) -> int:
  """compare_gan `linear`: kernel [fan_in, units] (+ bias)."""
  return fan_in * units + (units if bias else 0)


def conv_params(kernel: int, c_in: int, c_out: int, bias: bool = True) -> int:
  """compare_gan `conv2d` / `deconv2d`: kernel k x k x c_in x c_out (+ bias)."""
  return kernel * kernel * c_in * c_out + (c_out if bias else 0)


def non_local_params(channels: int) -> int:
  """compare_gan `non_local_block`: C²/8·2 + C²/2 + 1 (sigma) + C²/2."""
  c = channels
  return 2 * (c * c // 8) + c * c // 2 + 1 + c * c // 2


def norm_params(norm: "type | str | None", channels: int, z_dim: int = 0, y_dim: int = 0,
                hidden: int = 32) -> int:
  """Trainable weights of one compare_gan norm (arch_ops.py:327-445).

  Args:
    norm: a norm class, None / "none" for no norm, or "bn", "cbn", "smbn".
    channels: normalized channels.
    z_dim: input width of a self-modulated norm.
    y_dim: input width of a conditional norm.
    hidden: self-modulated norm's hidden units (compare_gan's num_hidden).
  """
  norm = _NORM_KINDS.get(norm) if isinstance(norm, str) else norm
  if norm is None:
    return 0
  if issubclass(norm, normalization.SelfModulatedBatchNorm):
    return linear_params(z_dim, hidden) + 2 * linear_params(hidden, channels)
  if issubclass(norm, normalization.ConditionalBatchNorm):
    return 2 * y_dim * channels  # bias-free gamma(y) and beta(y)
  return 2 * channels  # gamma, beta


# Adam optimizers as compare_gan's ModularGAN.model_fn builds them
# (gans/modular_gan.py:549-585, :607, :613): (TF1 name, name scope of the
# update, prefix of the variables it updates). G's update sits in the TF1
# tf.cond that skips it between D steps (disc_iters > 1), scope "cond".
COMPARE_GAN_ADAM = (("d_opt", "disc_step_1", "discriminator"),
                    ("g_opt", "gen_step/cond", "generator"))
# Two default-named optimizers built at top level, D's first.
DEFAULT_ADAM = (("Adam", "", "discriminator"), ("Adam", "", "generator"))
_BETA_POWER = re.compile(r"(^|/)beta[12]_power(_\d+)?$")


def beta_power_names(adam: Sequence[tuple[str, str, str]]) -> list[tuple[str, str]]:
  """(beta1_power, beta2_power) names TF1 gives each optimizer of `adam`, in order."""
  names, taken = [], collections.Counter()
  for _, scope, _ in adam:
    pair = []
    for power in ("beta1_power", "beta2_power"):
      name = f"{scope}/{power}" if scope else power
      pair.append(name + (f"_{taken[name]}" if taken[name] else ""))  # TF1's uniquifying
      taken[name] += 1
    names.append(tuple(pair))
  return names


def save_tf1_checkpoint(prefix: str, values: dict[str, np.ndarray],
                        adam: Sequence[tuple[str, str, str]] = COMPARE_GAN_ADAM) -> str:
  """Saves `values` as a TF1 graph holds them, Adam state named by TF1; returns the prefix.

  Names other than Adam state become tf.compat.v1 variables. For each
  (name, scope, prefix) of `adam`, tf.compat.v1.train.AdamOptimizer(name=name)
  builds its update, in name scope `scope`, of the variables under `prefix`
  that have slot values (`<var>/<name>`); the slots and beta powers it makes
  are loaded from `values` by the names TF1 gave them.

  Raises:
    ValueError: `values` names Adam state other than TF1 made.
  """
  suffixes = tuple(f"/{name}{s}" for name, _, _ in adam for s in ("", "_1"))
  with tf.Graph().as_default():
    feeds, variables = {}, {}  # fed initial values: constants would be slow to build
    for name, value in values.items():
      if not (name.endswith(suffixes) or _BETA_POWER.search(name)):
        value = np.asarray(value)
        feeds[placeholder := tf.compat.v1.placeholder(value.dtype, value.shape)] = value
        variables[name] = tf.compat.v1.get_variable(name, initializer=placeholder,
                                                    use_resource=False)
    state = []
    for opt_name, scope, owner in adam:
      updated = [v for n, v in variables.items() if n.startswith(owner)
                 and f"{n}/{opt_name}" in values]
      if updated:
        optimizer = tf.compat.v1.train.AdamOptimizer(name=opt_name)
        with tf.compat.v1.name_scope(f"{scope}/" if scope else None):
          optimizer.apply_gradients([(tf.zeros_like(v), v) for v in updated])
        state += [optimizer.get_slot(v, k) for v in updated for k in ("m", "v")]
        state += list(optimizer._get_beta_accumulators())  # pylint: disable=protected-access
    made = {v.op.name for v in state}
    if differ := sorted((set(values) - set(variables)) ^ made):
      raise ValueError(f"Adam state names in values and TF1's differ: {differ[:6]}.")
    with tf.compat.v1.Session() as session:
      session.run(tf.compat.v1.global_variables_initializer(), feeds)
      for variable in state:
        variable.load(values[variable.op.name], session)
      return tf.compat.v1.train.Saver().save(session, prefix)
