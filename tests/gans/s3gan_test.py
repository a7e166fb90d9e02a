"""Tests for compare_gan2.gans.s3gan: co-training, rotation and label handling.

Losses are pinned against a NumPy reference of Lucic et al. 2019 eqs. (3)-(5)
and compare_gan s3gan.py:96-321 written here, on ssgan_test's stub D
(logits = flat(x)·w + b, features = flat(x)) with random heads. The sub-batch
has two labelled and two unlabelled (all-zero label row) real images.
"""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import checkpoints
from compare_gan2 import penalties
from compare_gan2 import testing
from compare_gan2.gans import modular_gan
from compare_gan2.gans import s3gan
from tests.gans import ssgan_test as helpers

CLASSES = 3
EYE = np.eye(CLASSES, dtype=np.float32)
REAL_Y = np.stack([EYE[2], EYE[0], np.zeros(CLASSES), np.zeros(CLASSES)]).astype(np.float32)
SAMPLED_Y = EYE[[1, 2, 2, 0]]


def co_trained(**kwargs):
  """A stub-D S3GAN with random predictor and projection weights; returns (gan, weights)."""
  gan, w = helpers.stub_gan(s3gan.S3GAN, num_classes=CLASSES, **kwargs)
  rng = np.random.RandomState(11)
  if gan.use_predictor:
    w["pred"], w["pred_b"] = rng.normal(size=(48, CLASSES)), rng.normal(size=CLASSES)
    gan.predictor_head.kernel.assign(w["pred"])
    gan.predictor_head.bias.assign(w["pred_b"])
  if gan.project_y:
    w["proj"] = rng.normal(size=(CLASSES, 48)) * 0.1
    gan.projection_head.kernel.assign(w["proj"])
  return gan, w


def softmax(x):
  e = np.exp(x - x.max(1, keepdims=True))
  return e / e.sum(1, keepdims=True)


def reference(w, soft, rotation):
  """NumPy D logits of every row, the rotation rows and the class CE of eqs. (3)-(5)."""
  real, fake = w["real"], w["fake"]
  rows, y = [real], [REAL_Y]
  if rotation:  # fraction 1 on a sub-batch of 4: n = 1, the last row is rotated
    rows += [np.rot90(real[3:], k, axes=(1, 2)) for k in (1, 2, 3)]
    y += [REAL_Y[3:]] * 3
  rows += [fake] + ([np.rot90(fake[3:], k, axes=(1, 2)) for k in (1, 2, 3)] if rotation else [])
  y += [SAMPLED_Y] + [SAMPLED_Y[3:]] * (3 if rotation else 0)
  x, y = helpers.flat(np.concatenate(rows)), np.concatenate(y)
  available = (y.sum(1) > 0.5)[:, None]
  logits = x @ w["fc"] + w["b"]
  pred = x @ w["pred"] + w["pred_b"]
  predicted = softmax(pred) if soft else EYE[pred.argmax(1)]
  y = np.where(available, y, predicted)
  logits = logits + np.sum((y @ w["proj"]) * x, axis=1, keepdims=True)
  half = len(x) // 2
  labelled = available[:4, 0]
  class_ce = -np.log(softmax(pred[:4])[np.arange(4), REAL_Y.argmax(1)])
  ref = {"real": logits[:4, 0], "fake": logits[half:half + 4, 0],
         "class": class_ce[labelled].mean(),
         "accuracy": np.mean(pred[:4].argmax(1)[labelled] == REAL_Y.argmax(1)[labelled])}
  if rotation:
    head = x @ w["head"] + w["head_b"]
    take = lambda start: np.concatenate([head[start + 3:start + 4], head[start + 4:start + 7]])
    ref["c_real"] = helpers.numpy_cross_entropy(take(0), np.arange(4))
    ref["c_fake"] = helpers.numpy_cross_entropy(take(half), np.arange(4))
  return ref


def sub_batch(w):
  return modular_gan.SubBatch(tf.constant(w["real"]), tf.constant(REAL_Y), tf.zeros([4, 3]),
                              tf.constant(SAMPLED_Y))


