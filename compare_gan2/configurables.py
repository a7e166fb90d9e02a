"""Registers every compare_gan2 component with gin; import it before parsing.

This is the project's one registration module (docs/design.md §3). Importing it
registers, under stable names:
- losses (`@losses.hinge`, ...) and penalties (`@penalties.wgan_gp`, ...);
- ops: `@ops.weight_initializer()`, `@ops.SpectralNormConfig()`, the layers
  `ops.Linear`, `ops.Conv2D`, `ops.Deconv2D`, `ops.Embedding`, and the
  normalization and attention layers, for binding their constructor arguments
  (`ops.BatchNorm.decay = 0.9`, `G/ops.BatchNorm.epsilon = 1e-5`);
- the architectures (`@dcgan.Generator()`, `@resnet_cifar.Discriminator()`, ...),
  the GANs (`@gans.ModularGAN()`, `@gans.SSGAN()`, `@gans.MSGAN()`, `@gans.S3GAN()`,
  `@gans.EmaConfig()`, `@gans.normal_latent`), the self-supervised tasks
  (`@self_supervision.Rotation()`, `@self_supervision.MultiClassMinimax()`),
  the augmentations (`@augment.DiffAugment()`, `@augment.ADA()`),
  the training loop (`train_lib.train.*`, `@train_lib.Schedule()`) and
  `distribute.resolve_strategy`;
- Keras optimizers as `keras.optimizers.<Name>` and learning-rate schedules
  as `keras.optimizers.schedules.<Name>` (these count optimizer updates), and
  the project's schedules counted in training steps, `@schedules.Constant()`,
  `@schedules.LinearDecay()`, `@schedules.LinearWarmup()`, `@schedules.Steps()`;
- latent distributions as `tf.random.<name>` (compare_gan's
  `z.distribution_fn = @tf.random.normal`) and their stateless forms;
- evaluation: `evaluation.Evaluator` (metrics, extractor, sample counts),
  `evaluation.EvalSchedule`, the extractors `@evaluation.InceptionConfig()`
  and `@evaluation.MnistClassifierConfig()`, and every metric
  (`@metrics.FID()`, `@metrics.KID()`, `@metrics.InceptionScore()`,
  `@metrics.PRD()`, `@metrics.PRDC()`, `@metrics.MSSSIM()`,
  `@metrics.FractalDimension()`, `@metrics.GILBO()`,
  `@metrics.JacobianConditioning()`, `@metrics.DiscriminatorAccuracy()`,
  `@metrics.ClassifierAccuracy()`).

Parse experiment files with `parse_gin`, which fails on any unknown name or
parameter, or a value of the wrong type, and says where (file and line) and
what was probably meant.
"""

import difflib
import inspect
import os
import re
import tokenize
from collections.abc import Sequence

import gin
import keras
import tensorflow as tf

