"""Tests for compare_gan2.penalties: compare_gan's sampling and formulas.

WGAN-GP and DRAGAN are checked against closed forms on discriminators whose
input gradient is known, against the points they sample (recorded by a spy
discriminator), and for reproducibility from the stateless seed. Every
registered penalty (a new one needs no edit here) takes the common call
arguments and agrees eagerly, traced and on two replicas (one batch split over
them, drawing the points one device draws), gradients to D's weights included.
"""

import inspect

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import penalties
from compare_gan2 import testing
from compare_gan2.ops import layers

SEED = tf.constant([3, 7])
RNG = np.random.RandomState(0)
X_REAL = RNG.uniform(size=(4, 4, 4, 2)).astype(np.float32)
X_FAKE = RNG.uniform(size=(4, 4, 4, 2)).astype(np.float32)


class SquareD(keras.Model):
  """logits = Σ x² per example (gradient 2x); records its inputs."""

  def __init__(self):
    super().__init__()
    self.seen = []

  def call(self, images, y=None, training=False):
    self.seen.append(images)
    logits = tf.reduce_sum(tf.square(images), axis=[1, 2, 3])[:, None]
    return tf.sigmoid(logits), logits, images


def _slope_penalty(gradients):
  slopes = np.sqrt(1e-4 + np.sum(gradients.reshape(len(gradients), -1) ** 2, axis=1))
  return np.mean((slopes - 1) ** 2)


def _tiny_d(cls=testing.TinyDiscriminator):
  keras.utils.set_random_seed(1)
  d = cls()
  d(X_REAL)
  return d


def test_no_penalty_is_zero():
  assert float(penalties.no_penalty(_tiny_d(), X_REAL, X_FAKE, None)) == 0.0


def test_wgan_gp_on_a_linear_d_matches_closed_form():
  """D = w·mean_hw(x) + b has input gradient w_c / (H·W) everywhere, for any α."""
  d = _tiny_d()
  w = d.final_fc.kernel.numpy()[:, 0]
  gradients = np.broadcast_to(w / 16.0, X_REAL.shape)
  value = penalties.wgan_gp(d, tf.constant(X_REAL), tf.constant(X_FAKE), None, seed=SEED)
  np.testing.assert_allclose(float(value), _slope_penalty(gradients), rtol=1e-5)


def test_wgan_gp_interpolates_row_by_row_with_one_alpha_per_example():
  d = SquareD()
  value = penalties.wgan_gp(d, tf.constant(X_REAL), tf.constant(X_FAKE), None, seed=SEED)
  points = d.seen[0].numpy()
  alpha = (points - X_REAL) / (X_FAKE - X_REAL)
  per_example = alpha.reshape(4, -1)
  np.testing.assert_allclose(per_example, per_example[:, :1].repeat(per_example.shape[1], 1),
                             atol=1e-4)
  assert np.all((per_example >= 0) & (per_example < 1))
  assert len(np.unique(per_example[:, 0].round(5))) == 4  # one α per example
  np.testing.assert_allclose(float(value), _slope_penalty(2 * points), rtol=1e-5)


def test_dragan_perturbs_real_images_within_half_std_and_clips():
  d = SquareD()
  value = penalties.dragan(d, tf.constant(X_REAL), tf.constant(X_FAKE), None, seed=SEED)
  points = d.seen[0].numpy()
  std = X_REAL.std()  # one scalar over every element, as compare_gan
  assert points.min() >= 0.0 and points.max() <= 1.0
  inside = (points > 0) & (points < 1)
  assert np.all(np.abs(points - X_REAL)[inside] <= std / 2 + 1e-6)
  assert np.abs(points - X_REAL).max() > 0.1 * std  # really perturbed
  np.testing.assert_allclose(float(value), _slope_penalty(2 * points), rtol=1e-5)


@pytest.mark.parametrize("penalty", [penalties.wgan_gp, penalties.dragan], ids=lambda f: f.__name__)
def test_points_are_a_function_of_the_seed(penalty):
  def points(seed):
    d = SquareD()
    penalty(d, tf.constant(X_REAL), tf.constant(X_FAKE), None, seed=tf.constant(seed))
    return d.seen[0].numpy()
  np.testing.assert_array_equal(points([1, 2]), points([1, 2]))
  assert np.abs(points([1, 2]) - points([1, 3])).max() > 1e-3


@pytest.mark.parametrize("penalty", [penalties.wgan_gp, penalties.dragan], ids=lambda f: f.__name__)
def test_gradient_penalties_need_a_seed(penalty):
  with pytest.raises(ValueError, match="seed"):
    penalty(SquareD(), tf.constant(X_REAL), tf.constant(X_FAKE), None)


