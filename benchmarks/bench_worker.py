"""One worker process of `benchmarks/bench.py`: a model and a way, or the matmul peak.

    python benchmarks/bench_worker.py '{"way": "Keras fit", "model": "DCGAN-32", "batch": 64}'

Reads one JSON request per line on stdin and answers one JSON line on stdout:
{"cmd": "init", "warmup": k} builds, counts parameters and FLOPs and runs k
untimed steps; {"cmd": "run", "steps": n} returns seconds per step;
{"cmd": "peak"} the fp32 matmul GFLOP/s; {"cmd": "rss"} the peak RSS. Anything
the frameworks print goes to stderr. The PyTorch way never imports TensorFlow
and the TensorFlow ways never import torch.
"""

import json
import os
import resource
import sys
import time

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# The PyTorch ways: the twin as PyTorch GAN libraries write it, and the same
# twin with compare_gan2's convolution algorithms (torch_ops.py).
TORCH = "PyTorch eager"
TORCH_FAST = "PyTorch eager, our algorithms"


def cpu_name() -> str:
  """The CPU model from /proc/cpuinfo ("unknown CPU" elsewhere)."""
  try:
    with open("/proc/cpuinfo") as f:
      return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
  except (OSError, StopIteration):
    return "unknown CPU"


class TorchWay:
  """The PyTorch eager twin of a model."""

  def __init__(self, spec: dict):
    import torch  # pylint: disable=g-import-not-at-top
    import torch_twins  # pylint: disable=g-import-not-at-top
    if spec.get("threads"):
      torch.set_num_threads(spec["threads"])
      torch.set_num_interop_threads(spec["threads"])
    self.torch, self.twins = torch, torch_twins
    self.gan = torch_twins.build(spec["model"], spec.get("ch"),
                                 our_algorithms=spec["way"] == TORCH_FAST)
    size = 128 if spec["model"] == "BigGAN-128" else 32
    images = 2 * spec["batch"]
    self.images = torch.rand(images, 3, size, size)
    self.labels = torch.randint(0, 1000, (images,)) if self.gan.num_classes else None

  def init(self, warmup: int) -> dict:
    """Counts FLOPs on the first of `warmup` untimed steps; parameters, versions."""
    from torch.utils import flop_counter  # pylint: disable=g-import-not-at-top
    with flop_counter.FlopCounterMode(display=False) as counter:
      self.gan.step(self.images, self.labels)
    for _ in range(warmup - 1):
      self.gan.step(self.images, self.labels)
    return {"params": list(self.twins.parameter_counts(self.gan)),
            "flops": counter.get_total_flops(),
            "versions": {"torch": self.torch.__version__,
                         "torch threads": self.torch.get_num_threads()}}

  def run(self, steps: int) -> float:
    """Seconds per step over `steps` steps."""
    start = time.perf_counter()
    for _ in range(steps):
      self.gan.step(self.images, self.labels)
    return (time.perf_counter() - start) / steps


class TfWay:
  """Keras fit or the bare tf.function step of a compare_gan2 model."""

  def __init__(self, spec: dict):
    import naive_ops  # pylint: disable=g-import-not-at-top
    import tf_ways  # pylint: disable=g-import-not-at-top
    tf_ways.set_threads(spec.get("threads") or 0)
    naive_ops.revert(spec.get("naive", []))  # benchmarks/speedups.py's "before" variants
    self.tf_ways = tf_ways
    self.gan = tf_ways.build_gan(spec["model"], spec.get("ch"))
    batch = tf_ways.make_batch(spec["model"], 2 * spec["batch"])
    way = tf_ways.FitStep if spec["way"] == "Keras fit" else tf_ways.BareStep
    self.way = way(self.gan, batch)

  def init(self, warmup: int) -> dict:
    """Runs `warmup` untimed steps (tracing); parameters, FLOPs (bare step), versions."""
    import keras  # pylint: disable=g-import-not-at-top
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    for _ in range(warmup):
      self.way.run(1)
    flops = (self.tf_ways.matmul_flops(self.way.concrete())
             if isinstance(self.way, self.tf_ways.BareStep) else None)
    return {"params": list(self.tf_ways.parameter_counts(self.gan)), "flops": flops,
            "versions": {"tensorflow": tf.__version__, "keras": keras.__version__}}

  def run(self, steps: int) -> float:
    """Seconds per step over `steps` steps."""
    return self.way.run(steps)


class PeakWay:
  """The fp32 matmul peak as TensorFlow reaches it."""

  def __init__(self, spec: dict):
    import tf_ways  # pylint: disable=g-import-not-at-top
    tf_ways.set_threads(spec.get("threads") or 0)
    self.tf_ways = tf_ways

  def init(self, warmup: int = 0) -> dict:
    """One untimed matmul (thread pools, kernel selection)."""
    del warmup
    self.tf_ways.matmul_peak(repeats=1)
    return {}

  def peak(self) -> float:
    """GFLOP/s of the fp32 matmul, best of 5."""
    return self.tf_ways.matmul_peak()


def _handle(way, request: dict) -> dict:
  cmd = request["cmd"]
  if cmd == "init":
    return way.init(request.get("warmup", 2))
  if cmd == "run":
    return {"seconds": way.run(request["steps"])}
  if cmd == "peak":
    return {"gflops": way.peak()}
  if cmd == "rss":
    return {"rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
  raise ValueError(f"bench_worker: unknown command {cmd!r}.")


def main() -> None:
  """Serves requests for the way named in argv[1] until stdin closes."""
  spec = json.loads(sys.argv[1])
  replies = os.fdopen(os.dup(sys.stdout.fileno()), "w")
  os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # framework chatter goes to stderr
  kinds = {TORCH: TorchWay, TORCH_FAST: TorchWay, "peak": PeakWay}
  way = kinds.get(spec["way"], TfWay)(spec)
  for line in sys.stdin:
    replies.write(json.dumps(_handle(way, json.loads(line))) + "\n")
    replies.flush()


if __name__ == "__main__":
  main()
