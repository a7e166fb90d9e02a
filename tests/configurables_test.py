"""Tests for compare_gan2.configurables: every component composes from gin.

A gin file binds each kind of component (loss, penalty, initializer, spectral
norm, every norm and layer, scoped Keras optimizers, a latent distribution)
into a test configurable and the built objects are checked. Typos in names,
parameters and syntax fail at parse time with the file and line.
"""

import ast
import inspect
import pathlib
import textwrap

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import configurables
from compare_gan2 import experiment as experiment_lib
from compare_gan2 import losses
from compare_gan2 import penalties
from compare_gan2 import registry
from compare_gan2.architectures import families
from compare_gan2.data import pipeline
from compare_gan2.ops import attention
from compare_gan2.ops import layer_norm
from compare_gan2.ops import layers
from compare_gan2.ops import normalization
from compare_gan2.ops import spectral_norm
from tools import list_configurables


@gin.configurable("experiment", module="configurables_test")
def experiment(loss_fn=None, penalty_fn=None, initializer=None, sn=None, norms=(),
               conv=None, attention_block=None, g_optimizer=None, d_optimizer=None, z_fn=None):
  return dict(locals())


EXPERIMENT = """
import compare_gan2.configurables

experiment.loss_fn = @losses.hinge
experiment.penalty_fn = @penalties.wgan_gp
experiment.initializer = @ops.weight_initializer()
ops.weight_initializer.initializer = "orthogonal"
experiment.sn = @ops.SpectralNormConfig()
ops.SpectralNormConfig.singular_value = "auto"
experiment.norms = [@ops.BatchNorm(), @ops.ConditionalBatchNorm(),
                    @ops.SelfModulatedBatchNorm(), @ops.LayerNorm()]
ops.BatchNorm.decay = 0.9
ops.BatchNorm.epsilon = 1e-5
ops.ConditionalBatchNorm.use_moving_averages = False
ops.SelfModulatedBatchNorm.num_hidden = 8
experiment.conv = @ops.Conv2D()
ops.Conv2D.filters = 4
ops.Conv2D.kernel_size = 3
ops.Conv2D.spectral_norm = True
experiment.attention_block = @ops.NonLocalBlock()
experiment.g_optimizer = @G/keras.optimizers.Adam()
experiment.d_optimizer = @D/keras.optimizers.Adam()
keras.optimizers.Adam.beta_1 = 0.5
G/keras.optimizers.Adam.learning_rate = 1e-4
D/keras.optimizers.Adam.learning_rate = 4e-4
experiment.z_fn = @tf.random.normal
"""


def _write(tmp_path, text, name="exp.gin"):
  path = tmp_path / name
  path.write_text(textwrap.dedent(text))
  return str(path)


def test_a_config_binds_every_kind_of_component(tmp_path):
  configurables.parse_gin([_write(tmp_path, EXPERIMENT)])
  built = experiment()
  # A reference yields gin's wrapper of the registered function.
  assert built["loss_fn"].__wrapped__ is losses.hinge
  assert built["penalty_fn"].__wrapped__ is penalties.wgan_gp
  assert isinstance(built["initializer"], keras.initializers.Orthogonal)
  assert built["sn"] == spectral_norm.SpectralNormConfig(singular_value="auto")
  bn, cbn, smbn, ln = built["norms"]
  assert isinstance(bn, normalization.BatchNorm) and (bn.decay, bn.epsilon) == (0.9, 1e-5)
  # Scoping rules: the subclass binding does not leak into BatchNorm and vice versa.
  assert isinstance(cbn, normalization.ConditionalBatchNorm) and not cbn.use_moving_averages
  assert bn.use_moving_averages and cbn.decay == 0.999
  assert smbn.num_hidden == 8 and isinstance(ln, layer_norm.LayerNorm)
  assert isinstance(built["conv"], layers.Conv2D) and built["conv"].spectral_norm
  assert isinstance(built["attention_block"], attention.NonLocalBlock)
  g_opt, d_opt = built["g_optimizer"], built["d_optimizer"]
  assert isinstance(g_opt, keras.optimizers.Adam) and g_opt.beta_1 == 0.5
  np.testing.assert_allclose([g_opt.learning_rate.numpy(), d_opt.learning_rate.numpy()], [1e-4, 4e-4])
  assert built["z_fn"]([2, 3]).shape == (2, 3)


