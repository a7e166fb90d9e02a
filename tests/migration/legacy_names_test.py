"""The mapping tables: compare_gan's names and defaults, and compare_gan2 names that exist.

compare_gan's defaults are pinned from compare_gan's source at 19922d3; every
compare_gan2 name a table points at must be a registered configurable with
that parameter, for every family, dataset, optimizer and sampler it applies to.
"""

import pytest

from compare_gan2 import configurables  # noqa: F401  (registers compare_gan2's names)
from compare_gan2 import registry
from compare_gan2.migration import legacy_names as names
from compare_gan2.migration import legacy_parse
from compare_gan2.migration import legacy_values as values

# (selector suffix, parameter, compare_gan default) from compare_gan's source.
DEFAULTS = [
    ("options", "lamba", 1), ("options", "disc_iters", 1), ("options", "z_dim", 128),
    ("options", "batch_size", names.REQUIRED), ("dataset", "seed", 547),
    ("ModularGAN", "g_lr", 0.0002), ("ModularGAN", "d_lr", None),
    ("ModularGAN", "ema_decay", 0.9999), ("ModularGAN", "ema_start_step", 40000),
    ("standardize_batch", "decay", 0.999), ("standardize_batch", "epsilon", 1e-3),
    ("standardize_batch", "use_moving_averages", True),
    ("spectral_norm", "epsilon", 1e-12), ("spectral_norm", "singular_value", "left"),
    ("weights", "initializer", "normal"), ("weights", "stddev", 0.02),
    ("z", "minval", -1.0), ("z", "maxval", 1.0), ("z", "stddev", 1.0),
    ("run_config", "iterations_per_loop", 1000), ("run_config", "save_checkpoints_steps", 5000),
    ("run_config", "keep_checkpoint_max", 1000), ("AdamOptimizer", "beta1", 0.9),
    ("AdamOptimizer", "beta2", 0.999), ("AdamOptimizer", "epsilon", 1e-8),
    ("resnet_biggan.Generator", "ch", 96),
    ("resnet_biggan.Generator", "blocks_with_attention", "B4"),
    ("resnet_biggan.Discriminator", "blocks_with_attention", "B1"),
    ("resnet_biggan_deep.Generator", "ch", 128), ("self_modulated_batch_norm", "num_hidden", 32),
    ("conditional_batch_norm", "use_bias", False),
    ("eval_imagenet_transform", "crop_method", "middle"),
    ("train_imagenet_transform", "crop_method", "distorted"),
]


def test_compare_gan_defines_39_configurables():
  """The index holds compare_gan's 39 gin.configurable names (docs/design.md §12.11)."""
  assert names.COMPARE_GAN_COUNT == 39


@pytest.mark.parametrize("selector, param, default", DEFAULTS)
def test_compare_gan_defaults(selector, param, default):
  """Defaults the translator writes when a file leaves a parameter unbound."""
  complete, _ = legacy_parse.resolve_legacy(selector)
  assert names.CONFIGURABLES[complete].params[param].default == default


def _fillings(selector):
  """Every value each `{placeholder}` of a target can take for this configurable."""
  families = sorted(set(values.ARCHITECTURES.values()))
  own = [values.ARCHITECTURES[a] for a, m in values.REGISTERED_MODULES.items()
         if selector.startswith(m + ".")]
  return {"family": own or families, "dataset": sorted(values.DATASETS.values()),
          "optimizer": sorted({names.CONFIGURABLES[s].new for s in values.OPTIMIZERS}),
          "sampler": sorted({names.CONFIGURABLES[s].new for s in values.LATENTS})}


def _expand(template, fillings):
  for key, options in fillings.items():
    if "{" + key + "}" in template:
      return [t for v in options for t in _expand(template.replace("{" + key + "}", v), fillings)]
  return [template]


def _written(selector, param):
  """Whether the translator writes `selector.param` (latent and optimizer knobs differ)."""
  if param.endswith("_crop"):
    return "imagenet" in selector
  if param in ("minval", "maxval"):
    return "uniform" in selector
  if param == "stddev":
    return "uniform" not in selector
  if param in ("momentum", "nesterov"):
    return selector.endswith("SGD")
  return True


def test_every_target_is_a_compare_gan2_binding():
  """MAP targets resolve in compare_gan2's registry for every family / dataset / ... they take."""
  missing = []
  for conf in names.CONFIGURABLES.values():
    for param, spec in (conf.params or {}).items():
      for template in spec.new:
        for key in _expand(template, _fillings(conf.selector)):
          selector, target = key.split("/")[-1].rsplit(".", 1)
          if _written(selector, target) and not legacy_parse.is_new_style(selector, target):
            missing.append(f"{conf.selector}.{param} -> {key}")
  assert not missing


def test_every_reference_target_is_registered():
  """`@x` becomes a registered compare_gan2 configurable (or None for no normalization)."""
  registered = {e.selector for e in registry.entries()}
  for conf in names.CONFIGURABLES.values():
    if conf.new and conf.new != values.NO_NORM:
      assert any(s == conf.new or s.endswith("." + conf.new) for s in registered), conf.selector
  for family in set(values.ARCHITECTURES.values()):
    assert f"compare_gan2.architectures.{family}.Generator" in registered
