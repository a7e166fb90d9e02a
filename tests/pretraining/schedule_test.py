"""Tests for compare_gan2.pretraining.schedule: the paper's SGD schedule in epochs.

Lucic et al. 2019 (arXiv 1903.02271, appendix): lr 0.1·B/256, linear
warm-up over 5 epochs, ÷10 at epochs 45 and 55; S⁴L's `get_lr` form
(base·step/warmup_steps). Values are pinned at the boundaries, in eager and
under tf.function; the recipe builds a momentum-0.9 SGD; an unknown
dataset size is a clear error.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2.pretraining import schedule

PAPER = schedule.EpochSGD()
STEPS_PER_EPOCH = 834  # ImageNet's 1,281,167 train images // 1536


@pytest.fixture(name="rate")
def _rate():
  return PAPER.learning_rate(1536, STEPS_PER_EPOCH)


@pytest.mark.parametrize("step, expected", [
    (0, 0.0),
    (417, 0.6 * 417 / 4170),          # warm-up: base · step / (5 · 834)
    (4169, 0.6 * 4169 / 4170),
    (4170, 0.6),                      # warm-up over: 0.1 · 1536 / 256
    (45 * 834 - 1, 0.6),
    (45 * 834, 0.06),                 # epoch 45
    (55 * 834 - 1, 0.06),
    (55 * 834, 0.006),                # epoch 55
    (65 * 834, 0.006),
])
def test_values_at_the_epoch_boundaries(rate, step, expected):
  assert float(rate(step)) == pytest.approx(expected, rel=1e-6, abs=1e-9)
  assert float(tf.function(rate)(tf.constant(step, tf.int64))) == pytest.approx(
      expected, rel=1e-6, abs=1e-9)


def test_the_recipe_builds_momentum_sgd_driven_by_the_step(rate):
  optimizer = PAPER.make(1536, STEPS_PER_EPOCH)
  assert isinstance(optimizer, keras.optimizers.SGD) and optimizer.momentum == 0.9
  config = rate.get_config()
  assert config["schedule"]["config"]["rates"] == pytest.approx([0.6, 0.06, 0.006])
  assert (config["warmup_steps"], config["schedule"]["config"]["boundaries"]) == (
      4170, [37530, 45870])
  variable = keras.Variable(np.ones(2, np.float32))
  optimizer.build([variable])
  optimizer.iterations.assign(45 * 834)
  assert float(optimizer.learning_rate) == pytest.approx(0.06)


def test_without_warmup_the_rate_starts_at_base():
  rate = schedule.EpochSGD(base_learning_rate=0.5, reference_batch_size=1, warmup_epochs=0,
                           decay_epochs=(10,)).learning_rate(1, 1)
  assert [float(rate(s)) for s in (0, 9, 10)] == pytest.approx([0.5, 0.5, 0.05])


def test_an_unknown_dataset_size_and_bad_boundaries_are_errors():
  with pytest.raises(ValueError, match="counts epochs, but the train split's size is unknown"):
    PAPER.make(1536, None)
  with pytest.raises(ValueError, match="Steps: boundaries must increase"):
    schedule.EpochSGD(decay_epochs=(20, 10)).make(256, 1)
