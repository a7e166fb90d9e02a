"""Shared pieces of the evaluation tests: a fake extractor and tiny GANs on bundled MNIST."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import data
from compare_gan2 import testing
from compare_gan2.gans import ema as ema_lib
from compare_gan2.gans import modular_gan

MNIST_SHAPE = (28, 28, 1)


class PoolExtractor:
  """A stand-in for Inception: 4x4 average-pooled pixels and fixed random logits."""
  name = "pool_test_extractor"
  feature_dim = 16
  num_logits = 10
  comparable_note = "test extractor: not comparable with anything"

  def __init__(self):
    self.projection = tf.constant(np.random.RandomState(0).randn(16, 10), tf.float32)
    self.calls = 0

  def __call__(self, images):
    self.calls += 1
    features = tf.reshape(tf.nn.avg_pool2d(images, 7, 7, "VALID"), [-1, 16])
    return features, 5.0 * features @ self.projection


@dataclasses.dataclass(frozen=True)
class PoolExtractorConfig:
  """What gin would bind: a config whose load() builds the extractor."""

  def load(self):
    return PoolExtractor()


@dataclasses.dataclass
class Recorder:
  """A SampleMetric that keeps what it was given and reports the mean fake pixel."""
  requires: frozenset = frozenset({"images", "features", "real_features", "real_images"})
  max_images: int | None = 10
  name: str = "recorder"
  seen: list = dataclasses.field(default_factory=list)

  def __call__(self, fake, real):
    self.seen.append((fake, real))
    return {"mean_pixel": float(np.mean(fake.features))}


def tiny_gan(generator=None, conditional=False, ema=None, seed=7):
  keras.utils.set_random_seed(seed)
  num_classes = 10 if conditional else 0
  generator = generator or testing.TinyGenerator(MNIST_SHAPE, z_dim=3, num_classes=num_classes)
  discriminator = testing.TinyDiscriminator(MNIST_SHAPE, num_classes=num_classes)
  gan = modular_gan.ModularGAN(generator, discriminator, conditional=conditional, ema=ema)
  gan.compile(d_optimizer=keras.optimizers.Adam(), g_optimizer=keras.optimizers.Adam())
  gan.build_networks()
  return gan


@pytest.fixture
def mnist():
  return data.bundled_mnist()


@pytest.fixture
def ema_config():
  return ema_lib.EmaConfig(decay=0.5, start_step=0)
