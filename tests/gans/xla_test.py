"""XLA compilation of the train step: what a CPU can prove of TPU readiness.

TPUStrategy compiles the replica step with XLA, so an op without an XLA kernel,
a data-dependent shape or a host call fails only there. Here `train_step` of
every GAN class (ModularGAN, SSGAN, MSGAN, and S3GAN with co-training and with
soft labels), of every penalty of the registry and of every augmentation and
regularizer (compare_gan2/augment, compare_gan2/regularizers) is compiled with
`tf.function(jit_compile=True)` at tiny sizes on CPU, and one step must agree
with the plain `tf.function` step to float tolerance; so must a BigGAN G and D
(hierarchical z, conditional BN, attention in both, projection; no penalty, to
keep the compile short) and the runner's
`steps_per_loop` loop with its step compiled.

The conditional cases with a projection term (S3GAN `project_y`, BigGAN's D)
also check the seeds: fake labels are drawn from a folded seed, negative half
the time, which TensorFlow's default stateless ops key differently under XLA;
with them the compiled step's fakes got other labels, which only the projection
term sees (`stateless_random.fold_in` and `integers` agree both ways).

Not covered: cross-replica batch norm and any other all-reduce under XLA. XLA
with MirroredStrategy does not run on CPU (TensorFlow compiles collectives
only for TPU and GPU), so the 2-replica tests elsewhere run without XLA, and
the compiled steps here run under the default strategy, where BN statistics
are per batch.
"""

import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import augment
from compare_gan2 import losses
from compare_gan2 import penalties
from compare_gan2 import regularizers
from compare_gan2 import testing
from compare_gan2 import train_lib
from compare_gan2.architectures import resnet_biggan
from compare_gan2.gans import modular_gan
from compare_gan2.gans import msgan
from compare_gan2.gans import s3gan
from compare_gan2.gans import ssgan
from compare_gan2.ops import normalization

SHAPE = (4, 4, 3)
CLASSES = 3
# Rotation GANs rotate the last row of each 4-row sub-batch (one image + 3 rotations).
ROTATION = {"rotated_batch_size": 4}
GANS = {
    "ModularGAN": (modular_gan.ModularGAN, {}),
    "SSGAN": (ssgan.SSGAN, ROTATION),
    "MSGAN": (msgan.MSGAN, ROTATION),
}
S3GANS = {
    "S3GAN-co-training": {"project_y": True, "use_predictor": True, "use_soft_pred": True},
    "S3GAN-soft-labels": {"use_soft_labels": True},
}
# Each component's constructor arguments: active from the first step, so the step compiles
# and runs all of its work (ADA at p 0.5 adjusting every step, LeCam's term, top-k's sort).
COMPONENT_ARGS = {"ADA": {"initial_p": 0.5, "interval": 1}, "LeCam": {"start_step": 0},
                  "TopK": {"steps_per_epoch": 1}}


def _components() -> dict:
  """name -> a function making the GAN keyword arguments that add it (fresh per GAN)."""
  made = {name: (lambda name=name: {"augment": augment.get(name)(**COMPONENT_ARGS.get(name, {}))})
          for name in augment.names()}
  for name, cls in regularizers.registered().items():
    made[name] = lambda name=name, cls=cls: {"regularizers": [cls(**COMPONENT_ARGS.get(name, {}))]}
  return made


def _batch(size=8, shape=SHAPE, seed=0):
  rng = np.random.RandomState(seed)
  labels = rng.randint(0, CLASSES, size).astype(np.int32)
  labels[::3] = -1  # unlabelled rows (S3GAN); the other GANs never see -1 here
  soft = rng.dirichlet(np.ones(CLASSES), size).astype(np.float32)
  return {"images": rng.uniform(size=(size, *shape)).astype(np.float32),
          "labels": labels, "soft_labels": soft}


def _tiny(cls, penalty_fn=penalties.no_penalty, **kwargs):
  keras.utils.set_random_seed(7)
  g = testing.TinyGenerator(SHAPE, z_dim=3, num_classes=CLASSES)
  d = testing.TinyQuadraticDiscriminator(SHAPE, num_classes=CLASSES, spectral_norm=True)
  if cls is not s3gan.S3GAN:
    kwargs["penalty_fn"] = penalty_fn
  gan = cls(g, d, loss_fn=losses.hinge, conditional=True, seed=3, **kwargs)
  # SGD: a step moves the weights in proportion to the gradients, so a float
  # difference stays one (Adam's first step is lr·sign(g) and flips on tiny g).
  gan.compile(d_optimizer=keras.optimizers.SGD(0.1), g_optimizer=keras.optimizers.SGD(0.1))
  gan.build_networks()
  return gan


