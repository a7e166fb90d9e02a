"""Converts compare_gan TF1 checkpoints and TF-Hub generator modules to compare_gan2.

compare_gan names each variable by its TF1 scope path (compare_gan
`architectures/arch_ops.py`); `architectures.base.compare_gan_names` gives that name
for every variable of a built compare_gan2 network. A compare_gan checkpoint
(`model.ckpt-<G step>`, hooks.py:28-46) also holds:

- the EMA shadows `<var>/ExponentialMovingAverage` of G's trainable variables
  when `ModularGAN.g_use_ema` (gans/modular_gan.py:498-508).
  compare_gan samples through a getter that falls back to the raw variable
  where there is no shadow (u_var, accu_*, BN moving statistics;
  modular_gan.py:264-285); the EMA twin is filled the same way here.
- `global_step` (G updates) and `global_step_disc` (D updates; disc_iters ×
  global_step at every checkpoint, modular_gan.py:549-566, pinned by
  modular_gan_test.py:142-177). They become `g_optimizer.iterations` and
  `d_optimizer.iterations` (docs/design.md §1.4).
- the state of both tf.train.AdamOptimizer, named after compare_gan's
  optimizers `d_opt` and `g_opt`: slots `<var>/d_opt` (m) and `<var>/d_opt_1`
  (v), and each optimizer's `beta1_power` / `beta2_power` in the name scope
  of its update (adam_state.py: the names, read from the checkpoint).

Adam correspondence (Kingma & Ba 2015, Algorithm 1 in the "epsilon hat" form
of §2): TF1 and Keras both update m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g²,
w ← w − lr·sqrt(1−β2^t)/(1−β1^t)·m/(sqrt(v)+ε) at the t-th update. TF1 keeps
β^t in `beta{1,2}_power` (β at creation, times β after each update: β^(n+1)
after n updates); Keras computes β^(iterations+1). So m → momentum,
v → velocity, and iterations = n, the optimizer's update count:
global_step_disc for D, global_step for G. The beta powers then add nothing;
they are only checked against β^(n+1).

Without the optimizer state the moments start at zero while iterations = n:
for large n the bias correction is ≈ 1, so the first updates of a resumed run
are up to (1−β1)/sqrt(1−β2) times the learning rate (≈ 16× for β = (0.5,
0.999)). Convert with include_optimizer=True to resume training; without it
the result is for evaluation, sampling and export.
"""

import collections
import dataclasses
import os
import re
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from compare_gan2 import checkpoints
from compare_gan2.architectures import base
from compare_gan2.migration import adam_state

EMA_SUFFIX = "/ExponentialMovingAverage"
G_STEP, D_STEP = "global_step", "global_step_disc"
_CHECKPOINT_FILE = re.compile(r"^ckpt-(\d+)\.(index|data-\d+-of-\d+)$")
_LISTED, _Reader = 10, Any  # names spelled out in an error; tf.train.load_checkpoint's type


@dataclasses.dataclass(frozen=True)
class Report:
  """What a conversion did.

  compare_gan2 variables are named as in a compare_gan2 checkpoint ("generator/B1/up_conv1/
  kernel", "ema_generator/...", "g_optimizer/B1/...kernel/momentum", "d_optimizer/iterations").

  Attributes:
    mapped: (compare_gan2 variable, checkpoint name) for every value assigned.
    fallbacks: EMA twin variables that took the raw value (no shadow).
    missing: checkpoint names the GAN needs that the source lacks.
    unmapped: source variables nothing took.
    skipped: source variables deliberately left out (optimizer state without
      include_optimizer; a hub module's discriminator, and raw values whose
      shadow the generator took).
    notes: other findings, one sentence each.
    g_step: G updates (g_optimizer.iterations) after the conversion.
    d_step: D updates (d_optimizer.iterations) after the conversion.
  """
  mapped: tuple[tuple[str, str], ...]
  fallbacks: tuple[str, ...]
  missing: tuple[str, ...]
  unmapped: tuple[str, ...]
  skipped: tuple[str, ...]
  notes: tuple[str, ...]
  g_step: int
  d_step: int

  def summary(self, verbose: bool = False) -> str:
    """A printable account; verbose lists every mapped pair."""
    groups = collections.Counter(label.split("/", 1)[0] for label, _ in self.mapped)
    counts = ", ".join(f"{name} {count}" for name, count in groups.items())
    lines = [f"Mapped {len(self.mapped)} variables ({counts}); G step {self.g_step}, "
             f"D step {self.d_step}."]
    if verbose:
      lines += [f"  {label} <- {name}" for label, name in self.mapped]
    if self.fallbacks:
      lines.append(f"EMA twin: {len(self.fallbacks)} variables have no shadow and took the raw "
                   "value (compare_gan's EMA getter does the same).")
    for title, names in (("Missing", self.missing), ("Unmapped", self.unmapped),
                         ("Skipped", self.skipped)):
      if names:
        lines.append(f"{title} ({len(names)}):")
        lines += [f"  {name}" for name in names]
    lines += [f"Note: {note}" for note in self.notes]
    return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class _Entry:
  """One compare_gan2 variable and the source names that may fill it, preferred first."""
  label: str
  target: keras.Variable
  names: tuple[str, ...]
  strict: bool = True  # names[0] itself is required; else any of names will do


