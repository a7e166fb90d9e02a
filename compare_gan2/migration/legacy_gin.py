"""Runs unmodified compare_gan gin files: detection, translation, report.

compare_gan (google/compare_gan, gin 0.1.4) configured a run with `options.*`,
`dataset.name`, `loss.fn`, `G.*` / `D.*`, `ModularGAN.g_lr`,
`tf.train.AdamOptimizer.beta1`, ... (docs/design.md §12). compare_gan2's
runner and tools call `split_legacy` as a pre-step, before `parse_gin`
(`configurables.parse_experiment_files`): a file or --gin_bindings string with
any binding that only compare_gan accepts is compare_gan's; all such sources
are merged in compare_gan's order (files, then bindings) and translated into
one compare_gan2 config, which is parsed first;
the compare_gan2 files and bindings given with them are parsed after it and
override it. Each legacy binding is logged as `file:line old -> new`.

    from compare_gan2.migration import legacy_gin
    translation = legacy_gin.translate(["resnet_cifar10.gin"])
    print(translation.text())          # what tools/migrate_gin writes

Translation is strict, as compare_gan's parse was (docs/design.md §12.1): a binding that
cannot be reproduced raises GinConfigError naming the file, line and binding;
`strict=False` turns those into warnings and drops the binding. Semantics
that change on purpose are listed in docs/MIGRATION.md (steps, batch size,
Adam epsilon, ...).
"""

import dataclasses
import os
from collections.abc import Sequence

from absl import logging

from compare_gan2 import registry
from compare_gan2.migration import legacy_networks
from compare_gan2.migration import legacy_parse
from compare_gan2.migration import legacy_training
from compare_gan2.migration import legacy_translate

HEADER = ("# compare_gan2 translation of a compare_gan config (compare_gan2.migration.legacy_gin;"
          " see docs/MIGRATION.md).")


@dataclasses.dataclass(frozen=True)
class Translation:
  """A translated compare_gan config.

  Attributes:
    sources: the compare_gan files and bindings, in parse order.
    lines: the compare_gan2 bindings, `key = value`.
    mapped: one `file:line old -> new` line per legacy binding.
    warnings: bindings without effect in compare_gan, semantics notes, and
      (strict=False) what was not translated.
  """
  sources: tuple[str, ...]
  lines: tuple[str, ...]
  mapped: tuple[str, ...]
  warnings: tuple[str, ...]

  @property
  def where(self) -> str:
    """What was translated, for error messages."""
    return "compare_gan config translated from " + ", ".join(self.sources)

  def text(self) -> str:
    """The compare_gan2 gin file: a header listing the mapping and warnings, then bindings."""
    header = [HEADER, "# Sources: " + ", ".join(self.sources), "#", "# Mapped:"]
    header += [f"#   {m}" for m in self.mapped]
    if self.warnings:
      header += ["#", "# Warnings:"] + [f"#   {w}" for w in self.warnings]
    body = ["import compare_gan2.configurables", ""] + list(self.lines)
    return "\n".join(header + [""] + body) + "\n"


# Order of the written file: what is trained on what, then the parts.
_SECTIONS = ("train_lib.train.", "train_lib.Schedule.", "data.", "gans.ModularGAN.", "gans.",
             "augment.", "{family}.Generator.", "{family}.Discriminator.", "ops.", "keras.", "G/", "D/")


def _section(key: str, family: str | None) -> int:
  prefixes = [p.format(family=family) for p in _SECTIONS]
  return next((i for i, p in enumerate(prefixes) if key.startswith(p)), len(prefixes))


def _mapping(translator: legacy_translate.Translator) -> tuple[str, ...]:
  """One line per legacy binding: the compare_gan2 bindings it fed, if any."""
  fed: dict[int, list[str]] = {}
  for line in translator.lines.values():
    for source in line.sources:
      fed.setdefault(id(source), []).append(str(line))
  out = []
  for binding in translator.config.bindings.values():
    where = binding.where
    new = "; ".join(fed.get(id(binding), [])) or "(nothing to bind)"
    out.append(f"{where.source}:{where.line} {where.text} -> {new}")
  return tuple(out)


def _run(translator: legacy_translate.Translator) -> None:
  translator.unavailable()
  gan, scope = translator.gan_class()
  translator.options()
  translator.architecture()
  builder = legacy_training.dataset(translator)
  legacy_training.gan_options(translator, gan, scope)
  legacy_training.augmentation(translator, gan)
  legacy_training.self_supervised(translator, gan, scope)
  legacy_training.optimizers(translator, gan, scope)
  legacy_networks.networks(translator)
  legacy_training.losses(translator)
  legacy_training.latent(translator)
  legacy_training.schedule(translator)
  legacy_training.data_options(translator, builder)
  legacy_training.unread(translator)


def translate(config_files: Sequence[str] = (), bindings: Sequence[str] = (),
              strict: bool = True) -> Translation:
  """Translates compare_gan gin files (then bindings) into compare_gan2 bindings.

  Args:
    config_files: compare_gan gin files, in compare_gan's order.
    bindings: compare_gan binding strings, applied after the files.
    strict: raise on anything that cannot be translated (compare_gan's own
      parse was strict); False reports it as a warning and drops it.

  Returns:
    The translation.

  Raises:
    registry.GinConfigError: (strict) one message listing every binding
      that cannot be translated, each with its file and line; a missing file.
  """
  for path in config_files:
    if not os.path.isfile(path):
      raise registry.GinConfigError(f"compare_gan gin file not found: {path}")
  translator = legacy_translate.Translator(legacy_parse.read(config_files, bindings))
  _run(translator)
  sources = tuple(config_files) + tuple(f"gin binding {b!r}" for b in bindings)
  if translator.errors and strict:
    raise registry.GinConfigError(
        f"Cannot translate the compare_gan config ({', '.join(sources)}) to compare_gan2:\n  "
        + "\n  ".join(translator.errors))
  warnings = [f"NOT TRANSLATED: {e}" for e in translator.errors] + translator.warnings
  lines = sorted(translator.lines.values(), key=lambda line: _section(line.key, translator.family))
  return Translation(sources, tuple(map(str, lines)), _mapping(translator), tuple(warnings))


def split_legacy(config_files: Sequence[str], bindings: Sequence[str]
                 ) -> tuple[Translation | None, list[str], list[str]]:
  """Separates compare_gan sources from compare_gan2 ones and translates the former.

  Args:
    config_files: the runner's --gin_config files (they exist).
    bindings: the runner's --gin_bindings.

  Returns:
    (translation or None when no source is compare_gan's, the compare_gan2
    files, the compare_gan2 bindings). The mapping and warnings are logged.

  Raises:
    registry.GinConfigError: a legacy binding that cannot be translated.
  """
  legacy_files, new_files = [], []
  for path in config_files:
    with open(path, encoding="utf-8") as f:
      (legacy_files if legacy_parse.is_legacy_text(f.read()) else new_files).append(path)
  legacy_bindings = [b for b in bindings if legacy_parse.is_legacy_text(b)]
  if not legacy_files and not legacy_bindings:
    return None, list(config_files), list(bindings)
  translation = translate(legacy_files, legacy_bindings)
  logging.info("Translated the compare_gan config %s to compare_gan2 (docs/MIGRATION.md):",
               ", ".join(translation.sources))
  for line in translation.mapped:
    logging.info("  %s", line)
  for warning in translation.warnings:
    logging.warning("  %s", warning)
  return translation, new_files, [b for b in bindings if b not in legacy_bindings]