from compare_gan2 import augment  # noqa: F401  (lists the augmentations in the GAN catalog)
from compare_gan2 import data  # noqa: F401  (registers datasets and the input pipeline)
from compare_gan2 import distribute  # noqa: F401  (registers resolve_strategy)
from compare_gan2 import losses  # noqa: F401  (registers losses)
from compare_gan2 import penalties  # noqa: F401  (registers penalties)
from compare_gan2 import precision
from compare_gan2 import preflight
from compare_gan2 import pretraining  # noqa: F401  (registers the labeller pre-training)
from compare_gan2 import registry
from compare_gan2 import schedules  # noqa: F401  (registers the learning-rate schedules)
from compare_gan2 import train_lib  # noqa: F401  (registers train, Schedule)
from compare_gan2.architectures import dcgan
from compare_gan2.architectures import infogan
from compare_gan2.architectures import resnet30
from compare_gan2.architectures import resnet5
from compare_gan2.architectures import resnet_biggan
from compare_gan2.architectures import resnet_biggan_deep
from compare_gan2.architectures import resnet_cifar
from compare_gan2.architectures import resnet_stl
from compare_gan2.architectures import sndcgan
from compare_gan2.evaluation import continuous  # noqa: F401  (registers EvalSchedule)
from compare_gan2.evaluation import evaluator  # noqa: F401  (registers Evaluator)
from compare_gan2.evaluation import inception  # noqa: F401  (registers InceptionConfig)
from compare_gan2.evaluation import mnist_classifier  # noqa: F401  (registers its config)
from compare_gan2.gans import ema  # noqa: F401  (registers EmaConfig)
from compare_gan2.gans import catalog
from compare_gan2.gans import msgan  # noqa: F401  (the GANs register themselves in catalog)
from compare_gan2.gans import s3gan  # noqa: F401
from compare_gan2.metrics import accuracy  # noqa: F401  (the metrics register themselves)
from compare_gan2.metrics import classifier_metrics  # noqa: F401
from compare_gan2.metrics import fractal_dimension  # noqa: F401
from compare_gan2.metrics import gilbo  # noqa: F401
from compare_gan2.metrics import jacobian  # noqa: F401
from compare_gan2.metrics import ms_ssim  # noqa: F401
from compare_gan2.metrics import prd  # noqa: F401
from compare_gan2.metrics import prdc  # noqa: F401
from compare_gan2.ops import attention
from compare_gan2.ops import initializers  # noqa: F401  (registers weight_initializer)
from compare_gan2.ops import layer_norm
from compare_gan2.ops import layers
from compare_gan2.ops import normalization
from compare_gan2.ops import spectral_norm  # noqa: F401  (registers SpectralNormConfig)

_KERAS_LAYERS = (layers.Linear, layers.Conv2D, layers.Deconv2D, layers.Embedding,
                 normalization.BatchNorm, normalization.ConditionalBatchNorm,
                 normalization.SelfModulatedBatchNorm, layer_norm.LayerNorm,
                 attention.NonLocalBlock)
# Each defines Generator and Discriminator; selectors `<family>.Generator`.
_ARCHITECTURES = (dcgan, infogan, sndcgan, resnet5, resnet30, resnet_cifar, resnet_stl,
                  resnet_biggan, resnet_biggan_deep)
_MODULATED_NORMS = (normalization.ConditionalBatchNorm, normalization.SelfModulatedBatchNorm)
# Tensors reach these at call time; a gin binding for them would be a mistake.
_RANDOM_DENYLIST = ("shape", "seed", "name")


def _register_keras_optimizers() -> None:
  for name, cls in inspect.getmembers(keras.optimizers, inspect.isclass):
    if issubclass(cls, keras.optimizers.Optimizer) and cls is not keras.optimizers.Optimizer:
      registry.register_external(cls, module="keras.optimizers", name=name)
  for name, cls in inspect.getmembers(keras.optimizers.schedules, inspect.isclass):
    if (issubclass(cls, keras.optimizers.schedules.LearningRateSchedule)
        and cls is not keras.optimizers.schedules.LearningRateSchedule):
      registry.register_external(cls, module="keras.optimizers.schedules", name=name)


def _register_distributions() -> None:
  for name in ("normal", "uniform", "truncated_normal", "stateless_normal",
               "stateless_uniform", "stateless_truncated_normal"):
    registry.register_external(getattr(tf.random, name), module="tf.random", name=name,
                               denylist=_RANDOM_DENYLIST)


def _register_gans() -> None:
  for family in _ARCHITECTURES:
    for cls in (family.Generator, family.Discriminator):
      registry.register_external(cls, module=family.__name__)
  for cls in catalog.gans().values():
    registry.register_external(cls, module=catalog.GAN_MODULE)
  for module, cls in catalog.components():  # `@self_supervision.Rotation()`, `@augment.ADA()`, ...
    registry.register_external(cls, module=module)


