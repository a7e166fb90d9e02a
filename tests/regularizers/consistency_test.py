"""CR, bCR and zCR against NumPy formulas, their gradients, and 1 vs 2 replicas."""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import global_batch
from compare_gan2 import regularizers
from compare_gan2 import stateless_random
from compare_gan2 import testing
from compare_gan2.regularizers import consistency

SEED = tf.constant([3, 7])
RNG = np.random.default_rng(0)
REAL = RNG.uniform(size=(4, 8, 8, 1)).astype(np.float32)
FAKE = RNG.uniform(size=(4, 8, 8, 1)).astype(np.float32)
Z = RNG.normal(size=(4, 3)).astype(np.float32)
D_WEIGHTS = RNG.normal(size=(64, 1)).astype(np.float32)
G_WEIGHTS = RNG.normal(size=(3, 64)).astype(np.float32)


def upside_down(images, seed):
  """A deterministic T, so the terms can be checked by hand."""
  del seed
  return images[:, ::-1]


class Nets:
  """A linear D (images -> [n, 1]) and a linear G (z -> 8x8x1 images) with variables."""

  def __init__(self, make=tf.Variable):
    self.d = make(D_WEIGHTS)
    self.g = make(G_WEIGHTS)

  def discriminate(self, images, real):
    del real
    return tf.reshape(images, [-1, 64]) @ self.d

  def generate(self, z):
    return tf.reshape(z @ self.g, [-1, 8, 8, 1])

  def context(self, real, fake, z, seed=SEED, step=0):
    return regularizers.Context(real, fake, self.discriminate(real, True),
                                self.discriminate(fake, False), z, self.discriminate,
                                self.generate, seed, tf.constant(step, tf.int64))


def numpy_d(images):
  return images.reshape(-1, 64) @ D_WEIGHTS


def test_registry_lists_every_regularizer():
  assert set(regularizers.REGULARIZERS) == {"CR", "BCR", "ZCR", "LeCam", "TopK"}


def test_flip_and_translate_is_flip_then_reflect_padded_shift():
  images = np.arange(4 * 8 * 8 * 2, dtype=np.float32).reshape(4, 8, 8, 2)
  got = consistency.flip_and_translate(tf.constant(images), SEED).numpy()
  flips = global_batch.uniform([4], stateless_random.fold_in(SEED, 0)).numpy() < 0.5
  shifts = [stateless_random.integers([4], stateless_random.fold_in(SEED, k), -1, 2).numpy()
            for k in (1, 2)]
  for i in range(4):
    image = images[i, :, ::-1] if flips[i] else images[i]
    padded = np.pad(image, [(1, 1), (1, 1), (0, 0)], mode="reflect")
    want = padded[1 + shifts[0][i]:9 + shifts[0][i], 1 + shifts[1][i]:9 + shifts[1][i]]
    np.testing.assert_array_equal(got[i], want)
  assert flips.any() and not flips.all() and np.abs(shifts).sum() > 0  # the draws vary


def test_cr_is_weight_times_mean_squared_logit_change():
  nets = Nets()
  terms = regularizers.CR(augment=upside_down).d_terms(nets.context(REAL, FAKE, Z))
  want = 10.0 * np.mean((numpy_d(REAL) - numpy_d(REAL[:, ::-1])) ** 2)
  np.testing.assert_allclose(terms["cr"], want, rtol=1e-5)


def test_bcr_adds_the_same_term_on_fakes_with_its_own_weight():
  nets = Nets()
  terms = regularizers.BCR(real_weight=10.0, fake_weight=3.0, augment=upside_down).d_terms(
      nets.context(REAL, FAKE, Z))
  change = lambda x: np.mean((numpy_d(x) - numpy_d(x[:, ::-1])) ** 2)
  np.testing.assert_allclose(terms["bcr_real"], 10.0 * change(REAL), rtol=1e-5)
  np.testing.assert_allclose(terms["bcr_fake"], 3.0 * change(FAKE), rtol=1e-5)


