"""Tests for compare_gan2.testing, the helpers every other test stands on."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import testing


def test_two_replica_strategy_has_two_cpu_replicas(two_replicas):
  assert two_replicas.num_replicas_in_sync == 2
  assert sorted(two_replicas.extended.worker_devices) == [
      "/job:localhost/replica:0/task:0/device:CPU:0",
      "/job:localhost/replica:0/task:0/device:CPU:1"]


def test_split_batch_gives_each_replica_its_slice(two_replicas):
  values = np.arange(8, dtype=np.float32).reshape(4, 2)
  per_replica = testing.split_batch(two_replicas, [values])
  local = two_replicas.experimental_local_results(per_replica)
  np.testing.assert_array_equal(local[0][0], values[:2])
  np.testing.assert_array_equal(local[1][0], values[2:])


def test_tiny_generator_and_discriminator_follow_compare_gan_contracts():
  keras.utils.set_random_seed(0)
  # Explicit names: Keras uniquifies default ones across the test session.
  g = testing.TinyGenerator((4, 4, 3), name="g")
  d = testing.TinyDiscriminator(spectral_norm=True, name="d")
  images = g(tf.random.normal([2, 8]))
  assert images.shape == (2, 4, 4, 3)
  assert float(tf.reduce_min(images)) >= 0 and float(tf.reduce_max(images)) <= 1
  probabilities, logits, features = d(images, training=True)
  assert probabilities.shape == logits.shape == (2, 1) and features.shape == (2, 3)
  np.testing.assert_allclose(probabilities, tf.sigmoid(logits), rtol=1e-6)
  assert [v.path for v in g.weights] == ["g/fc_noise/kernel", "g/fc_noise/bias"]


def test_run_three_ways_agree_on_a_stateless_layer(two_replicas):
  def build():
    keras.utils.set_random_seed(3)
    return testing.TinyDiscriminator()
  images = np.random.RandomState(0).uniform(size=(4, 4, 4, 3)).astype(np.float32)
  results = testing.run_three_ways(build, lambda d, x: d(x)[1], [images], two_replicas)
  assert set(results) == {"eager", "function", "mirrored"}
  for mode in ("function", "mirrored"):
    np.testing.assert_allclose(results[mode][0], results["eager"][0], rtol=1e-6)
  assert results["mirrored"][0].shape == (4, 1)


def test_assert_three_ways_agree_names_the_mode_that_differs():
  same = (np.ones(2), (np.zeros(1),))
  results = {"eager": (same, None), "function": (same, None), "mirrored": (same, None)}
  testing.assert_three_ways_agree(results)
  results["mirrored"] = ((np.ones(2), (np.full(1, 1e-3),)), None)
  with pytest.raises(AssertionError, match="mirrored"):
    testing.assert_three_ways_agree(results)
  testing.assert_three_ways_agree(results, atol=1e-2)


def test_trainable_count_counts_trainable_scalars_only():
  layer = keras.layers.BatchNormalization()
  layer.build((2, 5))
  assert testing.trainable_count(layer) == 10  # gamma, beta; not the moving statistics


def test_record_weight_creation_keeps_order_and_layer_and_restores_add_weight():
  original = keras.layers.Layer.add_weight
  with testing.record_weight_creation() as records:
    layer = keras.layers.BatchNormalization(name="bn")
    layer.build((2, 3))
  assert [(r.layer.name, r.variable.name) for r in records] == [
      ("bn", "gamma"), ("bn", "beta"), ("bn", "moving_mean"), ("bn", "moving_variance")]
  assert all(r.layer is layer for r in records)
  assert keras.layers.Layer.add_weight is original
  keras.layers.Dense(1).build((1, 2))
  assert len(records) == 4  # nothing recorded once the context is closed


def test_parameter_counters_follow_compare_gan_rules():
  from compare_gan2.ops import attention, normalization  # pylint: disable=g-import-not-at-top
  block = attention.NonLocalBlock()
  block.build((1, 4, 4, 16))
  assert testing.non_local_params(16) == testing.trainable_count(block) == 321
  assert testing.linear_params(3, 4) == 16 and testing.linear_params(3, 4, bias=False) == 12
  assert testing.conv_params(3, 2, 5) == 95
  assert testing.norm_params(None, 8) == testing.norm_params("none", 8) == 0
  assert testing.norm_params("bn", 8) == testing.norm_params(normalization.BatchNorm, 8) == 16
  cbn = normalization.ConditionalBatchNorm()
  cbn.build((2, 4, 4, 8), (2, 10))
  assert testing.norm_params("cbn", 8, y_dim=10) == testing.trainable_count(cbn) == 160
  smbn = normalization.SelfModulatedBatchNorm()
  smbn.build((2, 4, 4, 8), (2, 6))
  assert testing.norm_params("smbn", 8, z_dim=6) == testing.trainable_count(smbn)


def test_save_tf1_checkpoint_lets_tf1_name_the_adam_state(tmp_path):
  """compare_gan's d_opt / g_opt slots and scoped beta powers, exactly as TF1 makes them."""
  values = {"discriminator/w": np.ones([2], np.float32), "generator/w": np.ones([3], np.float32)}
  for owner, opt, size in (("discriminator", "d_opt", 2), ("generator", "g_opt", 3)):
    values[f"{owner}/w/{opt}"] = np.full([size], 0.1, np.float32)
    values[f"{owner}/w/{opt}_1"] = np.full([size], 0.2, np.float32)
  powers = testing.beta_power_names(testing.COMPARE_GAN_ADAM)
  assert powers == [("disc_step_1/beta1_power", "disc_step_1/beta2_power"),
                    ("gen_step/cond/beta1_power", "gen_step/cond/beta2_power")]
  for name in (n for pair in powers for n in pair):
    values[name] = np.float32(0.5)
  reader = tf.train.load_checkpoint(testing.save_tf1_checkpoint(str(tmp_path / "c"), values))
  assert set(reader.get_variable_to_shape_map()) == set(values)
  np.testing.assert_array_equal(reader.get_tensor("generator/w/g_opt_1"), values["generator/w/g_opt_1"])
  assert testing.beta_power_names(testing.DEFAULT_ADAM) == [
      ("beta1_power", "beta2_power"), ("beta1_power_1", "beta2_power_1")]
  del values["gen_step/cond/beta2_power"]
  with pytest.raises(ValueError, match=r"differ: \['gen_step/cond/beta2_power'\]"):
    testing.save_tf1_checkpoint(str(tmp_path / "d"), values)
