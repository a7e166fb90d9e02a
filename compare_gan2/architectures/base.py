"""The generator/discriminator contract every architecture follows.

compare_gan `architectures/abstract_arch.py:49-146`:

- A generator maps (z [B, z_dim], y [B, num_classes] one-hot or None) to images
  [B, H, W, C] in [0, 1].
- A discriminator maps (images in [0, 1], y or None) to
  `DiscriminatorOutput(probabilities, logits, features)`: probabilities =
  sigmoid(logits), logits [B, 1], features the penultimate representation that
  self-supervised and semi-supervised heads attach to.

The options compare_gan sets through `G.*` / `D.*` (batch_norm_fn, spectral_norm,
layer_norm) and `weights.initializer` are constructor arguments here, bound in
gin on the consuming class (`resnet_cifar.Generator.batch_norm = @ops.BatchNorm`).
A batch-norm variant is a class: `ops.BatchNorm`, `ops.ConditionalBatchNorm`
(from y), `ops.SelfModulatedBatchNorm` (from z), or None; bindings on that class
(`ops.BatchNorm.decay = 0.9`) configure every norm layer it creates, and
`ops.BatchNorm.*` also configure the norms a family fixes (InfoGAN G's, BigGAN's
`final_norm`). `spectral_norm = True` is `ops.SpectralNormConfig()` with its
bindings. Layers are built through `normalization.configured` and
`SpectralNormConfig.resolve`, so gin settings reach every norm and SN layer.

Variable paths follow compare_gan's scopes (`generator/B1/up_conv1/kernel`);
see docs in each family module and `compare_gan_names` for the mechanical map.
"""

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import keras
import tensorflow as tf

from compare_gan2.ops import initializers
from compare_gan2.ops import layer_norm as layer_norm_lib
from compare_gan2.ops import layers
from compare_gan2.ops import normalization

NormClass = type | None
InitializerArg = str | keras.initializers.Initializer


class DiscriminatorOutput(NamedTuple):
  """What every discriminator returns (compare_gan's 3-tuple, named)."""
  probabilities: tf.Tensor
  logits: tf.Tensor
  features: tf.Tensor


def resolve_initializer(initializer: InitializerArg) -> keras.initializers.Initializer:
  """A compare_gan `weights.initializer` name or a Keras initializer object."""
  if isinstance(initializer, str):
    return initializers.weight_initializer(initializer)
  return keras.initializers.get(initializer)


def make_norm(norm_class: NormClass, name: str, spectral_norm: layers.SpectralNormArg = False,
              kernel_initializer: Any = None) -> keras.layers.Layer | None:
  """Creates one norm layer of the configured variant, or None for no norm.

  Modulated norms get the network's spectral norm and initializer for their
  projections, as compare_gan's dispatcher passes `use_sn` (abstract_arch.py:76-83).
  """
  if norm_class is None:
    return None
  make = normalization.configured(norm_class)
  if issubclass(norm_class, normalization.ModulatedBatchNorm):
    return make(name=name, spectral_norm=spectral_norm, kernel_initializer=kernel_initializer)
  return make(name=name)


def make_plain_norm(norm_class: NormClass, name: str) -> normalization.BatchNorm:
  """A batch norm with gamma and beta that ignores z and y (compare_gan's `batch_norm`).

  For the norms compare_gan creates whatever `batch_norm_fn` says: InfoGAN G's
  g_bn* (infogan.py:53-59) and BigGAN's `final_norm` (resnet_biggan.py:295).
  compare_gan's `standardize_batch.*` reach them as every other BN; here they
  are the network's norm class when that is a plain BatchNorm (its bindings and
  gin scope), otherwise `ops.BatchNorm`, either as gin configures it.
  """
  plain = (norm_class if norm_class is not None
           and issubclass(norm_class, normalization.BatchNorm)
           and not issubclass(norm_class, normalization.ModulatedBatchNorm)
           else normalization.BatchNorm)
  # center/scale explicit: compare_gan's batch_norm always learns both, and
  # explicit arguments win over gin bindings.
  return normalization.configured(plain)(center=True, scale=True, name=name)


