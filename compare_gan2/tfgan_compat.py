"""TF-GAN's evaluation and loss modules on TensorFlow >= 2.16.

`import tensorflow_gan` fails on TF >= 2.16: its package `__init__` imports the
estimator and training modules, which subclass `tf.estimator.SessionRunHook`,
and `tf.estimator` is gone (docs/design.md §8). The metric and tensor-loss code
(`tensorflow_gan.python.eval`, `tensorflow_gan.python.losses`) does not need
estimators. This module loads only those subpackages, by registering empty
parent packages that point at TF-GAN's own directories, so nothing of
TensorFlow is patched and TF-GAN's own `__init__` (estimators, distutils version
checks) never runs.

Use it everywhere the project needs TF-GAN:

    from compare_gan2.tfgan_compat import tfgan
    fid = tfgan.eval.frechet_classifier_distance_from_activations(a, b)
    d_loss = tfgan.losses.wargs.wasserstein_discriminator_loss(real, fake)
"""

import importlib
import importlib.util
import logging
import re
import sys
import types

import tensorflow as tf

from compare_gan2 import console

_PACKAGE = "tensorflow_gan"
# TensorFlow's deprecation notice for a call made inside TF-GAN, e.g. "From
# .../tensorflow_gan/python/eval/classifier_metrics.py:1157: calling map_fn_v2
# (from tensorflow.python.ops.map_fn) with back_prop=False is deprecated ...":
# seven lines about TF-GAN's code, which the user can neither change nor act on.
_TFGAN_DEPRECATION = re.compile(r"From \S*/tensorflow_gan/python/\S+: .* is deprecated", re.DOTALL)


def _drop_tfgan_deprecations(record: logging.LogRecord) -> bool:
  """A "tensorflow" logger filter: False for TF-GAN's deprecation notices, unless --verbose."""
  return console.is_verbose() or not _TFGAN_DEPRECATION.match(record.getMessage())


def _load_without_package_init() -> types.ModuleType:
  """Returns a `tensorflow_gan` module exposing `eval` and `losses`.

  Raises:
    ImportError: if tensorflow_gan is not installed.
  """
  spec = importlib.util.find_spec(_PACKAGE)
  if spec is None or not spec.submodule_search_locations:
    raise ImportError(
        "compare_gan2 needs tensorflow-gan (pip install tensorflow-gan==2.1.0)."
    )
  root_dirs = list(spec.submodule_search_locations)
  package = types.ModuleType(_PACKAGE, "TF-GAN eval and losses (compare_gan2 shim).")
  package.__path__ = root_dirs
  python = types.ModuleType(f"{_PACKAGE}.python")
  python.__path__ = [f"{d}/python" for d in root_dirs]
  package.python = python
  sys.modules[_PACKAGE] = package
  sys.modules[python.__name__] = python
  try:
    package.eval = importlib.import_module(f"{_PACKAGE}.python.eval")
    package.losses = importlib.import_module(f"{_PACKAGE}.python.losses")
  except BaseException:
    # Leave no half-initialised package behind for a later import to trip on.
    for name in [m for m in sys.modules if m == _PACKAGE or m.startswith(_PACKAGE + ".")]:
      del sys.modules[name]
    raise
  return package


def _import_tfgan() -> types.ModuleType:
  loaded = sys.modules.get(_PACKAGE)
  if loaded is not None and hasattr(loaded, "eval") and hasattr(loaded, "losses"):
    return loaded
  if hasattr(tf, "estimator"):
    # TF < 2.16: the real package imports as it is.
    return importlib.import_module(_PACKAGE)
  return _load_without_package_init()


logging.getLogger("tensorflow").addFilter(_drop_tfgan_deprecations)
tfgan = _import_tfgan()
