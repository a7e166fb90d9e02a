"""Evaluation schedules over a model_dir's checkpoints.

compare_gan `TaskManager.unevaluated_checkpoints` and `_run_eval`
(`runner_lib.py:137-180`, `:235-277`):
- the checkpoints are those the `checkpoint` index lists (written after the
  files, so a half-written checkpoint is never read), in step order, optionally
  only every `eval_every_steps`;
- those with a row in scores.csv are skipped, so a restarted evaluation does
  not redo them;
- `continuous_eval` waits for new checkpoints (polling) and stops after the
  final step, when training has written TRAIN_DONE and nothing is left, or
  after `timeout_seconds` without a new checkpoint (compare_gan: 24 h);
  `eval_after_train` evaluates what is there and stops.
Fixed here: step 0 (the untrained initial state) is skipped as compare_gan
intended (its string-vs-int test never fired); a checkpoint that the trainer's
retention deletes before it is read is skipped with a warning; a generator
producing NaN gets a row of NaN scores instead of ending the job.
"""

import dataclasses
import math
import os
import time
from collections.abc import Callable

from absl import logging
import tensorflow as tf

from compare_gan2 import checkpoints
from compare_gan2 import experiment
from compare_gan2 import registry
from compare_gan2.evaluation import evaluator as evaluator_lib
from compare_gan2.evaluation import results

@registry.register(module="compare_gan2.evaluation")
@dataclasses.dataclass(frozen=True)
class EvalSchedule:
  """Which checkpoints to evaluate and how long to wait (gin: `evaluation.EvalSchedule.*`).

  Attributes:
    eval_every_steps: evaluate only steps divisible by this (compare_gan
      `--eval_every_steps`, 5000); None or 0 for every checkpoint.
    timeout_seconds: continuous_eval stops after this long without a new
      checkpoint (compare_gan 24 h).
    poll_seconds: how often to look for new checkpoints (compare_gan 60).
    skip_step_zero: do not score the initial, untrained weights.
    score_filename: results file in model_dir (compare_gan `--score_filename`).
  """
  eval_every_steps: int | None = None
  timeout_seconds: float = 24 * 3600.0
  poll_seconds: float = 60.0
  skip_step_zero: bool = True
  score_filename: str = "scores.csv"

  def wanted(self, step: int) -> bool:
    """Whether this schedule evaluates a checkpoint of G step `step`."""
    if step == 0 and self.skip_step_zero:
      return False
    return not self.eval_every_steps or step % self.eval_every_steps == 0


def score_and_record(evaluator: evaluator_lib.Evaluator, gan, dataset,
                     store: results.ResultsStore | None, step: int, checkpoint_path: str) -> dict:
  """Evaluates the GAN as it is now and writes a row; NaN scores if G diverged.

  store None scores without writing: a non-chief worker of a multi-worker
  train_and_eval, which evaluates alongside the chief (main.py says why).
  """
  try:
    result = evaluator.evaluate(gan, dataset)
  except evaluator_lib.NonFiniteSamplesError as e:
    logging.error("Step %d: %s", step, e)
    names = [m.name for m in evaluator.metrics + evaluator.model_metrics]
    scores = {f"{n}_mean": math.nan for n in names}
    scores["error"] = str(e).replace(",", ";")
  else:
    scores = dict(result.scores, extractor=result.extractor)
    logging.info("Step %d: %s (%s; %.1f s)", step, _summary(scores), result.note,
                 sum(result.seconds.values()))
  if store is not None:
    store.add(step, checkpoint_path, scores)
  return scores


def _summary(scores: dict) -> str:
  return ", ".join(f"{k[:-5]} {v:.4g}" for k, v in scores.items() if k.endswith("_mean"))


def evaluate_checkpoints(model_dir: str, exp: experiment.Experiment,
                         evaluator: evaluator_lib.Evaluator, schedule: EvalSchedule,
                         wait: bool, final_step: int | None = None,
                         sleep: Callable[[float], None] = time.sleep) -> list[int]:
  """Evaluates every wanted checkpoint not yet in the results; returns the steps done.

  Args:
    model_dir: the training directory.
    exp: the run's experiment, built (`configurables.build_experiment()` at the edge).
    evaluator: what to compute.
    schedule: which checkpoints, how long to wait.
    wait: poll for new checkpoints (continuous_eval) instead of stopping when
      none is left (eval_after_train).
    final_step: stop once this step is evaluated (the run's total_steps).
    sleep: the waiting function (tests pass a fake clock).
  """
  store = results.ResultsStore(model_dir, schedule.score_filename)
  done, last_new = [], time.monotonic()
  while True:
    listed = checkpoints.list_checkpoints(model_dir)
    pending = [(s, p) for s, p in listed
               if schedule.wanted(s) and s not in store.evaluated_steps()]
    for step, path in pending:
      if _restore(exp.gan, path):
        score_and_record(evaluator, exp.gan, exp.dataset, store, step, path)
        done.append(step)
    if pending:
      last_new = time.monotonic()
    if final_step is not None and (final_step in store.evaluated_steps() or (
        final_step in dict(listed) and not schedule.wanted(final_step))):
      return done
    if not wait or (not pending and tf.io.gfile.exists(os.path.join(model_dir, checkpoints.TRAIN_DONE))):
      return done
    if time.monotonic() - last_new > schedule.timeout_seconds:
      logging.info("No new checkpoint in %s for %.0f s: evaluation stops.", model_dir,
                   schedule.timeout_seconds)
      return done
    if not pending:
      sleep(schedule.poll_seconds)


def _restore(gan, path: str) -> bool:
  try:
    experiment.restore(gan, path)
  except (ValueError, tf.errors.NotFoundError) as e:
    if tf.io.gfile.exists(path + ".index"):
      raise
    logging.warning("Checkpoint %s disappeared before evaluation (retention?): %s", path, e)
    return False
  return True