def make_layer_norm(name: str) -> layer_norm_lib.LayerNorm:
  """A layer norm (`D.layer_norm`), with the `ops.LayerNorm.*` bindings."""
  return normalization.configured(layer_norm_lib.LayerNorm)(name=name)


def build_norm(norm: keras.layers.Layer | None, inputs_shape: Sequence[int | None],
               z_shape: Sequence[int | None] | None, y_shape: Sequence[int | None] | None) -> None:
  """Builds a norm layer with the shape of the conditioning it will receive."""
  if norm is None:
    return
  if isinstance(norm, normalization.ModulatedBatchNorm):
    condition_shape = {"y": y_shape, "z": z_shape}[norm.condition_name]
    if condition_shape is None:
      raise ValueError(f"{norm.name} ({type(norm).__name__}) needs {norm.condition_name}; "
                       f"the network was built without it.")
    norm.build(tuple(inputs_shape), tuple(condition_shape))
  else:
    norm.build(tuple(inputs_shape))


def build_layers_then_norms(pairs: Sequence[tuple[keras.layers.Layer, keras.layers.Layer | None]],
                            inputs_shape: Sequence[int | None],
                            z_shape: Sequence[int | None] | None,
                            y_shape: Sequence[int | None] | None) -> tuple:
  """Builds (layer, norm or None) pairs in sequence, each norm on its layer's output.

  Returns:
    The output shape of the last layer.
  """
  shape = tuple(inputs_shape)
  for layer, norm in pairs:
    layer.build(shape)
    shape = layer.compute_output_shape(shape)
    build_norm(norm, shape, z_shape, y_shape)
  return shape


def apply_norm(norm: keras.layers.Layer | None, x: tf.Tensor, z: tf.Tensor | None,
               y: tf.Tensor | None, training: bool) -> tf.Tensor:
  """Runs a norm layer with the conditioning it declares; identity for None."""
  if norm is None:
    return x
  if isinstance(norm, normalization.ModulatedBatchNorm):
    return norm(x, norm.select_condition(z=z, y=y), training=training)
  return norm(x, training=training)


class Network(keras.Model):
  """Shared constructor arguments and checks of generators and discriminators."""

  # Square resolutions a family supports; None means any size.
  RESOLUTIONS: tuple[int, ...] | None = None

  def __init__(self, image_shape: Sequence[int] = (32, 32, 3), num_classes: int = 0,
               batch_norm: NormClass = None, spectral_norm: layers.SpectralNormArg = False,
               kernel_initializer: InitializerArg = "normal", **kwargs):
    super().__init__(**kwargs)
    self.batch_norm = batch_norm
    self.image_shape = tuple(int(d) for d in image_shape)
    if len(self.image_shape) != 3:
      raise ValueError(f"{type(self).__qualname__}: image_shape must be (H, W, C), "
                       f"got {tuple(image_shape)}.")
    self.check_resolution(self.image_shape)
    self.num_classes = num_classes
    self.spectral_norm = layers.sn.SpectralNormConfig.resolve(spectral_norm)
    self.kernel_initializer_arg = kernel_initializer
    self.kernel_initializer = resolve_initializer(kernel_initializer)

  @classmethod
  def check_resolution(cls, image_shape: tuple[int, int, int]) -> None:
    """Raises ValueError naming the supported sizes for an unsupported shape."""
    height, width, _ = image_shape
    if cls.RESOLUTIONS is not None and (height != width or height not in cls.RESOLUTIONS):
      raise ValueError(
          f"{cls.__module__.rsplit('.', 1)[-1]}.{cls.__name__} supports square images of "
          f"{', '.join(map(str, cls.RESOLUTIONS))} px; got {height}x{width}.")

  def norm(self, name: str) -> keras.layers.Layer | None:
    """A norm layer of the configured variant, with this network's SN and initializer."""
    return make_norm(self.batch_norm, name, self.spectral_norm, self.kernel_initializer)

  def plain_norm(self, name: str) -> normalization.BatchNorm:
    """One of the network's fixed, unconditional batch norms (`make_plain_norm`)."""
    return make_plain_norm(self.batch_norm, name)

  def input_shape_for(self, batch_size: int) -> tuple[int, ...]:
    """Shape of the main input (z or images) for a batch."""
    raise NotImplementedError  # Abstract: generators take z, discriminators images.

  def build_variables(self, batch_size: int = 1, conditional: bool | None = None) -> None:
    """Creates all weights from shapes alone (no forward pass).

    Args:
      batch_size: batch dimension of the shapes passed to `build`.
      conditional: pass a y shape; defaults to num_classes > 0.
    """
    conditional = self.num_classes > 0 if conditional is None else conditional
    self.build(self.input_shape_for(batch_size),
               (batch_size, self.num_classes) if conditional else None)

  def parameter_count(self) -> int:
    """Trainable parameters, the count compare_gan's tests and papers report.

    Excludes what is not trained: moving statistics, spectral norm's u vectors.

    Raises:
      ValueError: if the network is not built yet (it has no weights to count).
    """
    if not self.built:
      raise ValueError(f"{self.name}: build it first (build_variables) to count its parameters.")
    return sum(math.prod(v.shape) for v in self.trainable_weights)

  @classmethod
  def from_config(cls, config: dict[str, Any]) -> "Network":
    """Inverse of get_config (the norm class is stored by its registered name)."""
    return cls(**{**config, "batch_norm": deserialize_norm_class(config.get("batch_norm"))})

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    initializer = self.kernel_initializer_arg
    return {**super().get_config(), "image_shape": self.image_shape,
            "num_classes": self.num_classes, "batch_norm": serialize_norm_class(self.batch_norm),
            "spectral_norm": self.spectral_norm.to_dict() if self.spectral_norm else False,
            "kernel_initializer": (initializer if isinstance(initializer, str)
                                   else keras.initializers.serialize(initializer))}


