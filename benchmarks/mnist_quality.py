r"""Which method helps on the bundled MNIST, with all or few images? A benchmark, not a test.

    .venv/bin/python benchmarks/mnist_quality.py [--steps 600] [--seeds 0 1 2]
        [--methods plain ssgan msgan] [--train_examples 9000] [--work_dir /tmp/mnist_quality]

Limited data (DiffAugment, ADA, LeCam; issue: where these methods matter):

    .venv/bin/python benchmarks/mnist_quality.py --methods plain diffaugment ada lecam_da \
        --train_examples 500 2000

Trains each method with each seed (and training-set size) through `python -m compare_gan2.main
--schedule=eval_after_train` (one subprocess per run, so gin, Keras and TF
start clean and the runs cannot share state) and reads back what the runner
wrote. Methods, all with the demo's InfoGAN networks, loss, optimizers and
batch (gin_configs/mnist/):
- plain: infogan.gin, the demo (ModularGAN).
- ssgan: ssgan.gin, Chen et al. 2019, "Self-Supervised GANs via Auxiliary
  Rotation Loss" (CVPR; arXiv 1811.11212 §3; compare_gan gans/ssgan.py).
- msgan: msgan.gin, Tran et al. 2019, "Self-supervised GAN: Analysis and
  Improvement with Multi-class Minimax Game" (NeurIPS; arXiv 1911.06997 §3).
- diffaugment: infogan.gin + DiffAugment "color,translation,cutout" on every
  image D sees (Zhao et al. 2020, arXiv 2006.10738).
- ada: infogan.gin + ADA's 'bgc' pipeline with the adaptive p (Karras et al.
  2020, arXiv 2006.06676; target 0.6, adjusted every 4 steps; kimg 10 instead
  of 500, scaled to these short runs: see METHODS).
- lecam_da: diffaugment + the LeCam regulariser (Tseng et al. 2021, arXiv
  2104.03310; lambda 0.3, decay 0.99; from step 50 instead of 1000, scaled
  to these short runs: see METHODS).
`--train_examples N` trains on the first N of the 9,000 bundled training
images (`data.bundled_mnist.train_examples`); the 1,000 eval images scored
against stay the same.
Equal G steps for all. Seed s sets, together, the initial weights (--seed s:
the same G and D weights for every method, the rotation head comes after
them), the GAN's draws of z (`gans.<Class>.seed = s`) and the data order
(`data.train_input.seed = 547 + s`; seed 0 is exactly the demo).

Scores: the demo's evaluation bindings, i.e. the Fréchet distance on the
features of the MNIST classifier shipped in the package (1,000 fakes vs the
1,000 bundled eval images, mean of 3 sample sets), at every kept checkpoint;
NOT comparable with Inception FID. Also the last logged D rotation accuracy on
real images (SS/MS-GAN; mean over the final steps_per_loop steps) and the wall
time of each run (train + evaluation). A finished run (its final step scored)
is reused, so an interrupted benchmark restarts where it stopped. Prints
Markdown tables: FD per seed with mean ± std (sample std over seeds), and the
FD curve over the evaluated steps.
"""

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_DIFFAUGMENT = ("gans.ModularGAN.augment = @augment.DiffAugment()",
                'augment.DiffAugment.policy = "color,translation,cutout"')
# method -> (gin file in gin_configs/mnist, GAN class, extra bindings, label)
METHODS = {
    "plain": ("infogan.gin", "ModularGAN", (), "plain GAN"),
    "ssgan": ("ssgan.gin", "SSGAN", (), "SS-GAN"),
    "msgan": ("msgan.gin", "MSGAN", (), "MS-GAN"),
    "diffaugment": ("infogan.gin", "ModularGAN", _DIFFAUGMENT, "DiffAugment"),
    # kimg 10, not the paper's 500: a run here sees 38k images (ADA's runs 25M), and at 500
    # p could rise by at most 0.08 in 600 steps; at 10 it can cross [0, 1] in 156 steps.
    "ada": ("infogan.gin", "ModularGAN",
            ("gans.ModularGAN.augment = @augment.ADA()", "augment.ADA.kimg = 10"), "ADA"),
    # start_step 50, not the authors' 1000: a 600-step run would never start the term and
    # train DiffAugment's run bit for bit (measured: FD 88.85 both); the anchors' 0.99 EMA
    # spans ~100 steps, so from step 50 the term acts for 550 of the 600 steps.
    "lecam_da": ("infogan.gin", "ModularGAN",
                 _DIFFAUGMENT + ("gans.ModularGAN.regularizers = [@regularizers.LeCam()]",
                                 "regularizers.LeCam.start_step = 50"),
                 "LeCam + DiffAugment"),
}
ALL_TRAIN = 9000  # compare_gan2.data.bundled.NUM_TRAIN
DATA_SEED = 547  # compare_gan's dataset.seed, the demo's data order
FD_KEY = "fid_score_mean"
ROTATION_TAG = "loss/d_rotation_accuracy"
WALL_FILE = "benchmark_wall_time.json"


