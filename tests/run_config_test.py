"""Tests for compare_gan2.run_config: a resumed model_dir against a changed config.

OLD is written like the operative config a run saves (minimal selectors, every
parameter of what ran, scoped optimizers, a macro); NEW_SAME is the same
experiment written like an input file (full selectors, an unscoped optimizer
binding that reaches both scopes, defaults left out, an unused family bound).
Each row of the tables appends one binding to NEW_SAME and pins what the
comparison reports.
"""

import gin
import pytest

from compare_gan2 import configurables
from compare_gan2 import run_config

OLD = """
import compare_gan2.configurables

IMAGE_SHAPE = (28, 28, 1)

D/Adam.beta_1 = 0.5
D/Adam.learning_rate = 0.0002
G/Adam.beta_1 = 0.5
G/Adam.learning_rate = 0.001
Evaluator.num_samples = 1000
infogan.Discriminator.image_shape = %IMAGE_SHAPE
infogan.Generator.image_shape = %IMAGE_SHAPE
infogan.Generator.z_dim = 64
ModularGAN.disc_iters = 1
ModularGAN.ema = None
ModularGAN.generator = @infogan.Generator()
ModularGAN.loss_fn = @losses.non_saturating
Schedule.checkpoint_every = 1
Schedule.total_steps = 2
train.gan = @gans.ModularGAN()
train.allow_fresh_start = False
train.global_batch_size = 6
train_input.seed = 547
"""

NEW_SAME = [
    "SHAPE = (28, 28, 1)",
    "keras.optimizers.Adam.beta_1 = 0.5",
    "D/keras.optimizers.Adam.learning_rate = 2e-4",
    "G/keras.optimizers.Adam.learning_rate = 1e-3",
    "evaluation.Evaluator.num_samples = 1000",
    "infogan.Discriminator.image_shape = %SHAPE",
    "infogan.Generator.image_shape = %SHAPE",
    "infogan.Generator.z_dim = 64",
    "gans.ModularGAN.generator = @infogan.Generator()",
    "train_lib.Schedule.checkpoint_every = 1",
    "train_lib.Schedule.total_steps = 2",
    "train_lib.train.gan = @gans.ModularGAN()",
    "train_lib.train.global_batch_size = 6",
    "data.train_input.seed = 547",
    "resnet_cifar.Generator.ch = 16",  # bound but not used by the run: ignored
]


def _changes(*extra):
  new = "\n".join(NEW_SAME + list(extra))
  return [(str(c), c.kind) for c in run_config.config_changes(OLD, new)]


def test_the_same_experiment_written_differently_has_no_changes():
  """Full vs minimal selectors, scope fallback, macros and defaults all resolve alike."""
  assert not _changes()


@pytest.mark.parametrize("binding, expected", [
    ("gans.ModularGAN.disc_iters = 2", ["gans.ModularGAN.disc_iters: 1 -> 2"]),
    ("SHAPE = (32, 32, 1)", ["infogan.Discriminator.image_shape: (28, 28, 1) -> (32, 32, 1)",
                             "infogan.Generator.image_shape: (28, 28, 1) -> (32, 32, 1)"]),
    ("infogan.Generator.z_dim = 128", ["infogan.Generator.z_dim: 64 -> 128"]),
    ("gans.ModularGAN.generator = @dcgan.Generator()",
     ["gans.ModularGAN.generator: @infogan.Generator() -> @dcgan.Generator()"]),
    ("gans.ModularGAN.loss_fn = @losses.hinge",
     ["gans.ModularGAN.loss_fn: @losses.non_saturating -> @losses.hinge"]),
    ("gans.ModularGAN.ema = @gans.EmaConfig()", ["gans.ModularGAN.ema: None -> @gans.EmaConfig()"]),
    ("train_lib.train.global_batch_size = 12", ["train_lib.train.global_batch_size: 6 -> 12"]),
    ("data.train_input.seed = 1", ["data.train_input.seed: 547 -> 1"]),
    ("keras.optimizers.Adam.beta_1 = 0.0", ["D/keras.optimizers.Adam.beta_1: 0.5 -> 0.0",
                                            "G/keras.optimizers.Adam.beta_1: 0.5 -> 0.0"]),
], ids=["disc_iters", "image_shape_macro", "z_dim", "generator_class", "loss", "ema_on",
        "batch_size", "data_seed", "optimizer_beta"])
