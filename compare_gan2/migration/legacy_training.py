"""The training side of a compare_gan config: data, GAN options, optimizers, z, schedule.

compare_gan's `dataset`, `eval_z`, `loss`, `ModularGAN`, `penalty`,
`run_config` and `z`, gin 0.1.4's TF1 optimizers and `tf.random.*`, and the
value translations of docs/design.md §12.8. Each function reads its part of the run from a
`legacy_translate.Translator` and writes compare_gan2 lines into it.
"""

import inspect
from typing import Any

from compare_gan2.migration import legacy_names as names
from compare_gan2.migration import legacy_translate as lt
from compare_gan2.migration import legacy_values as values

_TRAIN_CROP = "compare_gan.datasets.train_imagenet_transform"
_EVAL_CROP = "compare_gan.datasets.eval_imagenet_transform"
_REPLACE_LABELS = "compare_gan.datasets.replace_labels"
_CROSS_REPLICA = "compare_gan.tpu.tpu_ops.cross_replica_moments"
_SOFT_LABELED = "soft_labeled_imagenet_128"


def dataset(t: lt.Translator) -> str | None:
  """dataset.name -> `train_lib.train.dataset`; sets the image shape and classes."""
  name, binding = t.required(lt.DATASET, "name")
  if name is None:
    return None
  if name == values.CELEBA_HQ:
    t.warn(binding, "compare_gan has no dataset 'celeb_a_hq_128' (google/compare_gan#44: its "
                    "run fails here); translated to data.image_folder at 128x128: bind "
                    "data.image_folder.path to your prepared CelebA-HQ images")
    builder, (t.image_shape, t.num_classes) = values.CELEBA_HQ_BUILDER, (values.CELEBA_HQ_SHAPE, 0)
    t.emit(f"data.{builder}.resolution", values.CELEBA_HQ_SHAPE[0], binding)
  elif name in values.FORK_SUBSETS:
    builder, examples = values.FORK_SUBSETS[name]
    info = values.BUILDERS[builder]().info
    t.image_shape, t.num_classes = tuple(info.image_shape), info.num_classes
    t.emit(f"data.{builder}.train_examples", examples, binding)
  elif name in values.DATASETS:
    builder = values.DATASETS[name]
    # The builders only describe the data here (no TFDS access); the soft-label
    # variant needs its file, and has imagenet_128's shape and classes.
    info = values.BUILDERS["imagenet_128" if name == _SOFT_LABELED else name]().info
    t.image_shape, t.num_classes = tuple(info.image_shape), info.num_classes or 0
    if name == _SOFT_LABELED:
      t.warn(binding, "compare_gan read the soft labels with replace_labels; bind "
                      "data.soft_labeled_imagenet_128.soft_labels_file (.npy/.npz logits)")
  else:
    t.fail(binding, f"compare_gan has no dataset {name!r}; its names: "
                    f"{', '.join(sorted(values.DATASETS))} (and the DiffAugment fork's "
                    f"{', '.join(values.FORK_SUBSETS)})")
    return None
  t.emit_param(lt.DATASET, "name", lt.Gin(f"@data.{builder}()"), sources=(binding,))
  return builder


def data_options(t: lt.Translator, builder: str | None) -> None:
  """Data-order seed, ImageNet crops, and the label/TPU knobs compare_gan2 lacks."""
  seed, binding = t.value(lt.DATASET, "seed")
  t.emit_param(lt.DATASET, "seed", seed, sources=(binding,))
  builder_fn = values.BUILDERS.get(next((k for k, v in values.DATASETS.items() if v == builder),
                                        ""))
  params = inspect.signature(builder_fn).parameters if builder_fn else {}
  for selector, param in ((_TRAIN_CROP, "train_crop"), (_EVAL_CROP, "eval_crop")):
    if param in params:
      crop, binding = t.value(selector, "crop_method")
      t.emit_param(selector, "crop_method", crop, sources=(binding,), dataset=builder)
      if param == "train_crop" and crop == values.FORK_CROP:
        # Only the DiffAugment fork has "zoomed", and its training images are flipped.
        t.emit(f"data.{builder}.train_flip", True, binding)
    else:
      t.dead_reasons[selector] = "only ImageNet datasets crop"
  t.check_rest((_REPLACE_LABELS,))
  t.check_rest((_CROSS_REPLICA,))