def _kernel_gradient(d, penalty, x_real, x_fake):
  with tf.GradientTape() as tape:
    value = penalty(d, x_real, x_fake, None, training=True, seed=SEED)
  gradient = tape.gradient(value, d.final_fc.kernel)
  # A constant penalty (no_penalty) has no gradient: zero, as the GAN's sum sees it.
  return value, tf.zeros_like(d.final_fc.kernel) if gradient is None else gradient


@pytest.mark.parametrize("penalty", penalties.PENALTIES, ids=lambda f: f.__name__)
def test_every_penalty_agrees_eager_traced_and_on_two_replicas(penalty, two_replicas):
  """Nested tapes: eager, traced, and on 2 replicas, each holding half the batch.

  The replicas draw the points one device draws for their examples, so the
  mean of their values and gradients is the single-device value and gradient.
  A penalty that is not zero reaches D's weights.
  """
  x_real, x_fake = [np.concatenate([x, x[::-1] * 0.5]) for x in (X_REAL, X_FAKE)]
  d = _tiny_d(testing.TinyQuadraticDiscriminator)
  value, grad = _kernel_gradient(d, penalty, tf.constant(x_real), tf.constant(x_fake))
  assert value.shape == () and np.isfinite(float(value))
  assert float(value) == 0.0 or np.abs(grad.numpy()).sum() > 0
  traced_value, traced_grad = tf.function(lambda: _kernel_gradient(d, penalty, x_real, x_fake))()
  np.testing.assert_allclose(traced_value, value, rtol=1e-5)
  np.testing.assert_allclose(traced_grad, grad, rtol=1e-5)
  with two_replicas.scope():
    mirrored_d = _tiny_d(testing.TinyQuadraticDiscriminator)
  step = tf.function(lambda r, f: two_replicas.run(
      lambda a, b: _kernel_gradient(mirrored_d, penalty, a, b), args=(r, f)))
  replica_values, replica_grads = step(*testing.split_batch(two_replicas, [x_real, x_fake]))
  local = lambda v: np.stack(two_replicas.experimental_local_results(v))
  np.testing.assert_allclose(local(replica_values).mean(0), value, rtol=1e-5)
  np.testing.assert_allclose(local(replica_grads).mean(0), grad, rtol=1e-5)


class TwoLayerD(keras.Model):
  """Two kernels of different sizes plus biases and an SN vector."""

  def __init__(self, spectral_norm=False):
    super().__init__()
    self.hidden = layers.Linear(3, spectral_norm=spectral_norm)
    self.out = layers.Linear(1, spectral_norm=spectral_norm)

  def call(self, images, y=None, training=False):
    logits = self.out(tf.nn.relu(self.hidden(tf.reduce_mean(images, [1, 2]))))
    return tf.sigmoid(logits), logits, images


@pytest.mark.parametrize("spectral_norm", [False, True])
def test_l2_is_the_mean_over_kernels_of_half_squared_norm(spectral_norm):
  d = TwoLayerD(spectral_norm)
  d(X_REAL, training=True)
  d.hidden.bias.assign(np.full(3, 100.0, np.float32))  # biases must not count
  expected = np.mean([0.5 * np.sum(d.hidden.kernel.numpy() ** 2),
                      0.5 * np.sum(d.out.kernel.numpy() ** 2)])  # raw kernels, even with SN
  value = penalties.l2(d, X_REAL, X_FAKE, None)
  np.testing.assert_allclose(float(value), expected, rtol=1e-6)
  assert len(penalties.discriminator_kernels(d)) == 2


def test_l2_on_an_unbuilt_discriminator_says_so():
  with pytest.raises(ValueError, match="build the discriminator"):
    penalties.l2(TwoLayerD(), X_REAL, X_FAKE, None)


def test_a_discriminator_must_return_three_outputs():
  bad = lambda images, y=None, training=False: tf.reduce_sum(images, [1, 2, 3])[:, None]
  with pytest.raises(TypeError, match=r"\(probabilities, logits, features\)"):
    penalties.wgan_gp(bad, tf.constant(X_REAL), tf.constant(X_FAKE), None, seed=SEED)


@pytest.mark.parametrize("penalty", penalties.PENALTIES, ids=lambda f: f.__name__)
def test_every_penalty_takes_the_call_arguments_and_is_seeded(penalty):
  """One signature for all (the GAN calls them alike); the same seed, the same value."""
  assert tuple(inspect.signature(penalty).parameters) == penalties.CALL_ARGUMENTS
  d = _tiny_d(testing.TinyQuadraticDiscriminator)
  values = [float(penalty(d, X_REAL, X_FAKE, None, seed=tf.constant(seed)))
            for seed in ([1, 2], [1, 2])]
  assert values[0] == values[1]


def test_default_weight():
  assert penalties.DEFAULT_PENALTY_WEIGHT == 1.0  # compare_gan options.lamba
