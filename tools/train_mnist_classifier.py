r"""Trains the MNIST classifier shipped in compare_gan2/evaluation and reports its accuracy.

    python -m tools.train_mnist_classifier \
      --output=compare_gan2/evaluation/mnist_classifier.weights.npz --epochs=15 --seed=0

Trains `evaluation.mnist_classifier.build_model()` on the 9,000 train images
of the bundled MNIST (`data.bundled_mnist`, 28x28) with light augmentation
(shifts of up to 2 px, small rotations and zooms), Adam with a cosine learning
rate, on CPU in a few minutes. Then it reloads the written weights exactly as
`MnistClassifierConfig` does and measures their accuracy on the 1,000
held-out bundled eval images, which it never trained on. It writes the
weights (.npz) and, beside them, a .json with the accuracy, seed, date and
versions. A bad flag exits with status 2 and a one-line message.
"""

import datetime
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from . import cli  # noqa: E402

# Its own flag registry, not absl's global FLAGS: tools share flag names
# (--output, --seed, --batch_size), and tests import several into one process.
FLAGS = flags.FlagValues()
_DEFAULT_OUTPUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                               "compare_gan2", "evaluation", "mnist_classifier.weights.npz")
_OUTPUT = flags.DEFINE_string("output", _DEFAULT_OUTPUT, "Weights file to write (.npz).",
                              flag_values=FLAGS)
_EPOCHS = flags.DEFINE_integer("epochs", 15, "Passes over the train images.", flag_values=FLAGS)
_SEED = flags.DEFINE_integer("seed", 0, "Seed of initialization, order and augmentation.",
                             flag_values=FLAGS)
_MAX_TRAIN = flags.DEFINE_integer("max_train_examples", None,
                                  "Train on only the first N train images (quick checks).",
                                  flag_values=FLAGS)
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 128, "Batch size of training.", flag_values=FLAGS)
_LEARNING_RATE = flags.DEFINE_float("learning_rate", 2e-3, "Initial Adam learning rate.",
                                    flag_values=FLAGS)


def _bundled_splits(max_train_examples: int | None):
  """((train images, labels), (eval images, labels)), images float32 [N, 28, 28, 1] in [0, 1]."""
  from compare_gan2.data import bundled  # pylint: disable=g-import-not-at-top
  images, labels = bundled.load_bundled_mnist()
  is_eval = bundled.eval_mask()
  images = images.astype("float32") / 255.0
  train = images[~is_eval][:max_train_examples], labels[~is_eval][:max_train_examples]
  return train, (images[is_eval], labels[is_eval])


def _fit(train: tuple, epochs: int, batch_size: int, learning_rate: float, seed: int):
  """The classifier after training on `train` with augmentation."""
  import keras  # pylint: disable=g-import-not-at-top
  from compare_gan2.evaluation import mnist_classifier  # pylint: disable=g-import-not-at-top
  keras.utils.set_random_seed(seed)
  model = mnist_classifier.build_model()
  layers = keras.layers
  augment = keras.Sequential([
      layers.RandomTranslation(0.07, 0.07, fill_mode="constant", seed=seed),
      layers.RandomRotation(0.03, fill_mode="constant", seed=seed + 1),
      layers.RandomZoom(0.08, fill_mode="constant", seed=seed + 2)], name="augment")
  inputs = keras.Input(model.input_shape[1:])
  trainer = keras.Model(inputs, model(augment(inputs))[1])
  steps = epochs * -(-len(train[0]) // batch_size)
  schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps)
  trainer.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
  trainer.fit(*train, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=2)
  return model


def heldout_accuracy(classifier: Any, images, labels) -> float:
  """Fraction of `images` whose argmax logit is the label."""
  from compare_gan2.evaluation import extractor  # pylint: disable=g-import-not-at-top
  _, logits = extractor.extract(classifier, images, batch_size=250)
  return float((logits.argmax(axis=1) == labels).mean())


def _check_arguments(output: str, epochs: int, max_train_examples: int | None,
                     batch_size: int) -> None:
  if not output.endswith(".npz"):
    raise ValueError(f"--output must end in .npz, got {output!r}.")
  if epochs < 1 or batch_size < 1 or (max_train_examples is not None and max_train_examples < 1):
    raise ValueError("--epochs, --batch_size and --max_train_examples must be >= 1.")


def train_and_save(output: str, epochs: int, seed: int, max_train_examples: int | None = None,
                   batch_size: int = 128, learning_rate: float = 2e-3) -> dict[str, Any]:
  """Trains, writes `output` and its .json, and returns the .json's record.

  Bit-reproducible from `seed` once `tf.config.experimental.enable_op_determinism()`
  is on (`main` turns it on).

  Raises:
    ValueError: a bad output name, epoch count or example count.
  """
  _check_arguments(output, epochs, max_train_examples, batch_size)
  import keras  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from compare_gan2.evaluation import mnist_classifier  # pylint: disable=g-import-not-at-top
  train, heldout = _bundled_splits(max_train_examples)
  model = _fit(train, epochs, batch_size, learning_rate, seed)
  os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
  mnist_classifier.save_weights(model, output)
  # Measure the file, not the in-memory model: what ships is what is reported.
  reloaded = mnist_classifier.MnistClassifierConfig(weights_path=output).load()
  record = {
      "heldout_accuracy": heldout_accuracy(reloaded, *heldout),
      "heldout_examples": len(heldout[1]),
      "heldout_split": "data.bundled_mnist eval split (100 per class of the MNIST test set)",
      "train_examples": len(train[1]), "epochs": epochs, "seed": seed,
      "batch_size": batch_size, "learning_rate": learning_rate,
      "parameters": int(sum(v.numpy().size for v in model.weights)),
      "date": datetime.date.today().isoformat(),
      "tensorflow": tf.__version__, "keras": keras.__version__,
  }
  with open(output.removesuffix(".npz") + ".json", "w") as f:
    json.dump(record, f, indent=2)
    f.write("\n")
  return record


def _check_flags() -> None:
  # Before TensorFlow is imported, so a bad value fails at once.
  _check_arguments(_OUTPUT.value, _EPOCHS.value, _MAX_TRAIN.value, _BATCH_SIZE.value)


def _body() -> None:
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  # Same seed, same weights (checked: two runs wrote identical arrays). A
  # process-wide switch, so set here and not in the reusable train_and_save.
  tf.config.experimental.enable_op_determinism()
  record = train_and_save(_OUTPUT.value, _EPOCHS.value, _SEED.value, _MAX_TRAIN.value,
                          _BATCH_SIZE.value, _LEARNING_RATE.value)
  print(f"held-out accuracy {record['heldout_accuracy']:.4f} on {record['heldout_examples']} "
        f"bundled eval images; wrote {_OUTPUT.value}")


def main(argv: Sequence[str] | None = None) -> int:
  """Trains and prints the held-out accuracy; 1 with a one-line error, 2 on bad flags."""
  return cli.main("train_mnist_classifier", __doc__, FLAGS, argv, _body, check=_check_flags)


def run() -> None:
  """Console-script entry point."""
  cli.setup_console()
  sys.exit(main())


if __name__ == "__main__":
  run()
