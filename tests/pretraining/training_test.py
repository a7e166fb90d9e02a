"""Tests for compare_gan2.pretraining.training: S²L training, resumable.

On bundled MNIST with 10% labels (Lucic et al. 2019, arXiv 1903.02271 §3.1): the
loss falls and, after 30 steps, the class head beats chance on the held-out
eval split by a margin luck cannot give; a run resumed from its checkpoint
ends with the weights of a straight run; γ = 0 trains rotation only; a
checkpoint of another configuration and bad arguments are clear errors.
"""

import dataclasses
import functools

import keras
import numpy as np
import pytest

from compare_gan2 import data
from compare_gan2 import pretraining
from compare_gan2.architectures import infogan
from tests.pretraining import conftest
from tests.pretraining import model_test


def test_losses_fall(pretrained):
  """Mean loss of the last 5 steps below 0.8x that of the first 5; both terms fall."""
  history = pretrained.trained.history
  assert [h["step"] for h in history] == list(range(5, conftest.STEPS + 1, conftest.LOG_EVERY))
  first, last = history[0], history[-1]
  assert last["loss"] < 0.8 * first["loss"]
  assert last["rotation_loss"] < first["rotation_loss"]
  assert last["class_loss"] < first["class_loss"]


def test_the_classifier_beats_chance_on_held_out_images(pretrained):
  """Class accuracy > 0.3 on the 1,000 eval images (chance 0.1, sd 0.0095); rotation > 0.5.

  Rotation chance is 0.25 over 4,000 rotated images.
  """
  trained = pretrained.trained
  result = pretraining.model.evaluate(trained.labeller, data.eval_input(trained.dataset, 500))
  assert (result["examples"], result["labelled_examples"]) == (1000, 1000)
  assert result["class_accuracy"] > 0.3
  assert result["rotation_accuracy"] > 0.5


@functools.cache
def _mnist_10_percent() -> data.Dataset:
  return data.bundled_mnist(labels=data.LabelOptions(fraction=0.1))


def _train(output_dir, steps, seed=0, **kwargs):
  keras.utils.set_random_seed(seed)
  return pretraining.train_labeller(
      str(output_dir), dataset=_mnist_10_percent(),
      feature_extractor=model_test.TinyConvDiscriminator, steps=steps, batch_size=8,
      labelled_batch_size=4, checkpoint_every=2, run_eagerly=True, **kwargs)


def _weights(trained):
  labeller = trained.labeller
  return [v.numpy() for v in labeller.trainable_variables]


def test_a_resumed_run_ends_with_the_weights_of_a_straight_run(tmp_path):
  """2 steps, then 1 more from the checkpoint (another initialization) == 3 straight steps."""
  straight = _weights(_train(tmp_path / "straight", 3))
  _train(tmp_path / "resumed", 2)
  resumed = _train(tmp_path / "resumed", 3, seed=1)
  assert resumed.step == 3 and [h["step"] for h in resumed.history] == [3]
  for got, want in zip(_weights(resumed), straight, strict=True):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
  assert (tmp_path / "resumed" / "checkpoints" / "ckpt-3.index").exists()


def test_gamma_0_trains_rotation_only_and_another_network_cannot_resume(tmp_path):
  """class_weight = 0: no class head (eq. (1) only); then an InfoGAN F on that checkpoint fails."""
  trained = _train(tmp_path, 1, class_weight=0.0, log_every=1)
  assert trained.labeller.class_head is None
  assert set(trained.history[0]) == {"step", "loss", "rotation_loss", "rotation_accuracy"}
  with pytest.raises(ValueError, match="does not match the configured labeller"):
    pretraining.train_labeller(str(tmp_path), dataset=data.bundled_mnist(),
                      feature_extractor=infogan.Discriminator, steps=2, class_weight=0.0,
                      run_eagerly=True)


@pytest.mark.parametrize("argument, value, problem", [
    ("steps", -1, "steps must be >= 0"),
    ("batch_size", 0, "batch_size must be >= 1"),
    ("class_weight", -0.5, "class_weight must be >= 0"),
    ("log_every", 0, "log_every must be >= 1"),
])
def test_bad_arguments_are_named(tmp_path, argument, value, problem):
  with pytest.raises(ValueError, match=problem):
    pretraining.train_labeller(str(tmp_path), dataset=data.bundled_mnist(),
                      feature_extractor=model_test.TinyConvDiscriminator, **{argument: value})


def test_epochs_become_steps_of_the_train_split_and_drive_epoch_sgd(tmp_path):
  """9,000 MNIST train images // 8 = 1,125 steps an epoch: 0.002 epochs = 2 steps.

  EpochSGD's warm-up of 0.004 epochs is round(4.5) = 4 steps, so after 2
  steps the rate is base · 2 / 4 (base = 0.1 · 8 / 256).
  """
  assert pretraining.training.steps_per_epoch(_mnist_10_percent(), 8) == 1125
  recipe = pretraining.EpochSGD(warmup_epochs=0.004, decay_epochs=(1,))
  trained = _train(tmp_path, None, epochs=0.002, optimizer=recipe, log_every=1)
  assert trained.step == 2 and [h["step"] for h in trained.history] == [1, 2]
  optimizer = trained.optimizer
  assert isinstance(optimizer, keras.optimizers.SGD) and int(optimizer.iterations) == 2
  assert float(optimizer.learning_rate) == pytest.approx(0.1 * 8 / 256 * 2 / 4)


def test_epochs_need_a_known_size_and_exclude_steps(tmp_path):
  """A stream that states no example count cannot count epochs; steps and epochs conflict."""
  mnist = _mnist_10_percent()
  unknown = dataclasses.replace(
      mnist, info=dataclasses.replace(mnist.info, num_train_examples=None))
  assert pretraining.training.steps_per_epoch(unknown, 8) is None
  with pytest.raises(ValueError, match="epochs = 2 needs the train split's size"):
    pretraining.train_labeller(str(tmp_path), dataset=unknown,
                               feature_extractor=model_test.TinyConvDiscriminator, epochs=2)
  with pytest.raises(ValueError, match="give steps .3. or epochs .2., not both"):
    _train(tmp_path, 3, epochs=2)
