r"""Runs a gin-configured experiment: `python -m compare_gan2.main` / `compare_gan2`.

    python -m compare_gan2.main --model_dir=/tmp/run \
      --gin_config=gin_configs/mnist/infogan.gin \
      --gin_bindings='train_lib.train.global_batch_size = 32' \
      [--schedule=train] [--strategy=mirrored] [--tpu=NAME]

compare_gan's flags (`main.py`): --model_dir,
--gin_config and --gin_bindings (both repeatable), --schedule. Added:
--strategy and --tpu choose the topology (compare_gan2.distribute), --seed the
initial weights (compare_gan's run_config.tf_random_seed). The
arguments are parsed here with argparse, so the library keeps no global flag
state. Every start writes `operative_config.gin` (what the run actually used)
into model_dir.

Schedules (compare_gan's, plus train_and_eval, which compare_gan's docstring
named but never accepted):
- train: trains to `train_lib.Schedule.total_steps`, resuming from the newest
  checkpoint, and writes TRAIN_DONE at the end.
- continuous_eval: a second job next to training; evaluates each new
  checkpoint once (skipping those already in scores.csv), waits for more, and
  stops after the final step (evaluation/continuous.py).
- eval_after_train: train, then evaluate every kept checkpoint.
- train_and_eval: train, evaluating the live GAN at each checkpoint that
  `evaluation.EvalSchedule.eval_every_steps` selects.
What is computed: `evaluation.Evaluator` (metrics, feature extractor, sample
counts); which checkpoints and waiting: `evaluation.EvalSchedule`. The flags
--num_eval_averaging_runs, --eval_every_steps and --score_filename
(compare_gan's) override those bindings.

Under --strategy=multi_worker every worker runs the same command on one
model_dir; the chief alone writes files (docs/reliability.md "Training on several hosts").
SIGTERM saves at the next loop boundary and exits with
`preemption.EXIT_CODE` (42); rerunning resumes.

Resuming checks the new config against model_dir's operative_config.gin first
(run_config.py): schedule and evaluation changes pass, learning-rate changes
pass with a log, anything that changes the model or method stops the run unless
--allow_config_change. Bad input exits 1 with one paragraph on stderr, starting
"compare_gan2: ", that names the binding, file or value (preflight.py).
The console shows one progress line per loop call; --verbose adds what
TensorFlow prints at start-up and its library logs (console.py).
"""

import argparse
import os
import sys
from collections.abc import Sequence

from compare_gan2 import console  # noqa: E402  (loads no TensorFlow)

if __name__ == "__main__":  # `python -m compare_gan2.main`: TensorFlow logs as it loads
  console.setup(sys.argv)
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import logging  # noqa: E402
import gin  # noqa: E402
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from compare_gan2 import configurables  # noqa: E402
from compare_gan2 import distribute  # noqa: E402
from compare_gan2 import experiment  # noqa: E402
from compare_gan2 import preemption  # noqa: E402
from compare_gan2 import preflight  # noqa: E402
from compare_gan2 import train_lib  # noqa: E402
from compare_gan2.evaluation import continuous  # noqa: E402
from compare_gan2.evaluation import results  # noqa: E402

SCHEDULES = ("train", "continuous_eval", "eval_after_train", "train_and_eval")


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
  parser.add_argument("--num_eval_averaging_runs", type=int, default=None,
                      help="Sample sets averaged per evaluation (default: gin, else 3).")
  parser.add_argument("--eval_every_steps", type=int, default=None,
                      help="Evaluate only checkpoints whose step is a multiple of this.")
  parser.add_argument("--score_filename", default=None,
                      help="Results CSV in model_dir (default scores.csv).")
  parser.add_argument("--allow_config_change", action="store_true",
                      help="Resume a model_dir although the config changes the model or method "
                           "(compare_gan2/run_config.py lists what may change without it).")
  parser.add_argument("--verbose", action="store_true", help=console.VERBOSE_HELP)
  return parser.parse_args(list(argv))


def _with_evaluation(exp: experiment.Experiment, args: argparse.Namespace
                     ) -> experiment.Experiment:
  """`exp` with the configured Evaluator and EvalSchedule, the flags applied."""
  flags = {"num_averaging_runs": args.num_eval_averaging_runs,
           "eval_every_steps": args.eval_every_steps, "score_filename": args.score_filename}
  return configurables.evaluation(exp, **{k: v for k, v in flags.items() if v is not None})


