r"""Where a train step's time goes: a TF profiler trace, summed by op type.

    .venv/bin/python benchmarks/profile_step.py [--model ResNet-CIFAR] [--batch 64]
        [--steps 2] [--biggan_ch 32] [--top 15] [--logdir DIR]

Builds the bare tf.function step of `benchmarks/bench.py` (one D and one G
update), runs 2 untraced warm-up steps, then traces `--steps` steps with
`tf.profiler.experimental` and reads the trace (the XSpace protobuf the
profiler writes; no TensorBoard plugin needed). Prints the op types by total
time across the executor's threads, with their share: the convolutions and
matmuls (forward, input and filter gradients) should dominate; what else
shows up (elementwise ops, BN, SN's power iteration, copies, transposes) is
what stands between the step and the machine's peak. The trace folder can be
opened in TensorBoard's profile plugin too. Prints Markdown; not a test.
"""

import argparse
import collections
import glob
import os
import sys
import tempfile

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: E402  pylint: disable=g-direct-tensorflow-import

import bench  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
import tf_ways  # noqa: E402


def op_times(logdir: str) -> collections.Counter:
  """Microseconds per op type over every TF op event of the newest trace in `logdir`.

  Raises:
    FileNotFoundError: if the profiler wrote no trace there.
  """
  traces = sorted(glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb")))
  if not traces:
    raise FileNotFoundError(f"No *.xplane.pb under {logdir}/plugins/profile: the trace is empty.")
  space = xplane_pb2.XSpace()
  with open(traces[-1], "rb") as f:
    space.ParseFromString(f.read())
  times = collections.Counter()
  for plane in space.planes:
    for line in plane.lines:
      for event in line.events:
        name = plane.event_metadata[event.metadata_id].name
        # TF op events are named "op_name:OpType"; other events (executor,
        # function calls, Python) carry no type and would count time twice.
        if ":" in name and "/" in name.split(":")[0]:
          times[name.rsplit(":", 1)[1]] += event.duration_ps / 1e6
  return times


def _table(times: collections.Counter, top: int, steps: int) -> str:
  total = sum(times.values())
  # oneDNN renames the kernels it takes over (_MklNativeFusedConv2D, ...).
  matmul = sum(v for k, v in times.items() if "Conv2D" in k or "MatMul" in k)
  rows = [f"| {op} | {us / steps / 1000:.1f} | {100 * us / total:.1f}% |"
          for op, us in times.most_common(top)]
  rest = total - sum(us for _, us in times.most_common(top))
  rows.append(f"| (other {max(len(times) - top, 0)} op types) | {rest / steps / 1000:.1f} | "
              f"{100 * rest / total:.1f}% |")
  return ("| op type | ms per step (summed over threads) | share |\n|---|---|---|\n"
          + "\n".join(rows) + f"\n\nConvolutions and matmuls: {100 * matmul / total:.1f}% of op time.")


def main(argv: list[str] | None = None) -> None:
  """Builds, warms up, traces and prints the op-type table."""
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--model", default="ResNet-CIFAR", choices=bench.MODELS)
  parser.add_argument("--batch", type=int, default=None)
  parser.add_argument("--steps", type=int, default=2)
  parser.add_argument("--biggan_ch", type=int, default=32)
  parser.add_argument("--top", type=int, default=15)
  parser.add_argument("--logdir", default=None)
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  batch = args.batch or bench.DEFAULT_BATCH[args.model]
  gan = tf_ways.build_gan(args.model, args.biggan_ch if args.model == "BigGAN-128" else None)
  step = tf_ways.BareStep(gan, tf_ways.make_batch(args.model, 2 * batch))
  step.run(2)
  logdir = args.logdir or tempfile.mkdtemp(prefix="profile_step_")
  tf.profiler.experimental.start(logdir)
  seconds = step.run(args.steps)
  tf.profiler.experimental.stop()
  print(f"\n{args.model}, batch {batch} per sub-step, {args.steps} traced steps, "
        f"{1000 * seconds:.0f} ms/step under the profiler; trace in {logdir}\n")
  print(_table(op_times(logdir), args.top, args.steps))


if __name__ == "__main__":
  main()
