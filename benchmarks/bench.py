r"""Training-step speed of compare_gan2 vs a PyTorch twin, against the machine's peak.

    make bench      # or: .venv/bin/python benchmarks/bench.py [--rounds 3]
        [--models DCGAN-32 ResNet-CIFAR BigGAN-128] [--steps 4 2 2]
        [--batch 64 64 4] [--biggan_ch 32]

For each model these ways run the same train step (one D update, then one G
update, each on `batch` real images and `batch` fakes; disc_iters 1):
- "Keras fit": `ModularGAN.fit`, as a user trains it;
- "bare tf.function": `tf.function(gan.train_step)`, nothing around it;
- "PyTorch eager": the twin in benchmarks/torch_twins.py, whose G and D
  parameter counts are asserted equal to ours, written as PyTorch GAN
  libraries write it (the reference of "vs PyTorch");
- "PyTorch eager, our algorithms": the same twin with compare_gan2's
  convolution algorithms (benchmarks/torch_ops.py: the ResNet up/down convs
  in our FLOPs, DCGAN's tiny-map convs as dense matrix products), which
  separates framework speed from algorithm.
Models: DCGAN-32 (compare_gan dcgan, non-saturating loss), ResNet-CIFAR
(SNGAN setting: BN in G, SN in D, hinge) and BigGAN-128 (conditional BN, SN
in G and D, attention, projection D, hinge; `--biggan_ch` narrows it, 96 is
the paper's width).

One process tree: each (model, way) lives in its own worker process (so peak
RSS is per way, and TF and torch never share a process or thread pool), built
and warmed up once; the driver then runs `--rounds` interleaved rounds (the way
order rotates each round, and each round starts with a fresh fp32 matmul peak
measurement), so load from other jobs spreads over all ways. A round times
`steps` steps per way; the table gives min and median over rounds of the mean
ms/step, and "vs PyTorch" / "vs same-FLOPs twin" (the twin with our
algorithms) / "vs bare" as the median over rounds of the ratio within a round
(ways of a round run back to back, so slow drift cancels).
FLOPs are the conv + matmul FLOPs of the ops the traced TF step runs
(tf_ways.matmul_flops, TF's own formulas), cross-checked against
torch.utils.flop_counter on the twins; GFLOP/s and % of peak count those
(our) FLOPs for every way, i.e. useful work per second. Prints Markdown; not
a test.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import bench_worker  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

WAYS = ("Keras fit", "bare tf.function", bench_worker.TORCH, bench_worker.TORCH_FAST)
MODELS = ("DCGAN-32", "ResNet-CIFAR", "BigGAN-128")
DEFAULT_STEPS = {"DCGAN-32": 4, "ResNet-CIFAR": 2, "BigGAN-128": 2}
DEFAULT_BATCH = {"DCGAN-32": 64, "ResNet-CIFAR": 64, "BigGAN-128": 4}


class Worker:
  """A worker process (bench_worker.py) answering one JSON line per request."""

  def __init__(self, spec: dict):
    self.spec = spec
    self.process = subprocess.Popen(
        [sys.executable, bench_worker.__file__, json.dumps(spec)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

  def call(self, **request) -> dict:
    """Sends a request and waits for the reply; raises if the worker died."""
    self.process.stdin.write(json.dumps(request) + "\n")
    self.process.stdin.flush()
    line = self.process.stdout.readline()
    if not line:
      raise RuntimeError(f"bench worker {self.spec} exited with {self.process.wait()}; "
                         "its traceback is above.")
    return json.loads(line)

  def close(self) -> None:
    """Asks the worker to exit and waits for it."""
    self.process.stdin.close()
    self.process.wait()


def _parse_args(argv):
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--rounds", type=int, default=3)
  parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
  parser.add_argument("--steps", nargs="+", type=int, default=None,
                      help="timed steps per round, one per model (default 4 2 2)")
  parser.add_argument("--batch", nargs="+", type=int, default=None,
                      help="images per D or G sub-step, one per model (default 64 64 4)")
  parser.add_argument("--biggan_ch", type=int, default=32)
  parser.add_argument("--warmup", type=int, default=2)
  parser.add_argument("--threads", type=int, default=0,
                      help="threads per framework (0: each framework's default, all cores)")
  return per_model(parser, parser.parse_args(argv))


def per_model(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
  """Turns --steps and --batch (one value per model, or None) into {model: value}."""
  for name, default in (("steps", DEFAULT_STEPS), ("batch", DEFAULT_BATCH)):
    given = getattr(args, name)
    if given is not None and len(given) != len(args.models):
      parser.error(f"--{name} needs one value per model ({len(args.models)}), got {given}.")
    setattr(args, name, dict(zip(args.models, given or [default[m] for m in args.models])))
  return args


def _start(args) -> tuple[dict, dict]:
  """Starts and warms up every worker; checks the parameter counts."""
  workers, infos = {}, {}
  for model in args.models:
    for way in WAYS:
      spec = {"way": way, "model": model, "batch": args.batch[model], "threads": args.threads,
              "ch": args.biggan_ch if model == "BigGAN-128" else None}
      print(f"starting {model} / {way} ...", file=sys.stderr, flush=True)
      workers[(model, way)] = Worker(spec)
      infos[(model, way)] = workers[(model, way)].call(cmd="init", warmup=args.warmup)
    ours = infos[(model, "bare tf.function")]
    for way in WAYS[2:]:
      if ours["params"] != infos[(model, way)]["params"]:
        raise SystemExit(f"{model}: the {way} twin has (G, D) = {infos[(model, way)]['params']}"
                         f" trainable parameters, compare_gan2 has {ours['params']}; fix "
                         "torch_twins.py.")
  return workers, infos


def _rounds(args, workers: dict, peak: Worker) -> tuple[dict, list]:
  """Interleaved rounds; returns seconds per step per (model, way) and the peaks."""
  times = {key: [] for key in workers}
  peaks = []
  for r in range(args.rounds):
    peaks.append(peak.call(cmd="peak")["gflops"])
    for model in args.models:
      for way in rotated(WAYS, r):
        times[(model, way)].append(workers[(model, way)].call(
            cmd="run", steps=args.steps[model])["seconds"])
    print(f"round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
  return times, peaks


def rotated(items: tuple | list, shift: int) -> tuple:
  """`items` rotated left by `shift`: round r starts with a different way each time."""
  shift %= len(items)
  return tuple(items[shift:]) + tuple(items[:shift])


def paired(values: list, reference: list) -> float:
  """Median over rounds of this way's time / the reference way's time in the same round.

  Ways of a round run back to back, so a ratio within a round cancels the
  load drift between rounds that a ratio of medians would keep.
  """
  return statistics.median(v / r for v, r in zip(values, reference))


def _row(args, model, way, values, info, ref, peak) -> str:
  median = statistics.median(values)
  images = 2 * args.batch[model]
  gflops = ref[(model, "bare tf.function")]["flops"] / median / 1e9
  vs_torch = paired(values, ref[(model, bench_worker.TORCH)]["times"])
  vs_twin = paired(values, ref[(model, bench_worker.TORCH_FAST)]["times"])
  vs_bare = paired(values, ref[(model, "bare tf.function")]["times"]) - 1
  return (f"| {model} | {way} | {1000 * min(values):.0f} | {1000 * median:.0f} | "
          f"{images / median:.1f} | {info['rss_mib']:.0f} | {vs_torch:.2f} | {vs_twin:.2f} | "
          f"{100 * vs_bare:+.1f}% | {gflops:.1f} | {100 * gflops / peak:.0f}% |")


def _report(args, infos: dict, times: dict, peaks: list, load: tuple) -> None:
  peak = max(peaks)
  versions = infos[(args.models[0], "bare tf.function")]["versions"]
  versions.update(infos[(args.models[0], "PyTorch eager")]["versions"])
  print(f"\nMachine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs"
        f" ({bench_worker.cpu_name()}); load average {load[0]:.1f} at start, "
        f"{load[1]:.1f} at end; {', '.join(f'{k} {v}' for k, v in versions.items())}; threads per framework: "
        f"{args.threads or 'default (all cores)'}.")
  print(f"fp32 matmul peak (tf.matmul 2048^3, best of 5 per round): max {peak:.1f}, "
        f"median {statistics.median(peaks):.1f} GFLOP/s over {len(peaks)} rounds.")
  for model in args.models:
    tf_flops = infos[(model, "bare tf.function")]["flops"]
    torch_flops = ", ".join(f"{infos[(model, way)]['flops'] / 1e9:.1f} ({way})"
                            for way in WAYS[2:])
    print(f"{model}: batch {args.batch[model]} per sub-step ({2 * args.batch[model]} real images"
          f" per step), {args.steps[model]} steps x {args.rounds} rounds; conv+matmul "
          f"GFLOP/step {tf_flops / 1e9:.1f} (TF graph), torch counter {torch_flops};"
          f" params (G, D) {tuple(infos[(model, 'bare tf.function')]['params'])}.")
  print("\n| model | way | min ms/step | median ms/step | images/s | peak RSS MiB | vs PyTorch "
        "| vs same-FLOPs twin | vs bare | GFLOP/s | % of peak |"
        "\n|---|---|---|---|---|---|---|---|---|---|---|")
  ref = {key: {**infos[key], "times": times[key]} for key in infos}
  for model in args.models:
    for way in WAYS:
      print(_row(args, model, way, times[(model, way)], infos[(model, way)], ref, peak))
  print("\nms/step per round (in run order; the way order rotates each round):")
  for (model, way), values in times.items():
    print(f"- {model} / {way}: {', '.join(f'{1000 * v:.0f}' for v in values)}")
  print(f"- fp32 matmul peak GFLOP/s: {', '.join(f'{p:.1f}' for p in peaks)}")


def main(argv: list[str] | None = None) -> None:
  """Starts the workers, runs the rounds and prints the table."""
  args = _parse_args(sys.argv[1:] if argv is None else argv)
  load_start = os.getloadavg()[0]
  peak = Worker({"way": "peak", "threads": args.threads})
  peak.call(cmd="init")
  workers, infos = _start(args)
  try:
    times, peaks = _rounds(args, workers, peak)
    for key, worker in workers.items():
      infos[key]["rss_mib"] = worker.call(cmd="rss")["rss_mib"]
  finally:
    for worker in [*workers.values(), peak]:
      worker.close()
  _report(args, infos, times, peaks, (load_start, os.getloadavg()[0]))


if __name__ == "__main__":
  start = time.time()
  main()
  print(f"\n(benchmark took {time.time() - start:.0f} s)")