def gan_options(t: lt.Translator, gan: tuple[str, ...], scope: str) -> None:
  """conditional, fit_label_distribution, EMA and the unsupported ModularGAN modes."""
  t.conditional, t.conditional_source = t.layered(gan, "conditional", scope)
  t.conditional = bool(t.conditional)
  if t.conditional and not t.num_classes:
    t.fail(t.conditional_source, "ModularGAN.conditional = True needs a dataset with classes "
                                 "(compare_gan raises)")
  fit, binding = t.layered(gan, "fit_label_distribution", scope)
  t.emit_param(lt.MODULAR_GAN, "fit_label_distribution", bool(fit), sources=(binding,))
  use_ema, binding = t.layered(gan, "g_use_ema", scope)
  if use_ema:
    t.emit_param(lt.MODULAR_GAN, "g_use_ema", lt.Gin("@gans.EmaConfig()"), sources=(binding,))
    for param in ("ema_decay", "ema_start_step"):
      value, source = t.layered(gan, param, scope)
      t.emit_param(lt.MODULAR_GAN, param, value, sources=(source,))
  else:
    t.emit_param(lt.MODULAR_GAN, "g_use_ema", None, sources=(binding,))
  t.check_rest(gan, scope)


def augmentation(t: lt.Translator, gan: tuple[str, ...]) -> None:
  """The DiffAugment fork's `DiffAugment.policy` -> `@augment.DiffAugment()` with the policy.

  The fork augments reals and fakes in ModularGAN.create_loss, so D and G
  losses (and the penalty) see augmented images, as compare_gan2's `augment`;
  its SSGAN and S3GAN override create_loss without it, so there the binding
  has no effect (a warning). "" (the default) augments nothing: no binding.
  """
  selector = values.FORK_DIFF_AUGMENT
  if gan[0] in values.FORK_UNAUGMENTED_GANS:
    short = gan[0].rsplit(".", 1)[-1]
    t.dead_reasons[selector] = f"the fork's {short}.create_loss does not call DiffAugment"
    return
  policy, binding = t.value(selector, "policy")
  if not isinstance(policy, str):
    t.fail(binding, f"DiffAugment.policy must be a string, got {policy!r}")
    return
  unknown = [p for p in policy.split(",") if p not in values.FORK_POLICIES] if policy else []
  if unknown:  # the fork raised KeyError on these (it does not strip spaces)
    t.fail(binding, f"DiffAugment.policy {policy!r}: unknown entries {unknown}; the fork's: "
                    f"{', '.join(values.FORK_POLICIES)}, comma-separated without spaces")
  elif policy:
    t.emit_param(selector, "policy", lt.Gin("@augment.DiffAugment()"), policy,
                 sources=(binding,))


def _ssgan_mode(t: lt.Translator, value: Any, binding: Any) -> Any:
  """compare_gan SSGAN's self_supervision string as compare_gan2's mode (ssgan.py:147,212)."""
  if not isinstance(value, str):
    t.fail(binding, f"SSGAN.self_supervision must be a string, got {value!r}")
    return lt.SKIP
  if value == "rotation_only":
    return value
  return "rotation_gan" if "rotation" in value else "none"


def self_supervised(t: lt.Translator, gan: tuple[str, ...], scope: str) -> None:
  """SSGAN's and S3GAN's own parameters (rotation, heads, label handling)."""
  if gan[0] not in (values.SSGAN, values.S3GAN):
    return
  short = gan[0].rsplit(".", 1)[-1]
  if gan[0] == values.S3GAN and not t.conditional:
    t.fail(t.conditional_source or t.gan_source, "S3GAN needs ModularGAN.conditional = True (compare_gan's "
                                 "S3GAN reads the labels of every row)")
  for param in names.CONFIGURABLES[gan[0]].params:
    if param in names.GAN_PARAMS:
      continue
    value, binding = t.layered(gan, param, scope)
    if value == names.REQUIRED:
      t.fail(binding or t.gan_source, f"{short}.{param} must be bound (REQUIRED in compare_gan)")
      continue
    if param == "self_supervision" and gan[0] == values.SSGAN:
      value = _ssgan_mode(t, value, binding)
    elif param == "self_supervision" and value not in ("rotation", "none"):
      t.fail(binding, f'S3GAN.self_supervision must be "rotation" or "none", got {value!r}')
      continue
    t.emit_param(gan[0], param, value, sources=(binding,))


