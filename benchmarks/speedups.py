r"""What each speed change of compare_gan2 bought: the train step before and after it.

    .venv/bin/python benchmarks/speedups.py [--rounds 3]
        [--models DCGAN-32 ResNet-CIFAR BigGAN-128] [--steps 4 2 2] [--batch 64 64 4]
        [--biggan_ch 32]

The bare tf.function train step of `benchmarks/bench.py` (one D and one G
update, disc_iters 1) in cumulative variants, each in its own worker process:
every change that touches the model reverted (`naive_ops.py`), then the
changes put back one at a time in the order they were made. ResNet-CIFAR and
BigGAN: compare_gan's unpool -> conv, conv -> pool and four-pass BN, then with
`unpool_conv`, then also `conv_downsample`, then also the fused BN (both
resampling ops as first written, with explicitly padded convolutions), then
also VALID padding (= compare_gan2 as shipped). DCGAN-32: every conv on
oneDNN, then the tiny-map convs as dense matrix products (`ops.dense_conv`,
shipped). Rounds interleave the variants (the order
rotates); the table gives min and median ms/step, conv+matmul GFLOP per step
of each traced graph, and each variant's time relative to the one above it
in the same round (median over rounds). Prints Markdown; not a test.
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import bench  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
import naive_ops  # noqa: E402

MODELS = ("DCGAN-32", "ResNet-CIFAR", "BigGAN-128")


def variants(model: str) -> list[tuple[str, tuple[str, ...]]]:
  """(label, changes still reverted) per variant, cumulative from compare_gan's formulation."""
  changes = naive_ops.CHANGES_BY_MODEL[model]
  labels = ["straightforward (compare_gan's ops)"] + [f"+ {change}" for change in changes]
  labels[-1] += " (shipped)"
  return [(label, changes[i:]) for i, label in enumerate(labels)]


def _parse_args(argv):
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--rounds", type=int, default=3)
  parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
  parser.add_argument("--steps", nargs="+", type=int, default=None)
  parser.add_argument("--batch", nargs="+", type=int, default=None)
  parser.add_argument("--biggan_ch", type=int, default=32)
  return bench.per_model(parser, parser.parse_args(argv))


def _start(args) -> tuple[dict, dict]:
  workers, infos = {}, {}
  for model in args.models:
    for label, naive in variants(model):
      print(f"starting {model} / {label} ...", file=sys.stderr, flush=True)
      spec = {"way": "bare tf.function", "model": model, "batch": args.batch[model],
              "ch": args.biggan_ch if model == "BigGAN-128" else None, "naive": list(naive)}
      workers[(model, label)] = bench.Worker(spec)
      infos[(model, label)] = workers[(model, label)].call(cmd="init", warmup=2)
  return workers, infos


def _rounds(args, workers: dict) -> dict:
  times = {key: [] for key in workers}
  for r in range(args.rounds):
    for model in args.models:
      for label in bench.rotated([label for label, _ in variants(model)], r):
        times[(model, label)].append(
            workers[(model, label)].call(cmd="run", steps=args.steps[model])["seconds"])
    print(f"round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
  return times


def _report(args, infos: dict, times: dict) -> None:
  print(f"\nMachine: {os.cpu_count()} logical CPUs ({bench.bench_worker.cpu_name()}); "
        f"batch per sub-step {args.batch}; BigGAN ch {args.biggan_ch}; {args.rounds} rounds.")
  print("\n| model | variant | GFLOP/step | min ms/step | median ms/step | vs the row above |"
        "\n|---|---|---|---|---|---|")
  for model in args.models:
    above = None
    for label, _ in variants(model):
      values = times[(model, label)]
      change = ("" if above is None else
                f"{100 * (bench.paired(values, times[(model, above)]) - 1):+.1f}%")
      print(f"| {model} | {label} | {infos[(model, label)]['flops'] / 1e9:.1f} | "
            f"{1000 * min(values):.0f} | {1000 * statistics.median(values):.0f} | {change} |")
      above = label


def main(argv: list[str] | None = None) -> None:
  """Starts one worker per (model, variant), runs the rounds, prints the table."""
  args = _parse_args(sys.argv[1:] if argv is None else argv)
  workers, infos = _start(args)
  try:
    times = _rounds(args, workers)
  finally:
    for worker in workers.values():
      worker.close()
  _report(args, infos, times)


if __name__ == "__main__":
  start = time.time()
  main()
  print(f"\n(benchmark took {time.time() - start:.0f} s)")
