"""Tests for compare_gan2.pretraining.resnet_v2: the paper's wide ResNet-50 v2 as F.

At tiny width (w = 1, 32×32 images): shapes at every stage and the feature
width 512·w; the parameter count against a closed form written from the
reference's definition (root 16·w, blocks of 64·w·2^i with 16·w·2^i inside;
github.com/google-research/s4l models/resnet.py), which also gives the
paper's ×16 total without building it; the weight-decay penalty against a
NumPy sum; eager, tf.function and 2-replica forward passes agree; the S²L
loss of a ResNet labeller equals a hand computation (rotation CE + γ·class
CE + weight decay); bad widths are errors.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import testing
from compare_gan2.pretraining import model
from compare_gan2.pretraining import resnet_v2
from tests.pretraining import model_test

SHAPE = (32, 32, 3)


def expected_parameters(w: int, channels: int = 3, units=resnet_v2.RESNET50_UNITS) -> int:
  """Trainable parameters: bias-free convolutions, BN γ and β (2 per channel)."""
  total, c_in = 7 * 7 * channels * 16 * w, 16 * w
  for block, count in enumerate(units):
    out, mid = 64 * w * 2 ** block, 16 * w * 2 ** block
    for unit in range(count):
      projection = c_in * out if (c_in != out or (block > 0 and unit == 0)) else 0
      total += 2 * c_in + c_in * mid + 2 * mid + 9 * mid * mid + 2 * mid + mid * out + projection
      c_in = out
  return total + 2 * c_in  # the final BN


@pytest.fixture(name="network", scope="module")
def _network():
  keras.utils.set_random_seed(0)
  network = resnet_v2.ResNetV2(image_shape=SHAPE, filters_factor=1, weight_decay=1e-3)
  network.build((None, *SHAPE))
  return network


def test_parameter_count_matches_the_closed_form(network):
  assert testing.trainable_count(network) == expected_parameters(1) == 1_479_056
  # BN moving statistics are the only non-trainable variables: 2 per BN channel.
  bn_channels = sum(v.shape[0] for v in network.trainable_variables if v.path.endswith("gamma"))
  assert sum(int(np.prod(v.shape)) for v in network.non_trainable_variables) == 2 * bn_channels


def test_widths_follow_the_reference_and_the_paper_total():
  """w = 4 is ResNet-50 v2; the paper's ×16 has about 16² times its parameters.

  keras.applications.ResNet50V2(include_top=False) has 23,519,360 trainable
  parameters: these 23,500,352 plus the 19,008 convolution biases it adds
  (root 64, projections 3,840, each unit's last 1×1 15,104).
  """
  assert expected_parameters(4) == 23_500_352
  assert expected_parameters(16) == 375_347_456
  assert resnet_v2.feature_width(16) == 8192 and resnet_v2.feature_width(4) == 2048


def test_shapes_of_every_stage(network):
  shapes = {v.path: tuple(v.shape) for v in network.variables}
  assert shapes["resnet_v2/root_conv/kernel"] == (7, 7, 3, 16)
  assert shapes["resnet_v2/block1_unit1/proj/kernel"] == (1, 1, 16, 64)
  assert "resnet_v2/block1_unit2/proj/kernel" not in shapes
  assert shapes["resnet_v2/block2_unit1/conv_b/kernel"] == (3, 3, 32, 32)
  assert shapes["resnet_v2/block4_unit3/conv_c/kernel"] == (1, 1, 128, 512)
  images = tf.random.stateless_uniform([2, *SHAPE], seed=[1, 2])
  assert network(images).shape == (2, 512) == (2, network.feature_dim)


def test_weight_decay_is_half_the_squared_norm_of_the_kernels(network):
  kernels = [v.numpy() for v in network.trainable_variables if v.path.endswith("kernel")]
  assert len(kernels) == 1 + 16 * 3 + 4  # root, 3 per unit, 4 projections
  expected = 1e-3 * sum(float((k.astype(np.float64) ** 2).sum()) for k in kernels) / 2
  np.testing.assert_allclose(float(network.regularization_loss()), expected, rtol=1e-5)


def _shallow() -> resnet_v2.ResNetV2:
  """One unit per block (tracing 16 units under two replicas costs ~25 s)."""
  network = resnet_v2.ResNetV2(image_shape=SHAPE, filters_factor=1, units=(1, 1, 1, 1))
  network.build((None, *SHAPE))
  return network


def test_eager_tf_function_and_two_replicas_agree(two_replicas):
  """Inference mode (moving statistics): per-replica halves give the full batch's rows."""
  keras.utils.set_random_seed(0)
  network = _shallow()
  images = tf.random.stateless_uniform([4, *SHAPE], seed=[3, 4])
  eager = network(images, training=False).numpy()
  traced = tf.function(lambda x: network(x, training=False))(images).numpy()
  np.testing.assert_allclose(traced, eager, rtol=1e-5, atol=1e-6)
  with two_replicas.scope():
    mirrored = _shallow()
  for target, source in zip(mirrored.variables, network.variables, strict=True):
    target.assign(source)
  halves = two_replicas.experimental_distribute_values_from_function(
      lambda ctx: images[2 * ctx.replica_id_in_sync_group:2 * ctx.replica_id_in_sync_group + 2])
  run = tf.function(lambda x: two_replicas.run(lambda y: mirrored(y, training=False), (x,)))
  rows = np.concatenate([t.numpy() for t in two_replicas.experimental_local_results(run(halves))])
  np.testing.assert_allclose(rows, eager, rtol=1e-5, atol=1e-6)


def test_s2l_loss_of_a_resnet_labeller_is_rotation_plus_gamma_class_plus_decay():
  keras.utils.set_random_seed(1)
  labeller = model.make_labeller(
      resnet_v2.ResNetV2(image_shape=SHAPE, filters_factor=1, units=(1, 1, 1, 1),
                         weight_decay=1e-2), SHAPE, num_classes=3)
  rng = np.random.default_rng(0)
  images, labelled = rng.random((2, *SHAPE), np.float32), rng.random((1, *SHAPE), np.float32)
  values = model.s2l_loss(labeller, images, labelled, np.array([2]), class_weight=0.5,
                          training=False)
  rot_ce, cls_ce = [], []
  for k in range(4):
    for batch in (images, labelled):
      flat = labeller.features(np.rot90(batch, k, axes=(1, 2)).copy()).numpy()
      rot_ce.append(model_test._softmax_ce(model_test._linear(labeller.rotation_head, flat),
                                           np.full(len(batch), k)))
    cls_ce.append(model_test._softmax_ce(model_test._linear(labeller.class_head, flat), [2]))
  rotation = (2 * np.mean(rot_ce[0::2]) + np.mean(rot_ce[1::2])) / 3  # mean over 12 rows
  kernels = [v.numpy() for v in labeller.network.trainable_variables if "kernel" in v.path]
  decay = 1e-2 * sum(float((k ** 2).sum()) for k in kernels) / 2
  np.testing.assert_allclose(values["regularization_loss"], decay, rtol=1e-5)
  np.testing.assert_allclose(values["loss"], rotation + 0.5 * np.mean(cls_ce) + decay, rtol=1e-5)


@pytest.mark.parametrize("kwargs, problem", [
    (dict(filters_factor=0), "filters_factor must be >= 1"),
    (dict(units=(3, 4, 6)), "units 4 counts"),
    (dict(weight_decay=-1.0), "weight_decay >= 0"),
])
def test_bad_arguments_are_errors(kwargs, problem):
  with pytest.raises(ValueError, match=problem):
    resnet_v2.ResNetV2(**{"image_shape": SHAPE, **kwargs})
