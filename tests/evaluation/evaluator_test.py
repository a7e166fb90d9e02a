"""Tests for evaluation.evaluator: compare_gan's evaluation protocol.

Pinned: N fakes per run from batches of 64, 3 averaging runs reported as
mean / population std / list, one seeded z stream shared by every evaluation,
the EMA generator scored, standing BN statistics refreshed first, real
statistics computed once and cached, NaN samples named, model metrics called
once with inference-mode callables.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import testing
from compare_gan2.evaluation import evaluator as evaluator_lib
from compare_gan2.evaluation import real_stats
from compare_gan2.metrics import classifier_metrics
from compare_gan2.ops import normalization

from .conftest import MNIST_SHAPE, PoolExtractorConfig, Recorder, tiny_gan


def _evaluator(tmp_path, **kwargs):
  kwargs.setdefault("metrics", (classifier_metrics.FID(), classifier_metrics.InceptionScore()))
  kwargs.setdefault("num_samples", 100)
  return evaluator_lib.Evaluator(extractor=PoolExtractorConfig(),
                                 real_stats_dir=str(tmp_path / "stats"), **kwargs)


def test_runs_are_aggregated_as_compare_gan_csv(tmp_path, mnist):
  """k_mean, k_std (ddof 0) and k_list over 3 runs of 100 fakes (2 batches of 64, cut)."""
  recorder = Recorder()
  result = _evaluator(tmp_path, metrics=(recorder, classifier_metrics.FID())).evaluate(
      tiny_gan(), mnist)
  fid = result.runs["fid_score"]
  assert len(fid) == 3 and len(set(fid)) == 3  # each run draws its own fakes
  assert result.scores["fid_score_mean"] == pytest.approx(np.mean(fid))
  assert result.scores["fid_score_std"] == pytest.approx(np.std(fid))
  assert result.scores["fid_score_list"] == "_".join(f"{v:.6g}" for v in fid)
  fake, real = recorder.seen[0]
  assert fake.features.shape == (100, 16) and real.features.shape == (100, 16)
  assert fake.images.shape == (10, *MNIST_SHAPE) and real.images.shape == (10, *MNIST_SHAPE)
  assert result.extractor == "pool_test_extractor" and "not comparable" in result.note
  assert set(result.seconds) >= {"real", "generation", "features", "metrics"}


def test_every_evaluation_sees_the_same_latent_stream(tmp_path, mnist):
  """compare_gan seeds z (seed 42), so two checkpoints are scored on the same z."""
  gan = tiny_gan()
  first = _evaluator(tmp_path).evaluate(gan, mnist).runs
  second = _evaluator(tmp_path).evaluate(gan, mnist).runs
  assert first == second
  other_seed = _evaluator(tmp_path, seed=43).evaluate(gan, mnist).runs
  assert other_seed["fid_score"] != first["fid_score"]


def test_fakes_are_the_generator_applied_to_the_stream(tmp_path, mnist):
  """Fake features = extractor(G(z)) for the z of `latent_batch`, in order."""
  recorder = Recorder(max_images=64)
  gan = tiny_gan()
  evaluator = _evaluator(tmp_path, metrics=(recorder,), num_averaging_runs=1)
  evaluator.evaluate(gan, mnist)
  z, _ = evaluator.latent_batch(gan, 2, 0, 0)
  expected = gan.generator(z, training=False).numpy()
  np.testing.assert_allclose(recorder.seen[0][0].images, expected, atol=1e-6)


def test_the_ema_generator_is_scored(tmp_path, mnist, ema_config):
  """With EMA on, the averaged weights produce the scored images (use_ema=False: raw)."""
  gan = tiny_gan(ema=ema_config)
  for variable in gan.ema.generator.trainable_variables:
    variable.assign(variable * 0.0 + 0.3)
  for use_ema, generator in ((True, gan.ema.generator), (False, gan.generator)):
    recorder = Recorder(max_images=64)
    evaluator = _evaluator(tmp_path, metrics=(recorder,), num_averaging_runs=1, use_ema=use_ema)
    evaluator.evaluate(gan, mnist)
    z, _ = evaluator.latent_batch(gan, 2, 0, 0)
    np.testing.assert_allclose(recorder.seen[0][0].images, generator(z).numpy(), atol=1e-6)


@keras.saving.register_keras_serializable(package="compare_gan2.tests")
class StandingGenerator(testing.TinyGenerator):
  """TinyGenerator with a standing-statistics batch norm before the sigmoid."""

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    self.bn = normalization.BatchNorm(use_moving_averages=False, name="bn")

  def build(self, z_shape, y_shape=None):
    super().build(z_shape)
    self.bn.build((None, int(np.prod(self.image_shape))))

  def call(self, z, y=None, training=False):
    hidden = self.bn(self.fc_noise(z, training=training), training=training)
    return tf.reshape(tf.sigmoid(hidden), [-1, *self.image_shape])


def test_standing_statistics_are_refreshed_on_fakes(tmp_path, mnist):
  """compare_gan refills the accumulators (3200 x 64 samples) before scoring."""
  gan = tiny_gan(StandingGenerator(image_shape=MNIST_SHAPE, z_dim=3))
  evaluator = _evaluator(tmp_path, standing_stats_samples=128)
  assert evaluator.refresh_standing_statistics(gan, gan.generator) == 128
  pre_bn = np.concatenate([gan.generator.fc_noise(evaluator.latent_batch(gan, 1, 0, i)[0]).numpy()
                           for i in range(2)])
  bn = gan.generator.bn
  mean = (bn.accu_mean / bn.accu_counter).numpy()
  np.testing.assert_allclose(mean, pre_bn.mean(0), rtol=1e-4, atol=1e-6)
  assert int(bn.update_accus.numpy()) == 0  # inference uses them afterwards


def test_nan_samples_are_a_named_error(tmp_path, mnist):
  """A diverged generator stops the evaluation with the run and batch in the message."""
  gan = tiny_gan()
  gan.generator.fc_noise.kernel.assign(np.full(gan.generator.fc_noise.kernel.shape, np.nan))
  with pytest.raises(evaluator_lib.NonFiniteSamplesError, match="run 0, batch 0"):
    _evaluator(tmp_path).evaluate(gan, mnist)


def test_real_statistics_are_cached_and_reused(tmp_path, mnist, monkeypatch):
  """The first evaluation writes the .npz; a new evaluator reads it instead of recomputing."""
  gan = tiny_gan()
  first = _evaluator(tmp_path).evaluate(gan, mnist)
  files = list((tmp_path / "stats").iterdir())
  assert [f.name for f in files] == ["bundled_mnist_28x28x1_eval_pool_test_extractor_100.npz"]

  def fail(*args, **kwargs):
    raise AssertionError("recomputed although cached")

  monkeypatch.setattr(real_stats, "compute", fail)
  assert _evaluator(tmp_path).evaluate(gan, mnist).runs == first.runs


def test_conditional_fakes_get_uniform_labels(tmp_path, mnist):
  """Conditional fakes draw classes uniformly; their labels travel with the samples."""
  recorder = Recorder()
  gan = tiny_gan(conditional=True)
  _evaluator(tmp_path, metrics=(recorder,), num_averaging_runs=1, num_samples=640).evaluate(
      gan, mnist)
  labels = recorder.seen[0][0].labels
  assert labels.shape == (640,) and set(labels) == set(range(10))


class _ModelProbe:
  name = "probe"
  requires = frozenset({"real_images"})
  max_images = 5

  def __init__(self):
    self.calls = []

  def __call__(self, model, real):
    self.calls.append((model, real))
    z = model.sample_z([4, model.z_dim], tf.constant([1, 2], tf.int64))
    probabilities, _, _ = model.discriminate(model.generate(z, None), None)
    return {"probe_value": float(tf.reduce_mean(probabilities))}


def test_model_metrics_run_once_with_inference_callables(tmp_path, mnist):
  """GILBO-like metrics get ModelAccess (never the GAN) once, not per averaging run."""
  probe = _ModelProbe()
  result = _evaluator(tmp_path, model_metrics=(probe,)).evaluate(tiny_gan(), mnist)
  assert len(probe.calls) == 1 and 0 < result.scores["probe_value"] < 1
  assert probe.calls[0][1].images.shape == (5, *MNIST_SHAPE)


@pytest.mark.parametrize("kwargs, match", [
    ({"num_samples": 2000}, "has 1000 images, fewer than the 2000"),
    ({"num_averaging_runs": 0}, "num_averaging_runs >= 1"),
])
def test_bad_settings_are_clear_errors(tmp_path, mnist, kwargs, match):
  """A split shorter than N (compare_gan left rows uninitialised) and bad counts."""
  with pytest.raises(ValueError, match=match):
    _evaluator(tmp_path, **kwargs).evaluate(tiny_gan(), mnist)


def test_an_extractor_is_required_for_feature_metrics():
  """FID without an extractor says which binding is missing."""
  with pytest.raises(ValueError, match="Evaluator.extractor is not set"):
    evaluator_lib.Evaluator()


def test_same_scores_for_a_gan_built_under_two_replicas(tmp_path, mnist, two_replicas):
  """train_and_eval evaluates the live GAN inside the run's strategy scope."""
  reference = tiny_gan(StandingGenerator(image_shape=MNIST_SHAPE, z_dim=3))
  weights = [np.asarray(v) for v in reference.generator.variables]
  single = _evaluator(tmp_path, standing_stats_samples=128).evaluate(reference, mnist)
  with two_replicas.scope():
    gan = tiny_gan(StandingGenerator(image_shape=MNIST_SHAPE, z_dim=3))
    for variable, value in zip(gan.generator.variables, weights):  # Keras seeds differ in scope
      variable.assign(value)
    mirrored = _evaluator(tmp_path, standing_stats_samples=128).evaluate(gan, mnist)
  for key, values in single.runs.items():
    np.testing.assert_allclose(mirrored.runs[key], values, rtol=1e-5, err_msg=key)
