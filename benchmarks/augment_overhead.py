r"""Time of each augmentation on a batch of 64 32x32x3 images, against no augmentation.

    .venv/bin/python benchmarks/augment_overhead.py [--batch 64] [--size 32] [--steps 50] [--rounds 3]

Each way runs compiled by tf.function (as inside a train step), forward alone
and forward + backward (the gradient w.r.t. the images, which G's update pays),
with a fresh seed per call; the table gives the median over rounds of the mean
ms per call. "none" is the identity (a tf.function's own call overhead). ADA
runs at p = 1 (every op on every image: its most expensive case; its cost does
not depend on p, since every draw and the resampling run regardless). Each
runs as by default (DiffAugment op by op, ADA compiled by XLA); the "(XLA)" and
"(op by op)" rows show the other choice. Not a test.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from compare_gan2 import augment  # noqa: E402


def _ways() -> dict:
  identity = lambda images, seed: images
  ways = {"none": identity}
  for policy in ("color", "translation", "cutout", "translation,cutout", "color,translation,cutout"):
    ways[f"DiffAugment {policy}"] = augment.DiffAugment(policy)
  ways["DiffAugment color,translation,cutout (XLA)"] = augment.DiffAugment(jit_compile=True)
  for pipeline, jit_compile in (("blit", True), ("geom", True), ("color", True), ("bgc", True),
                                ("bgc", False)):
    ada = augment.ADA(pipeline=pipeline, initial_p=1.0, jit_compile=jit_compile)
    ada.build_for(None)  # its state, which a GAN would build
    ways[f"ADA {pipeline} (p=1{'' if jit_compile else ', op by op'})"] = ada
  return ways


def _timed(fn, images: tf.Tensor, steps: int) -> float:
  """Mean ms per call over `steps` calls, seeds 1..steps (after one warm-up call)."""
  fn(images, tf.constant([0, 0], tf.int32)).numpy()
  start = time.perf_counter()
  for step in range(steps):
    out = fn(images, tf.constant([step + 1, 0], tf.int32))
  out.numpy()
  return (time.perf_counter() - start) * 1000 / steps


def _compiled(way):
  forward = tf.function(lambda images, seed: tf.reduce_sum(way(images, seed)))

  @tf.function
  def backward(images, seed):
    with tf.GradientTape() as tape:
      tape.watch(images)
      loss = tf.reduce_sum(way(images, seed))
    return tape.gradient(loss, images)
  return forward, backward


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--batch", type=int, default=64)
  parser.add_argument("--size", type=int, default=32)
  parser.add_argument("--steps", type=int, default=50)
  parser.add_argument("--rounds", type=int, default=3)
  args = parser.parse_args()
  images = tf.constant(np.random.RandomState(0).uniform(
      size=(args.batch, args.size, args.size, 3)).astype(np.float32))
  compiled = {name: _compiled(way) for name, way in _ways().items()}
  times = {name: ([], []) for name in compiled}
  for _ in range(args.rounds):  # interleaved, so load from other jobs spreads over all ways
    for name, (forward, backward) in compiled.items():
      times[name][0].append(_timed(forward, images, args.steps))
      times[name][1].append(_timed(backward, images, args.steps))
  base = [statistics.median(t) for t in times["none"]]
  print(f"Batch {args.batch} x {args.size}x{args.size}x3, {args.steps} calls x {args.rounds} rounds,"
        f" {os.cpu_count()} CPUs\n")
  print("| augmentation | forward ms | + over none | forward+backward ms | + over none |")
  print("|---|---:|---:|---:|---:|")
  for name, (fwd, bwd) in times.items():
    f, b = statistics.median(fwd), statistics.median(bwd)
    print(f"| {name} | {f:.2f} | {f - base[0]:+.2f} | {b:.2f} | {b - base[1]:+.2f} |")


if __name__ == "__main__":
  main()