def parse_args(argv: list[str]) -> argparse.Namespace:
  """The benchmark's command line."""
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--steps", type=int, default=600, help="G steps per run (the demo: 600).")
  parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
  parser.add_argument("--methods", nargs="+", choices=list(METHODS),
                      default=["plain", "ssgan", "msgan"])
  parser.add_argument("--train_examples", type=int, nargs="+", default=[ALL_TRAIN],
                      help="Training-set sizes: the first N bundled training images.")
  parser.add_argument("--checkpoints", type=int, default=3,
                      help="Evaluated checkpoints per run, evenly spaced, the last at --steps.")
  parser.add_argument("--work_dir", default="/tmp/mnist_quality",
                      help="One model_dir per run: <work_dir>/<method>_n<N>_seed<s>_<steps>.")
  parser.add_argument("--keep_checkpoints", action="store_true",
                      help="Keep each run's checkpoints (about 160 MB each) after scoring.")
  args = parser.parse_args(argv)
  if not all(1 <= n <= ALL_TRAIN for n in args.train_examples):
    parser.error(f"--train_examples must lie in [1, {ALL_TRAIN}], got {args.train_examples}")
  if args.steps < 1 or not 1 <= args.checkpoints <= args.steps:
    parser.error(f"need --steps >= 1 and 1 <= --checkpoints <= --steps, got {args.steps} "
                 f"and {args.checkpoints}")
  return args


