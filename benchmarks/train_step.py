r"""Step time of ModularGAN: Keras `fit` vs a bare tf.function step vs the runner loop.

    .venv/bin/python benchmarks/train_step.py [--rounds 3] [--steps 10] [--batch 64]
        [--models DCGAN-32 "ResNet-CIFAR (SN, hinge)"]

For DCGAN-32 (compare_gan's dcgan, non-saturating) and ResNet-CIFAR (SNGAN
setting: hinge, SN in D, disc_iters 1) at the given batch, interleaving rounds
so machine noise spreads over all three ways. Each way first runs 2 warm-up
steps (tracing), then `--steps` timed steps; the table gives min and median ms
per step over rounds, images/s, and the overhead of fit and of the runner loop
over the bare step. Prints a Markdown table; not a test.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from compare_gan2 import losses  # noqa: E402
from compare_gan2.architectures import dcgan  # noqa: E402
from compare_gan2.architectures import resnet_cifar  # noqa: E402
from compare_gan2.gans import modular_gan  # noqa: E402


def _dcgan():
  return (dcgan.Generator(image_shape=(32, 32, 3), z_dim=128),
          dcgan.Discriminator(image_shape=(32, 32, 3)), losses.non_saturating)


def _resnet_cifar():
  return (resnet_cifar.Generator(image_shape=(32, 32, 3), z_dim=128),
          resnet_cifar.Discriminator(image_shape=(32, 32, 3), spectral_norm=True), losses.hinge)


MODELS = {"DCGAN-32": _dcgan, "ResNet-CIFAR (SN, hinge)": _resnet_cifar}


def _gan(build):
  keras.utils.set_random_seed(0)
  generator, discriminator, loss_fn = build()
  gan = modular_gan.ModularGAN(generator, discriminator, loss_fn=loss_fn)
  gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
              g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
  gan.build_networks()
  return gan


def _batch(size):
  return {"images": np.random.RandomState(0).uniform(size=(size, 32, 32, 3)).astype(np.float32)}


def _time_bare(gan, batch, steps):
  step = tf.function(gan.train_step)
  for _ in range(2):
    step(batch)
  start = time.perf_counter()
  for _ in range(steps):
    logs = step(batch)
  float(logs["g_loss"])  # wait for the last step
  return (time.perf_counter() - start) / steps


def _time_loop(gan, batch, steps):
  strategy = tf.distribute.get_strategy()
  data = iter(tf.data.Dataset.from_tensors(batch).repeat())

  @tf.function
  def run(iterator, count):
    for _ in tf.range(count):
      strategy.run(gan.train_step, args=(next(iterator),))

  run(data, tf.constant(2))
  start = time.perf_counter()
  run(data, tf.constant(steps))
  float(gan.trackers["g_loss"].result())
  return (time.perf_counter() - start) / steps


class _Timer(keras.callbacks.Callback):
  def on_train_batch_begin(self, batch, logs=None):
    if batch == 2:
      self.start = time.perf_counter()

  def on_train_end(self, logs=None):
    self.end = time.perf_counter()


def _time_fit(gan, batch, steps):
  data = tf.data.Dataset.from_tensors(batch).repeat(steps + 2)
  timer = _Timer()
  gan.fit(data, epochs=1, verbose=0, callbacks=[timer])
  return (timer.end - timer.start) / steps


WAYS = {"bare tf.function step": _time_bare, "runner loop (strategy.run)": _time_loop,
        "Keras fit": _time_fit}


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--rounds", type=int, default=3)
  parser.add_argument("--steps", type=int, default=10)
  parser.add_argument("--batch", type=int, default=64)
  parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
  args = parser.parse_args()
  batch = _batch(2 * args.batch)  # disc_iters 1: half for the D step, half for the G step
  times = {(m, w): [] for m in args.models for w in WAYS}
  for _ in range(args.rounds):
    for model in args.models:
      for way, measure in WAYS.items():
        times[(model, way)].append(measure(_gan(MODELS[model]), batch, args.steps))
  print(f"| model | way | min ms/step | median ms/step | images/s | vs bare |\n|---|---|---|---|---|---|")
  for model in args.models:
    bare = statistics.median(times[(model, "bare tf.function step")])
    for way in WAYS:
      values = times[(model, way)]
      median = statistics.median(values)
      print(f"| {model} | {way} | {1000 * min(values):.0f} | {1000 * median:.0f} | "
            f"{2 * args.batch / median:.0f} | {100 * (median / bare - 1):+.1f}% |")


if __name__ == "__main__":
  main()