def conv_out_size_same(size: int, divisor: int) -> int:
  """ceil(size / divisor): a side after log2(divisor) stride-2 SAME convs (dcgan.py:35)."""
  return -(-size // divisor)


def scaled_size(image_shape: Sequence[int], divisor: int) -> tuple[int, int]:
  """(s_k(H), s_k(W)) for k = divisor: `conv_out_size_same` on each side."""
  return conv_out_size_same(image_shape[0], divisor), conv_out_size_same(image_shape[1], divisor)


def check_positive_size(cls: type, image_shape: tuple[int, int, int]) -> None:
  """Raises ValueError unless every side of `image_shape` is positive (DCGAN, SNDCGAN)."""
  if min(image_shape) < 1:
    raise ValueError(f"{cls.__module__.rsplit('.', 1)[-1]}.{cls.__name__} supports any "
                     f"H x W x C with positive sizes; got {image_shape}.")


def discriminator_output(logits: tf.Tensor, features: tf.Tensor) -> DiscriminatorOutput:
  """Packs logits [B, 1] and features into compare_gan's (sigmoid, logits, features).

  Logits (and so probabilities and the GAN losses) are float32 under a mixed
  dtype policy too (compare_gan2.precision); features keep the compute dtype.
  """
  logits = tf.cast(logits, tf.float32)  # a no-op for float32
  return DiscriminatorOutput(tf.sigmoid(logits), logits, features)


def project_labels(logits: tf.Tensor, embedding: tf.Tensor, features: tf.Tensor) -> tf.Tensor:
  """Projection discriminator term (Miyato & Koyama 2018, eq. 3): logits + Σ e(y)·h."""
  return logits + tf.reduce_sum(embedding * features, axis=1, keepdims=True)


class GeneratorBase(Network):
  """Base of every generator: adds z_dim.

  Subclasses implement `build(z_shape, y_shape=None)`, creating every sublayer's
  weights from shapes alone in compare_gan's creation order (so full-size
  models can be counted without a forward pass), and `call(z, y, training)`.
  """

  def __init__(self, z_dim: int = 128, **kwargs):
    kwargs.setdefault("name", "generator")
    super().__init__(**kwargs)
    self.z_dim = z_dim

  def input_shape_for(self, batch_size: int) -> tuple[int, ...]:
    """z's shape for a batch."""
    return (batch_size, self.z_dim)

  def check_z_dim(self, z_shape: Sequence[int | None]) -> None:
    """Raises ValueError if z's last dimension is not `z_dim` (DCGAN-style G)."""
    if z_shape[-1] != self.z_dim:
      raise ValueError(f"{self.name}: z has {z_shape[-1]} features, z_dim is {self.z_dim}.")

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    return {**super().get_config(), "z_dim": self.z_dim}


class DiscriminatorBase(Network):
  """Base of every discriminator: adds layer norm (D blocks pass no z to norms).

  Subclasses implement `build(images_shape, y_shape=None)` and
  `call(images, y, training)` returning `discriminator_output(...)`.
  """

  def __init__(self, layer_norm: bool = False, **kwargs):
    kwargs.setdefault("name", "discriminator")
    super().__init__(**kwargs)
    self.layer_norm = layer_norm

  def input_shape_for(self, batch_size: int) -> tuple[int, ...]:
    """The images' shape for a batch."""
    return (batch_size, *self.image_shape)

  def check_image_size(self, images_shape: Sequence[int | None]) -> None:
    """Raises ValueError unless images are [B, *image_shape] (DCGAN-style D)."""
    if tuple(images_shape[1:]) != self.image_shape:
      raise ValueError(f"{self.name} was made for {self.image_shape} images, "
                       f"got shape {tuple(images_shape)}.")

  def get_config(self) -> dict[str, Any]:
    """Constructor arguments, for `from_config` and Keras serialization."""
    return {**super().get_config(), "layer_norm": self.layer_norm}


def serialize_norm_class(cls: NormClass) -> str | None:
  """The registered Keras name of a norm class (gin's wrapper subclass resolves to it)."""
  # gin hands over its configurable subclass; the registered Keras class is its base.
  while cls is not None and not keras.saving.get_registered_object(
      keras.saving.get_registered_name(cls)):
    cls = cls.__bases__[0]
  return None if cls is None else keras.saving.get_registered_name(cls)


def deserialize_norm_class(name: "str | NormClass") -> NormClass:
  """The norm class stored by get_config (inverse of `serialize_norm_class`).

  A class passes through unchanged, so a config can carry the very class object
  (e.g. gin's configured subclass) when an exact twin is needed.
  """
  if name is None or isinstance(name, type):
    return name
  return keras.saving.get_registered_object(name)


# Keras forbids "/" in a variable name, so a few compare_gan scopes collapse
# into the variable name; these suffixes restore them (arch_ops.py:66-535).
_SUFFIX_MAP = {"u_var": "kernel/u_var", "accu_mean": "accu/accu_mean",
               "accu_variance": "accu/accu_variance", "accu_counter": "accu/accu_counter",
               "update_accus": "accu/update_accus"}


def _tf1_leaf(path: str) -> str:
  head, _, leaf = path.rpartition("/")
  leaf = _SUFFIX_MAP.get(leaf, leaf)
  return f"{head}/{leaf}" if head else leaf


def compare_gan_names(model: keras.layers.Layer) -> dict[str, str]:
  """Maps each variable path of a built network to compare_gan's TF1 name.

  The rules are mechanical: layer names already are compare_gan's scope names,
  `<layer>/u_var` becomes `<layer>/kernel/u_var`, standing-statistics variables
  gain the `accu/` scope, and the projections of conditional / self-modulated
  norms gain the `condition/` / `sbn/` scope. Names carry no ":0" suffix.
  """
  names = {v.path: _tf1_leaf(v.path) for v in model.variables}
  for layer in model._flatten_layers(include_self=True, recursive=True):  # pylint: disable=protected-access
    if isinstance(layer, normalization.ConditionalBatchNorm):
      scope = "condition"
    elif isinstance(layer, normalization.SelfModulatedBatchNorm):
      scope = "sbn"
    else:
      continue
    own = {id(v) for v in layer._trainable_variables + layer._non_trainable_variables}  # pylint: disable=protected-access
    for variable in layer.variables:
      if id(variable) not in own:  # a projection's variable, under the norm's path
        relative = names[variable.path][len(layer.path) + 1:]
        names[variable.path] = f"{layer.path}/{scope}/{relative}"
  return names