@pytest.mark.parametrize("soft", [True, False], ids=["soft_pred", "hard_pred"])
def test_s3gan_co_losses_equal_hand_computed_values(soft):
  """S3GAN-CO: hinge with labels or c_CT predictions projected, + β·CE_rot(real)
  + λ·CE_cls over the labelled reals (D); −mean D(fake) + α·CE_rot(fake) (G)."""
  gan, w = co_trained(project_y=True, use_predictor=True, use_soft_pred=soft,
                      rotated_batch_fraction=1, weight_rotation_loss_d=0.7,
                      weight_rotation_loss_g=0.3, weight_class_loss=0.4)
  ref = reference(w, soft, rotation=True)
  d = gan.discriminator_losses(sub_batch(w), tf.constant(w["fake"]), helpers.SEED)
  g = gan.generator_losses(sub_batch(w), tf.constant(w["fake"]), helpers.SEED)
  hinge_d = np.mean(np.maximum(0, 1 - ref["real"])) + np.mean(np.maximum(0, 1 + ref["fake"]))
  np.testing.assert_allclose(float(d["class_loss_real"]), ref["class"], rtol=1e-5)
  np.testing.assert_allclose(float(d["c_real_loss"]), ref["c_real"], rtol=1e-5)
  np.testing.assert_allclose(
      float(d["d_loss"]), hinge_d + 0.7 * ref["c_real"] + 0.4 * ref["class"], rtol=1e-5)
  np.testing.assert_allclose(float(d["classifier_accuracy"]), ref["accuracy"])
  np.testing.assert_allclose(float(d["label_fraction"]), 0.5)
  np.testing.assert_allclose(float(g["c_fake_loss"]), ref["c_fake"], rtol=1e-5)
  np.testing.assert_allclose(float(g["g_loss"]), -np.mean(ref["fake"]) + 0.3 * ref["c_fake"],
                             rtol=1e-5)


def test_s2gan_co_without_rotation():
  """S2GAN-CO: the same terms with no rotation rows (D sees concat(real, fake))."""
  gan, w = co_trained(self_supervision="none", project_y=True, use_predictor=True,
                      use_soft_pred=True)
  ref = reference(w, soft=True, rotation=False)
  d = gan.discriminator_losses(sub_batch(w), tf.constant(w["fake"]), helpers.SEED)
  hinge_d = np.mean(np.maximum(0, 1 - ref["real"])) + np.mean(np.maximum(0, 1 + ref["fake"]))
  np.testing.assert_allclose(float(d["d_loss"]), hinge_d + ref["class"], rtol=1e-5)
  assert "c_real_loss" not in d and "c_real_loss" not in gan.metric_names()
  np.testing.assert_array_equal(gan.discriminator.seen_y.numpy(),
                                np.concatenate([REAL_Y, SAMPLED_Y]))


def test_s2gan_is_a_conditional_hinge_gan():
  """S2GAN (no heads, no rotation): the plain conditional GAN loss on D's own logits."""
  gan, w = helpers.stub_gan(s3gan.S3GAN, num_classes=CLASSES, self_supervision="none")
  d = gan.discriminator_losses(sub_batch(w), tf.constant(w["fake"]), helpers.SEED)
  logit = lambda x: helpers.flat(x) @ w["fc"] + w["b"]
  hinge_d = np.mean(np.maximum(0, 1 - logit(w["real"]))) + np.mean(np.maximum(0, 1 + logit(w["fake"])))
  np.testing.assert_allclose(float(d["d_loss"]), hinge_d, rtol=1e-5)
  assert gan.classify is None


def test_all_labelled_rows_keep_their_labels():
  """With every real labelled, predictions never enter: logits match the label projection."""
  gan, w = co_trained(self_supervision="none", project_y=True, use_predictor=True)
  batch = sub_batch(w)._replace(y=tf.constant(EYE[[0, 1, 2, 0]]))
  out = gan.discriminate_heads(batch, tf.constant(w["fake"]))
  x = helpers.flat(w["real"])
  expected = x @ w["fc"] + w["b"] + np.sum((EYE[[0, 1, 2, 0]] @ w["proj"]) * x, 1, keepdims=True)
  np.testing.assert_allclose(out.real_logits.numpy(), expected, rtol=1e-5)
  np.testing.assert_allclose(out.real_available.numpy(), 1.0)


