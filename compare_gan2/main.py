r"""Runs a gin-configured experiment: `python -m compare_gan2.main` / `compare_gan2`.

    python -m compare_gan2.main --model_dir=/tmp/run \
      --gin_config=gin_configs/mnist/infogan.gin \
      --gin_bindings='train_lib.train.global_batch_size = 32' \
      [--schedule=train] [--strategy=mirrored] [--tpu=NAME]

compare_gan's flags (`main.py`, COMPARE_GAN.md part 2, §5.1): --model_dir,
--gin_config and --gin_bindings (both repeatable), --schedule. Added:
--strategy and --tpu choose the topology (compare_gan2.distribute), --seed the
initial weights (compare_gan's run_config.tf_random_seed). The
arguments are parsed here with argparse, so the library keeps no global flag
state. Every start writes `operative_config.gin` (what the run actually used)
into model_dir.

Schedules: "train" trains to `train_lib.Schedule.total_steps`, resuming from
the newest checkpoint. "continuous_eval", "eval_after_train" and
"train_and_eval" need the evaluation library (FID/IS), which is not part of
this release yet: they stop with an error before any work is done.
"""

import argparse
import os
import sys
from collections.abc import Sequence

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import logging  # noqa: E402
import gin  # noqa: E402

SCHEDULES = ("train", "continuous_eval", "eval_after_train", "train_and_eval")
EVAL_SCHEDULES = SCHEDULES[1:]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
  """The runner's command line (compare_gan's flag names)."""
  parser = argparse.ArgumentParser(prog="compare_gan2", description=__doc__.split("\n")[0])
  parser.add_argument("--model_dir", required=True, help="Checkpoints, logs and samples go here.")
  parser.add_argument("--gin_config", action="append", default=[], help="gin file (repeatable).")
  parser.add_argument("--gin_bindings", action="append", default=[],
                      help="one gin binding (repeatable), applied after the files.")
  parser.add_argument("--schedule", choices=SCHEDULES, default="train")
  parser.add_argument("--strategy", default="default",
                      help="default, mirrored, multi_worker (TF_CONFIG) or tpu.")
  parser.add_argument("--tpu", default=None, help="TPU name, grpc:// address or 'local'.")
  parser.add_argument("--seed", type=int, default=0,
                      help="Seed of the initial weights (compare_gan's run_config.tf_random_seed); "
                           "the data order has its own, data.train_input.seed.")
  return parser.parse_args(list(argv))


def run(args: argparse.Namespace) -> dict[str, float]:
  """Parses gin, resolves the strategy and runs the schedule.

  Raises:
    ValueError: bad gin, an unavailable schedule, or a topology problem.
  """
  from compare_gan2 import configurables  # pylint: disable=g-import-not-at-top
  from compare_gan2 import distribute  # pylint: disable=g-import-not-at-top
  from compare_gan2 import train_lib  # pylint: disable=g-import-not-at-top
  import keras  # pylint: disable=g-import-not-at-top
  if args.schedule in EVAL_SCHEDULES:
    raise ValueError(f"--schedule={args.schedule} needs the evaluation library (FID, IS, ...), "
                     "which this release does not include yet; use --schedule=train.")
  gin.clear_config()  # the runner owns gin: a second run in one process starts clean
  configurables.parse_gin(args.gin_config, args.gin_bindings)
  strategy = distribute.resolve_strategy(args.strategy, args.tpu)
  os.makedirs(args.model_dir, exist_ok=True)
  # Before gin builds the networks: a restarted run re-creates the same initial
  # values, which the checkpoint then overwrites, and two runs are comparable.
  keras.utils.set_random_seed(args.seed)
  # gin.register leaves train_lib.train untouched; its gin wrapper applies the
  # bindings. Calling it in the scope creates the GAN and optimizers there.
  train = gin.get_configurable(train_lib.train)
  with strategy.scope():
    return train(args.model_dir, strategy)


def main(argv: Sequence[str] | None = None) -> int:
  """Console entry point: 0 on success, 1 with a one-paragraph error otherwise."""
  logging.set_verbosity(logging.INFO)
  args = parse_args(sys.argv[1:] if argv is None else argv)
  try:
    values = run(args)
  except ValueError as e:  # gin, configuration and topology errors
    print(f"compare_gan2: {e}", file=sys.stderr)
    return 1
  print(f"Training done; model_dir: {args.model_dir}; last losses: "
        + ", ".join(f"{k}={v:.4f}" for k, v in values.items()))
  return 0


if __name__ == "__main__":
  sys.exit(main())
