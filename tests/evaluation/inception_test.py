"""Tests for compare_gan2.evaluation.inception: preprocessing and every loader.

No machine here reaches the internet, so the Inception network is replaced by
small fakes with its signatures (as compare_gan's `eval_gan_lib_test.py:46-65`
mocked it): a TF2 SavedModel returning {"pool_3", "logits"}, its tarball, and
a frozen GraphDef with the input "Mul" and tensors "pool_3" / "logits". The
fake reads a 9x9 grid of pixels, so it sees spatial errors of preprocessing.
Expected outputs come from a NumPy version of the fake applied to a NumPy
reimplementation of compare_gan's preprocessing.
"""

import hashlib
import os
import shutil
import tarfile

import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2.evaluation import extractor
from compare_gan2.evaluation import inception

_STRIDE = 37  # 299 px -> 9 sampled rows and columns.
_RNG = np.random.default_rng(0)
POOL_W = (_RNG.normal(size=(9 * 9 * 3, 2048)) / 16).astype(np.float32)
LOGIT_W = (_RNG.normal(size=(9 * 9 * 3, 1008)) / 16).astype(np.float32)


def legacy_resize_np(images, size):
  """TF1 bilinear resize (align_corners=False, half_pixel_centers=False) in NumPy."""
  def taps(in_size):
    source = np.arange(size) * (in_size / size)
    low = np.floor(source).astype(int)
    return low, np.minimum(low + 1, in_size - 1), source - low

  y0, y1, dy = taps(images.shape[1])
  x0, x1, dx = taps(images.shape[2])
  dx, dy = dx[None, None, :, None], dy[None, :, None, None]
  top = images[:, y0][:, :, x0] * (1 - dx) + images[:, y0][:, :, x1] * dx
  bottom = images[:, y1][:, :, x0] * (1 - dx) + images[:, y1][:, :, x1] * dx
  return top * (1 - dy) + bottom * dy


def preprocess_np(images):
  """compare_gan: x * 255, tile gray, legacy resize to 299, (x - 128) / 128."""
  images = np.asarray(images, np.float64)
  if images.shape[-1] == 1:
    images = np.tile(images, [1, 1, 1, 3])
  return (legacy_resize_np(images * 255.0, 299) - 128.0) / 128.0


def fake_np(inception_input):
  samples = inception_input[:, ::_STRIDE, ::_STRIDE, :].reshape(len(inception_input), -1)
  return samples @ POOL_W, samples @ LOGIT_W


def _fake_tf(images, pool_w, logit_w):
  samples = tf.reshape(images[:, ::_STRIDE, ::_STRIDE, :], [-1, 9 * 9 * 3])
  return tf.matmul(samples, pool_w), tf.matmul(samples, logit_w)


class FakeInceptionModule(tf.Module):
  """The TF-Hub module's interface: [N, 299, 299, 3] -> {"pool_3", "logits"}."""

  def __init__(self):
    super().__init__()
    self.pool_w = tf.Variable(POOL_W)
    self.logit_w = tf.Variable(LOGIT_W)

  @tf.function(input_signature=[tf.TensorSpec([None, 299, 299, 3], tf.float32)])
  def __call__(self, images):
    pool_3, logits = _fake_tf(images, self.pool_w, self.logit_w)
    return {"pool_3": pool_3, "logits": logits}


def _fake_graph_def():
  """compare_gan's graph layout: placeholder "Mul", pool_3 [N, 1, 1, 2048], logits."""
  with tf.Graph().as_default() as graph:
    images = tf.compat.v1.placeholder(tf.float32, [None, 299, 299, 3], name="Mul")
    pool_3, logits = _fake_tf(images, tf.constant(POOL_W), tf.constant(LOGIT_W))
    tf.reshape(pool_3, [-1, 1, 1, 2048], name="pool_3")
    tf.identity(logits, name="logits")
  return graph.as_graph_def()


def _tar(path, members):
  with tarfile.open(path, "w:gz") as tar:
    for source, name in members:
      tar.add(source, arcname=name)
  return str(path)


