r"""What each augmentation and regularizer adds to a whole train step, against the plain step.

    .venv/bin/python benchmarks/component_overhead.py [--rounds 3] [--steps 10] [--batch 64]
        [--models DCGAN-32 "ResNet-CIFAR (SN, hinge)"] [--components plain CR ...]

benchmarks/augment_overhead.py times an augmentation per call; this times it
where it runs: inside ModularGAN.train_step, on the reals and the fakes of the
D update and of the G update (forward, and backward through the fakes to G),
with ADA's controller after the D update. Models as benchmarks/train_step.py:
DCGAN-32 and ResNet-CIFAR at `--batch` images per update (disc_iters 1, so a
step reads 2 x batch). Every component in COMPONENTS gets its own GAN, traced
before timing; rounds interleave the GANs so machine noise spreads over all.
The table gives the median ms per bare tf.function step over rounds and the
overhead over the plain step. Issue target: DiffAugment and ADA < 5% of the
step. ADA runs at p = 0.5 with its controller on (its cost does not depend on
p: every draw and the resampling run regardless). Each augmentation runs as
by default: ADA compiled by XLA (augment.base.compiled), DiffAugment op by
op; the "(op by op)" and "(XLA)" rows show the other choice. Regularizers: CR and bCR add D passes on
transformed images (CR one on the reals; bCR one on reals and one on fakes),
zCR a G pass and D passes on perturbed z, LeCam only a few reductions and two
EMA assignments, top-k a global sort of D's fake logits in the G update
(k at its start, the whole batch, so it costs the selection and no less). Not
a test.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import train_step  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
from compare_gan2 import augment  # noqa: E402
from compare_gan2 import regularizers  # noqa: E402
from compare_gan2.gans import modular_gan  # noqa: E402

# Name -> the GAN's keyword arguments that add the component (fresh per GAN).
COMPONENTS = {
    "plain": dict,
    "DiffAugment color,translation,cutout": lambda: {"augment": augment.DiffAugment()},
    "DiffAugment translation,cutout":
        lambda: {"augment": augment.DiffAugment("translation,cutout")},
    "DiffAugment color,translation,cutout (XLA)":
        lambda: {"augment": augment.DiffAugment(jit_compile=True)},
    "ADA bgc (p = 0.5)": lambda: {"augment": augment.ADA(initial_p=0.5)},
    "ADA bgc (p = 0.5, op by op)":
        lambda: {"augment": augment.ADA(initial_p=0.5, jit_compile=False)},
    "CR (λ 10)": lambda: {"regularizers": [regularizers.CR()]},
    "bCR (λ 10, 10)": lambda: {"regularizers": [regularizers.BCR()]},
    "zCR (σ 0.05)": lambda: {"regularizers": [regularizers.ZCR()]},
    "LeCam (λ 0.3, from step 0)": lambda: {"regularizers": [regularizers.LeCam(start_step=0)]},
    "top-k (k = batch at the start)":
        lambda: {"regularizers": [regularizers.TopK(steps_per_epoch=1000)]},
}


def _gan(build, components: dict) -> keras.Model:
  keras.utils.set_random_seed(0)
  generator, discriminator, loss_fn = build()
  gan = modular_gan.ModularGAN(generator, discriminator, loss_fn=loss_fn, **components)
  gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
              g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
  gan.build_networks()
  return gan


def _traced(gan: keras.Model, batch: dict):
  step = tf.function(gan.train_step)
  for _ in range(2):  # tracing, then one step with every lazy initialisation done
    float(step(batch)["g_loss"])
  return step


def _timed(step, batch: dict, steps: int) -> float:
  start = time.perf_counter()
  for _ in range(steps):
    logs = step(batch)
  float(logs["g_loss"])  # wait for the last step
  return (time.perf_counter() - start) / steps


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--rounds", type=int, default=3)
  parser.add_argument("--steps", type=int, default=10)
  parser.add_argument("--batch", type=int, default=64)
  parser.add_argument("--models", nargs="*", default=list(train_step.MODELS),
                      choices=list(train_step.MODELS))
  parser.add_argument("--components", nargs="*", default=list(COMPONENTS),
                      choices=list(COMPONENTS), help="Always measured with 'plain'.")
  args = parser.parse_args()
  components = {c: COMPONENTS[c] for c in COMPONENTS if c in {"plain", *args.components}}
  batch = train_step._batch(2 * args.batch)  # pylint: disable=protected-access
  steps = {(m, c): _traced(_gan(train_step.MODELS[m], make()), batch)
           for m in args.models for c, make in components.items()}
  times = {key: [] for key in steps}
  for _ in range(args.rounds):
    for key, step in steps.items():
      times[key].append(_timed(step, batch, args.steps))
  print(f"Batch {args.batch} per update, {args.steps} steps x {args.rounds} rounds\n")
  print("| model | component | median ms/step | vs plain |\n|---|---|---:|---:|")
  for model in args.models:
    plain = statistics.median(times[(model, "plain")])
    for name in components:
      median = statistics.median(times[(model, name)])
      print(f"| {model} | {name} | {1000 * median:.0f} | {100 * (median / plain - 1):+.1f}% |")


if __name__ == "__main__":
  main()