def test_gin_built_layers_run_and_serialize(tmp_path):
  configurables.parse_gin([_write(tmp_path, EXPERIMENT)])
  built = experiment()
  x = tf.random.uniform([2, 8, 8, 16])
  conv = built["conv"]
  assert conv(x, training=True).shape == (2, 8, 8, 4)
  assert type(conv).__name__ == "Conv2D"
  assert layers.Conv2D.from_config(conv.get_config()).get_config() == conv.get_config()
  assert built["attention_block"](x).shape == x.shape
  bn = built["norms"][0]
  restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(bn))
  assert isinstance(restored, normalization.BatchNorm) and restored.decay == 0.9


def test_direct_python_calls_ignore_gin(tmp_path):
  """gin.register leaves functions unchanged: only @references see bindings."""
  configurables.parse_gin([_write(tmp_path, EXPERIMENT)])
  assert isinstance(experiment()["initializer"], keras.initializers.Orthogonal)
  from compare_gan2.ops import initializers  # pylint: disable=g-import-not-at-top
  assert isinstance(initializers.weight_initializer(), keras.initializers.RandomNormal)


@pytest.mark.parametrize("line,expected", [
    ("experiment.loss_fn = @losses.hinje", "Did you mean: compare_gan2.losses.hinge"),
    ("experiment.loss_fn = @hinje", "Did you mean: compare_gan2.losses.hinge"),
    ("ops.BatchNorm.decy = 0.9", "decy"),
    ("ops.weight_initializer.std = 0.1", "std"),
    ("keras.optimizers.Adam.beta1 = 0.5", "beta1"),
    ("ops.BatchNorn.decay = 0.9", "Did you mean: compare_gan2.ops.BatchNorm"),
    ("ops.Linear.units = (", "EOF"),
])
def test_typos_fail_at_parse_time_with_file_and_line(tmp_path, line, expected):
  path = _write(tmp_path, f"import compare_gan2.configurables\n\n{line}\n")
  with pytest.raises(configurables.GinConfigError) as error:
    configurables.parse_gin([path])
  message = str(error.value)
  assert path in message and expected in message
  if "EOF" not in expected:
    assert "line 3" in message


def test_binding_typos_name_the_binding():
  with pytest.raises(configurables.GinConfigError, match=r"ops\.BatchNorm\.decy"):
    configurables.parse_gin(bindings=["ops.BatchNorm.decy = 0.9"])


def test_missing_file_is_named(tmp_path):
  missing = str(tmp_path / "nope.gin")
  with pytest.raises(configurables.GinConfigError, match="not found: .*nope.gin"):
    configurables.parse_gin([missing])


def test_later_files_and_bindings_override_and_config_is_locked(tmp_path):
  first = _write(tmp_path, "ops.BatchNorm.decay = 0.5\n", "a.gin")
  second = _write(tmp_path, "ops.BatchNorm.decay = 0.7\n", "b.gin")
  configurables.parse_gin([first, second], ["ops.BatchNorm.epsilon = 0.1"])
  assert gin.query_parameter("ops.BatchNorm.decay") == 0.7
  assert gin.query_parameter("ops.BatchNorm.epsilon") == 0.1
  with pytest.raises(RuntimeError):
    gin.bind_parameter("ops.BatchNorm.decay", 0.1)


def _literal(value):
  try:
    ast.literal_eval(repr(value))
    return True
  except (ValueError, SyntaxError):
    return False


def test_every_listed_parameter_is_bindable():
  """What list_configurables prints is exactly what a gin file may bind."""
  bindings = []
  for entry in registry.entries():
    for parameter in entry.parameters():
      if parameter.default is not inspect.Parameter.empty and _literal(parameter.default):
        bindings.append(f"{entry.selector}.{parameter.name} = {parameter.default!r}")
  assert len(bindings) > 150
  configurables.parse_gin(bindings=bindings, finalize=False)


