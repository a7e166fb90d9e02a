r"""MS-SSIM diversity score: pairs/s of the old pairwise path vs the batched one; not a test.

    .venv/bin/python benchmarks/ms_ssim.py [--rounds 3] [--old-pairs 2016]

Scores the distinct pairs of one batch of 64 random 64x64x3 images in
[0, 255], compare_gan's MS-SSIM batch (ms_ssim_score.py:70-111), three ways:
- "old": the port before the batched path, kept here as the baseline: pairs
  gathered in chunks of 341 and each scored from scratch by compare_gan's
  formulation, four 2-D 11x11 depthwise convolutions (mu_x, mu_y, E[x^2 + y^2],
  E[xy]) per pair and scale, under one tf.function;
- `multiscale_ssim` (the public pairwise function) on the same gathered chunks;
- `multiscale_ssim_all_pairs` (what `compute_msssim` runs): the pyramid and
  per-image moments once per image, separable windows, and only E[xy] per pair.
The old path (~3 s per batch here) runs once, on the first `--old-pairs` pairs
(default: all); the others give the median of `--rounds` rounds after a
warm-up. The last column is the largest difference from the batched path over
the pairs the row scored (the batched path is within 1e-7 of float64 for 99%
of pairs; the old path's float32 E[x^2] - mu^2 drifts by up to 1e-4). The
metric's default of 5 batches costs 5x the seconds of a row.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from compare_gan2.metrics import ms_ssim  # noqa: E402

BATCH, SHAPE, CHUNK = 64, (64, 64, 3), 341
C1, C2 = (0.01 * 255.0) ** 2, (0.03 * 255.0) ** 2


def _old_ssim(x, y):
  """compare_gan's per-scale SSIM and cs [N, C]: 2-D window, moments per pair."""
  size = min(11, x.shape[1], x.shape[2])
  coords = tf.range(size, dtype=tf.float32) - (size - 1) / 2.0
  g = tf.square(coords) * (-0.5 / 1.5 ** 2)
  window = tf.reshape(tf.nn.softmax(tf.reshape(g[None, :] + g[:, None], [1, -1])),
                      [size, size, 1, 1])
  window = tf.tile(window, [1, 1, x.shape[-1], 1])

  def mean(z):
    return tf.nn.depthwise_conv2d(z, window, [1, 1, 1, 1], "VALID")

  mean_x, mean_y = mean(x), mean(y)
  num0, den0 = mean_x * mean_y * 2.0, tf.square(mean_x) + tf.square(mean_y)
  luminance = (num0 + C1) / (den0 + C1)
  cs = (mean(x * y) * 2.0 - num0 + C2) / (mean(tf.square(x) + tf.square(y)) - den0 + C2)
  return tf.reduce_mean(luminance * cs, [1, 2]), tf.reduce_mean(cs, [1, 2])


def _old_downsample(z):
  return tf.nn.avg_pool2d(z, ksize=2, strides=2, padding="VALID")  # Even sizes only.


@tf.function(input_signature=[tf.TensorSpec([None, *SHAPE], tf.float32)] * 2)
def _old_pairs(x, y):
  values = []
  for scale in range(5):
    if scale:
      x, y = _old_downsample(x), _old_downsample(y)
    ssim, cs = _old_ssim(x, y)
    values.append(tf.nn.relu(cs))
  values[-1] = tf.nn.relu(ssim)
  weights = tf.constant(ms_ssim.MSSSIM_WEIGHTS)
  return tf.reduce_mean(tf.reduce_prod(tf.pow(tf.stack(values, -1), weights), -1), -1)


_PAIRWISE = tf.function(ms_ssim.multiscale_ssim,
                        input_signature=[tf.TensorSpec([None, *SHAPE], tf.float32)] * 2)


def _in_chunks(score, images, num_pairs):
  """`score` over the first num_pairs pairs of np.triu_indices, CHUNK at a time."""
  first, second = (index[:num_pairs] for index in np.triu_indices(len(images), k=1))
  return np.concatenate([score(tf.gather(images, first[s:s + CHUNK]),
                               tf.gather(images, second[s:s + CHUNK])).numpy()
                         for s in range(0, num_pairs, CHUNK)])


def _timed(run, rounds):
  """(median seconds over rounds, the last result)."""
  seconds = []
  for _ in range(rounds):
    start = time.perf_counter()
    result = run()
    seconds.append(time.perf_counter() - start)
  return statistics.median(seconds), result


def main() -> None:
  """Prints the Markdown table."""
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--rounds", type=int, default=3)
  parser.add_argument("--old-pairs", type=int, default=BATCH * (BATCH - 1) // 2)
  args = parser.parse_args()
  images = tf.constant(np.random.default_rng(0).uniform(0, 255, (BATCH, *SHAPE)), tf.float32)
  all_pairs = BATCH * (BATCH - 1) // 2

  def batched():
    return ms_ssim.multiscale_ssim_all_pairs(images).numpy()

  batched()  # warm-up
  ways = [("old: pairwise, 2-D windows, 4 convs per pair", args.old_pairs, 1,
           lambda: _in_chunks(_old_pairs, images, args.old_pairs)),
          ("multiscale_ssim on gathered pairs", all_pairs, args.rounds,
           lambda: _in_chunks(_PAIRWISE, images, all_pairs)),
          ("multiscale_ssim_all_pairs (compute_msssim)", all_pairs, args.rounds, batched)]
  for score in (_old_pairs, _PAIRWISE):
    _in_chunks(score, images, 1)  # tracing
  reference = batched()
  print("| path | images | pairs | seconds | pairs/s | max abs diff |")
  print("|---|---|---|---|---|---|")
  for name, pairs, rounds, run in ways:
    seconds, values = _timed(run, rounds)
    diff = np.abs(values - reference[:pairs]).max()
    print(f"| {name} | {BATCH} | {pairs} | {seconds:.2f} | {pairs / seconds:,.0f} | {diff:.1e} |",
          flush=True)


if __name__ == "__main__":
  main()