def _assert_xla_matches_plain(make, batch, rtol=1e-4, atol=1e-5):
  """One step of two identical GANs, plain and XLA-compiled: same logs and variables."""
  plain, compiled = make(), make()
  for a, b in zip(plain.variables, compiled.variables, strict=True):
    np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
  plain_logs = tf.function(plain.train_step)(batch)
  start = time.perf_counter()
  xla_logs = tf.function(compiled.train_step, jit_compile=True)(batch)
  seconds = time.perf_counter() - start
  differences = [np.abs(a.numpy() - b.numpy()).max()
                 for a, b in zip(plain.variables, compiled.variables)]
  for a, b in zip(plain.variables, compiled.variables):
    np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=rtol, atol=atol, err_msg=a.path)
  for name, value in plain_logs.items():
    np.testing.assert_allclose(xla_logs[name], value, rtol=rtol, atol=atol, err_msg=name)
  assert int(compiled.g_optimizer.iterations) == 1
  print(f"compile+step {seconds:.1f} s, max |XLA - plain| over variables {max(differences):.2e}")


@pytest.mark.parametrize("penalty_fn", penalties.PENALTIES, ids=lambda f: f.__name__)
def test_every_penalty_compiles_with_xla_and_matches(penalty_fn):
  """Every penalty of the registry (SSGAN and MSGAN call it the same way)."""
  _assert_xla_matches_plain(lambda: _tiny(modular_gan.ModularGAN, penalty_fn), _batch())


@pytest.mark.parametrize("name", sorted(_components()))
def test_every_augmentation_and_regularizer_compiles_with_xla_and_matches(name):
  """Inside ModularGAN's step (SSGAN, MSGAN and S3GAN call them the same way)."""
  make = _components()[name]
  _assert_xla_matches_plain(lambda: _tiny(modular_gan.ModularGAN, **make()), _batch())


@pytest.mark.parametrize("name", sorted(GANS))
def test_every_gan_compiles_with_xla_and_matches(name):
  """Every GAN class, with WGAN-GP (the nested tape, the hardest penalty to compile)."""
  cls, kwargs = GANS[name]
  _assert_xla_matches_plain(lambda: _tiny(cls, penalties.wgan_gp, **kwargs), _batch())


@pytest.mark.parametrize("name", sorted(S3GANS))
def test_s3gan_train_step_compiles_with_xla_and_matches(name):
  """S3GAN takes no penalty; its label handling (unlabelled rows, soft labels) is compiled."""
  kwargs = {"rotated_batch_fraction": 1, **S3GANS[name]}
  _assert_xla_matches_plain(lambda: _tiny(s3gan.S3GAN, **kwargs), _batch())


def _biggan():
  keras.utils.set_random_seed(5)
  bn = normalization.ConditionalBatchNorm
  g = resnet_biggan.Generator(image_shape=(32, 32, 3), ch=4, z_dim=20, num_classes=CLASSES,
                              blocks_with_attention="B2", hierarchical_z=True,
                              embed_y_dim=8, batch_norm=bn, spectral_norm=True)
  d = resnet_biggan.Discriminator(image_shape=(32, 32, 3), ch=4, num_classes=CLASSES,
                                  blocks_with_attention="B1", spectral_norm=True)
  gan = modular_gan.ModularGAN(g, d, loss_fn=losses.hinge, conditional=True, seed=3)
  gan.compile(d_optimizer=keras.optimizers.SGD(0.1), g_optimizer=keras.optimizers.SGD(0.1))
  gan.build_networks()
  return gan


def test_biggan_with_hierarchical_z_and_attention_compiles_with_xla_and_matches():
  batch = _batch(size=4, shape=(32, 32, 3))
  batch["labels"] = np.abs(batch["labels"])
  _assert_xla_matches_plain(_biggan, batch)


def test_runner_loop_with_the_step_compiled_matches_the_plain_loop():
  """train_lib's steps_per_loop loop (tf.range over an iterator, strategy.run) with
  the step compiled as TPUStrategy compiles it, 3 steps in one call."""
  strategy = tf.distribute.get_strategy()
  data = tf.data.Dataset.from_tensors(_batch()).repeat()
  results = []
  for jit_compile in (False, True):
    gan = _tiny(ssgan.SSGAN, penalties.wgan_gp, **ROTATION)
    run_steps = train_lib.run_steps_fn(gan, strategy, jit_compile=jit_compile)
    run_steps(iter(data), tf.constant(3))
    assert int(gan.g_optimizer.iterations) == 3
    results.append([v.numpy() for v in gan.variables])
  for plain, compiled in zip(*results, strict=True):
    np.testing.assert_allclose(compiled, plain, rtol=1e-4, atol=1e-5)
