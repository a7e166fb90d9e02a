"""The one reader of gin text, shared by the config-drift check and the compare_gan translation."""

import tokenize

import pytest

from compare_gan2 import configurables  # noqa: F401  (registers the selectors)
from compare_gan2 import gin_text
from compare_gan2.migration import legacy_parse

TEXT = """
SHAPE = (28, 28, 1)
infogan.Generator.image_shape = %SHAPE
G/compare_gan2.train_lib.train.g_optimizer = @G/keras.optimizers.Adam()
train.dataset = @data.bundled_mnist()   # a partial selector
x.dtype = %tf.float32
"""


def test_references_and_macros_stay_values_and_selectors_become_canonical():
  bindings = gin_text.parse_bindings(TEXT)
  assert bindings["", "compare_gan2.architectures.infogan.Generator", "image_shape"] == (28, 28, 1)
  optimizer = bindings["G", "compare_gan2.train_lib.train", "g_optimizer"]
  assert optimizer == gin_text.Ref("G", "keras.optimizers.Adam", True)
  assert str(optimizer) == "@G/keras.optimizers.Adam()"
  # Spelt differently, the same configurable: equal (the text as written is kept apart).
  dataset = bindings["", "compare_gan2.train_lib.train", "dataset"]
  assert dataset == gin_text.Ref("", "compare_gan2.data.bundled_mnist", True, "other")
  assert dataset.text == "@data.bundled_mnist()"
  assert bindings["", "x", "dtype"] == gin_text.Macro("tf.float32")  # no macro of the text


def test_statements_carry_file_line_and_text():
  where = [w for _, w in gin_text.statements(TEXT, "exp.gin") if w is not None]
  assert str(where[1]) == "exp.gin:3: `infogan.Generator.image_shape = %SHAPE`"
  assert where[3].text == "train.dataset = @data.bundled_mnist()"


def test_the_compare_gan_translation_reads_with_the_same_reader(tmp_path):
  """A legacy reference resolves to compare_gan's name, as a gin_text.Ref."""
  config = legacy_parse.LegacyConfig()
  config.add_text("ModularGAN.g_optimizer_fn = @G/tf.train.AdamOptimizer", "legacy.gin")
  (binding,) = config.bindings.values()
  assert isinstance(binding.value, gin_text.Ref) and binding.value.scope == "G"
  assert binding.value.selector.endswith("AdamOptimizer") and not binding.value.evaluate
  assert str(binding.where) == "legacy.gin:1: `ModularGAN.g_optimizer_fn = @G/tf.train.AdamOptimizer`"


def test_bad_text_raises_gins_parse_errors():
  with pytest.raises(SyntaxError) as error:
    list(gin_text.statements("a.b = 1\nc.d = = 2\n", "bad.gin"))
  assert error.value.lineno == 2
  with pytest.raises(tokenize.TokenError):  # an unterminated bracket
    list(gin_text.statements("a.b = 1\nc.d = (\n", "bad.gin"))
