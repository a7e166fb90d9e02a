"""Tests for evaluation.real_stats: the per-(dataset, extractor, N) cache of real features."""

import numpy as np
import pytest

from compare_gan2.evaluation import real_stats

from .conftest import PoolExtractor


def test_compute_reads_the_first_n_eval_images_in_order(mnist):
  """Features of the first N eval images, labels alongside (TTUR-style mu/sigma saved too)."""
  extractor = PoolExtractor()
  stats = real_stats.compute(mnist, extractor, 70, batch_size=32)
  batch = next(iter(real_stats.pipeline.eval_input(mnist, 70)))
  np.testing.assert_allclose(stats.features, extractor(batch["images"])[0].numpy(), atol=1e-6)
  np.testing.assert_array_equal(stats.labels, batch["labels"].numpy())


def test_save_load_round_trip_with_ttur_keys(tmp_path, mnist):
  extractor = PoolExtractor()
  stats = real_stats.compute(mnist, extractor, 50)
  meta = real_stats.metadata(mnist, extractor, 50)
  path = real_stats.save(stats, real_stats.cache_path(str(tmp_path), meta), meta)
  assert path.endswith("bundled_mnist_28x28x1_eval_pool_test_extractor_50.npz")
  loaded = real_stats.load(path, meta)
  np.testing.assert_array_equal(loaded.features, stats.features)
  with np.load(path) as z:
    np.testing.assert_allclose(z["mu"], stats.features.astype(np.float64).mean(0))
    np.testing.assert_allclose(z["sigma"], np.cov(stats.features.astype(np.float64), rowvar=False))


def test_a_file_for_something_else_is_named(tmp_path, mnist):
  extractor = PoolExtractor()
  meta = real_stats.metadata(mnist, extractor, 50)
  path = real_stats.save(real_stats.compute(mnist, extractor, 50), str(tmp_path / "s.npz"), meta)
  with pytest.raises(ValueError, match="'num_samples': \\(50, 60\\)"):
    real_stats.load(path, dict(meta, num_samples=60))


def test_a_damaged_cache_is_left_alone_and_recomputed(tmp_path, mnist):
  """Never destroys a file it cannot read; computes in memory instead."""
  extractor = PoolExtractor()
  meta = real_stats.metadata(mnist, extractor, 40)
  path = real_stats.cache_path(str(tmp_path), meta)
  with open(path, "wb") as f:
    f.write(b"not an npz")
  stats = real_stats.load_or_compute(mnist, extractor, 40, str(tmp_path))
  assert stats.features.shape == (40, 16)
  assert open(path, "rb").read() == b"not an npz"


def test_short_split_is_an_error(mnist):
  with pytest.raises(ValueError, match="bundled_mnist has 1000 images, fewer than the 1001"):
    real_stats.compute(mnist, PoolExtractor(), 1001, batch_size=500)
