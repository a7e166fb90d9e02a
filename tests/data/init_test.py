"""Tests for the compare_gan2.data package: gin wiring and the public surface.

A gin file in the style of docs/usage.md's "Data" section picks the bundled
MNIST at 32x32 with 10% of its labels and configures the pipeline (seed, z);
the objects built through gin carry those values.
"""

import dataclasses
import textwrap

import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import configurables
from compare_gan2 import data


@gin.configurable("data_experiment", module="init_test")
def data_experiment(dataset=None, input_fn=None):
  return dataset, input_fn


CONFIG = """
import compare_gan2.configurables

data_experiment.dataset = @data.bundled_mnist()
data.bundled_mnist.resolution = 32
data.bundled_mnist.channels = 3
data.bundled_mnist.labels = @data.LabelOptions()
data.LabelOptions.fraction = 0.1
data.LabelOptions.seed = 4

data_experiment.input_fn = @data.train_input
data.train_input.seed = 3
data.train_input.z_dim = 8
data.train_input.z_fn = @tf.random.stateless_uniform
"""


def test_gin_configures_dataset_labels_and_pipeline(tmp_path):
  path = tmp_path / "data.gin"
  path.write_text(textwrap.dedent(CONFIG))
  configurables.parse_gin([str(path)])
  dataset, input_fn = data_experiment()
  assert dataset.info.image_shape == (32, 32, 3)
  kept = (dataset.train.source.labels >= 0).mean()
  assert kept == pytest.approx(0.1, abs=0.002)
  batches = input_fn(dataset, tf.distribute.get_strategy(), 4)
  batch = next(iter(batches))
  z = np.asarray(batch["z"])
  assert z.shape == (4, 8) and 0 <= z.min() and z.max() < 1  # uniform, as bound
  direct = next(iter(data.train_input(dataset, tf.distribute.get_strategy(), 4, seed=3,
                                      z_dim=8, z_fn=tf.random.stateless_uniform)))
  np.testing.assert_array_equal(batch["images"], direct["images"])
  np.testing.assert_array_equal(batch["z"], direct["z"])


@pytest.mark.parametrize("binding", [
    "data.train_input.strategy = 1", "data.train_input.start_step = 1",
    "data.bundled_mnist.resolutoin = 32", "data.eval_input.dataset = 1"])
def test_call_time_arguments_and_typos_are_not_bindable(binding):
  with pytest.raises(configurables.GinConfigError):
    configurables.parse_gin(bindings=[binding], finalize=False)


def test_public_surface():
  assert data.BUILDERS[0] is data.bundled_mnist and len(data.BUILDERS) == 15
  for builder in data.BUILDERS + (data.image_folder, data.npz, data.tfrecord,
                                  data.train_input, data.eval_input):
    assert builder.__doc__ and builder.__annotations__.get("return")
  info = data.bundled_mnist().info
  with pytest.raises(dataclasses.FrozenInstanceError):
    info.name = "other"