def _register_all() -> None:
  _register_gans()
  for cls in _KERAS_LAYERS:
    # The modulated norms fix center/scale themselves (they learn no gamma/beta).
    fixed = ("center", "scale") if cls in _MODULATED_NORMS else ()
    registry.register_external(cls, module="compare_gan2.ops", denylist=fixed)
  _register_keras_optimizers()
  _register_distributions()


_register_all()


GinConfigError = registry.GinConfigError  # where users have always caught it


_UNKNOWN_NAME = re.compile(r"No configurable matching (?:reference )?'@?([\w./]+)(?:\(\))?'")


def _suggestion(message: str) -> str:
  match = _UNKNOWN_NAME.search(message)
  if not match:
    return ""
  wanted = match.group(1).split("/")[-1]
  # gin accepts any unique dotted suffix of a selector, so compare against each.
  candidates = {}
  for entry in registry.entries():
    parts = entry.selector.split(".")
    for i in range(len(parts)):
      candidates.setdefault(".".join(parts[i:]), entry.selector)
  close = difflib.get_close_matches(wanted, list(candidates), n=3, cutoff=0.6)
  if not close:
    return ""
  return "\n  Did you mean: " + ", ".join(sorted({candidates[c] for c in close})) + "?"


def _parse_one(parse, where: str) -> None:
  try:
    parse()
  except (ValueError, SyntaxError, TypeError, tokenize.TokenError, OSError) as e:
    message = str(e)
    if where not in message:  # gin names the file for most errors, not all.
      message = f"{where}: {message}"
    raise GinConfigError(f"{message}{_suggestion(message)}") from e


def _add_include_root(path: str) -> None:
  """Lets `include 'gin_configs/...'` inside a shipped config resolve from any directory.

  gin resolves includes against the working directory and its search paths;
  the folder above a `gin_configs` folder on `path` becomes one.
  """
  parts = os.path.abspath(path).split(os.sep)
  if "gin_configs" in parts[:-1]:
    root = os.sep.join(parts[:len(parts) - 1 - parts[::-1].index("gin_configs")]) or os.sep
    if root not in gin.config._LOCATION_PREFIXES:  # pylint: disable=protected-access
      gin.add_config_file_search_path(root)


def parse_gin(config_files: Sequence[str] = (), bindings: Sequence[str] = (),
              finalize: bool = True) -> None:
  """Parses gin files, then bindings; unknown names fail here, not at run time.

  Args:
    config_files: gin files, applied in order (later files override).
    bindings: one-line bindings applied after the files.
    finalize: lock the config against further changes.

  Raises:
    GinConfigError: a file is missing, or a name, parameter or value is wrong
      (a value of the wrong type for its annotated parameter: preflight.py).
      The message gives the file and line (or the binding) and close matches.
  """
  for path in config_files:
    if not os.path.isfile(path):
      raise GinConfigError(f"gin config file not found: {path}")
    _add_include_root(path)
  # compare_gan's own files and bindings run unchanged: translated, parsed first.
  from compare_gan2.migration import legacy_gin  # pylint: disable=g-import-not-at-top
  legacy, config_files, bindings = legacy_gin.split_legacy(config_files, bindings)
  if legacy is not None:
    _parse_one(lambda: gin.parse_config(legacy.text(), skip_unknown=False), legacy.where)
  for path in config_files:
    _parse_one(lambda p=path: gin.parse_config_file(p, skip_unknown=False), path)
  for binding in bindings:
    _parse_one(lambda b=binding: gin.parse_config(b, skip_unknown=False),
               f"gin binding {binding!r}")
  try:
    preflight.check_bindings(config_files, bindings)
  except preflight.BindingValueError as e:
    raise GinConfigError(str(e)) from e
  # Layers take the global dtype policy when they are created: set it (the
  # bound `precision.set_precision.policy`, float32 by default) before anything is built.
  gin.get_configurable(precision.set_precision)()
  if finalize:
    gin.finalize()
