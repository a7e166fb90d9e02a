"""Divergence: a NaN or Inf loss or weight stops training before it is saved.

The loop checks the logged losses and every variable after each loop call and
before any save (train_lib._check_finite). The tiny run calls the loop at G
steps 2, 3, 4, 6 and saves at 3 and 6; the faults below start in step 5 (the
update with iterations == 4), so the error must name the call that ends at
step 6, ckpt-3 must stay the newest checkpoint, and the run must resume from it.
"""

import dataclasses
import pathlib
import re

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import checkpoints
from compare_gan2 import losses
from compare_gan2 import main
from compare_gan2 import train_lib


def _inf_g_loss_from(step: int, gan):
  """hinge, but g_loss is +Inf once g_optimizer.iterations >= step, with hinge's gradients.

  stop_gradient keeps the weights finite, so only the loss check can see it.
  """
  def loss_fn(real_logits, fake_logits):
    values = losses.hinge(real_logits, fake_logits)
    late = gan.g_optimizer.iterations >= step
    extra = tf.stop_gradient(tf.where(late, tf.constant(np.inf), 0.0))
    return dataclasses.replace(values, g_loss=values.g_loss + extra)
  return loss_fn


def _listed(model_dir):
  return [step for step, _ in checkpoints.list_checkpoints(str(model_dir))]


def test_an_inf_loss_stops_unsaved_and_the_run_resumes(tmp_path, tiny, straight_run, same_state):
  """g_loss Inf from step 5: the error names step 6 and g_loss; ckpt-3 kept; resume == straight."""
  def plant(gan):
    gan.loss_fn = _inf_g_loss_from(4, gan)
  with pytest.raises(train_lib.DivergenceError, match=(
      r"G step 6: g_loss is Inf \(logged means over G steps 5-6\)\. .*ckpt-3 in ")):
    tiny.train(tmp_path, 6, configure=plant)
  assert _listed(tmp_path) == [0, 3] and not list(tmp_path.glob("ckpt-6*"))
  def ckpt_3():
    return {k: v for k, v in tiny.checkpoint_files(tmp_path).items() if k.startswith("ckpt-3")}
  kept = ckpt_3()
  resumed = tiny.train(tmp_path, 6)  # restarted with the plain hinge loss: a changed binding
  same_state(straight_run, tiny.state(resumed))
  assert ckpt_3() == kept and len(kept) == 2


def test_a_nan_weight_stops_the_run_naming_the_variable(tmp_path, tiny):
  """A NaN planted in the EMA generator after ckpt-3 is caught by the weight check at step 4
  (the message names no loss: G's losses do not see the EMA twin)."""
  def poison(gan, step, path):
    del gan, path
    if step == 3:
      kernel = gan_holder[0].ema.generator.fc_noise.kernel
      kernel.assign(np.where(np.arange(kernel.shape[-1]) == 7, np.nan, np.asarray(kernel)))

  gan_holder = []
  with pytest.raises(train_lib.DivergenceError,
                     match=r"G step 4: ema_generator/fc_noise/kernel holds NaN or Inf"):
    tiny.train(tmp_path, 6, configure=gan_holder.append, on_checkpoint=poison)
  assert _listed(tmp_path) == [0, 3]
  tf.debugging.assert_all_finite(tf.constant(gan_holder[0].generator.fc_noise.kernel), "G")


def test_the_runner_reports_divergence_in_one_paragraph(tmp_path, capsys):
  """The CLI with D's learning rate at 1e30: exit 1 and one line naming the step, the loss and
  the checkpoint kept (a rerun with a lower rate resumes from it: the learning rate saved in
  the checkpoint does not override the new one, tests/checkpoints_test.py)."""
  root = pathlib.Path(__file__).resolve().parents[2] / "gin_configs"
  args = [f"--model_dir={tmp_path}", f"--gin_config={root / 'mnist' / 'infogan.gin'}",
          f"--gin_config={root / 'smoke' / 'tiny.gin'}"]
  assert main.main([*args, "--gin_bindings=D/keras.optimizers.Adam.learning_rate = 1e30"]) == 1
  errors = [line for line in capsys.readouterr().err.splitlines()
            if line.startswith("compare_gan2:")]
  assert len(errors) == 1 and re.match(
      r"compare_gan2: Training diverged at G step 1: g_loss is NaN .*"
      r"the last good checkpoint is ckpt-0 in ", errors[0]), errors
  assert _listed(tmp_path) == [0] and not list(tmp_path.glob("ckpt-1*"))