def _optimizer(t: lt.Translator, fn: Any, binding: Any) -> tuple[str, dict] | None:
  """(Keras class, {compare_gan2 key: (value, binding)}) of one optimizer factory."""
  ref = t.reference(fn, binding, values.OPTIMIZERS, "an optimizer factory")
  if ref is None:
    return None
  conf = names.CONFIGURABLES[ref.selector]
  raw = ref.text == lt.RAW
  settings = {}
  for param, spec in conf.params.items():
    if spec.kind != names.MAP:
      continue
    value, source = (spec.default, None) if raw else t.value(ref.selector, param, ref.scope)
    if value == names.REQUIRED:
      t.fail(binding, f"{ref.selector}.{param} must be bound (REQUIRED)")
    settings[spec.new[0]] = (value, source)
  if raw:
    t.dead_reasons[ref.selector] = (
        "ModularGAN's default optimizer is the raw tf.train.AdamOptimizer class, which gin "
        "bindings do not reach; set ModularGAN.g_optimizer_fn = @tf.train.AdamOptimizer")
  else:
    t.check_rest((ref.selector,), ref.scope)
  return conf.new, settings


def optimizers(t: lt.Translator, gan: tuple[str, ...], scope: str) -> None:
  """g/d_optimizer_fn and g/d_lr -> two Keras optimizers in gin scopes G and D."""
  g_fn, g_source = t.layered(gan, "g_optimizer_fn", scope)
  d_fn, d_source = t.layered(gan, "d_optimizer_fn", scope)
  g_lr, g_lr_source = t.layered(gan, "g_lr", scope)
  d_lr, d_lr_source = t.layered(gan, "d_lr", scope)
  if d_fn is None:  # modular_gan.py:128-129: D reuses G's factory
    d_fn, d_source = g_fn, g_source
  if d_lr is None:  # modular_gan.py:131
    d_lr, d_lr_source = g_lr, g_lr_source
  built = [_optimizer(t, g_fn, g_source), _optimizer(t, d_fn, d_source)]
  if None in built:
    return
  (g_class, g_settings), (d_class, d_settings) = built
  shared = g_class == d_class and ({k: v[0] for k, v in g_settings.items()}
                                   == {k: v[0] for k, v in d_settings.items()})
  for net, cls, lr, lr_source, settings, source in (
      ("g", g_class, g_lr, g_lr_source, g_settings, g_source),
      ("d", d_class, d_lr, d_lr_source, d_settings, d_source)):
    t.emit_param(lt.MODULAR_GAN, f"{net}_optimizer_fn", lt.Gin(f"@{net.upper()}/{cls}()"),
                 sources=(source,))
    t.emit_param(lt.MODULAR_GAN, f"{net}_lr", lr, sources=(lr_source,), optimizer=cls)
    if not shared:  # each optimizer gets its own settings in its gin scope
      for key, (value, value_source) in settings.items():
        t.emit(f"{net.upper()}/{key}", value, value_source, source)
  if shared:
    for key, (value, value_source) in g_settings.items():
      t.emit(key, value, value_source, d_settings[key][1], g_source, d_source)


def losses(t: lt.Translator) -> None:
  """loss.fn and penalty.fn -> the GAN's loss_fn and penalty_fn."""
  for selector, param, allowed, what in (
      (lt.LOSS, "loss_fn", values.LOSSES, "loss.fn"),
      (lt.PENALTY, "penalty_fn", values.PENALTIES, "penalty.fn")):
    fn, binding = t.value(selector, "fn")
    ref = t.reference(fn, binding, allowed, what)
    if ref is None:
      continue
    if selector == lt.PENALTY and t.gan_target == "gans.S3GAN":
      if not ref.selector.endswith(".no_penalty"):
        t.warn(binding, "no effect in compare_gan: its S3GAN never adds the penalty; "
                        "not translated")
      continue
    t.emit_param(selector, "fn", lt.Gin("@" + names.CONFIGURABLES[ref.selector].new),
                 sources=(binding,))
    t.check_rest((ref.selector,), ref.scope)
    if ref.selector.endswith(".no_penalty"):
      lamba, lamba_source = t.value(lt.OPTIONS, "lamba")
      if lamba_source is not None and lamba != 1:
        t.warn(lamba_source, "no effect in compare_gan: the penalty is no_penalty")


