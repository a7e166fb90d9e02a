r"""Prints a generator's and a discriminator's variables in compare_gan's naming.

    compare_gan2_model_summary --gin_config=gin_configs/imagenet128/biggan.gin
    compare_gan2_model_summary \
      --generator='@resnet_biggan.Generator()' \
      --discriminator='@resnet_biggan.Discriminator()' \
      [--gin_config=my_experiment.gin] \
      [--gin_bindings='resnet_biggan.Generator.image_shape = (128, 128, 3)']

Without --generator / --discriminator the networks are the experiment's: the
GAN that `train_lib.train.gan` binds (a compare_gan2 file, or a compare_gan
file, translated as the runner does), built as training builds it, with the
variant's heads on D (SSGAN's rotation head, S3GAN's classifier). A flag
given replaces that network.

For each network: one row per variable (compare_gan's TF1 name, shape, size,
trainable), the trainable and total parameter counts, and the output shapes
(from a traced call: nothing is computed, so 512 px BigGANs print in seconds).
Architectures are built from shapes alone. An unsupported resolution, option
or gin name, or a config that binds no GAN when a flag is missing, exits with
status 1 and a one-paragraph message (2 for bad flags).
"""

import os
import sys
from collections.abc import Sequence

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402
import gin  # noqa: E402
import numpy as np  # noqa: E402

from . import cli  # noqa: E402

# Its own flag registry, not absl's global FLAGS: tools share flag names
# (--gin_config, --batch_size) and may be imported into one process.
FLAGS = flags.FlagValues()
_GIN_CONFIG = flags.DEFINE_multi_string("gin_config", [], "gin files, applied in order.",
                                        flag_values=FLAGS)
_GIN_BINDINGS = flags.DEFINE_multi_string("gin_bindings", [], "One-line gin bindings.",
                                          flag_values=FLAGS)
_GENERATOR = flags.DEFINE_string(
    "generator", None, "gin reference building the generator, e.g. '@resnet_cifar.Generator()'; "
    "default: the generator of the GAN train_lib.train.gan binds.", flag_values=FLAGS)
_DISCRIMINATOR = flags.DEFINE_string(
    "discriminator", None, "gin reference building the discriminator; default: the "
    "discriminator of the GAN train_lib.train.gan binds.", flag_values=FLAGS)
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 2, "Batch size of the printed output shapes.",
                                   flag_values=FLAGS)

_GAN = "train_lib.train.gan"


@gin.register("networks", module="model_summary")
def _networks(generator=None, discriminator=None):
  # The flags bind these two to gin references, so gin builds the networks
  # with every binding of the experiment applied.
  return generator, discriminator


def _table(layers: list) -> list[str]:
  """One row per variable of a network and the heads its optimizer also trains."""
  from compare_gan2.architectures import base  # pylint: disable=g-import-not-at-top
  rows = []
  for layer in layers:
    names = base.compare_gan_names(layer)
    trainable = {id(v) for v in layer.trainable_variables}
    rows += [(names[v.path], tuple(v.shape), int(np.prod(v.shape)), id(v) in trainable)
             for v in layer.variables]
  width = max(len(r[0]) for r in rows)
  lines = [f"{'variable (compare_gan name)':<{width}}  {'shape':<22} {'size':>11}  trainable"]
  lines += [f"{name:<{width}}  {str(shape):<22} {size:>11,}  {'yes' if t else 'no'}"
            for name, shape, size, t in rows]
  total = sum(r[2] for r in rows)
  n_trainable = sum(r[2] for r in rows if r[3])
  lines.append(f"trainable parameters: {n_trainable:,}   all variables: {total:,}")
  return lines


def _output_shapes(network, inputs_shape: tuple, batch_size: int, conditional: bool) -> str:
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  specs = [tf.TensorSpec((batch_size, *inputs_shape), tf.float32)]
  if conditional:
    specs.append(tf.TensorSpec((batch_size, network.num_classes), tf.float32))
  traced = tf.function(lambda *args: network(*args, training=False))
  outputs = traced.get_concrete_function(*specs).structured_outputs
  shapes = tf.nest.map_structure(lambda t: tuple(t.shape), outputs)
  return f"input {[tuple(s.shape) for s in specs]} -> output {shapes}"


