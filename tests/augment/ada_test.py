"""Tests for compare_gan2.augment.ada.ADA: the adaptive p controller against a
NumPy transcription of stylegan2-ada's rule, its replica reduction, and its
checkpointed state."""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import augment
from compare_gan2 import testing
from compare_gan2.augment import ada

SEED = tf.constant([1, 9], tf.int32)


def _built(**kwargs):
  """An ADA used alone, its state built as a GAN's build_networks would."""
  controller = ada.ADA(**kwargs)
  controller.build_for(None)
  return controller


def _logit_steps(steps=24, batch=8, seed=0):
  """Real logits per step: D confident on reals for two intervals of 4 steps, then not."""
  rng = np.random.RandomState(seed)
  means = [1.5 if i < 8 else -0.5 for i in range(steps)]
  return [(rng.normal(size=(batch, 1)) + m).astype(np.float32) for m in means]


def _numpy_controller(steps, target, interval, kimg, p=0.0):
  """AdaptiveAugment.tune with the 'rt' heuristic: p after each step."""
  history, signs, images = [], [], 0
  for i, logits in enumerate(steps, start=1):
    signs.extend(np.sign(logits).ravel())
    images += logits.shape[0]
    if i % interval == 0:
      rt = np.mean(signs)
      p = float(np.clip(p + np.sign(rt - target) * images / (kimg * 1000), 0, 1))
      signs, images = [], 0
    history.append(p)
  return history


def test_p_follows_the_official_rule_step_by_step():
  steps = _logit_steps()
  want = _numpy_controller(steps, target=0.6, interval=4, kimg=0.1, p=0.5)
  assert max(want) == 1.0 and min(want) == 0.0 and len(set(want)) > 4  # up to the cap, down to 0
  controller = _built(initial_p=0.5, target=0.6, interval=4, kimg=0.1)
  got = []
  for logits in steps:
    controller.observe(tf.constant(logits))
    got.append(float(controller.p.numpy()))
  np.testing.assert_allclose(got, want, atol=1e-6)
  np.testing.assert_allclose(controller.rt.numpy(), np.mean(np.sign(steps[20:24])), atol=1e-6)


def test_p_is_capped_at_one_and_fixed_without_target():
  controller = _built(initial_p=0.9, target=0.6, interval=1, kimg=0.004)
  controller.observe(tf.ones([8]))
  assert float(controller.p.numpy()) == 1.0
  fixed = _built(initial_p=0.3, target=None, interval=1)
  fixed.observe(tf.ones([8]))
  assert float(fixed.p.numpy()) == pytest.approx(0.3)
  assert float(fixed.rt.numpy()) == 1.0  # r_t is still measured for the logs


def test_update_under_tf_function_and_xla_matches_eager():
  steps = _logit_steps()
  want = _numpy_controller(steps, target=0.6, interval=4, kimg=0.1)
  for compile_xla in (False, True):
    controller = _built(interval=4, kimg=0.1)
    step = tf.function(controller.observe, jit_compile=compile_xla)
    got = []
    for logits in steps:
      step(tf.constant(logits))
      got.append(float(controller.p.numpy()))
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_two_replicas_reduce_the_signs_over_the_global_batch(two_replicas):
  steps = _logit_steps()
  for logits in steps:
    logits[:4] = -np.abs(logits[:4])  # replica 0 alone would see r_t = -1
  want = _numpy_controller(steps, target=0.6, interval=4, kimg=0.1, p=0.5)
  with two_replicas.scope():
    controller = _built(initial_p=0.5, interval=4, kimg=0.1)
  step = tf.function(lambda logits: two_replicas.run(controller.observe, args=(logits,)))
  got = []
  for logits in steps:
    step(testing.split_batch(two_replicas, [logits])[0])
    got.append(float(controller.p.numpy()))
  np.testing.assert_allclose(got, want, atol=1e-6)


def test_checkpoint_restores_p_and_the_accumulators(tmp_path):
  controller = _built(interval=4, kimg=0.1)
  for logits in _logit_steps(steps=6):  # mid-interval: accumulators are non-zero
    controller.observe(tf.constant(logits))
  saved = {v.path: v.numpy() for v in controller.variables}
  assert saved["ada/p"] > 0 and saved["ada/steps"] == 2
  # Keyed by path, as compare_gan2.checkpoints keys a GAN's components.
  keyed = lambda c: tf.train.Checkpoint(augment={v.path: v for v in c.variables})
  path = keyed(controller).save(str(tmp_path / "ckpt"))
  restored = _built(interval=4, kimg=0.1)
  keyed(restored).restore(path).assert_consumed()
  assert {v.path: v.numpy() for v in restored.variables} == saved
  x = np.random.RandomState(0).uniform(size=(4, 8, 8, 3)).astype(np.float32)
  np.testing.assert_array_equal(restored(x, SEED).numpy(), controller(x, SEED).numpy())


def test_the_augmentation_uses_the_current_p():
  x = np.random.RandomState(0).uniform(size=(8, 8, 8, 3)).astype(np.float32)
  controller = _built(pipeline="bg")
  np.testing.assert_array_equal(controller(x, SEED).numpy(), x)  # p = 0: untouched
  controller.p.assign(1.0)
  assert np.abs(controller(x, SEED).numpy() - x).max() > 0.1
  assert set(controller.summaries()) == {"ada/p", "ada/rt"}


def test_use_before_build_is_named():
  with pytest.raises(ValueError, match="ADA 'ada' has no state yet"):
    ada.ADA()(np.zeros((1, 8, 8, 3), np.float32), SEED)


def test_bad_arguments_are_named():
  with pytest.raises(ValueError, match="pipeline 'bgcfnc' is unknown"):
    ada.ADA(pipeline="bgcfnc")
  with pytest.raises(ValueError, match="initial_p must be in"):
    ada.ADA(initial_p=1.5)
  with pytest.raises(ValueError, match="target must be in"):
    ada.ADA(target=2.0)


def test_registry_names_the_classes():
  assert augment.names() == ["ADA", "DiffAugment"]
  assert augment.get("ADA") is ada.ADA and augment.get("DiffAugment") is augment.DiffAugment
  with pytest.raises(KeyError, match="Unknown augmentation 'Mixup'; known: ADA, DiffAugment"):
    augment.get("Mixup")
  stateless = augment.DiffAugment()
  stateless.observe(tf.ones([2]))  # the seam may call it on any augmentation
  assert stateless.summaries() == {}