# Heads the GAN owns (the self-supervision component's, S3GAN's) are built in
# D's name scope here, `discriminator/<head>/...`; compare_gan created them in
# scopes of their own (ssgan.py:80-102, s3gan.py:124-172).
_HEAD_SCOPES = tuple((f"discriminator/{ours}/", f"discriminator_{theirs}/") for ours, theirs in (
    ("score_classify", "rotation/score_classify"), ("predictor_linear", "predictor/predictor_linear"),
    ("projection", "projection")))


def _side(gan: keras.Model, label: str) -> list[keras.layers.Layer]:
  """The layers whose variables one network's optimizer trains: G, or D and the GAN's heads."""
  if label == "discriminator":
    return [gan.discriminator, *gan.discriminator_heads()]
  return [getattr(gan, label)]


def _tf1_names(layers: Sequence[keras.layers.Layer]) -> dict[str, str]:
  """compare_gan's TF1 name of each variable path of `layers` (a network and its heads)."""
  names = {}
  for layer in layers:
    names.update(base.compare_gan_names(layer))
  for path, name in names.items():
    for ours, theirs in _HEAD_SCOPES:
      if name.startswith(ours):
        names[path] = theirs + name[len(ours):]
  return names


def _below(variable: keras.Variable) -> str:
  return variable.path.split("/", 1)[-1]


def _variables(layers: Sequence[keras.layers.Layer], trainable: bool = False
               ) -> list[keras.Variable]:
  return [v for layer in layers for v in (layer.trainable_variables if trainable
                                          else layer.variables)]


def _network_entries(label: str, layers: Sequence[keras.layers.Layer]) -> list[_Entry]:
  names = _tf1_names(layers)
  return [_Entry(f"{label}/{_below(v)}", v, (names[v.path],)) for v in _variables(layers)]


def _ema_entries(label: str, network: keras.Model, strict: bool) -> list[_Entry]:
  """Shadow if there is one, else the raw value (modular_gan.py:268-279).

  With strict, trainable variables (the ones compare_gan averages) need their shadow.
  """
  names = _tf1_names([network])
  return [_Entry(f"{label}/{_below(v)}", v, (names[v.path] + EMA_SUFFIX, names[v.path]),
                 strict and v.trainable) for v in network.variables]


def _optimizer_entries(label: str, gan: keras.Model, layers: Sequence[keras.layers.Layer],
                       names: set[str]) -> list[_Entry]:
  """TF1 Adam m and v slots of the network's (and its heads') trainable variables -> Keras Adam's."""
  found = adam_state.slots(label, getattr(gan, label), _variables(layers, trainable=True),
                           _tf1_names(layers), names)
  return [_Entry(path, slot, (name,)) for path, slot, name in found]


def _listing(names: Sequence[str]) -> str:
  shown = ", ".join(names[:_LISTED])
  return shown + (f" and {len(names) - _LISTED} more" if len(names) > _LISTED else "")


def _resolve(entries: Sequence[_Entry], shapes: dict[str, list[int]]
             ) -> tuple[list[tuple[_Entry, str]], list[str], list[str]]:
  """(entry, chosen source name) pairs, missing names, and shape mismatches."""
  chosen, missing, mismatched = [], [], []
  for entry in entries:
    present = [name for name in entry.names if name in shapes]
    if entry.strict and entry.names[0] not in shapes:
      missing.append(entry.names[0])
    elif not present:  # the raw name, of which the others are optional shadows
      missing.append(entry.names[-1])
    if not present:
      continue
    got, want = tuple(shapes[present[0]]), tuple(entry.target.shape)
    if got != want:
      mismatched.append(f"{present[0]} has shape {got} in the checkpoint but {entry.label} "
                        f"has {want}")
    chosen.append((entry, present[0]))
  return chosen, list(dict.fromkeys(missing)), mismatched


