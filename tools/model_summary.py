r"""Prints a generator's and a discriminator's variables in compare_gan's naming.

    compare_gan2_model_summary \
      --generator='@resnet_biggan.Generator()' \
      --discriminator='@resnet_biggan.Discriminator()' \
      --gin_config=my_experiment.gin \
      --gin_bindings='resnet_biggan.Generator.image_shape = (128, 128, 3)'

For each network: one row per variable (compare_gan's TF1 name, shape, size,
trainable), the trainable and total parameter counts, and the output shapes
(from a traced call: nothing is computed, so 512 px BigGANs print in seconds).
Architectures are built from shapes alone. An unsupported resolution, option
or gin name exits with status 1 and a one-paragraph message.
"""

import os
import sys
from collections.abc import Sequence

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402
from absl import flags  # noqa: E402
import gin  # noqa: E402
import numpy as np  # noqa: E402

from . import cli  # noqa: E402

_GIN_CONFIG = flags.DEFINE_multi_string("gin_config", [], "gin files, applied in order.")
_GIN_BINDINGS = flags.DEFINE_multi_string("gin_bindings", [], "One-line gin bindings.")
_GENERATOR = flags.DEFINE_string(
    "generator", None, "gin reference building the generator, e.g. '@resnet_cifar.Generator()'.")
_DISCRIMINATOR = flags.DEFINE_string(
    "discriminator", None, "gin reference building the discriminator.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 2, "Batch size of the printed output shapes.")
cli.define_verbose(flags.FLAGS)


@gin.register("networks", module="model_summary")
def _networks(generator=None, discriminator=None):
  # The flags bind these two to gin references, so gin builds the networks
  # with every binding of the experiment applied.
  return generator, discriminator


def _table(network) -> list[str]:
  from compare_gan2.architectures import base  # pylint: disable=g-import-not-at-top
  names = base.compare_gan_names(network)
  trainable = {id(v) for v in network.trainable_variables}
  rows = [(names[v.path], tuple(v.shape), int(np.prod(v.shape)), id(v) in trainable)
          for v in network.variables]
  width = max(len(r[0]) for r in rows)
  lines = [f"{'variable (compare_gan name)':<{width}}  {'shape':<22} {'size':>11}  trainable"]
  lines += [f"{name:<{width}}  {str(shape):<22} {size:>11,}  {'yes' if t else 'no'}"
            for name, shape, size, t in rows]
  total = sum(r[2] for r in rows)
  n_trainable = sum(r[2] for r in rows if r[3])
  lines.append(f"trainable parameters: {n_trainable:,}   all variables: {total:,}")
  return lines


def _output_shapes(network, inputs_shape: tuple, batch_size: int) -> str:
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  specs = [tf.TensorSpec((batch_size, *inputs_shape), tf.float32)]
  if network.num_classes:
    specs.append(tf.TensorSpec((batch_size, network.num_classes), tf.float32))
  traced = tf.function(lambda *args: network(*args, training=False))
  outputs = traced.get_concrete_function(*specs).structured_outputs
  shapes = tf.nest.map_structure(lambda t: tuple(t.shape), outputs)
  return f"input {[tuple(s.shape) for s in specs]} -> output {shapes}"


def summarize(generator_ref: str, discriminator_ref: str, gin_files: Sequence[str] = (),
              bindings: Sequence[str] = (), batch_size: int = 2) -> str:
  """Builds both networks from gin and returns the summary text.

  Raises:
    compare_gan2.configurables.GinConfigError: bad gin file, name or binding.
    ValueError: an unsupported resolution or option of an architecture.
  """
  from compare_gan2 import configurables  # pylint: disable=g-import-not-at-top
  configurables.parse_gin(gin_files, [*bindings,
                                      f"model_summary.networks.generator = {generator_ref}",
                                      f"model_summary.networks.discriminator = {discriminator_ref}"])
  generator, discriminator = gin.get_configurable("model_summary.networks")()
  lines = []
  for label, network, inputs_shape in (("generator", generator, (generator.z_dim,)),
                                       ("discriminator", discriminator, discriminator.image_shape)):
    network.build_variables()
    lines += [f"== {label}: {type(network).__module__}.{type(network).__name__} "
              f"(image {'x'.join(map(str, network.image_shape))}, classes {network.num_classes})"]
    lines += _table(network)
    lines += [_output_shapes(network, inputs_shape, batch_size), ""]
  return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
  """Prints the summary, or a one-paragraph error and status 1."""
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  if not _GENERATOR.value or not _DISCRIMINATOR.value:
    raise app.UsageError("--generator and --discriminator are required "
                         "(gin references such as '@resnet_cifar.Generator()').")
  try:
    print(summarize(_GENERATOR.value, _DISCRIMINATOR.value, _GIN_CONFIG.value,
                    _GIN_BINDINGS.value, _BATCH_SIZE.value))
  except ValueError as e:  # GinConfigError is a ValueError too.
    print(f"model_summary: {e}", file=sys.stderr)
    return 1
  return 0


def run() -> None:
  """Console-script entry point."""
  cli.setup_console()
  app.run(main)


if __name__ == "__main__":
  run()
