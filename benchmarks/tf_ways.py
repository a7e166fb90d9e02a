"""The TensorFlow side of `benchmarks/bench.py`: models, the two ways to step, FLOPs.

- `build_gan(model, ch)`: a compiled and built ModularGAN (disc_iters 1,
  Adam(2e-4, β1 0.5)) of compare_gan2's own architectures, no EMA.
- `BareStep`: `tf.function(gan.train_step)` on a batch already on the device.
- `FitStep`: `gan.fit` on `Dataset.from_tensors(batch).repeat()`, timed by a
  callback from the first batch to the end of training (which reads the logs,
  so the device is idle when the clock stops).
- `matmul_flops(concrete_function)`: conv and matmul FLOPs of the ops a traced
  train step really runs (backwards from its outputs and side effects, so the
  unused weight gradients the tape emits for D during the G update are not
  counted), with TF's own FLOP formulas (tf.profiler's registry).
- `matmul_peak(n)`: GFLOP/s of an n x n fp32 matmul, the machine's peak as
  TensorFlow reaches it.
"""

import time
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf
from tensorflow.python.framework import ops as tf_ops  # pylint: disable=g-direct-tensorflow-import
# Importing the registry registers the "flops" statistics used below.
from tensorflow.python.profiler.internal import flops_registry  # noqa: F401  pylint: disable=unused-import

from compare_gan2 import losses
from compare_gan2.architectures import dcgan
from compare_gan2.architectures import resnet_biggan
from compare_gan2.architectures import resnet_cifar
from compare_gan2.gans import modular_gan
from compare_gan2.ops import normalization
from compare_gan2.ops import spectral_norm

MATMUL_OPS = ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "MatMul",
              "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3")


class ModelSpec(NamedTuple):
  size: int  # image side
  num_classes: int  # 0: unconditional


SPECS = {"DCGAN-32": ModelSpec(32, 0), "ResNet-CIFAR": ModelSpec(32, 0),
         "BigGAN-128": ModelSpec(128, 1000)}


def _networks(model: str, ch: int | None) -> tuple[keras.Model, keras.Model, Any]:
  shape = (SPECS[model].size,) * 2 + (3,)
  if model == "DCGAN-32":
    return (dcgan.Generator(image_shape=shape, z_dim=128), dcgan.Discriminator(image_shape=shape),
            losses.non_saturating)
  if model == "ResNet-CIFAR":  # gin_configs/cifar10/resnet_cifar.gin: BN in G, SN in D.
    return (resnet_cifar.Generator(image_shape=shape, z_dim=128,
                                   batch_norm=normalization.BatchNorm),
            resnet_cifar.Discriminator(image_shape=shape, spectral_norm=True), losses.hinge)
  # gin_configs/imagenet128/biggan.gin without EMA and orthogonal init (timing only).
  sn = spectral_norm.SpectralNormConfig(singular_value="auto")
  return (resnet_biggan.Generator(image_shape=shape, num_classes=1000, z_dim=120, ch=ch,
                                  batch_norm=normalization.ConditionalBatchNorm,
                                  spectral_norm=sn),
          resnet_biggan.Discriminator(image_shape=shape, num_classes=1000, ch=ch,
                                      spectral_norm=sn), losses.hinge)


def set_threads(threads: int) -> None:
  """Intra- and inter-op threads (0: TensorFlow's default, one per core); call first."""
  tf.config.threading.set_intra_op_parallelism_threads(threads)
  tf.config.threading.set_inter_op_parallelism_threads(threads)


def build_gan(model: str, ch: int | None = None) -> modular_gan.ModularGAN:
  """The benchmarked GAN, compiled and built (its variables exist)."""
  keras.utils.set_random_seed(0)
  generator, discriminator, loss_fn = _networks(model, ch)
  gan = modular_gan.ModularGAN(generator, discriminator, loss_fn=loss_fn,
                               conditional=SPECS[model].num_classes > 0)
  gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
              g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
  gan.build_networks()
  return gan


