r"""Evaluation time, split into generation, feature extraction and metric math.

    .venv/bin/python benchmarks/eval.py [--num_samples 10000] [--runs 1]
        [--setups "MNIST classifier" "Inception-size"] [--inception_handle PATH]

Setups (each one evaluator run of `--runs` averaging runs over N fakes, with
FID, KID and IS; real statistics computed first and reported apart):
- "MNIST classifier": the demo's InfoGAN generator (28x28x1) and the shipped
  MNIST classifier on the bundled eval split (N capped at its 1,000 images,
  so the table also gives the per-10k extrapolation).
- "Inception-size": DCGAN-32 (compare_gan's dcgan, 32x32x3) and an
  Inception-v3 network of the FID network's size and output widths (2048
  pool features, 1008 logits): keras.applications.InceptionV3 with random
  weights, so the times are those of the real network while no score is
  meaningful. With --inception_handle the real 2015-12-05 network is used.
Prints a Markdown table: the measured seconds per stage at N (real statistics,
computed once per dataset and cached, are not included), and the projection to
10k fakes: generation and features scale linearly with N, metric math is timed
separately on 10k random activations of the extractor's widths (its cost does
not scale linearly: FID's matrix square root is fixed). compare_gan2's target
is metric math < 5% of the total at 10k. Not a test.
"""

import argparse
import os
import time

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from compare_gan2 import data  # noqa: E402
from compare_gan2.architectures import dcgan  # noqa: E402
from compare_gan2.architectures import infogan  # noqa: E402
from compare_gan2.evaluation import evaluator as evaluator_lib  # noqa: E402
from compare_gan2.evaluation import inception  # noqa: E402
from compare_gan2.evaluation import mnist_classifier  # noqa: E402
from compare_gan2.gans import modular_gan  # noqa: E402
from compare_gan2.metrics import base  # noqa: E402
from compare_gan2.metrics import classifier_metrics  # noqa: E402

STAGES = ("generation", "features", "metrics")
METRICS = (classifier_metrics.FID(), classifier_metrics.KID(), classifier_metrics.InceptionScore())


class _RandomInception:
  """Inception-v3 of the FID network's size; random weights (timing only)."""
  name = "inception_v3_random_weights_benchmark"
  feature_dim, num_logits = 2048, 1008
  comparable_note = "random weights: timing only"

  def __init__(self):
    keras.utils.set_random_seed(0)
    net = keras.applications.InceptionV3(weights=None, include_top=False, pooling="avg",
                                         input_shape=(299, 299, 3))
    self.net, self.logits = net, keras.layers.Dense(1008)
    self.logits.build((None, 2048))

  def __call__(self, images):
    features = self.net(inception.preprocess(images), training=False)
    return features, self.logits(features)


class _Loaded:
  def __init__(self, extractor):
    self.extractor = extractor

  def load(self):
    return self.extractor


def _gan(generator, discriminator):
  keras.utils.set_random_seed(0)
  gan = modular_gan.ModularGAN(generator, discriminator)
  gan.compile(d_optimizer=keras.optimizers.Adam(), g_optimizer=keras.optimizers.Adam())
  gan.build_networks()
  return gan


def _mnist_setup(args):
  gan = _gan(infogan.Generator(image_shape=(28, 28, 1), z_dim=64),
             infogan.Discriminator(image_shape=(28, 28, 1)))
  return gan, data.bundled_mnist(), mnist_classifier.MnistClassifierConfig(), min(
      args.num_samples, 1000)


def _inception_setup(args):
  gan = _gan(dcgan.Generator(image_shape=(32, 32, 3), z_dim=128),
             dcgan.Discriminator(image_shape=(32, 32, 3)))
  config = (inception.InceptionConfig(handle=args.inception_handle) if args.inception_handle
            else _Loaded(_RandomInception()))
  dataset = data.npz(_fake_cifar(args.num_samples), eval_fraction=0.5, name="benchmark_noise")
  return gan, dataset, config, args.num_samples


def _fake_cifar(num):
  path = os.path.join("/tmp", f"compare_gan2_benchmark_{num}.npz")
  if not os.path.exists(path):
    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, size=(2 * num, 32, 32, 3), dtype=np.uint8)
    np.savez(path, images=images)
  return path


SETUPS = {"MNIST classifier": _mnist_setup, "Inception-size": _inception_setup}


def _metric_seconds_at_10k(feature_dim, num_logits):
  """FID + KID + IS on 10k x feature_dim random activations: the math alone, at full size."""
  rng = np.random.RandomState(0)
  fake = base.EvalSet(features=rng.randn(10_000, feature_dim).astype(np.float32),
                      logits=rng.randn(10_000, num_logits).astype(np.float32))
  real = base.EvalSet(features=rng.randn(10_000, feature_dim).astype(np.float32))
  start = time.perf_counter()
  for metric in METRICS:
    metric(fake, real)
  return time.perf_counter() - start


def _row(name, num, result, extractor):
  """Measured stages at N, and the 10k projection (generation, features linear in N)."""
  measured = " | ".join(f"{result.seconds[s]:.1f} s" for s in STAGES)
  scale = 10_000 / num
  stages = {"generation": result.seconds["generation"] * scale,
            "features": result.seconds["features"] * scale,
            "metrics": _metric_seconds_at_10k(extractor.feature_dim, extractor.num_logits)}
  total = sum(stages.values())
  projected = " | ".join(f"{stages[s]:.0f} s ({100 * stages[s] / total:.1f}%)" for s in STAGES)
  return f"| {name} | {num} | {measured} | {projected} | {total:.0f} s |"


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--num_samples", type=int, default=10_000)
  parser.add_argument("--runs", type=int, default=1)
  parser.add_argument("--setups", nargs="+", default=list(SETUPS), choices=list(SETUPS))
  parser.add_argument("--inception_handle", default=None)
  args = parser.parse_args()
  print(f"TF {tf.__version__}, {os.cpu_count()} CPUs, oneDNN "
        f"{os.environ['TF_ENABLE_ONEDNN_OPTS']}, averaging runs {args.runs}\n")
  print("| setup | fakes N | generation | features | metric math | 10k: generation | 10k: features "
        "| 10k: metric math (measured at 10k) | 10k: total |")
  print("|---|---|---|---|---|---|---|---|---|")
  for name in args.setups:
    gan, dataset, config, num = SETUPS[name](args)
    evaluator = evaluator_lib.Evaluator(
        metrics=METRICS, extractor=config, num_samples=num, num_averaging_runs=args.runs,
        real_stats_dir=os.path.join("/tmp", "compare_gan2_benchmark_stats"))
    result = evaluator.evaluate(gan, dataset)
    print(_row(name, num, result, evaluator.feature_extractor), flush=True)


if __name__ == "__main__":
  main()