def _apply(path: str, entries: Sequence[_Entry], allow_partial: bool
           ) -> tuple[_Reader, list[tuple[_Entry, str]], list[str]]:
  """Checks every shape and completeness, then assigns; nothing changes on error."""
  reader = tf.train.load_checkpoint(path)
  chosen, missing, mismatched = _resolve(entries, reader.get_variable_to_shape_map())
  if mismatched:
    raise ValueError(f"{path} does not fit the configured GAN (is the gin config the run's?): "
                     f"{len(mismatched)} shape mismatches: {'; '.join(mismatched[:_LISTED])}.")
  if missing and not allow_partial:
    raise ValueError(f"{path} lacks {len(missing)} variables the configured GAN needs: "
                     f"{_listing(missing)}. Refusing a partial conversion; allow_partial "
                     "(--allow_partial) keeps those at their initial values.")
  for entry, name in chosen:
    entry.target.assign(np.asarray(reader.get_tensor(name)).astype(entry.target.dtype))
  return reader, chosen, missing


def _checkpoint_prefix(path: str) -> str:
  """The checkpoint prefix of a path or directory (its newest checkpoint)."""
  if tf.io.gfile.isdir(path):
    latest = tf.train.latest_checkpoint(path)
    if latest is None:
      raise ValueError(f"{path} is a directory without a TF checkpoint index ('checkpoint').")
    return latest
  if not tf.io.gfile.exists(path + ".index"):
    raise ValueError(f"No TF1 checkpoint at {path} (no {path}.index).")
  return path


def _step(optimizer: keras.optimizers.Optimizer) -> int:
  return int(optimizer.iterations.numpy())


def _networks(gan: keras.Model) -> list[tuple[list[keras.layers.Layer], str]]:
  return [(_side(gan, "discriminator"), "d_optimizer"), (_side(gan, "generator"), "g_optimizer")]


def _report(chosen: Sequence[tuple[_Entry, str]], missing: Sequence[str],
            unmapped: Sequence[str], skipped: Sequence[str], notes: Sequence[str],
            gan: keras.Model) -> Report:
  return Report(
      mapped=tuple((entry.label, name) for entry, name in chosen),
      fallbacks=tuple(entry.label for entry, name in chosen
                      if len(entry.names) > 1 and name != entry.names[0]),
      missing=tuple(missing), unmapped=tuple(unmapped), skipped=tuple(skipped),
      notes=tuple(notes), g_step=_step(gan.g_optimizer), d_step=_step(gan.d_optimizer))


def _adam_state(gan: keras.Model, names: set[str]) -> set[str]:
  """The checkpoint's Adam slots of both networks and its beta powers."""
  trainable = [(label, [_tf1_names(layers)[v.path] for v in _variables(layers, trainable=True)])
               for layers, label in _networks(gan)]
  return adam_state.state_names(trainable, names)


def _checkpoint_entries(gan: keras.Model, include_optimizer: bool,
                        names: set[str]) -> list[_Entry]:
  """G, D, the EMA twin, the step counters and optionally the Adam slots."""
  entries = (_network_entries("generator", _side(gan, "generator"))
             + _network_entries("discriminator", _side(gan, "discriminator")))
  if gan.ema is not None:
    entries += _ema_entries("ema_generator", gan.ema.generator, strict=True)
  entries += [_Entry("d_optimizer/iterations", gan.d_optimizer.iterations, (D_STEP,)),
              _Entry("g_optimizer/iterations", gan.g_optimizer.iterations, (G_STEP,))]
  if include_optimizer:
    for layers, label in _networks(gan):
      entries += _optimizer_entries(label, gan, layers, names)
  return entries


def convert_checkpoint(tf1_checkpoint_path: str, gan: keras.Model, *,
                       include_optimizer: bool = False, allow_partial: bool = False) -> Report:
  """Loads a compare_gan TF1 checkpoint into a built compare_gan2 GAN.

  Args:
    tf1_checkpoint_path: a `model.ckpt-<step>` prefix, or a model_dir (newest).
    gan: the matching ModularGAN, compiled and built (`configurables.build_experiment()`).
    include_optimizer: also convert the Adam slots (see the module docstring).
    allow_partial: convert what is there even if variables are missing.

  Returns:
    What was mapped, missing, unmapped and skipped.

  Raises:
    ValueError: no checkpoint there, a shape mismatch (naming the variable and
      both shapes), missing variables without allow_partial, or a non-Adam
      optimizer with include_optimizer.
  """
  path = _checkpoint_prefix(tf1_checkpoint_path)
  names = set(tf.train.load_checkpoint(path).get_variable_to_shape_map())
  entries = _checkpoint_entries(gan, include_optimizer, names)
  reader, chosen, missing = _apply(path, entries, allow_partial)
  used = {name for _, name in chosen}
  beta_powers = sorted(name for name in names if adam_state.BETA_POWER.search(name))
  notes, skipped = [], []
  if include_optimizer:
    notes += adam_state.check_beta_powers(reader, beta_powers, gan)
    used |= set(beta_powers)
  else:
    skipped = sorted(_adam_state(gan, names) - used)
    if skipped and _step(gan.g_optimizer) > 0:
      notes.append("Adam moments start at zero while the step counters continue: resuming "
                   "training takes oversized first steps; convert with include_optimizer "
                   "(--include_optimizer) to resume training.")
  unmapped = sorted(names - used - set(skipped))
  if gan.ema is None and any(name.endswith(EMA_SUFFIX) for name in unmapped):
    notes.append("The checkpoint has EMA shadows but the configured GAN keeps no EMA; bind "
                 "gans.ModularGAN.ema = @gans.EmaConfig() to convert them.")
  return _report(chosen, missing, unmapped, skipped, notes, gan)