def run_command(method: str, seed: int, steps: int, checkpoints: int, model_dir: str,
                train_examples: int = ALL_TRAIN) -> list[str]:
  """The compare_gan2.main command line of one run (the demo with steps and seeds bound)."""
  config, gan_class, extra, _ = METHODS[method]
  every = max(1, steps // checkpoints)
  bindings = [f"train_lib.Schedule.total_steps = {steps}",
              f"train_lib.Schedule.checkpoint_every = {every}",
              f"train_lib.Schedule.keep_checkpoints = {checkpoints}",
              f"train_lib.Schedule.steps_per_loop = {min(50, every)}",
              f"train_lib.Schedule.sample_every = {steps}",
              f"data.train_input.seed = {DATA_SEED + seed}",
              f"data.bundled_mnist.train_examples = {train_examples}",
              f"gans.{gan_class}.seed = {seed}",
              *[b.replace("gans.ModularGAN.", f"gans.{gan_class}.") for b in extra]]
  config = os.path.join(ROOT, "gin_configs", "mnist", config)
  return [sys.executable, "-m", "compare_gan2.main", f"--model_dir={model_dir}",
          f"--gin_config={config}", "--schedule=eval_after_train", f"--seed={seed}",
          *[f"--gin_bindings={b}" for b in bindings]]


def read_scores(model_dir: str) -> dict[int, float]:
  """step -> Fréchet distance (mean over the averaging runs) from model_dir/scores.json."""
  path = os.path.join(model_dir, "scores.json")
  if not os.path.exists(path):
    return {}
  with open(path) as f:
    rows = json.load(f)["results"]
  return {int(row["step"]): float(row[FD_KEY]) for row in rows if FD_KEY in row}


def last_scalar(model_dir: str, tag: str) -> float | None:
  """The value of `tag` at the highest step in model_dir's training event files, if logged."""
  best = None
  for path in glob.glob(os.path.join(model_dir, "events.out.tfevents.*")):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        if value.tag == tag and (best is None or event.step >= best[0]):
          best = (event.step, float(tf.make_ndarray(value.tensor)))
  return None if best is None else best[1]


def train_and_score(method: str, seed: int, args: argparse.Namespace,
                    train_examples: int = ALL_TRAIN) -> dict:
  """Runs (or reuses) one training + evaluation; returns its FD curve, rotation accuracy, time.

  Raises:
    RuntimeError: the runner failed (its log is named).
  """
  model_dir = os.path.join(args.work_dir, f"{method}_n{train_examples}_seed{seed}_{args.steps}")
  wall_path = os.path.join(model_dir, WALL_FILE)
  if args.steps not in read_scores(model_dir) or not os.path.exists(wall_path):
    os.makedirs(model_dir, exist_ok=True)
    log_path = os.path.join(model_dir, "benchmark_log.txt")
    start = time.perf_counter()
    with open(log_path, "w") as log:
      command = run_command(method, seed, args.steps, args.checkpoints, model_dir,
                            train_examples)
      code = subprocess.call(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    if code:
      raise RuntimeError(f"{method} seed {seed} failed with exit code {code}; see {log_path}")
    with open(wall_path, "w") as f:
      json.dump({"seconds": time.perf_counter() - start}, f)
    if not args.keep_checkpoints:  # scores, samples, events and the export stay
      for path in glob.glob(os.path.join(model_dir, "ckpt-*")):
        os.remove(path)
  with open(wall_path) as f:
    seconds = json.load(f)["seconds"]
  return {"fd": read_scores(model_dir), "rotation": last_scalar(model_dir, ROTATION_TAG),
          "seconds": seconds}


def mean_std(values: list[float]) -> str:
  """'mean ± sample std' (just the value for one seed)."""
  if len(values) == 1:
    return f"{values[0]:.2f}"
  return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


Results = dict[tuple[str, int], dict[int, dict]]  # (method, train examples) -> seed -> run


def final_table(results: Results, steps: int) -> str:
  """Markdown: per method and data size the final FD per seed, mean ± std, rotation acc., time."""
  seeds = sorted(next(iter(results.values())))
  head = ["method", "train images", *[f"FD seed {s}" for s in seeds], "FD mean ± std",
          "D rotation acc. (real)", "wall time / run"]
  lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
  for (method, examples), runs in results.items():
    fds = [runs[s]["fd"][steps] for s in seeds]
    rotations = [runs[s]["rotation"] for s in seeds if runs[s]["rotation"] is not None]
    rotation = f"{statistics.mean(rotations):.3f}" if rotations else "-"
    minutes = statistics.mean(runs[s]["seconds"] for s in seeds) / 60
    cells = [METHODS[method][3], str(examples), *[f"{v:.2f}" for v in fds], mean_std(fds),
             rotation, f"{minutes:.1f} min"]
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)


def curve_table(results: Results) -> str:
  """Markdown: FD mean ± std over seeds at every step evaluated in all runs of all methods."""
  runs = [run for by_seed in results.values() for run in by_seed.values()]
  steps = sorted(set.intersection(*[set(run["fd"]) for run in runs]))
  lines = ["| method | train images | " + " | ".join(f"step {s}" for s in steps) + " |",
           "|---|---|" + "---|" * len(steps)]
  for (method, examples), by_seed in results.items():
    cells = [mean_std([run["fd"][s] for run in by_seed.values()]) for s in steps]
    lines.append(f"| {METHODS[method][3]} | {examples} | " + " | ".join(cells) + " |")
  return "\n".join(lines)


def main(argv: list[str]) -> None:
  """Runs every (method, seed) not yet scored, then prints the tables."""
  args = parse_args(argv)
  results = {(m, n): {} for n in args.train_examples for m in args.methods}
  # Seed-major order: a benchmark cut short still has every method at the first seeds.
  for seed in args.seeds:
    for method, examples in results:
      run = train_and_score(method, seed, args, examples)
      results[(method, examples)][seed] = run
      rotation = "" if run["rotation"] is None else f", rotation acc. {run['rotation']:.3f}"
      print(f"{METHODS[method][3]} on {examples} images, seed {seed}: FD "
            f"{run['fd'].get(args.steps, float('nan')):.2f} at step {args.steps}{rotation}, "
            f"{run['seconds'] / 60:.1f} min", flush=True)
  print(f"\nMNIST-classifier Fréchet distance after {args.steps} G steps "
        f"(lower is better; {len(args.seeds)} seeds; std = sample std over seeds):\n")
  print(final_table(results, args.steps))
  print("\nFréchet distance over training (mean ± std over seeds):\n")
  print(curve_table(results))


if __name__ == "__main__":
  main(sys.argv[1:])