class Recording(Nets):
  """Records the latents G is called with, to recover Δz."""

  def __init__(self):
    super().__init__()
    self.latents = []

  def generate(self, z):
    self.latents.append(z)
    return super().generate(z)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_zcr_terms_match_the_formulas(reduction):
  nets = Recording()
  fake = nets.generate(Z).numpy()
  zcr = regularizers.ZCR(image_reduction=reduction)
  context = nets.context(REAL, fake, Z)
  d_term, g_term = zcr.d_terms(context)["zcr_d"], zcr.g_terms(context)["zcr_g"]
  z_d, z_g = nets.latents[1].numpy(), nets.latents[2].numpy()
  perturbed = lambda z: (z @ G_WEIGHTS).reshape(-1, 8, 8, 1)
  np.testing.assert_allclose(d_term, 20.0 * np.mean((numpy_d(fake) - numpy_d(perturbed(z_d))) ** 2),
                             rtol=1e-5)
  squares = (fake - perturbed(z_g)) ** 2
  per_image = squares.mean() if reduction == "mean" else squares.sum(axis=(1, 2, 3)).mean()
  np.testing.assert_allclose(g_term, -0.5 * per_image, rtol=1e-5)
  assert 0 < np.abs(z_d - Z).max() < 0.5 and not np.array_equal(z_d, z_g)


def test_latent_noise_has_standard_deviation_sigma():
  noise = consistency.latent_noise(tf.zeros([4000, 8]), 0.05, SEED).numpy()
  assert abs(noise.std() - 0.05) < 0.002 and abs(noise.mean()) < 0.002


def _gradients(regularizer, method, nets, d_update=False):
  with tf.GradientTape(persistent=True) as tape:
    fake = nets.generate(tf.constant(Z))
    if d_update:  # as the GAN's D update makes them
      fake = tf.stop_gradient(fake)
    terms = getattr(regularizer, method)(nets.context(tf.constant(REAL), fake, tf.constant(Z)))
    total = tf.add_n(list(terms.values()))
  return tape.gradient(total, nets.d), tape.gradient(total, nets.g)


@pytest.mark.parametrize("regularizer", [regularizers.CR(), regularizers.BCR()],
                         ids=lambda r: type(r).__name__)
def test_cr_and_bcr_gradients_reach_d(regularizer):
  d_grad, _ = _gradients(regularizer, "d_terms", Nets())
  assert np.abs(d_grad.numpy()).sum() > 0


def test_zcr_d_term_reaches_d_only_and_g_term_pushes_g_to_vary():
  zcr = regularizers.ZCR()
  d_grad, g_grad = _gradients(zcr, "d_terms", Nets(), d_update=True)
  assert np.abs(d_grad.numpy()).sum() > 0 and g_grad is None
  nets = Nets()
  before = zcr.g_terms(nets.context(REAL, nets.generate(Z), Z))["zcr_g"]
  _, g_term_grad = _gradients(zcr, "g_terms", nets)
  nets.g.assign_sub(0.01 * g_term_grad)  # one gradient-descent step on the G term
  after = zcr.g_terms(nets.context(REAL, nets.generate(Z), Z))["zcr_g"]
  assert after < before  # ‖G(z) − G(z + Δz)‖² grew


def _terms(regularizer, real, fake, z):
  nets = Nets(make=tf.constant)
  context = nets.context(real, fake, z)
  return {**regularizer.d_terms(context), **regularizer.g_terms(context)}


@pytest.mark.parametrize("make", [regularizers.CR, regularizers.BCR, regularizers.ZCR])
def test_terms_agree_eager_traced_and_on_two_replicas(make, two_replicas):
  """Draws are per global example, so the replicas' mean term is one device's term."""
  regularizer = make()
  eager = _terms(regularizer, REAL, FAKE, Z)
  traced = tf.function(lambda *a: _terms(regularizer, *a))(REAL, FAKE, Z)
  step = tf.function(lambda *a: two_replicas.run(lambda *b: _terms(regularizer, *b), args=a))
  mirrored = step(*testing.split_batch(two_replicas, [REAL, FAKE, Z]))
  for name, value in eager.items():
    np.testing.assert_allclose(traced[name], value, rtol=1e-5)
    replicas = [v.numpy() for v in two_replicas.experimental_local_results(mirrored[name])]
    np.testing.assert_allclose(np.mean(replicas), value, rtol=1e-5)


def test_missing_seed_is_named():
  nets = Nets()
  with pytest.raises(ValueError, match="CR .*seed"):
    regularizers.CR().d_terms(nets.context(REAL, FAKE, Z, seed=None))


def test_bad_image_reduction_is_named():
  with pytest.raises(ValueError, match="image_reduction"):
    regularizers.ZCR(image_reduction="max")