@pytest.fixture(scope="module")
def fakes(tmp_path_factory):
  """Paths of the fake network in every supported form."""
  root = tmp_path_factory.mktemp("fakes")
  saved_model = str(root / "saved_model")
  tf.saved_model.save(FakeInceptionModule(), saved_model)
  graph_file = root / inception.CLASSIC_GRAPH_FILE
  graph_file.write_bytes(_fake_graph_def().SerializeToString())
  return {
      "saved_model": saved_model,
      "hub_tarball": _tar(root / "inception_1.tar.gz", [(saved_model, ".")]),
      "graph_def": str(graph_file),
      "classic_tarball": _tar(root / "frozen_inception_v1_2015_12_05.tar.gz",
                              [(graph_file, inception.CLASSIC_GRAPH_FILE)]),
  }


def _images(n=3, size=32, channels=3, seed=1):
  return np.random.default_rng(seed).uniform(size=(n, size, size, channels)).astype(np.float32)


def test_preprocess_is_the_legacy_resize_not_tf2_resize():
  """x*255, TF1 bilinear resize (no half-pixel centres), (x-128)/128; tf.image.resize differs."""
  images = _images(2)
  got = inception.preprocess(images).numpy()
  assert got.shape == (2, 299, 299, 3) and got.dtype == np.float32
  np.testing.assert_allclose(got, preprocess_np(images), atol=1e-5)
  tf2 = (tf.image.resize(images * 255.0, [299, 299], "bilinear").numpy() - 128.0) / 128.0
  assert np.abs(tf2 - got).max() > 0.3  # > 38 of 255 levels (docs/design.md §8)


def test_preprocess_tiles_gray_and_spans_minus_one_to_127_over_128():
  """Gray is tiled to RGB; 0 -> -1 and 1 -> 0.9921875 (compare_gan eval_utils.py:144-175)."""
  gray = _images(2, size=28, channels=1)
  np.testing.assert_array_equal(inception.preprocess(gray),
                                inception.preprocess(np.tile(gray, [1, 1, 1, 3])))
  np.testing.assert_allclose(preprocess_np(gray), inception.preprocess(gray), atol=1e-5)
  extremes = inception.preprocess(np.stack([np.zeros([8, 8, 1]), np.ones([8, 8, 1])]))
  assert np.all(extremes[0] == -1.0) and np.all(extremes[1] == 0.9921875)


@pytest.mark.parametrize("form", ["saved_model", "hub_tarball", "graph_def", "classic_tarball"])
def test_each_loader_runs_the_network_on_preprocessed_images(fakes, form, tmp_path):
  """Every handle form gives the fake's pool_3 (flattened) and logits of preprocess(x)."""
  config = inception.InceptionConfig(handle=fakes[form], cache_dir=str(tmp_path))
  network = config.load()
  assert (network.name, network.feature_dim, network.num_logits) == (inception.NAME, 2048, 1008)
  images = _images(3, channels=1)
  features, logits = network(images)
  want_features, want_logits = fake_np(preprocess_np(images))
  np.testing.assert_allclose(features, want_features, rtol=1e-4, atol=1e-3)
  np.testing.assert_allclose(logits, want_logits, rtol=1e-4, atol=1e-3)


def test_graph_call_equals_eager_call(fakes):
  """Usable inside tf.function, with the same numbers."""
  network = inception.InceptionConfig(handle=fakes["graph_def"]).load()
  images = _images(2)
  eager = network(images)
  traced = tf.function(network.__call__)(tf.constant(images))
  for a, b in zip(eager, traced):
    np.testing.assert_allclose(a, b, rtol=1e-6)


def test_tarball_is_extracted_once(fakes, tmp_path, monkeypatch):
  """A second load reuses the extracted directory; no temporary directory is left."""
  opened, real_open = [], tarfile.open
  monkeypatch.setattr(inception.tarfile, "open",
                      lambda *a, **k: opened.append(a) or real_open(*a, **k))
  config = inception.InceptionConfig(handle=fakes["hub_tarball"], cache_dir=str(tmp_path))
  config.load()
  config.load()
  assert len(opened) == 1
  (entry,) = os.listdir(tmp_path)
  assert entry.startswith("inception_1-")


