"""Registers every compare_gan2 component with gin; import it before parsing.

This is the project's one registration module (docs/design.md §3). Importing it
registers, under stable names:
- losses (`@losses.hinge`, ...) and penalties (`@penalties.wgan_gp`, ...);
- ops: `@ops.weight_initializer()`, `@ops.SpectralNormConfig()`, the layers
  `ops.Linear`, `ops.Conv2D`, `ops.Deconv2D`, `ops.Embedding`, and the
  normalization and attention layers, for binding their constructor arguments
  (`ops.BatchNorm.decay = 0.9`, `G/ops.BatchNorm.epsilon = 1e-5`);
- every architecture family of `architectures.families` (`@dcgan.Generator()`,
  `@resnet_cifar.Discriminator()`, ...),
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

The runner and the tools parse experiment files with `parse_experiment_files`:
compare_gan's own files and bindings are translated first (the migration
pre-step), then `parse_gin` parses compare_gan2 gin, failing on any unknown
name or parameter, or a value of the wrong type, and saying where (file and
line) and what was probably meant. The parsed config then becomes one
`experiment.Experiment` here, at the edge: `training_experiment()` calls the
configurable `train_lib.train` (gan, dataset, optimizers, batch, schedule),
`build_experiment()` rebuilds the same parts for evaluation, sampling and
export. Library modules take that value and never read gin.
"""

import dataclasses
import difflib
import inspect
import os
import re
import tokenize
from collections.abc import Sequence
from typing import Any

import gin
import keras
import tensorflow as tf

from compare_gan2 import augment  # noqa: F401  (lists the augmentations in the GAN catalog)
from compare_gan2 import data  # noqa: F401  (registers datasets and the input pipeline)
from compare_gan2 import distribute  # noqa: F401  (registers resolve_strategy)
from compare_gan2 import experiment
from compare_gan2 import losses  # noqa: F401  (registers losses)
from compare_gan2 import penalties  # noqa: F401  (registers penalties)
from compare_gan2 import precision
from compare_gan2 import preflight
from compare_gan2 import pretraining  # noqa: F401  (registers the labeller pre-training)
from compare_gan2 import registry
from compare_gan2 import regularizers  # noqa: F401  (the regularizers register themselves in catalog)
from compare_gan2 import schedules  # noqa: F401  (registers the learning-rate schedules)
from compare_gan2 import run_config
from compare_gan2.architectures import families
from compare_gan2.data import pipeline
from compare_gan2.evaluation import continuous  # (registers EvalSchedule)
from compare_gan2.evaluation import evaluator  # (registers Evaluator)
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


def _register_family(family: families.Family) -> None:
  """`<family>.Generator` and `<family>.Discriminator`, for every registered family."""
  registry.register_external(family.generator, module=family.gin_module, name="Generator")
  registry.register_external(family.discriminator, module=family.gin_module,
                             name="Discriminator")


def _register_gans() -> None:
  # Every family module of compare_gan2.architectures, found by walking the
  # package; a family registered later (a user's module) reaches gin too.
  families.all_families()
  families.on_register(_register_family)
  # `@gans.ModularGAN()`, `@self_supervision.Rotation()`, `@augment.ADA()`, ...;
  # one defined later (a user's module) reaches gin too.
  catalog.on_register(lambda module, cls: registry.register_external(cls, module=module))


def _register_all() -> None:
  registry.register(module="compare_gan2.train_lib", name="Schedule")(experiment.Schedule)
  registry.register(module="compare_gan2.train_lib", name="train")(_train)
  _register_gans()
  for cls in _KERAS_LAYERS:
    # The modulated norms fix center/scale themselves (they learn no gamma/beta).
    fixed = ("center", "scale") if cls in _MODULATED_NORMS else ()
    registry.register_external(cls, module="compare_gan2.ops", denylist=fixed)
  _register_keras_optimizers()
  _register_distributions()


def _train(gan=registry.REQUIRED, dataset=registry.REQUIRED, d_optimizer=registry.REQUIRED,
           g_optimizer=registry.REQUIRED, global_batch_size: int = 64,
           schedule: experiment.Schedule = experiment.Schedule(),
           allow_fresh_start: bool = False, export_at_end: bool = True) -> experiment.Experiment:
  """`train_lib.train`: the experiment its bindings describe (gin builds each part).

  The selector and parameters are those `train_lib.train` itself took before
  it took an Experiment, so every gin file and saved operative config (and its
  drift check on resume) keeps its meaning: gan (not yet
  compiled), dataset, d_optimizer, g_optimizer, global_batch_size (real
  examples per step over all replicas), schedule (`train_lib.Schedule`),
  allow_fresh_start (start over if no checkpoint is readable), export_at_end.
  The input pipeline is `data.train_input` with its bindings (the data order's seed).
  """
  return experiment.make(gan, dataset, d_optimizer, g_optimizer,
                         global_batch_size=global_batch_size, schedule=schedule,
                         input_fn=gin.get_configurable(pipeline.train_input),
                         allow_fresh_start=allow_fresh_start, export_at_end=export_at_end,
                         describe=gin.operative_config_str)


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


