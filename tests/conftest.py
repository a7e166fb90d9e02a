"""Test session set-up: oneDNN on, two logical CPUs, and a clean gin config.

Runs before any test module imports TensorFlow: the environment variables and
the logical-device split only take effect before TensorFlow initializes.
"""

import os
import shutil
import tempfile

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gin  # noqa: E402
import pytest  # noqa: E402

from compare_gan2 import testing  # noqa: E402

testing.configure_logical_cpus(2)


@pytest.fixture(scope="session", autouse=True)
def session_tempdir(tmp_path_factory):
  """Temporary files that libraries make and never delete go to one folder,
  removed when the session ends.

  TFDS makes an empty `mkdtemp("tfds")` for every builder of a dataset that is
  not prepared (`DatasetInfo.initialize_from_bucket`), which every
  `tfds.testing.mock_data` test does: about 120 /tmp/tmp*tfds folders a run.
  Subprocesses (TMPDIR) are covered too; pytest's own tmp_path root is fixed
  first, so its retention policy is unchanged.
  """
  tmp_path_factory.getbasetemp()
  folder = tempfile.mkdtemp(prefix="compare_gan2-tests-")
  saved = tempfile.tempdir, os.environ.get("TMPDIR")
  tempfile.tempdir = os.environ["TMPDIR"] = folder
  yield folder
  tempfile.tempdir = saved[0]
  if saved[1] is None:
    os.environ.pop("TMPDIR", None)
  else:
    os.environ["TMPDIR"] = saved[1]
  shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def clean_gin():
  """Every test starts and ends with an empty, unlocked gin config."""
  gin.clear_config(clear_constants=True)
  yield
  gin.clear_config(clear_constants=True)


@pytest.fixture(scope="session")
def two_replicas():
  """The shared 2-replica MirroredStrategy on two logical CPUs."""
  return testing.two_replica_cpu_strategy()


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
  """Each test's caches (labels passes, real statistics) start empty, never in ~/.cache.

  Per test, not per session: `tfds.testing.mock_data` makes other labels under
  the same TFDS identity in each test, which a shared labels cache rightly
  refuses as a source that changed under it.
  """
  monkeypatch.setenv("COMPARE_GAN2_CACHE", str(tmp_path_factory.mktemp("cache")))