def test_call_time_arguments_are_not_bindable():
  for binding in ("losses.hinge.d_real_logits = 1", "penalties.wgan_gp.seed = 1",
                  "tf.random.normal.shape = [1]", "ops.ConditionalBatchNorm.center = True"):
    with pytest.raises(configurables.GinConfigError):
      configurables.parse_gin(bindings=[binding], finalize=False)


def _registered_components():
  """(short selector, target) of every loss, penalty and architecture in its registry."""
  found = [(f"losses.{fn.__name__}", fn) for fn in losses.LOSSES]
  found += [(f"penalties.{fn.__name__}", fn) for fn in penalties.PENALTIES]
  for family in families.all_families().values():
    found += [(f"{family.name}.Generator", family.generator),
              (f"{family.name}.Discriminator", family.discriminator)]
  return found


@pytest.mark.parametrize("selector,target", _registered_components(),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_every_registry_entry_is_reachable_from_gin_and_listed(selector, target):
  """The registries are the lists: no test pins names or counts of configurables."""
  configurables.parse_gin(bindings=[f"experiment.loss_fn = @{selector}"])
  built = experiment()["loss_fn"]
  # gin hands over its wrapper: functions keep the original, classes subclass it.
  assert getattr(built, "__wrapped__", None) is target or issubclass(built, target)
  entry, = [e for e in registry.entries() if e.target is target]
  assert entry.selector.endswith(f".{selector}")
  assert f"\n{entry.selector}\n" in f"\n{list_configurables.format_catalogue(selector)}\n"
DEMO = str(pathlib.Path(__file__).resolve().parents[1] / "gin_configs" / "mnist" / "infogan.gin")
TINY = str(pathlib.Path(__file__).resolve().parents[1] / "gin_configs" / "smoke" / "tiny.gin")


def test_the_edge_turns_train_lib_train_bindings_into_one_experiment():
  """training_experiment(): gin builds every part train() reads; the library gets a value."""
  configurables.parse_experiment_files([DEMO, TINY], [
      "train_lib.train.global_batch_size = 6", "train_lib.Schedule.total_steps = 7",
      "data.train_input.seed = 5"], finalize=False)
  exp = configurables.training_experiment()
  assert isinstance(exp, experiment_lib.Experiment)
  assert type(exp.gan).__name__ == "ModularGAN" and exp.gan.g_optimizer is not None
  assert (exp.global_batch_size, exp.schedule.total_steps) == (6, 7)
  assert exp.dataset.info.name == "bundled_mnist" and exp.precision == "float32"
  # The input pipeline keeps its own bindings: the data order's seed reaches it.
  first = lambda fn, **kw: tf.nest.flatten(next(iter(fn(
      exp.dataset, tf.distribute.get_strategy(), 6, start_step=0, **kw))))[0].numpy()
  np.testing.assert_array_equal(first(exp.input_fn), first(pipeline.train_input, seed=5))
  assert np.abs(first(exp.input_fn) - first(pipeline.train_input)).max() > 0
  assert "\ntrain.global_batch_size = 6\n" in exp.describe()  # what the run writes
  rebuilt = configurables.build_experiment(with_dataset=False)
  assert rebuilt.gan is not exp.gan and rebuilt.gan.built and rebuilt.dataset is None
  assert rebuilt.schedule.total_steps == 7


def test_evaluation_parts_join_the_experiment_with_overrides():
  """The runner's flags override the bound Evaluator and EvalSchedule fields they name."""
  configurables.parse_gin(bindings=["evaluation.Evaluator.num_averaging_runs = 2",
                                    "evaluation.Evaluator.extractor = "
                                    "@evaluation.MnistClassifierConfig()",
                                    "evaluation.EvalSchedule.eval_every_steps = 4"])
  exp = configurables.evaluation(experiment_lib.Experiment(gan=None), score_filename="s.csv")
  assert exp.evaluator.num_averaging_runs == 2
  assert (exp.eval_schedule.eval_every_steps, exp.eval_schedule.score_filename) == (4, "s.csv")
