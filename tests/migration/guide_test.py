"""docs/MIGRATION.md is the text the guide renders from the translator's tables.

Regenerate with `python -m tools.migrate_gin --write_guide=docs/MIGRATION.md`
after changing legacy_names.py or legacy_values.py.
"""

import pathlib

from compare_gan2.migration import guide
from compare_gan2.migration import legacy_names
from compare_gan2.migration import legacy_values

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_committed_guide_is_the_generated_one():
  """The guide and the code read the same tables, so they cannot drift."""
  assert (ROOT / "docs" / "MIGRATION.md").read_text() == guide.render()


def test_guide_lists_every_compare_gan_name_and_value():
  """A row for each parameter of each translated configurable, each value table entry."""
  text = guide.render()
  for conf in legacy_names.CONFIGURABLES.values():
    for param in conf.params or {}:
      assert f".{param}` |" in text, (conf.selector, param)
  for arch, family in legacy_values.ARCHITECTURES.items():
    assert f'| `"{arch}"` | `@{family}.Generator()`' in text
  for name, builder in legacy_values.DATASETS.items():
    assert f'| `"{name}"` | `@data.{builder}()` |' in text
  assert "| `options.batch_size` | REQUIRED | `train_lib.train.global_batch_size` |" in text
  assert "| `@hinge` | `@losses.hinge` |" in text
  assert "| `SSGAN.rotated_batch_size` | REQUIRED | `gans.SSGAN.rotated_batch_size` |" in text
  assert "| `S3GAN.g_lr` | `0.0002` | `G/{optimizer}.learning_rate` |" in text
  assert "| `S3GAN.conditional` | `False` | `gans.S3GAN.conditional`" in text


def test_every_module_declaring_differences_is_in_both_lists():
  """A module whose docstrings have a "Differences from compare_gan" section is cited by
  the guide's notes and by docs/differences.md's "Differences from compare_gan" list,
  which say what number each difference changes."""
  package = ROOT / "compare_gan2"
  declaring = sorted(path.relative_to(package).as_posix() for path in package.rglob("*.py")
                     if "Differences from compare_gan" in path.read_text(encoding="utf-8")
                     and path.name != "guide.py")  # guide.py holds the list itself
  assert {"gans/ssgan.py", "gans/s3gan.py", "ops/layers.py"} <= set(declaring)
  notes = guide.render().split("## What changes on purpose")[1].split("\n## ")[0]
  page = (ROOT / "docs" / "differences.md").read_text(encoding="utf-8")
  differences = page.split("\n## Differences from compare_gan\n")[1].split("\n## ")[0]
  for path in declaring:
    assert f"`{path}`" in notes, f"docs/MIGRATION.md's notes do not cite {path}"
    assert f"`{path}`" in differences, f"docs/differences.md's Differences list does not cite {path}"
