"""Migration from compare_gan (google/compare_gan, TF1) to compare_gan2.

- checkpoint: compare_gan TF1 checkpoints and TF-Hub generator modules ->
  compare_gan2 checkpoints (tools/convert_compare_gan_checkpoint.py).
- legacy_gin: compare_gan gin files run unchanged (the runner's and tools'
  pre-step, `configurables.parse_experiment_files`, detects and translates them) and `tools/migrate_gin` writes the translated
  compare_gan2 file; legacy_names / legacy_values are the mapping tables,
  legacy_parse / legacy_translate / legacy_training / legacy_networks the
  translator, guide renders docs/MIGRATION.md from the same tables.
"""
