r"""The numbers behind docs/scaling.md's "Projections", from the shipped paper configs.

    .venv/bin/python benchmarks/scaling.py [--configs imagenet128/biggan.gin ...]
        [--utilization 0.25 0.5]

For each config, at its own global batch and full width (nothing shrunk), it
traces one train step (`disc_iters` D updates + one G update; tracing only,
nothing runs, so paper-size batches cost no memory) and prints:
- conv+matmul GFLOP per step (tf_ways.matmul_flops) and per real image read;
- the gradient bytes each replica all-reduces per step (fp32 D gradients per
  D update, G gradients per G update);
- cross-replica BN all-reduces per step: each BatchNorm with synchronized
  statistics reduces [mean, E[x²]] in every G forward (disc_iters + 1 per
  step) and once more in the G update's backward: tiny, latency-bound;
- projected step time and 250k-step wall time on TPU v3 slices (123 TFLOP/s
  bf16 per chip, 2 cores per chip) and 8 A100s (312 TFLOP/s bf16 each), the
  vendors' published peaks, at the given fractions of peak; and the Inception
  FLOPs of an evaluation. Projections are arithmetic, not measurements.
Prints Markdown; not a test.
"""

import argparse
import os
import pathlib
import sys

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gin  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import tf_ways  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
from compare_gan2 import configurables  # noqa: E402
from compare_gan2 import experiment  # noqa: E402
from compare_gan2.ops import normalization  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1] / "gin_configs"
CONFIGS = ("cifar10/resnet_cifar.gin", "imagenet128/ssgan.gin", "imagenet128/sagan.gin",
           "imagenet128/biggan.gin", "imagenet128/fewer_labels/s3gan_co_10pct.gin")
# (name, replicas, dense bf16/fp16 TFLOP/s per replica): vendors' published peaks.
HARDWARE = (("TPU v3-8", 8, 123.0 / 2), ("TPU v3-128 (the papers')", 128, 123.0 / 2),
            ("8x A100 (NVLink)", 8, 312.0))
MIN_REPLICA_BATCH = 8  # smaller slices of a global batch are not worth projecting
STEPS = 250_000  # Fewer Labels' G steps; SS-GAN's large run took 350k at batch 1024
# Files the Fewer Labels configs name by macro; tracing never reads them.
PLACEHOLDERS = ['SOFT_LABELS_FILE = "unused.npy"', 'CLUSTER_LABELS_FILE = "unused.npy"',
                'CELEBA_HQ_DIR = "unused"']


def _input_spec(gan, batch: int) -> dict[str, tf.TensorSpec]:
  spec = {"images": tf.TensorSpec([batch, *gan.generator.image_shape], tf.float32)}
  if gan.conditional:
    spec["labels"] = tf.TensorSpec([batch], tf.int32)
  return spec


def _synced_batch_norms(gan) -> int:
  """BatchNorm layers of G and D that synchronize statistics on a TPU (cross_replica None or True)."""
  layers = [layer for net in (gan.generator, gan.discriminator) for layer in net._flatten_layers()]  # pylint: disable=protected-access
  return sum(isinstance(layer, normalization.BatchNorm) and layer.cross_replica is not False
             for layer in layers)


def measure(config: str) -> dict:
  """Traces the config's train step at its global batch; FLOPs, parameters, BN count."""
  gin.clear_config()
  configurables.parse_gin([str(ROOT / config)], PLACEHOLDERS)
  exp = experiment.build(with_dataset=False)
  gan = exp.gan
  batch = experiment.configured("train_lib.train.global_batch_size")
  step = tf.function(gan.train_step).get_concrete_function(_input_spec(gan, batch))
  params = [int(sum(np.prod(v.shape) for v in net.trainable_variables))
            for net in (gan.generator, gan.discriminator)]
  return {"config": config, "batch": batch, "disc_iters": gan.disc_iters,
          "flops": tf_ways.matmul_flops(step), "params": params,
          "synced_bn": _synced_batch_norms(gan)}


def inception_gflops() -> float:
  """Conv+matmul GFLOP of one 299x299 image through an Inception-v3 to pool_3 (FID's features)."""
  import keras  # pylint: disable=g-import-not-at-top
  net = keras.applications.InceptionV3(weights=None, include_top=False, pooling="avg",
                                       input_shape=(299, 299, 3))
  forward = tf.function(lambda x: net(x, training=False))
  return tf_ways.matmul_flops(forward.get_concrete_function(
      tf.TensorSpec([1, 299, 299, 3], tf.float32))) / 1e9


def _measured_row(m: dict) -> str:
  g_params, d_params = m["params"]
  grad_mb = 4 * (m["disc_iters"] * d_params + g_params) / 1e6
  return (f"| {m['config']} | {m['batch']} | {m['disc_iters']} | {g_params / 1e6:.1f}M / "
          f"{d_params / 1e6:.1f}M | {m['flops'] / 1e12:.2f} | {m['flops'] / m['batch'] / 1e9:.1f} "
          f"| {grad_mb:.0f} MB | {m['synced_bn']} layers: {m['synced_bn'] * (m['disc_iters'] + 2)} |")


def _projected_row(m: dict, hardware: tuple, utilizations: list[float]) -> str:
  name, devices, tflops = hardware
  steps = [m["flops"] / (devices * tflops * 1e12 * u) for u in utilizations]
  return (f"| {m['config']} | {name} | {m['batch'] // devices} | "
          + " | ".join(f"{1000 * t:,.0f} ms, {STEPS * t / 3600:,.1f} h" for t in steps) + " |")


def main(argv: list[str] | None = None) -> None:
  """Measures each config and prints the tables."""
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--configs", nargs="+", default=list(CONFIGS))
  parser.add_argument("--utilization", nargs="+", type=float, default=[0.5, 0.25])
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  rows = [measure(config) for config in args.configs]
  print("\n| config | global batch per step | disc_iters | params G / D | TFLOP per step "
        "| GFLOP per image read | fp32 gradients all-reduced per step | synced BN: all-reduces "
        "per step |\n|---|---|---|---|---|---|---|---|")
  for m in rows:
    print(_measured_row(m))
  shares = " | ".join(f"at {100 * u:.0f}% of peak: step, {STEPS // 1000}k steps"
                      for u in args.utilization)
  print(f"\n| config | hardware | per-replica batch per step | {shares} |\n|---|---|---|"
        + "---|" * len(args.utilization))
  for m in rows:
    for hardware in HARDWARE:
      if m["batch"] // hardware[1] >= MIN_REPLICA_BATCH:
        print(_projected_row(m, hardware, args.utilization))
  gflops = inception_gflops()
  print(f"\nInception-v3 to pool_3: {gflops:.1f} GFLOP per 299x299 image; FID/KID/IS on 10k "
        f"fakes = {10_000 * gflops / 1e3:.0f} TFLOP of features (50k: {50_000 * gflops / 1e3:.0f}).")
  for name, devices, tflops in HARDWARE[::2]:
    seconds = 10_000 * gflops / (tflops * 1e3 * min(args.utilization))
    print(f"- one replica of {name}: 10k samples' features in {seconds:.0f} s at "
          f"{100 * min(args.utilization):.0f}% of its peak")


if __name__ == "__main__":
  main()