def test_model_and_method_changes_block(binding, expected):
  """Each architecture, shape, method or data change is named with both values."""
  assert _changes(binding) == [(e, "blocking") for e in expected]


def test_a_dropped_binding_compares_with_the_default_gin_would_use():
  """Old disc_iters 5, new config silent: the default 1 is what would run."""
  old = OLD.replace("ModularGAN.disc_iters = 1", "ModularGAN.disc_iters = 5")
  changes = run_config.config_changes(old, "\n".join(NEW_SAME))
  assert [str(c) for c in changes] == ["gans.ModularGAN.disc_iters: 5 -> 1"]


@pytest.mark.parametrize("binding, expected, kind", [
    ("train_lib.Schedule.total_steps = 10", "train_lib.Schedule.total_steps: 2 -> 10", "harmless"),
    ("evaluation.Evaluator.num_samples = 64", "evaluation.Evaluator.num_samples: 1000 -> 64",
     "harmless"),
    ("train_lib.train.allow_fresh_start = True",
     "train_lib.train.allow_fresh_start: False -> True", "harmless"),
    ("G/keras.optimizers.Adam.learning_rate = 1e-4",
     "G/keras.optimizers.Adam.learning_rate: 0.001 -> 0.0001", "logged"),
])
def test_schedule_evaluation_and_learning_rate_changes_are_allowed(binding, expected, kind):
  """Schedule and evaluation pass silently; a learning rate passes with a log."""
  assert _changes(binding) == [(expected, kind)]


def _model_dir(tmp_path, text=OLD):
  (tmp_path / run_config.OPERATIVE_CONFIG).write_text(text)
  return str(tmp_path)


def _parse(*extra):
  gin.parse_config(NEW_SAME + list(extra))


def test_check_resume_passes_a_new_model_dir_and_an_unchanged_one(tmp_path):
  """No saved config: nothing to compare; the same experiment: no changes."""
  _parse()
  assert configurables.check_resume(str(tmp_path / "new")) == []
  assert configurables.check_resume(_model_dir(tmp_path)) == []


def test_check_resume_error_names_binding_values_file_and_the_way_out(tmp_path):
  """One paragraph: every blocking binding with old -> new, the file, both remedies."""
  _parse("gans.ModularGAN.disc_iters = 2", "infogan.Generator.z_dim = 8",
         "train_lib.Schedule.total_steps = 10")
  model_dir = _model_dir(tmp_path)
  with pytest.raises(run_config.ConfigChangeError) as error:
    configurables.check_resume(model_dir)
  message = str(error.value)
  for part in ("2 binding(s)", "gans.ModularGAN.disc_iters: 1 -> 2",
               "infogan.Generator.z_dim: 64 -> 8", str(tmp_path / "operative_config.gin"),
               "--model_dir", "--allow_config_change"):
    assert part in message
  assert "total_steps" not in message and "\n" not in message


def test_allowed_changes_keep_the_replaced_record(tmp_path):
  """--allow_config_change (or a learning rate) archives the old config; harmless ones do not."""
  model_dir = _model_dir(tmp_path)
  _parse("train_lib.Schedule.total_steps = 10")
  assert len(configurables.check_resume(model_dir)) == 1
  assert sorted(p.name for p in tmp_path.iterdir()) == ["operative_config.gin"]
  gin.clear_config()
  _parse("data.train_input.seed = 3")
  changes = configurables.check_resume(model_dir, allow_change=True)
  assert [c.kind for c in changes] == ["blocking"]
  archived = tmp_path / "operative_config.before_step_0.gin"  # no checkpoint yet: step 0
  assert archived.read_text() == OLD


def test_an_unreadable_saved_config_is_named(tmp_path):
  """A truncated operative_config.gin stops the run unless the change is allowed."""
  model_dir = _model_dir(tmp_path, OLD + "\nModularGAN.disc_iters = (\n")
  _parse()
  with pytest.raises(run_config.ConfigChangeError, match="cannot be parsed"):
    configurables.check_resume(model_dir)
  assert configurables.check_resume(model_dir, allow_change=True) == []
