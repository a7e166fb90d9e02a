r"""What each augmentation and regularizer adds to a whole train step, against the plain step.

    .venv/bin/python benchmarks/component_overhead.py [--rounds 3] [--steps 10] [--batch 64]
        [--models DCGAN-32 "ResNet-CIFAR (SN, hinge)"] [--components plain CR ...]

benchmarks/augment_overhead.py times an augmentation per call; this times it
where it runs: inside ModularGAN.train_step, on the reals and the fakes of the D
update and of the G update (forward, and backward through the fakes to G), with
ADA's controller after the D update. Models as benchmarks/train_step.py:
DCGAN-32 and ResNet-CIFAR at `--batch` images per update (disc_iters 1, so a
step reads 2 x batch). Every component in COMPONENTS gets its own GAN, traced
before timing; rounds interleave the GANs in a shuffled order so machine noise
spreads over all. A second plain GAN, identical to the first, shows the noise
floor: two identical graphs can differ by several percent on a CPU (allocation,
which fusions grappler applies). The table gives the best round's ms per bare
tf.function step and its overhead over the plain step's best round (interference
from the machine only adds time, so the best round is the estimate least
disturbed), and the overhead against the plain step of the same round: median,
min and max over rounds (on a shared 2-core machine they spread by tens of
percent; the spread says how far a figure can be trusted). Target:
DiffAugment and ADA < 5% of the step. ADA runs at p = 0.5 with its controller on
(its cost does not depend on p: every draw and the resampling run regardless).
Each augmentation runs as by default: ADA compiled by XLA
(augment.base.compiled), DiffAugment op by op; the "(op by op)" and "(XLA)" rows
show the other choice. Regularizers: CR and bCR add D passes on transformed
images (CR one on the reals; bCR one on reals and one on fakes), zCR a G pass
and D passes on perturbed z, LeCam only a few reductions and two EMA
assignments, top-k a global sort of D's fake logits in the G update (k at its
start, the whole batch, so it costs the selection and no less). Not a test."""

import argparse
import os
import random
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
    # The noise floor: an identical GAN, built and timed as a component.
    "plain (a second instance)": dict,
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


def _print_table(args: argparse.Namespace, names: list[str], times: dict) -> None:
  print(f"Batch {args.batch} per update, {args.steps} steps x {args.rounds} rounds\n")
  print("| model | component | best ms/step | vs plain (best) "
        "| vs plain, by round: median (min, max) |\n|---|---|---:|---:|---:|")
  for model in args.models:
    plain = times[(model, "plain")]
    for name in names:
      own = times[(model, name)]
      ratios = [100 * (t / p - 1) for t, p in zip(own, plain)]
      best = 100 * (min(own) / min(plain) - 1)
      print(f"| {model} | {name} | {1000 * min(own):.0f} | {best:+.1f}% | "
            f"{statistics.median(ratios):+.1f}% ({min(ratios):+.1f}, {max(ratios):+.1f}) |")


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
  for round_index in range(args.rounds):
    order = list(steps)
    random.Random(round_index).shuffle(order)  # no GAN always runs first or after another
    for key in order:
      times[key].append(_timed(steps[key], batch, args.steps))
  _print_table(args, list(components), times)


if __name__ == "__main__":
  main()
