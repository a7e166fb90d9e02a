"""Tests for compare_gan2.gans.msgan: the multi-class minimax losses and training.

Losses are pinned against NumPy formulas of Tran et al. 2019 (METHODS.md
§3.3-3.4) written here, on ssgan_test's stub D (features = flattened image).
"""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import testing
from compare_gan2.gans import modular_gan
from compare_gan2.gans import msgan
from tests.gans import ssgan_test as helpers

FAKE = 4  # the "generated" class K + 1 (0-based index 4)


def _losses(objective):
  gan, w = helpers.stub_gan(msgan.MSGAN, rotated_batch_size=8, weight_rotation_loss_d=0.7,
                            weight_rotation_loss_g=0.3, generator_objective=objective)
  batch = modular_gan.SubBatch(tf.constant(w["real"]), None, tf.zeros([4, 3]), None)
  fake = tf.constant(w["fake"])
  return w, gan.discriminator_losses(batch, fake, helpers.SEED), gan.generator_losses(
      batch, fake, helpers.SEED)


def _reference(w):
  """Hinge parts and the 5-way cross-entropies of the rotation rows, from NumPy."""
  logit = lambda x: helpers.flat(x) @ w["fc"] + w["b"]
  head = lambda x: helpers.flat(x) @ w["head"] + w["head_b"]
  ce = helpers.numpy_cross_entropy
  real_rows, labels = helpers.reference_rows(w["real"], 2)  # n = 2: rows 1 and 3
  fake_rows, _ = helpers.reference_rows(w["fake"], 2)
  fake_class = np.full_like(labels, FAKE)
  return {"hinge_d": np.mean(np.maximum(0, 1 - logit(w["real"])))
                     + np.mean(np.maximum(0, 1 + logit(w["fake"]))),
          "hinge_g": -np.mean(logit(w["fake"])),
          "real_k": ce(head(real_rows), labels), "fake_k": ce(head(fake_rows), labels),
          "fake_as_fake": ce(head(fake_rows), fake_class)}


def test_paper_weights_and_five_way_head():
  """λ_d = 0.5, λ_g = 0.1 (the paper's ResNet setting); K + 1 = 5 head outputs."""
  gan, _ = helpers.stub_gan(msgan.MSGAN, rotated_batch_size=8)
  assert (gan.weight_rotation_loss_d, gan.weight_rotation_loss_g) == (0.5, 0.1)
  assert gan.discriminator.rotation_head.kernel.shape[-1] == 5
  assert gan.generator_objective == "minimax"


def test_d_loss_is_gan_loss_minus_psi_plus():
  """L_D = hinge + λ_d·(CE(k | rotated reals) + CE(fake | rotated fakes)): −Ψ⁺."""
  w, d_values, _ = _losses("minimax")
  ref = _reference(w)
  np.testing.assert_allclose(float(d_values["ms_real_loss"]), ref["real_k"], rtol=1e-5)
  np.testing.assert_allclose(float(d_values["ms_fake_loss"]), ref["fake_as_fake"], rtol=1e-5)
  np.testing.assert_allclose(float(d_values["d_loss"]),
                             ref["hinge_d"] + 0.7 * (ref["real_k"] + ref["fake_as_fake"]), rtol=1e-5)


def test_g_loss_minimax_is_gan_loss_minus_phi_plus():
  """L_G = −mean D(fake) + λ_g·(CE(k | rotated fakes) − CE(fake | rotated fakes)): −Φ⁺."""
  w, _, g_values = _losses("minimax")
  ref = _reference(w)
  term = ref["fake_k"] - ref["fake_as_fake"]
  np.testing.assert_allclose(float(g_values["ms_g_loss"]), term, rtol=1e-5)
  np.testing.assert_allclose(float(g_values["g_loss"]), ref["hinge_g"] + 0.3 * term, rtol=1e-5)


def test_g_loss_absolute_difference_is_the_authors_code():
  """tntrung/msgan: λ_g·|CE5(k | rotated fakes) − CE5(k | rotated reals)|."""
  w, _, g_values = _losses("absolute_difference")
  ref = _reference(w)
  term = abs(ref["fake_k"] - ref["real_k"])
  np.testing.assert_allclose(float(g_values["g_loss"]), ref["hinge_g"] + 0.3 * term, rtol=1e-5)


def test_unknown_objective_is_named():
  with pytest.raises(ValueError, match="generator_objective must be one of"):
    msgan.MSGAN(testing.TinyGenerator(helpers.SHAPE), testing.TinyDiscriminator(helpers.SHAPE),
                rotated_batch_size=8, generator_objective="paper")


def test_two_replicas_train_like_one_device(two_replicas):
  """MSGAN trains the same on 1 device and 2 replicas (conditional, 2 steps)."""
  helpers.assert_same_training(msgan.MSGAN, two_replicas, True, rotated_batch_size=8)


def test_head_is_trained_and_checkpointed(tmp_path):
  """The 5-way head's variables are D's: trained by the D optimizer, checkpointed."""
  gan, _ = helpers.train(msgan.MSGAN, tf.distribute.get_strategy(), False, steps=0,
                         rotated_batch_fraction=1)
  helpers.assert_head_trained_and_checkpointed(gan, tmp_path)