def _distribution(t: lt.Translator, selector: str) -> tuple[Any, ...] | None:
  """(tf.random selector, {z param: value}, sources) of z or eval_z."""
  fn, binding = t.value(selector, "distribution_fn")
  what = selector.rsplit(".", 1)[-1] + ".distribution_fn"
  ref = t.reference(fn, binding, values.LATENTS, what)
  if ref is None:
    return None
  taken = values.LATENT_PARAMS[ref.selector]
  settings, sources = {}, [binding]
  for param, spec in names.CONFIGURABLES[selector].params.items():
    if param == "distribution_fn":
      continue
    value, source = t.value(selector, param)
    if param in taken:
      settings[param] = value
      sources.append(source)
    elif source is not None and value != spec.default:
      t.warn(source, f"no effect in compare_gan: {ref.selector} does not take {param}")
  if ref.text != lt.RAW:
    t.check_rest((ref.selector,), ref.scope)
  return ref.selector, settings, tuple(sources)


def latent(t: lt.Translator) -> None:
  """z -> the GAN's stateless z_fn; eval_z must agree (compare_gan2 evaluates with z_fn)."""
  z = _distribution(t, lt.Z)
  if z is None:
    return
  dist, settings, sources = z
  sampler = names.CONFIGURABLES[dist].new
  t.emit_param(lt.Z, "distribution_fn", lt.Gin("@" + sampler), sources=sources[:1])
  for param, value in settings.items():
    t.emit_param(lt.Z, param, value, sources=sources, sampler=sampler)
  evaluation = _distribution(t, lt.EVAL_Z)
  if evaluation is not None and evaluation[:2] == (dist, settings):
    t.emit_param(lt.Z, "distribution_fn", lt.Gin("@" + sampler),
                 sources=sources[:1] + evaluation[2])
  elif evaluation is not None:
    where = next((s for s in evaluation[2] if s is not None), None)
    t.warn(where, f"compare_gan evaluated with eval_z = {evaluation[0]} {evaluation[1]} but "
                  f"trained with z = {dist} {settings}; compare_gan2 evaluates with the "
                  "training z_fn, so IS/FID use the training noise")


def schedule(t: lt.Translator) -> None:
  """run_config -> train_lib.Schedule (+ the GAN's seed); training_steps is in options()."""
  t.emit("train_lib.train.schedule", lt.Gin("@train_lib.Schedule()"))
  for param in ("iterations_per_loop", "save_checkpoints_steps", "keep_checkpoint_max"):
    value, binding = t.value(lt.RUN_CONFIG, param)
    if not lt.is_count(value):
      t.fail(binding, f"run_config.{param} must be a positive integer, got {value!r}")
      continue
    targets = names.CONFIGURABLES[lt.RUN_CONFIG].params[param].new
    t.emit_param(lt.RUN_CONFIG, param, *[value] * len(targets), sources=(binding,))
  seed, binding = t.value(lt.RUN_CONFIG, "tf_random_seed")
  if seed is not None:
    t.emit_param(lt.RUN_CONFIG, "tf_random_seed", seed, sources=(binding,))
    t.warn(binding, "compare_gan's graph seed also fixed the initial weights: pass "
                    f"--seed={seed} to compare_gan2.main for that")
  t.check_rest((lt.RUN_CONFIG,))


def unread(t: lt.Translator) -> None:
  """Warns about every binding the run never reads (no effect in compare_gan)."""
  for binding in t.config.unread():
    reason = t.dead_reasons.get(binding.selector, "not used by this experiment")
    t.warn(binding, f"no effect in compare_gan ({reason}); not translated")