def _check_files(config_files: Sequence[str]) -> None:
  for path in config_files:
    if not os.path.isfile(path):
      raise GinConfigError(f"gin config file not found: {path}")
    _add_include_root(path)


def parse_experiment_files(config_files: Sequence[str] = (), bindings: Sequence[str] = (),
                           finalize: bool = True) -> None:
  """What the runner and every tool parse: compare_gan sources too, translated first.

  A file or binding with any binding only compare_gan accepts is compare_gan's;
  those are translated into one compare_gan2 config (migration/legacy_gin.py),
  which is parsed before the compare_gan2 files and bindings given with them,
  so those override it. Then as `parse_gin`.

  Raises:
    GinConfigError: as `parse_gin`; also a compare_gan binding that cannot be
      translated (its file and line).
  """
  _check_files(config_files)
  from compare_gan2.migration import legacy_gin  # pylint: disable=g-import-not-at-top
  legacy, config_files, bindings = legacy_gin.split_legacy(config_files, bindings)
  prelude = [] if legacy is None else [(legacy.where, legacy.text())]
  parse_gin(config_files, bindings, finalize, prelude)


def parse_gin(config_files: Sequence[str] = (), bindings: Sequence[str] = (),
              finalize: bool = True, prelude: Sequence[tuple[str, str]] = ()) -> None:
  """Parses compare_gan2 gin files, then bindings; unknown names fail here, not at run time.

  compare_gan's files are not translated here: `parse_experiment_files` does
  that before calling this.

  Args:
    config_files: gin files, applied in order (later files override).
    bindings: one-line bindings applied after the files.
    finalize: lock the config against further changes.
    prelude: (where, text) gin texts parsed before the files (a translation).

  Raises:
    GinConfigError: a file is missing, or a name, parameter or value is wrong
      (a value of the wrong type for its annotated parameter: preflight.py).
      The message gives the file and line (or the binding) and close matches.
  """
  _check_files(config_files)
  for where, text in prelude:
    _parse_one(lambda t=text: gin.parse_config(t, skip_unknown=False), where)
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


def bound(parameter: str, default: Any = registry.REQUIRED) -> Any:
  """The value the config binds to `parameter`, with `@name()` references called.

  Raises:
    ValueError: if the config does not bind `parameter` and no default is given.
  """
  try:
    value = gin.query_parameter(parameter)
  except ValueError as e:
    if default is not registry.REQUIRED:
      return default
    raise ValueError(f"The gin config does not bind {parameter}, which evaluation and sampling "
                     "read to rebuild the experiment (parse the run's gin files or its "
                     f"{experiment.OPERATIVE_CONFIG} first).") from e
  if isinstance(value, gin.config.ConfigurableReference):
    return value.scoped_configurable_fn() if value.evaluate else value.scoped_configurable_fn
  return value


def training_experiment() -> experiment.Experiment:
  """The experiment `train_lib.train` binds, for training; call it in the strategy scope.

  gin builds the GAN and optimizers now (in the scope) and records every part
  in the operative config the run writes.
  """
  return gin.get_configurable(_train)()


def build_experiment(with_dataset: bool = True) -> experiment.Experiment:
  """The run's experiment rebuilt without training: evaluation, sampling, export.

  The parts are those `train_lib.train` binds, the GAN compiled and built (call
  it in the strategy scope), so a training checkpoint restores into it exactly.
  """
  gan = bound("train_lib.train.gan")
  exp = experiment.make(
      gan, bound("train_lib.train.dataset") if with_dataset else None,
      bound("train_lib.train.d_optimizer"), bound("train_lib.train.g_optimizer"),
      global_batch_size=bound("train_lib.train.global_batch_size", 64),
      schedule=bound("train_lib.train.schedule", None) or gin.get_configurable(
          experiment.Schedule)(), input_fn=gin.get_configurable(pipeline.train_input))
  return experiment.built(exp)


def evaluation(exp: experiment.Experiment, **overrides: Any) -> experiment.Experiment:
  """`exp` with the configured `evaluation.Evaluator` and `evaluation.EvalSchedule`.

  `overrides` replace fields of either (the runner's flags): num_averaging_runs
  of the Evaluator, eval_every_steps and score_filename of the schedule.
  """
  scorer = gin.get_configurable(evaluator.Evaluator)()
  schedule = gin.get_configurable(continuous.EvalSchedule)()
  fields = {f.name for f in dataclasses.fields(scorer)}
  scorer = dataclasses.replace(scorer, **{k: v for k, v in overrides.items() if k in fields})
  schedule = dataclasses.replace(
      schedule, **{k: v for k, v in overrides.items() if k not in fields})
  return dataclasses.replace(exp, evaluator=scorer, eval_schedule=schedule)


def check_resume(model_dir: str, allow_change: bool = False) -> list[run_config.Change]:
  """The config-drift check of a resumed model_dir against the parsed config (run_config.py)."""
  return run_config.check_resume(model_dir, gin.config_str(), allow_change)
