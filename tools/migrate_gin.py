r"""Translates compare_gan gin files into a compare_gan2 gin file; writes the guide.

    python -m tools.migrate_gin --gin_config=resnet_cifar10.gin \
      [--gin_bindings='options.training_steps = 1000'] --output=resnet_cifar10_v2.gin
    python -m tools.migrate_gin --write_guide=docs/MIGRATION.md

compare_gan2's runner also accepts the compare_gan files directly; this tool
is for users who want to switch to compare_gan2 names. The written file starts
with a comment listing each compare_gan binding, what it became, and the
warnings (bindings without effect in compare_gan, changed semantics); it is
checked by parsing it with compare_gan2's configurables. --lenient reports
untranslatable bindings as warnings instead of failing. --write_guide renders
docs/MIGRATION.md from the translator's tables (compare_gan2.migration.guide).
Errors exit with status 1 and a one-paragraph message (2 for bad flags).
"""

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from . import cli  # noqa: E402

if TYPE_CHECKING:
  from compare_gan2.migration import legacy_gin

# Its own flag registry, not absl's global FLAGS (tools share flag names).
FLAGS = flags.FlagValues()
_GIN_CONFIG = flags.DEFINE_multi_string("gin_config", [], "A compare_gan gin file (repeatable).",
                                        flag_values=FLAGS)
_GIN_BINDINGS = flags.DEFINE_multi_string(
    "gin_bindings", [], "A compare_gan binding (repeatable), applied after the files.",
    flag_values=FLAGS)
_OUTPUT = flags.DEFINE_string("output", None, "The compare_gan2 gin file to write ('-': stdout).",
                              flag_values=FLAGS)
_LENIENT = flags.DEFINE_bool("lenient", False,
                             "Warn about untranslatable bindings instead of failing.",
                             flag_values=FLAGS)
_WRITE_GUIDE = flags.DEFINE_string("write_guide", None,
                                   "Write the migration guide (docs/MIGRATION.md) here.",
                                   flag_values=FLAGS)


def migrate(config_files: Sequence[str], bindings: Sequence[str] = (), output: str = "-",
            strict: bool = True) -> "legacy_gin.Translation":
  """Translates, checks that compare_gan2 parses the result, and writes it.

  Returns:
    The translation (its `text()` is what was written).

  Raises:
    ValueError: (GinConfigError) an untranslatable binding (strict), a
      missing file, or a translation compare_gan2 cannot parse.
  """
  import gin  # pylint: disable=g-import-not-at-top
  from compare_gan2 import configurables  # pylint: disable=g-import-not-at-top
  from compare_gan2.migration import legacy_gin  # pylint: disable=g-import-not-at-top
  if not config_files and not bindings:
    raise ValueError("Give a compare_gan file with --gin_config (or bindings).")
  translation = legacy_gin.translate(config_files, bindings, strict=strict)
  text = translation.text()
  gin.clear_config()
  try:
    configurables.parse_gin([], [text], finalize=False)
  finally:
    gin.clear_config()
  if output == "-":
    sys.stdout.write(text)
  else:
    with open(output, "w", encoding="utf-8") as f:
      f.write(text)
  return translation


def write_guide(path: str) -> str:
  """Writes docs/MIGRATION.md (rendered from the mapping tables); returns its text."""
  from compare_gan2.migration import guide  # pylint: disable=g-import-not-at-top
  text = guide.render()
  directory = os.path.dirname(path)
  if directory:
    os.makedirs(directory, exist_ok=True)
  with open(path, "w", encoding="utf-8") as f:
    f.write(text)
  return text


def _check() -> None:
  if not _WRITE_GUIDE.value and not _OUTPUT.value:
    raise ValueError("--output is required (or --write_guide)")


def _body() -> None:
  if _WRITE_GUIDE.value:
    write_guide(_WRITE_GUIDE.value)
    print(f"Wrote the migration guide to {_WRITE_GUIDE.value}", file=sys.stderr)
  if _OUTPUT.value:
    translation = migrate(_GIN_CONFIG.value, _GIN_BINDINGS.value, _OUTPUT.value,
                          not _LENIENT.value)
    where = "stdout" if _OUTPUT.value == "-" else _OUTPUT.value
    print(f"Wrote the compare_gan2 config to {where}: {len(translation.mapped)} bindings "
          f"mapped, {len(translation.warnings)} warnings (listed in its header)",
          file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
  """Translates and/or writes the guide; returns 0, 1 with a one-paragraph error, or 2."""
  return cli.main("migrate_gin", __doc__, FLAGS, argv, _body, check=_check)


def run() -> None:
  """Console-script entry point."""
  cli.setup_console()
  sys.exit(main())


if __name__ == "__main__":
  run()
