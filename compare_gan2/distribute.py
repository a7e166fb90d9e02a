"""Choosing the tf.distribute strategy a run trains under.

One resolver for every topology compare_gan2 runs on:

| name            | strategy                                         | needs                          |
|-----------------|--------------------------------------------------|--------------------------------|
| "default"       | tf.distribute's default (one device)             | —                              |
| "mirrored"      | MirroredStrategy over local GPUs (or CPUs)       | —                              |
| "multi_worker"  | MultiWorkerMirroredStrategy                      | TF_CONFIG in the environment   |
| "tpu"           | TPUStrategy via TPUClusterResolver               | --tpu (name, grpc:// address or "local") |

The training loop drives `train_step` with `strategy.run` itself (docs/design.md
§4): Keras `fit` fails under MultiWorkerMirroredStrategy, and TPUs want many
steps per host call anyway.

Under MultiWorkerMirroredStrategy every worker runs the same program; the
helpers below say which worker writes files (`is_chief`), where the others
put what they must write (`worker_temp_dir`), and let the workers agree on a
value at one point of the program (`any_worker`, `check_same_on_every_worker`:
an all-gather every worker joins).
"""

import functools
import json
import os

import numpy as np
import tensorflow as tf

from compare_gan2 import registry

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")


def _tpu_strategy(tpu: str | None) -> tf.distribute.Strategy:
  if not tpu:
    raise ValueError("strategy 'tpu' needs --tpu: a TPU name, a grpc:// address, or 'local'.")
  try:
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
        tpu="local" if tpu == "local" else tpu)
  except ValueError as e:  # no TPU of that name, or no TPU on this machine
    raise ValueError(f"Cannot resolve TPU {tpu!r}: {e}") from e
  try:
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
  except (tf.errors.NotFoundError, tf.errors.UnavailableError) as e:
    raise ValueError(f"No TPU found at {tpu!r}: {e.message.splitlines()[0]}") from e
  return tf.distribute.TPUStrategy(resolver)


def _multi_worker_strategy() -> tf.distribute.Strategy:
  raw = os.environ.get("TF_CONFIG")
  if not raw:
    raise ValueError("strategy 'multi_worker' needs TF_CONFIG with the cluster and this "
                     "worker's task, e.g. {\"cluster\": {\"worker\": [\"host1:port\", ...]}, "
                     "\"task\": {\"type\": \"worker\", \"index\": 0}}.")
  try:
    config = json.loads(raw)
  except json.JSONDecodeError as e:
    raise ValueError(f"TF_CONFIG is not valid JSON: {e}") from e
  if "worker" not in config.get("cluster", {}) or "task" not in config:
    raise ValueError(f"TF_CONFIG needs cluster.worker and task entries, got keys {sorted(config)}.")
  return tf.distribute.MultiWorkerMirroredStrategy()


@registry.register(module="compare_gan2.distribute")
def resolve_strategy(name: str = "default", tpu: str | None = None) -> tf.distribute.Strategy:
  """Creates the strategy called `name` (see the module table).

  Args:
    name: "default", "mirrored", "multi_worker" or "tpu".
    tpu: for "tpu": the TPU name, a grpc:// address, or "local".

  Returns:
    The strategy; create models and optimizers in its `scope()`.

  Raises:
    ValueError: an unknown name, or a topology without what it needs.
  """
  if name == "default":
    return tf.distribute.get_strategy()
  if name == "mirrored":
    return tf.distribute.MirroredStrategy()
  if name == "multi_worker":
    return _multi_worker_strategy()
  if name == "tpu":
    return _tpu_strategy(tpu)
  raise ValueError(f"Unknown strategy {name!r}; expected one of {STRATEGIES}.")


def per_replica_batch_size(strategy: tf.distribute.Strategy, global_batch_size: int,
                           multiple_of: int = 1) -> int:
  """The batch each replica gets, checked to divide evenly.

  Args:
    strategy: the run's strategy.
    global_batch_size: examples per step over all replicas.
    multiple_of: the per-replica batch must also divide by this (e.g.
      disc_iters + 1 sub-batches per step).

  Raises:
    ValueError: naming both numbers when they do not divide.
  """
  replicas = strategy.num_replicas_in_sync
  if global_batch_size % replicas:
    raise ValueError(f"global batch size {global_batch_size} is not divisible by the "
                     f"{replicas} replicas of {type(strategy).__name__}.")
  local = global_batch_size // replicas
  if local % multiple_of:
    raise ValueError(f"per-replica batch {local} (global {global_batch_size} over {replicas} "
                     f"replicas) must be divisible by {multiple_of} (disc_iters + 1 sub-batches).")
  return local


def is_chief(strategy: tf.distribute.Strategy) -> bool:
  """Whether this process writes the run's files (checkpoints, summaries, samples, scores).

  Worker 0 under MultiWorkerMirroredStrategy (TensorFlow's convention when
  TF_CONFIG names no "chief" task); the only process under every other strategy.
  """
  return bool(strategy.extended.should_checkpoint)


def worker_temp_dir(model_dir: str, strategy: tf.distribute.Strategy) -> str:
  """Where a non-chief worker writes what it must write but nobody reads.

  TensorFlow's multi-worker save pattern (tf.keras's distributed_file_utils):
  every worker takes part in a save, since reading synchronised variables is a
  collective, but only the chief writes to model_dir; the others write to
  model_dir/workertemp_<task id> and delete it afterwards.
  """
  return os.path.join(model_dir, f"workertemp_{strategy.cluster_resolver.task_id}")


@functools.lru_cache(maxsize=8)
def _gather_fn(strategy: tf.distribute.Strategy):
  """One traced all-gather of an int64 scalar per strategy (eager collectives retrace each call)."""
  @tf.function
  def gather(value: tf.Tensor) -> tf.Tensor:
    return strategy.gather(strategy.run(lambda: tf.reshape(value, [1])), axis=0)
  return gather


def _every_worker(strategy: tf.distribute.Strategy, value: int) -> np.ndarray:
  """`value` from every replica (an all-gather: every worker must call it at the same point)."""
  if strategy.num_replicas_in_sync == 1:
    return np.asarray([value])
  return np.asarray(_gather_fn(strategy)(tf.constant(value, tf.int64)))


def any_worker(strategy: tf.distribute.Strategy, flag: bool) -> bool:
  """Whether `flag` is true on any worker (every worker must call this at the same point)."""
  return bool(_every_worker(strategy, int(flag)).max())


def check_same_on_every_worker(strategy: tf.distribute.Strategy, value: int, what: str) -> None:
  """Raises ValueError unless every worker passes the same `value` (a collective).

  Raises:
    ValueError: naming `what` and the smallest and largest value seen.
  """
  seen = _every_worker(strategy, value)
  low, high = int(seen.min()), int(seen.max())
  if low != high:
    raise ValueError(f"The workers disagree on {what}: values from {low} to {high}. Every "
                     "worker must see the same model_dir (a shared file system or bucket).")