def test_hub_handle_is_served_from_tfhub_cache_dir_offline(fakes, tmp_path, monkeypatch):
  """The default TF-Hub handle loads from $TFHUB_CACHE_DIR/<sha1(handle)> without network."""
  digest = hashlib.sha1(inception.DEFAULT_HANDLE.encode()).hexdigest()
  shutil.copytree(fakes["saved_model"], tmp_path / digest)
  monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path))
  network = inception.InceptionConfig().load()
  images = _images(1)
  np.testing.assert_allclose(network(images)[0], fake_np(preprocess_np(images))[0],
                             rtol=1e-4, atol=1e-3)


def test_unreachable_handle_is_a_clear_error(tmp_path, monkeypatch):
  """No network and an empty cache: the error names the URL, TFHUB_CACHE_DIR and the binding."""
  monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path))
  handle = "http://127.0.0.1:9/inception.tar.gz"  # Connection refused at once.
  with pytest.raises(extractor.ModelUnavailableError) as error:
    inception.InceptionConfig(handle=handle).load()
  message = str(error.value)
  assert handle in message and "could not fetch" in message
  assert inception.CLASSIC_TARBALL_URL in message and "TFHUB_CACHE_DIR" in message
  assert 'evaluation.InceptionConfig.handle = "' in message
  assert hashlib.sha1(handle.encode()).hexdigest() in message


def _write(path, data):
  path.write_bytes(data)
  return str(path)


@pytest.mark.parametrize("make, problem", [
    (lambda d: str(d / "missing.tar.gz"), "no such file or directory"),
    (lambda d: _write(d / "bad.tar.gz", b"not a tarball"), "cannot extract the tarball"),
    (lambda d: _write(d / "bad.pb", b"\xff\xff\xff"), "cannot read the GraphDef"),
    (lambda d: _write(d / "model.onnx", b"x"), "neither a directory"),
    (lambda d: _tar(d / "readme.tar.gz", [(_write(d / "README", b"hi"), "README")]),
     "holds no saved_model.pb"),
    (lambda d: _write(d / "other.pb", tf.Graph().as_graph_def().SerializeToString()),
     "is not an Inception GraphDef"),
])
def test_unusable_handles_are_clear_errors(tmp_path, make, problem):
  """Missing paths, corrupt or foreign files: a ModelUnavailableError saying what and how."""
  with pytest.raises(extractor.ModelUnavailableError, match=problem) as error:
    inception.InceptionConfig(handle=make(tmp_path), cache_dir=str(tmp_path / "cache")).load()
  assert "evaluation.InceptionConfig.handle" in str(error.value)
  cache = tmp_path / "cache"
  assert not any(n.startswith(".") for n in (os.listdir(cache) if cache.is_dir() else []))


def test_out_of_range_and_malformed_images_are_value_errors(fakes):
  """Inputs must be [B, H, W, 1 or 3] in [0, 1], as compare_gan asserted [0, 255]."""
  network = inception.InceptionConfig(handle=fakes["graph_def"]).load()
  with pytest.raises(ValueError, match=r"in \[0, 1\]"):
    network(_images(1) * 255)
  with pytest.raises(ValueError, match="1 or 3"):
    network(_images(1, channels=2))


@gin.configurable("inception_consumer", module="inception_test")
def _consumer(config=None):
  return config


def test_handle_is_gin_bindable(fakes):
  """`evaluation.InceptionConfig.handle = "/path"` reaches the config built by gin."""
  gin.parse_config([
      f"evaluation.InceptionConfig.handle = '{fakes['graph_def']}'",
      "inception_test.inception_consumer.config = @evaluation.InceptionConfig()",
  ])
  config = _consumer()
  assert config == inception.InceptionConfig(handle=fakes["graph_def"])
  assert config.load().comparable_note == inception.COMPARABLE_NOTE
