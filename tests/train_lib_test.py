"""Tests for compare_gan2.train_lib: the loop, checkpoints, resume, outputs.

A tiny GAN on the bundled MNIST: a run stopped at step 3 and restarted with
fresh objects ends bitwise-identical to a straight 6-step run; checkpoints,
TensorBoard events and sample PNGs land in model_dir; the loop runs under the
2-replica strategy too.
"""

import functools
import glob
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import experiment
from compare_gan2 import losses
from compare_gan2 import testing
from compare_gan2 import train_lib
from compare_gan2.data import bundled
from compare_gan2.data import pipeline
from compare_gan2.gans import ema as ema_lib
from compare_gan2.gans import modular_gan

SHAPE = (28, 28, 1)


def _train(model_dir, total_steps, strategy=None, conditional=False,
           input_fn=pipeline.train_input):
  strategy = strategy or tf.distribute.get_strategy()
  with strategy.scope():
    keras.utils.set_random_seed(2)
    classes = 10 if conditional else 0
    gan = modular_gan.ModularGAN(
        testing.TinyGenerator(SHAPE, z_dim=8, num_classes=classes),
        # No SN: on MNIST's single channel the D kernel is 1x1, whose normalized
        # gradient is analytically 0, and Adam would amplify rounding noise.
        testing.TinyDiscriminator(SHAPE, num_classes=classes),
        loss_fn=losses.hinge, disc_iters=2, conditional=conditional,
        ema=ema_lib.EmaConfig(decay=0.9, start_step=2), seed=4)
    schedule = train_lib.Schedule(total_steps=total_steps, steps_per_loop=2,
                                  checkpoint_every=3, keep_checkpoints=5, sample_every=3)
    exp = experiment.make(gan, bundled.bundled_mnist(), keras.optimizers.Adam(1e-3),
                          keras.optimizers.Adam(1e-3), global_batch_size=12, schedule=schedule,
                          input_fn=input_fn)
    logs = train_lib.train(exp, str(model_dir), strategy)
  return gan, logs


def _state(gan):
  optimizer_vars = gan.d_optimizer.variables + gan.g_optimizer.variables
  return [v.numpy() for v in gan.variables + optimizer_vars]


def test_restart_continues_exactly(tmp_path):
  straight, _ = _train(tmp_path / "straight", 6)
  _train(tmp_path / "resumed", 3)
  resumed, _ = _train(tmp_path / "resumed", 6)  # fresh objects, restored from ckpt-3
  assert int(resumed.g_optimizer.iterations) == 6 and int(resumed.d_optimizer.iterations) == 12
  for a, b in zip(_state(straight), _state(resumed)):
    np.testing.assert_array_equal(a, b)


def test_model_dir_holds_checkpoints_events_and_samples(tmp_path):
  _, logs = _train(tmp_path, 6)
  steps = sorted(int(p.split("-")[-1].split(".")[0]) for p in glob.glob(str(tmp_path / "ckpt-*.index")))
  assert steps == [0, 3, 6]
  assert glob.glob(str(tmp_path / "events.out.tfevents.*"))
  samples = sorted(os.listdir(tmp_path / "samples"))
  assert samples == ["step_0000003.png", "step_0000006.png"]
  grid = tf.io.decode_png(tf.io.read_file(str(tmp_path / "samples" / samples[-1])))
  assert grid.shape == (8 * 28, 8 * 28, 1)
  assert set(logs) == {"d_loss", "d_loss_real", "d_loss_fake", "penalty", "g_loss"}
  assert all(np.isfinite(v) for v in logs.values())


def test_conditional_run_under_two_replicas_matches_one_device(tmp_path, two_replicas):
  single, _ = _train(tmp_path / "one", 3, conditional=True)
  mirrored, _ = _train(tmp_path / "two", 3, strategy=two_replicas, conditional=True)
  for a, b in zip(single.variables, mirrored.variables):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=5e-5, atol=5e-6, err_msg=a.path)
  grid = tf.io.decode_png(tf.io.read_file(str(tmp_path / "two" / "samples" / "step_0000003.png")))
  assert grid.shape == (10 * 28, 8 * 28, 1)  # one row per class


def test_batch_that_does_not_split_is_refused_before_training(tmp_path):
  with pytest.raises(ValueError, match=r"per-replica batch 10 .* divisible by 3"):
    gan = modular_gan.ModularGAN(testing.TinyGenerator(SHAPE), testing.TinyDiscriminator(SHAPE),
                                 disc_iters=2)
    exp = experiment.make(gan, bundled.bundled_mnist(), keras.optimizers.Adam(),
                          keras.optimizers.Adam(), global_batch_size=10)
    train_lib.train(exp, str(tmp_path))
  assert not glob.glob(str(tmp_path / "ckpt-*"))


def test_the_experiments_input_fn_feeds_the_steps(tmp_path):
  """train() draws its batches from exp.input_fn: another data seed, another first step.

  (From gin, input_fn is data.train_input with its bindings: configurables_test.)
  """
  default, _ = _train(tmp_path / "default", 1)
  reseeded, _ = _train(tmp_path / "reseeded", 1,
                       input_fn=functools.partial(pipeline.train_input, seed=1))
  changed = [np.abs(a - b).max() > 0 for a, b in zip(_state(default), _state(reseeded))]
  assert any(changed)
