"""Where a compare_gan TF1 checkpoint keeps its Adam state, and its Keras 3 Adam twin.

compare_gan names its optimizers: `name="d_opt"` for D and `name="g_opt"`
for G (github.com/google/compare_gan gans/modular_gan.py:607, :613), and
tf.compat.v1.train.AdamOptimizer names the slots of a variable `<var>` after
its optimizer: m is `<var>/<name>` and v is `<var>/<name>_1` (`<var>/Adam`
and `<var>/Adam_1` for an optimizer left at its default name). The beta
powers `beta1_power` and `beta2_power` are plain variables in the name scope
the update was built in: compare_gan's model_fn (modular_gan.py:549-585)
builds D's in `disc_step_1/` and G's in `gen_step/` (`gen_step/cond/` when
G's update sits in the TF1 tf.cond that skips it between D steps); two
optimizers built at top level have `beta1_power` and `beta1_power_1`.

The optimizer name is read from the checkpoint, per network: the suffix s
with `<var>/s` and `<var>/s_1` present for the network's trainable
variables. So compare_gan's own checkpoints, default-named ones and renamed
optimizers all convert.
"""

import collections
import re
from collections.abc import Collection, Sequence
from typing import Any

import keras
import numpy as np

# compare_gan2 optimizer attribute -> compare_gan's TF1 optimizer name.
COMPARE_GAN_NAMES = {"d_optimizer": "d_opt", "g_optimizer": "g_opt"}
BETA_POWER = re.compile(r"(^|/)beta[12]_power(_\d+)?$")
_SHADOW = "ExponentialMovingAverage"
_Reader = Any  # tf.train.load_checkpoint's type


def optimizer_name(label: str, variables: Sequence[str], names: Collection[str]) -> str:
  """The TF1 optimizer name whose (m, v) slots the checkpoint holds for `variables`.

  Args:
    label: "d_optimizer" or "g_optimizer".
    variables: TF1 names of the network's trainable variables.
    names: every variable name in the checkpoint.

  Returns:
    The name; compare_gan's for `label` when no variable has slots (the
    conversion then reports them missing under that name).

  Raises:
    ValueError: slots of more than one optimizer name (the names listed).
  """
  children = collections.defaultdict(set)
  for name in names:
    parent, _, child = name.rpartition("/")
    children[parent].add(child)
  found = collections.Counter()
  for variable in variables:
    below = children.get(variable, set())
    found.update(s for s in below if s + "_1" in below and s != _SHADOW)
  if len(found) > 1:
    raise ValueError(f"The {label}'s variables have Adam slots of {len(found)} optimizer "
                     f"names ({', '.join(sorted(found))}); expected one, e.g. "
                     f"'<var>/{COMPARE_GAN_NAMES[label]}' and '<var>/{COMPARE_GAN_NAMES[label]}_1'.")
  return next(iter(found), COMPARE_GAN_NAMES[label])


def slots(label: str, optimizer: keras.optimizers.Optimizer, trainable: Sequence[keras.Variable],
          tf1_names: dict[str, str], names: Collection[str]
          ) -> list[tuple[str, keras.Variable, str]]:
  """(label path, Keras Adam slot, checkpoint name) for m and v of each trainable variable.

  `trainable`: what the optimizer trains (for D: D's variables, then the GAN's heads').

  Raises:
    ValueError: the optimizer is no Keras Adam (amsgrad=False) or is not
      built for the network, or the checkpoint is ambiguous.
  """
  if not isinstance(optimizer, keras.optimizers.Adam) or optimizer.amsgrad:
    raise ValueError(f"include_optimizer converts TF1 Adam slots into keras.optimizers.Adam "
                     f"(amsgrad=False); the {label} is {type(optimizer).__name__}.")
  tf1_name = optimizer_name(label, [tf1_names[v.path] for v in trainable], names)
  result = []
  for variable in trainable:
    try:
      index = optimizer._get_variable_index(variable)  # pylint: disable=protected-access
    except KeyError as e:
      raise ValueError(f"The {label} was not built for {variable.path}: call "
                       "gan.build_networks() before converting.") from e
    below = variable.path.split("/", 1)[-1]
    # Keras Adam keeps its slots in these lists, in the order of _get_variable_index.
    for kind, kept, suffix in (("momentum", optimizer._momentums, ""),  # pylint: disable=protected-access
                               ("velocity", optimizer._velocities, "_1")):  # pylint: disable=protected-access
      result.append((f"{label}/{below}/{kind}", kept[index],
                     f"{tf1_names[variable.path]}/{tf1_name}{suffix}"))
  return result


def state_names(networks: Sequence[tuple[str, Sequence[str]]], names: Collection[str]
                ) -> set[str]:
  """The checkpoint's Adam slots (per (label, trainable TF1 names)) and beta powers."""
  state = {name for name in names if BETA_POWER.search(name)}
  for label, variables in networks:
    tf1_name = optimizer_name(label, variables, names)
    state |= {f"{v}/{tf1_name}{suffix}" for v in variables for suffix in ("", "_1")}
  return state & set(names)


def check_beta_powers(reader: _Reader, names: Sequence[str], gan: keras.Model) -> list[str]:
  """Notes the beta powers that are no β^(n+1) of the converted step counters.

  Keras Adam derives β^(iterations+1) from the counters, so the powers add
  nothing but this check (TF1 keeps β^(n+1) after n updates).
  """
  expected, steps = [], []
  for optimizer in (gan.d_optimizer, gan.g_optimizer):
    n = int(optimizer.iterations.numpy())
    steps.append(n)
    expected += [float(optimizer.beta_1) ** (n + 1), float(optimizer.beta_2) ** (n + 1)]
  notes = []
  for name in names:
    value = float(reader.get_tensor(name))
    if not np.isclose(value, expected, rtol=1e-2, atol=1e-30).any():
      notes.append(f"{name} = {value:.6g} is no β^(n+1) of the converted step counters "
                   f"(D n = {steps[0]}, G n = {steps[1]}, betas from the gin config); Keras "
                   "Adam derives its bias correction from those counters, so check the "
                   "config's Adam betas.")
  return notes