def test_soft_labels_are_the_real_label_matrix():
  """use_soft_labels: D's real label rows are the dataset's soft labels (S2GAN +SOFT)."""
  gan, _ = helpers.stub_gan(s3gan.S3GAN, num_classes=CLASSES, self_supervision="none",
                            use_soft_labels=True)
  soft = np.float32([[0.2, 0.5, 0.3]])
  np.testing.assert_allclose(gan.real_labels({"labels": [1], "soft_labels": soft}).numpy(), soft)
  with pytest.raises(ValueError, match="yields no 'soft_labels'"):
    gan.real_labels({"labels": tf.constant([1])})


@pytest.mark.parametrize("kwargs, message", [
    ({"self_supervision": "rotation_gan"}, "must be one of"),
    ({"use_predictor": True}, "needs project_y=True"),
    ({"project_y": True, "use_soft_pred": True}, "needs use_predictor=True"),
    ({"conditional": False}, "needs conditional=True"),
    ({"penalty_fn": penalties.wgan_gp}, "takes no penalty_fn"),
])
def test_bad_arguments_are_named(kwargs, message):
  options = {"conditional": True, "rotated_batch_fraction": 1, **kwargs}
  with pytest.raises(ValueError, match=message):
    s3gan.S3GAN(testing.TinyGenerator(helpers.SHAPE, num_classes=CLASSES),
                testing.TinyDiscriminator(helpers.SHAPE, num_classes=CLASSES), **options)


def _batches(steps):
  """Half the labels missing (-1), unevenly over the two replicas' halves."""
  rng = np.random.RandomState(0)
  for _ in range(steps):
    labels = rng.randint(0, CLASSES, 16).astype(np.int32)
    labels[[0, 1, 2, 3, 4, 5, 9, 12]] = -1
    yield rng.uniform(size=(16, *helpers.SHAPE)).astype(np.float32), labels


def train(strategy, steps=2, **kwargs):
  """ssgan_test's tiny conditional GAN, as an S3GAN, on `_batches`."""
  return helpers.train(s3gan.S3GAN, strategy, True, batches=_batches(steps), **kwargs)


CO_TRAINING = {"project_y": True, "use_predictor": True, "use_soft_pred": True,
               "rotated_batch_fraction": 1}


def test_two_replicas_train_like_one_device(two_replicas):
  """S3GAN-CO trains to the same variables and logs on 1 device and 2 replicas,
  although the replicas hold different numbers of labelled reals."""
  single, single_logs = train(tf.distribute.get_strategy(), **CO_TRAINING)
  mirrored, mirrored_logs = train(two_replicas, **CO_TRAINING)
  assert set(single_logs) == set(single.metric_names())
  for a, b in zip(single.variables, mirrored.variables, strict=True):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=2e-5, atol=2e-6, err_msg=a.path)
  for name in ("d_loss", "g_loss", "class_loss_real", "c_real_loss", "label_fraction"):
    np.testing.assert_allclose(single_logs[name], mirrored_logs[name], rtol=1e-5, atol=1e-6)


def test_heads_are_trained_checkpointed_and_classify(tmp_path):
  """Predictor and projection are D variables: trained, checkpointed, and `classify` is c_CT."""
  gan, _ = train(tf.distribute.get_strategy(), steps=0, **CO_TRAINING)
  heads = [gan.predictor_head, gan.projection_head]
  start = [h.kernel.numpy().copy() for h in heads]
  images, labels = next(_batches(1))
  gan.train_step({"images": images, "labels": labels})
  for head, before in zip(heads, start):
    assert np.abs(head.kernel.numpy() - before).max() > 0, head.name
  names = [n for n, _ in tf.train.list_variables(
      checkpoints.make_checkpoint(gan).write(str(tmp_path / "ckpt")))]
  for key in ("predictor_linear.Skernel", "projection.Skernel", "score_classify.Skernel"):
    assert f"discriminator/{key}/.ATTRIBUTES/VARIABLE_VALUE" in names
  images = images[:5]
  logits = gan.classify(images)
  features = gan.discriminator(images, y=tf.zeros([5, CLASSES])).features
  expected = gan.predictor_head(tf.reshape(features, [5, -1]))
  np.testing.assert_allclose(logits.numpy(), expected.numpy(), rtol=1e-6)
