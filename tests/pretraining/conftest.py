"""A labeller pre-trained once per session on bundled MNIST with 10% labels.

30 steps of S²L (Lucic et al. 2019, eq. (2)) with the tests' tiny
convolutional feature extractor, then soft labels and k = 10 clusters
written in one pass over the 9,000 train images; several test modules read
the result.
"""

import dataclasses
import pathlib

import keras
import pytest

from compare_gan2 import data
from compare_gan2 import pretraining
from tests.pretraining import model_test

STEPS, LOG_EVERY, NUM_CLUSTERS = 30, 5, 10


@dataclasses.dataclass
class Pretrained:
  """The trained labeller, its dataset, and the files written from it."""
  trained: pretraining.Trained
  output_dir: pathlib.Path
  soft_labels: pathlib.Path
  clusters: pathlib.Path
  cluster_record: dict


@pytest.fixture(scope="session")
def pretrained(tmp_path_factory) -> Pretrained:
  output_dir = tmp_path_factory.mktemp("labeller")
  keras.utils.set_random_seed(0)
  dataset = data.bundled_mnist(labels=data.LabelOptions(fraction=0.1))
  trained = pretraining.train_labeller(
      str(output_dir), dataset=dataset, feature_extractor=model_test.TinyConvDiscriminator,
      steps=STEPS, batch_size=32, labelled_batch_size=16,
      optimizer=keras.optimizers.Adam(1e-2), log_every=LOG_EVERY)
  soft, clusters = output_dir / "soft_labels.npy", output_dir / "clusters.npy"
  record = pretraining.cluster(trained.labeller, dataset, str(clusters), NUM_CLUSTERS,
                               passes=5, threads=1, logits_path=str(soft))
  return Pretrained(trained, output_dir, soft, clusters, record)
