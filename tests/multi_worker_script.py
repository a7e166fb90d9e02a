"""One worker of distribute_test's MultiWorkerMirroredStrategy run (not a test).

Usage: multi_worker_script.py OUT.npz STRATEGY. Trains the tiny ModularGAN for
3 steps on fixed global batches with its own `strategy.run` loop (Keras `fit`
fails under MultiWorkerMirroredStrategy, docs/design.md §4) and saves the
weights and logged losses.
"""

import os
import sys

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from compare_gan2 import distribute  # noqa: E402
from compare_gan2 import losses  # noqa: E402
from compare_gan2 import testing  # noqa: E402
from compare_gan2.gans import modular_gan  # noqa: E402

GLOBAL_BATCH = 12


def main(out_path: str, strategy_name: str) -> None:
  strategy = distribute.resolve_strategy(strategy_name)
  with strategy.scope():
    keras.utils.set_random_seed(5)
    gan = modular_gan.ModularGAN(
        testing.TinyGenerator((4, 4, 3), z_dim=3), testing.TinyDiscriminator((4, 4, 3)),
        loss_fn=losses.hinge, disc_iters=2, seed=11)
    gan.compile(d_optimizer=keras.optimizers.Adam(0.05), g_optimizer=keras.optimizers.Adam(0.05))
    gan.build_networks()
  images = np.random.RandomState(0).uniform(size=(3 * GLOBAL_BATCH, 4, 4, 3)).astype(np.float32)

  def dataset_fn(context):
    local = context.get_per_replica_batch_size(GLOBAL_BATCH)
    data = tf.data.Dataset.from_tensor_slices(images).batch(GLOBAL_BATCH)
    # Replica r takes the r-th contiguous slice of every global batch.
    start = context.input_pipeline_id * local
    return data.map(lambda x: {"images": x[start:start + local]})

  iterator = iter(strategy.distribute_datasets_from_function(dataset_fn))
  step = tf.function(lambda batch: strategy.run(gan.train_step, args=(batch,)))
  for _ in range(3):
    logs = step(next(iterator))
  results = {v.path: v.numpy() for v in gan.variables}
  results.update({f"log/{k}": np.asarray(strategy.reduce("MEAN", v, axis=None))
                  for k, v in logs.items()})
  np.savez(out_path, **results)


if __name__ == "__main__":
  main(sys.argv[1], sys.argv[2])