def convert_hub_module(module_dir: str, gan: keras.Model, *, allow_partial: bool = False) -> Report:
  """Loads the generator of a compare_gan TF-Hub module (TF1 format) into a built GAN.

  compare_gan exports `model_dir/tfhub/<step>` (modular_gan.py:225-306):
  `variables/variables` holds the module's variables under their
  training names, EMA shadows included when `g_use_ema` (the module samples
  with them). The GAN's sampling generator (the EMA twin if it has one, else
  the generator) gets the values the module samples with: the shadow where
  there is one, else the raw value; a GAN with a twin also gets the raw values
  in its generator. Steps and the discriminator are not converted.

  Raises:
    ValueError: not a TF1 hub module, a shape mismatch, or missing generator
      variables without allow_partial.
  """
  path = os.path.join(module_dir, "variables", "variables")
  if not tf.io.gfile.exists(path + ".index"):
    raise ValueError(f"{module_dir} is not a TF1 TF-Hub module: it has no "
                     "variables/variables.index.")
  if gan.ema is None:
    entries = _ema_entries("generator", gan.generator, strict=False)
  else:
    entries = (_network_entries("generator", [gan.generator])
               + _ema_entries("ema_generator", gan.ema.generator, strict=False))
  reader, chosen, missing = _apply(path, entries, allow_partial)
  used = {name for _, name in chosen}
  names = set(reader.get_variable_to_shape_map()) - used
  # Raw values whose shadow the generator took are deliberately left out too.
  skipped = sorted(name for name in names
                   if name.startswith("discriminator/") or name + EMA_SUFFIX in used)
  unmapped = sorted(names - set(skipped))
  notes = ["A hub module has no step counters or optimizer state; D keeps its initial "
           "weights, so the result is for sampling, evaluation and export."]
  if gan.ema is None and any(name.endswith(EMA_SUFFIX) for _, name in chosen):
    notes.append("The generator took the module's EMA shadows (what the module samples with).")
  return _report(chosen, missing, unmapped, skipped, notes, gan)


def check_model_dir(model_dir: str, overwrite: bool = False) -> list[str]:
  """The ckpt-* files of model_dir, which only overwrite lets `write` replace.

  Raises:
    ValueError: model_dir has checkpoints and not overwrite.
  """
  # The runner also resumes from ckpt-* files its index does not list.
  existing = [name for name in tf.io.gfile.glob(os.path.join(model_dir, "ckpt-*"))
              if _CHECKPOINT_FILE.match(os.path.basename(name))]
  if existing and not overwrite:
    steps = sorted({int(_CHECKPOINT_FILE.match(os.path.basename(name)).group(1))
                    for name in existing})
    raise ValueError(f"{model_dir} already has checkpoints (steps "
                     f"{', '.join(map(str, steps))}); the runner would resume from those. "
                     "Choose a new model_dir or overwrite them (--overwrite).")
  return existing


def write(gan: keras.Model, model_dir: str, step: int | None = None, *,
          overwrite: bool = False) -> str:
  """Saves the GAN as compare_gan2 checkpoint model_dir/ckpt-<step>; returns its path.

  The runner resumes from it and evaluation reads it (compare_gan2.checkpoints).

  Args:
    gan: the converted GAN.
    model_dir: the output directory.
    step: the checkpoint number; must be the G step (default: g_optimizer.iterations).
    overwrite: delete the ckpt-* files model_dir already has (and its index, TRAIN_DONE).

  Raises:
    ValueError: model_dir has checkpoints (without overwrite), or step is not the G step.
  """
  g_step = _step(gan.g_optimizer)
  if step is not None and step != g_step:
    raise ValueError(f"step {step} is not the GAN's G step {g_step} (g_optimizer.iterations), "
                     "which the runner resumes from.")
  for name in check_model_dir(model_dir, overwrite):
    tf.io.gfile.remove(name)
  if overwrite and tf.io.gfile.exists(index := os.path.join(model_dir, "checkpoint")):
    tf.io.gfile.remove(index)
    checkpoints.mark_training_done(model_dir, done=False)
  tf.io.gfile.makedirs(model_dir)
  return checkpoints.make_manager(gan, model_dir).save(checkpoint_number=g_step)