def _experiment_gan(missing: str):
  """The GAN the experiment binds, whose networks replace the missing flags."""
  from compare_gan2 import configurables  # pylint: disable=g-import-not-at-top
  try:
    gin.query_parameter(_GAN)
  except ValueError as e:
    raise ValueError(
        f"{missing} not given, and the gin config binds no {_GAN} (the experiment's GAN, "
        "whose networks are shown by default): pass --generator and --discriminator (gin "
        "references such as '@resnet_cifar.Generator()'), or the --gin_config of an "
        "experiment.") from e
  return configurables.bound(_GAN)


def _networks_to_show(generator_ref: str | None, discriminator_ref: str | None) -> list:
  """[(label, network, conditional, heads)] for G and D, built, from the flags or the
  experiment (whose D comes with the heads the GAN owns on D's side)."""
  generator, discriminator = gin.get_configurable("model_summary.networks")()
  missing = [f"--{name}" for name, ref in (("generator", generator_ref),
                                            ("discriminator", discriminator_ref)) if not ref]
  gan = _experiment_gan(" and ".join(missing)) if missing else None
  # Flag-built networks take labels when they have classes; the experiment's
  # take them as its GAN feeds them (ModularGAN.build_networks).
  shown = [(label, own or getattr(gan, label),
            own.num_classes > 0 if own is not None else gan.conditional)
           for label, own in (("generator", generator), ("discriminator", discriminator))]
  for _, network, conditional in shown:
    network.build_variables(conditional=conditional)
  heads = []
  if gan is not None and discriminator is None:
    gan.build_heads()  # the GAN's heads on D's side (a rotation task's, S3GAN's classifier)
    heads = gan.discriminator_heads()
  return [(*shown[0], []), (*shown[1], heads)]


def summarize(generator_ref: str | None = None, discriminator_ref: str | None = None,
              gin_files: Sequence[str] = (), bindings: Sequence[str] = (),
              batch_size: int = 2) -> str:
  """Builds both networks from gin and returns the summary text.

  A network whose reference is None is the one of the GAN the gin config
  binds to `train_lib.train.gan`.

  Raises:
    compare_gan2.configurables.GinConfigError: bad gin file, name or binding.
    ValueError: an unsupported resolution or option of an architecture, or a
      missing reference with no `train_lib.train.gan` bound.
  """
  from compare_gan2 import configurables  # pylint: disable=g-import-not-at-top
  refs = [f"model_summary.networks.{name} = {ref}"
          for name, ref in (("generator", generator_ref), ("discriminator", discriminator_ref))
          if ref]
  gin.clear_config()  # the tool owns gin: a second call in one process starts clean
  configurables.parse_experiment_files(gin_files, [*bindings, *refs])
  lines = []
  for label, network, conditional, heads in _networks_to_show(generator_ref, discriminator_ref):
    inputs_shape = (network.z_dim,) if label == "generator" else network.image_shape
    lines += [f"== {label}: {type(network).__module__}.{type(network).__name__} "
              f"(image {'x'.join(map(str, network.image_shape))}, classes {network.num_classes})"]
    lines += _table([network, *heads])
    lines += [_output_shapes(network, inputs_shape, batch_size, conditional), ""]
  return "\n".join(lines)


def _body() -> None:
  print(summarize(_GENERATOR.value, _DISCRIMINATOR.value, _GIN_CONFIG.value,
                  _GIN_BINDINGS.value, _BATCH_SIZE.value))


def main(argv: Sequence[str] | None = None) -> int:
  """Prints the summary; 1 with a one-paragraph error, 2 on bad flags."""
  # GinConfigError is a ValueError too.
  return cli.main("model_summary", __doc__, FLAGS, argv, _body)


def run() -> None:
  """Console-script entry point."""
  cli.setup_console()
  sys.exit(main())


if __name__ == "__main__":
  run()
