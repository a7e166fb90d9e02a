"""Tests for compare_gan2.gans.msgan: the multi-class minimax losses and training.

Losses are pinned against NumPy formulas of Tran et al. 2019 (arXiv
1911.06997, §3: the "paper" objective) and of their code (github.com/tntrung/msgan,
msdistgan.py: the "code" objective) written here, on ssgan_test's stub D
(features = flattened image), and by hand on a head that outputs zeros.
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
                            weight_rotation_loss_g=0.3, objective=objective)
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
  upright_fakes = w["fake"][1::2]  # the n picked fakes, not rotated
  five_way_rows = np.concatenate([real_rows, upright_fakes])
  five_way_labels = np.concatenate([labels, np.full(len(upright_fakes), FAKE)])
  return {"hinge_d": np.mean(np.maximum(0, 1 - logit(w["real"])))
                     + np.mean(np.maximum(0, 1 + logit(w["fake"]))),
          "hinge_g": -np.mean(logit(w["fake"])),
          "real_k": ce(head(real_rows), labels), "fake_k": ce(head(fake_rows), labels),
          "fake_as_fake": ce(head(fake_rows), fake_class),
          "upright_fake_as_fake": ce(head(upright_fakes), np.full(len(upright_fakes), FAKE)),
          "five_way": ce(head(five_way_rows), five_way_labels)}


def test_default_weights_objective_and_five_way_head():
  """λ_d = 0.5, λ_g = 0.1 (the authors' ResNet setting); the paper objective; K + 1 = 5 outputs."""
  gan, _ = helpers.stub_gan(msgan.MSGAN, rotated_batch_size=8)
  assert (gan.self_supervision.weight_rotation_loss_d,
          gan.self_supervision.weight_rotation_loss_g) == (0.5, 0.1)
  assert gan.self_supervision.head.kernel.shape[-1] == 5
  assert gan.self_supervision.objective == "paper"


def test_d_loss_is_gan_loss_minus_psi_plus():
  """L_D = hinge + λ_d·(CE(k | rotated reals) + CE(fake | rotated fakes)): −Ψ⁺."""
  w, d_values, _ = _losses("paper")
  ref = _reference(w)
  np.testing.assert_allclose(float(d_values["ms_real_loss"]), ref["real_k"], rtol=1e-5)
  np.testing.assert_allclose(float(d_values["ms_fake_loss"]), ref["fake_as_fake"], rtol=1e-5)
  np.testing.assert_allclose(float(d_values["d_loss"]),
                             ref["hinge_d"] + 0.7 * (ref["real_k"] + ref["fake_as_fake"]), rtol=1e-5)


def test_g_loss_minimax_is_gan_loss_minus_phi_plus():
  """L_G = −mean D(fake) + λ_g·(CE(k | rotated fakes) − CE(fake | rotated fakes)): −Φ⁺."""
  w, _, g_values = _losses("paper")
  ref = _reference(w)
  term = ref["fake_k"] - ref["fake_as_fake"]
  np.testing.assert_allclose(float(g_values["ms_g_loss"]), term, rtol=1e-5)
  np.testing.assert_allclose(float(g_values["g_loss"]), ref["hinge_g"] + 0.3 * term, rtol=1e-5)


def test_d_loss_code_is_one_five_way_cross_entropy_with_upright_fakes():
  """tntrung/msgan: L_D = hinge + λ_d·CE5 over the 4n rotated reals (k) and n upright fakes (4)."""
  w, d_values, _ = _losses("code")
  ref = _reference(w)
  np.testing.assert_allclose(float(d_values["ms_fake_loss"]), ref["upright_fake_as_fake"],
                             rtol=1e-5)
  np.testing.assert_allclose(float(d_values["d_loss"]), ref["hinge_d"] + 0.7 * ref["five_way"],
                             rtol=1e-5)


def test_g_loss_code_is_the_absolute_difference():
  """tntrung/msgan: λ_g·|CE5(k | rotated fakes) − CE5(k | rotated reals)|."""
  w, _, g_values = _losses("code")
  ref = _reference(w)
  term = abs(ref["fake_k"] - ref["real_k"])
  np.testing.assert_allclose(float(g_values["g_loss"]), ref["hinge_g"] + 0.3 * term, rtol=1e-5)


@pytest.mark.parametrize("objective, d_term, g_term", [
    ("paper", 2 * np.log(5), 0.0),  # CE(k | reals) + CE(5 | rotated fakes); CE − CE
    ("code", np.log(5), 0.0),  # one CE over 5n rows; |CE − CE|
])
def test_uniform_head_by_hand(objective, d_term, g_term):
  """A zero head predicts 1/5 for every class, so each cross-entropy is log 5: the D terms
  differ by the fake class's weight (1/2 of the paper's term, 1/5 of the code's)."""
  gan, w = helpers.stub_gan(msgan.MSGAN, rotated_batch_size=8, weight_rotation_loss_d=0.7,
                            weight_rotation_loss_g=0.3, objective=objective)
  for variable in gan.self_supervision.head.variables:
    variable.assign(np.zeros(variable.shape, np.float32))
  batch = modular_gan.SubBatch(tf.constant(w["real"]), None, tf.zeros([4, 3]), None)
  d_values = gan.discriminator_losses(batch, tf.constant(w["fake"]), helpers.SEED)
  g_values = gan.generator_losses(batch, tf.constant(w["fake"]), helpers.SEED)
  ref = _reference(w)
  np.testing.assert_allclose(float(d_values["d_loss"]) - ref["hinge_d"], 0.7 * d_term, rtol=1e-5)
  np.testing.assert_allclose(float(g_values["g_loss"]) - ref["hinge_g"], 0.3 * g_term, atol=1e-6)


def test_unknown_objective_is_named():
  with pytest.raises(ValueError, match=r"objective must be one of \('paper', 'code'\)"):
    msgan.MSGAN(testing.TinyGenerator(helpers.SHAPE), testing.TinyDiscriminator(helpers.SHAPE),
                rotated_batch_size=8, objective="minimax")


def test_the_replaced_generator_objective_says_what_replaced_it():
  with pytest.raises(ValueError, match="generator_objective was replaced by objective"):
    msgan.MSGAN(testing.TinyGenerator(helpers.SHAPE), testing.TinyDiscriminator(helpers.SHAPE),
                rotated_batch_size=8, generator_objective="minimax")


def test_two_replicas_train_like_one_device(two_replicas):
  """MSGAN trains the same on 1 device and 2 replicas (conditional, 2 steps); the "code"
  objective, whose D slices the upright fakes out of each replica's rows."""
  helpers.assert_same_training(msgan.MSGAN, two_replicas, True, rotated_batch_size=8,
                               objective="code")


def test_head_is_trained_and_checkpointed(tmp_path):
  """The 5-way head's variables are D's: trained by the D optimizer, checkpointed."""
  gan, _ = helpers.train(msgan.MSGAN, tf.distribute.get_strategy(), False, steps=0,
                         rotated_batch_fraction=1)
  helpers.assert_head_trained_and_checkpointed(gan, tmp_path)