def make_batch(model: str, images: int) -> dict[str, np.ndarray]:
  """`images` random images in [0, 1] (and labels for a conditional model)."""
  rng = np.random.RandomState(0)
  size = SPECS[model].size
  batch = {"images": rng.uniform(size=(images, size, size, 3)).astype(np.float32)}
  if SPECS[model].num_classes:
    batch["labels"] = rng.randint(0, SPECS[model].num_classes, size=images).astype(np.int32)
  return batch


def parameter_counts(gan: modular_gan.ModularGAN) -> tuple[int, int]:
  """Trainable parameters of (G, D)."""
  return tuple(int(sum(np.prod(v.shape) for v in net.trainable_variables))
               for net in (gan.generator, gan.discriminator))


class BareStep:
  """The train step as a bare tf.function, the batch already a tensor."""

  def __init__(self, gan: modular_gan.ModularGAN, batch: dict[str, np.ndarray]):
    self.step = tf.function(gan.train_step)
    self.batch = {k: tf.constant(v) for k, v in batch.items()}

  def run(self, steps: int) -> float:
    """Seconds per step over `steps` steps (one wait at the end)."""
    start = time.perf_counter()
    for _ in range(steps):
      logs = self.step(self.batch)
    float(logs["g_loss"])
    return (time.perf_counter() - start) / steps

  def concrete(self) -> Any:
    """The traced graph of the step."""
    return self.step.get_concrete_function(self.batch)


class _Timer(keras.callbacks.Callback):
  """Wall time from the first batch of a `fit` to its end (logs read, device idle)."""

  def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
    """Starts the clock at the first batch."""
    if batch == 0:
      self.start = time.perf_counter()

  def on_train_end(self, logs: dict | None = None) -> None:
    """Stops the clock."""
    self.end = time.perf_counter()


class FitStep:
  """The train step as Keras `fit` runs it, one `fit` call per measurement."""

  def __init__(self, gan: modular_gan.ModularGAN, batch: dict[str, np.ndarray]):
    self.gan = gan
    self.data = tf.data.Dataset.from_tensors(batch).repeat()

  def run(self, steps: int) -> float:
    """Seconds per step of one `fit(steps_per_epoch=steps)`."""
    timer = _Timer()
    self.gan.fit(self.data, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[timer])
    return (timer.end - timer.start) / steps


def matmul_flops(concrete: Any) -> float:
  """Conv + matmul FLOPs of the ops a concrete function runs (TF's formulas)."""
  graph = concrete.graph
  pending = [t.op for t in concrete.outputs] + list(graph.control_outputs)
  seen = set()
  while pending:
    op = pending.pop()
    if op.name in seen:
      continue
    seen.add(op.name)
    pending.extend(t.op for t in op.inputs)
    pending.extend(op.control_inputs)
  ops = [graph.get_operation_by_name(name) for name in seen]
  return sum(_flops(graph, op) for op in ops if op.type in MATMUL_OPS)


def _flops(graph: Any, op: Any) -> float:
  if op.type.startswith("BatchMatMul"):
    # TF's registry reads `transpose_a`, which BatchMatMulV2/V3 call `adj_x`, so
    # it miscounts x^T y; 2 * k * output elements, with k from the right axis.
    x_shape = op.inputs[0].shape
    k = x_shape[-2] if op.get_attr("adj_x") else x_shape[-1]
    return 2.0 * k * op.outputs[0].shape.num_elements()
  return tf_ops.get_stats_for_node_def(graph, op.node_def, "flops").value or 0


def matmul_peak(n: int = 2048, repeats: int = 5) -> float:
  """Best GFLOP/s of an n x n x n fp32 tf.matmul (2n³ FLOPs)."""
  a = tf.random.stateless_normal([n, n], [0, 1])
  b = tf.random.stateless_normal([n, n], [0, 2])
  product = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
  float(product())
  best = float("inf")
  for _ in range(repeats):
    start = time.perf_counter()
    float(product())
    best = min(best, time.perf_counter() - start)
  return 2 * n**3 / best / 1e9