def _train_and_eval(exp: experiment.Experiment, args: argparse.Namespace, strategy) -> None:
  """Trains, scoring the live GAN at each checkpoint the EvalSchedule selects."""
  evaluator, schedule = exp.evaluator, exp.eval_schedule
  store = results.ResultsStore(args.model_dir, schedule.score_filename)
  # Read once, before training: the chief's new rows must not make the workers
  # disagree about which checkpoints to score.
  scored = store.evaluated_steps()
  chief = distribute.is_chief(strategy)

  def evaluate(gan, step: int, path: str) -> None:
    # Every worker scores (the live GAN's synchronised variables are read by
    # collectives, and the others would wait at the next step anyway); the
    # chief writes the row.
    if schedule.wanted(step) and step not in scored:
      continuous.score_and_record(evaluator, gan, exp.dataset, store if chief else None,
                                  step, path)

  train_lib.train(exp, args.model_dir, strategy, on_checkpoint=evaluate)


def _run_schedule(args: argparse.Namespace, strategy) -> dict[str, float]:
  """Runs args.schedule inside the strategy scope; returns the last values."""
  if args.schedule == "continuous_eval":
    exp = _with_evaluation(configurables.build_experiment(), args)
  else:
    exp = configurables.training_experiment()
    if args.schedule == "train":
      return train_lib.train(exp, args.model_dir, strategy)
    exp = _with_evaluation(exp, args)  # a bad evaluation config fails before training
    if args.schedule == "train_and_eval":
      _train_and_eval(exp, args, strategy)
    else:
      train_lib.train(exp, args.model_dir, strategy)
  if args.schedule != "train_and_eval":  # the kept checkpoints, restored into exp.gan in turn
    continuous.evaluate_checkpoints(args.model_dir, exp, exp.evaluator, exp.eval_schedule,
                                    wait=args.schedule == "continuous_eval",
                                    final_step=exp.schedule.total_steps)
  evaluator = exp.evaluator
  rows = results.ResultsStore(args.model_dir, exp.eval_schedule.score_filename).rows
  if rows and evaluator.extractor is not None:
    note = evaluator.feature_extractor.comparable_note
    print(f"Scores of step {rows[-1]['step']} ({rows[-1].get('extractor')}: {note}):")
  return {k: v for k, v in (rows[-1] if rows else {}).items()
          if k.endswith("_mean") and isinstance(v, float)}


def run(args: argparse.Namespace) -> dict[str, float]:
  """Parses gin, resolves the strategy and runs the schedule.

  Raises:
    ValueError: bad gin (or a value of the wrong type), a config that changes
      a resumed model_dir's experiment, bad data, an unavailable schedule, or
      a topology problem.
  """
  gin.clear_config()  # the runner owns gin: a second run in one process starts clean
  # compare_gan's own files are translated first (the migration pre-step).
  configurables.parse_experiment_files(args.gin_config, args.gin_bindings)
  # Before anything is built: a resumed run whose experiment changed fails in seconds.
  configurables.check_resume(args.model_dir, args.allow_config_change)
  if args.strategy == "multi_worker" and args.schedule in ("continuous_eval", "eval_after_train"):
    raise ValueError(f"--schedule={args.schedule} does not run under --strategy=multi_worker: "
                     "train with --schedule=train (or train_and_eval) on the workers and run "
                     "--schedule=continuous_eval as a separate process (default strategy) on "
                     "the same model_dir.")
  strategy = distribute.resolve_strategy(args.strategy, args.tpu)
  # Stands in for TensorFlow's hidden "GPU will not be used" start-up line (console.py).
  logging.info("%d replica(s); devices: %s", strategy.num_replicas_in_sync,
               ", ".join(d.name for d in tf.config.list_logical_devices()))
  os.makedirs(args.model_dir, exist_ok=True)
  # Before gin builds the networks: a restarted run re-creates the same initial
  # values, which the checkpoint then overwrites, and two runs are comparable.
  keras.utils.set_random_seed(args.seed)
  # gin builds the experiment (GAN, optimizers) in the scope, so their
  # variables are created there; train and evaluation then take it as a value.
  with strategy.scope():
    return _run_schedule(args, strategy)


def main(argv: Sequence[str] | None = None) -> int:
  """Console entry point: 0 on success, 1 with a one-paragraph error otherwise."""
  logging.set_verbosity(logging.INFO)
  args = parse_args(sys.argv[1:] if argv is None else argv)
  try:
    values = run(args)
  # The user's problems: gin, values, data, topology; OpError from the data at run
  # time (a corrupt image file). Anything else is a bug and keeps its traceback.
  except (ValueError, tf.errors.OpError) as e:
    logging.debug("compare_gan2 failed", exc_info=True)
    print(f"compare_gan2: {preflight.describe(e)}", file=sys.stderr)
    return 1
  except preemption.Preempted as e:
    print(f"compare_gan2: {e}", file=sys.stderr)
    return preemption.EXIT_CODE
  what = "last losses" if args.schedule == "train" else "last scores"
  print(f"{args.schedule} done; model_dir: {args.model_dir}; {what}: "
        + ", ".join(f"{k}={v:.4f}" for k, v in values.items()))
  return 0


if __name__ == "__main__":
  sys.exit(main())
