"""InfoGAN generator and discriminator (Chen et al. 2016, arXiv:1606.03657).

Port of compare_gan `architectures/infogan.py:35-100`,
the MNIST-style InfoGAN networks without the latent-code head:

G (infogan.py:38-62), lrelu leak 0.2 everywhere:
  z -> g_fc1 linear 1024, g_bn1, lrelu
    -> g_fc2 linear 128·(H/4)·(W/4), g_bn2 (per feature, on the rank-2 tensor), lrelu
    -> reshape [B, H/4, W/4, 128] -> g_dc3 4x4/2 -> [B, H/2, W/2, 64], g_bn3, lrelu
    -> g_dc4 4x4/2 -> [B, H, W, colors] -> sigmoid.
  The three g_bn* are ALWAYS batch norm with gamma and beta: compare_gan calls
  `arch_ops.batch_norm` directly and ignores `G.batch_norm_fn`. Here they are
  `base.make_plain_norm`: the `ops.BatchNorm.*` bindings (decay, epsilon,
  standing statistics) reach them, as compare_gan's `standardize_batch.*` do,
  with or without a `batch_norm` (a plain `BatchNorm` class given there is used
  instead, with its bindings). center and scale are forced on. G gets no
  spectral norm; y is ignored (`del y`, infogan.py:50).

D (infogan.py:68-100), lrelu leak 0.2:
  d_conv1 4x4/2 64, lrelu -> d_conv2 4x4/2 128, d_bn2, lrelu -> flatten
    -> d_fc3 linear 1024, d_bn3, lrelu -> d_fc4 linear 1 (the logit).
  Spectral norm (if set) on every conv and linear; d_bn2 / d_bn3 are the
  configured `batch_norm` (d_bn3 per feature on [B, 1024]); `layer_norm` is
  ignored. The features are the [B, 1024] activations before d_fc4.

Resolutions: H and W divisible by 4 (compare_gan tests 28, 32, 64 and 128 px).
compare_gan's G cannot produce other sizes (its H/4 -> H/2 -> H deconvolutions
fail); its D alone would accept them, but the family is restricted to what
both networks support, with a ValueError naming the rule.

Conditioning: no conditional option; y reaches only D's norms (a
`ConditionalBatchNorm` there). compare_gan's CBN reshapes gamma to
[-1, 1, 1, C], which breaks on the rank-2 d_bn3 for batches > 1; that bug is
not ported (the port modulates [B, C] inputs per example).

Trainable parameters (z_dim 128; pinned in tests/architectures/infogan_test.py,
counted as docs/design.md §10 says):

| image     | G         | D         | D + BatchNorm |
|-----------|-----------|-----------|---------------|
| 28x28x1   | 6,707,777 | 6,556,865 | 6,559,169     |
| 32x32x3   | 8,681,667 | 8,524,993 | 8,527,297     |

Gin:
  ops.BatchNorm.decay = 0.9                       # compare_gan: standardize_batch.decay (G and D)
  infogan.Discriminator.batch_norm = @ops.BatchNorm
  infogan.Discriminator.spectral_norm = True

Names: layer names are compare_gan's scopes (`generator/g_fc2/kernel`,
`discriminator/d_bn3/gamma`); `base.compare_gan_names` gives the TF1 names.
"""

import keras
import tensorflow as tf

from compare_gan2.architectures import base
from compare_gan2.architectures import families
from compare_gan2.ops import layers

_KERNEL = 4
_DIVISOR = 4  # two stride-2 (de)convolutions between the image and the dense layers

# G dense part (infogan.py:53-56): (linear scope, norm scope, units; None =
# 128·(H/4)·(W/4), reshaped to _G_MAP).
_G_DENSE = (("g_fc1", "g_bn1", 1024), ("g_fc2", "g_bn2", None))
_G_MAP_CHANNELS = 128
# G upsampling 4x4/2 (infogan.py:58-59): (deconv scope, norm after it, then
# lrelu; output divisor, channels); then g_dc4 4x4/2 to the image's colors.
_G_DECONVS = (("g_dc3", "g_bn3", 2, 64),)
_G_OUTPUT = "g_dc4"
# D (infogan.py:86-98): convolutions 4x4/2 (scope, norm after it or None,
# channels), then linears (scope, norm after it or None, units).
_D_CONVS = (("d_conv1", None, 64), ("d_conv2", "d_bn2", 128))
_D_DENSE = (("d_fc3", "d_bn3", 1024),)
_D_LOGIT = "d_fc4"



def _check_divisible(cls: type, image_shape: tuple[int, int, int]) -> None:
  height, width, _ = image_shape
  if height % _DIVISOR or width % _DIVISOR or min(image_shape) < 1:
    raise ValueError(
        f"infogan.{cls.__name__} supports H x W with H and W positive multiples of "
        f"{_DIVISOR} (e.g. 28, 32, 64, 128); got {height}x{width}.")


@keras.saving.register_keras_serializable(package="compare_gan2.infogan")
class Generator(base.GeneratorBase):
  """InfoGAN generator: z [B, z_dim] -> images in [0, 1]; y is ignored."""

  def __init__(self, **kwargs):
    """Creates the layers; see `base.GeneratorBase` and the module docstring."""
    super().__init__(**kwargs)
    height, width, colors = self.image_shape
    self.map_shape = (height // _DIVISOR, width // _DIVISOR, _G_MAP_CHANNELS)
    map_units = self.map_shape[0] * self.map_shape[1] * _G_MAP_CHANNELS
    init = self.kernel_initializer
    self.dense = [
        (layers.Linear(units or map_units, kernel_initializer=init, name=fc_name),
         self.plain_norm(norm_name))
        for fc_name, norm_name, units in _G_DENSE]
    self.deconvs = [
        (layers.Deconv2D(channels, _KERNEL, 2, kernel_initializer=init, name=name,
                         output_size=(height // divisor, width // divisor)),
         self.plain_norm(norm_name))
        for name, norm_name, divisor, channels in _G_DECONVS]
    self.g_dc4 = layers.Deconv2D(colors, _KERNEL, 2, output_size=(height, width),
                                 kernel_initializer=init, name=_G_OUTPUT)

  @classmethod
  def check_resolution(cls, image_shape: tuple[int, int, int]) -> None:
    """H and W must be multiples of 4."""
    _check_divisible(cls, image_shape)

  def build(self, z_shape: tuple, y_shape: tuple | None = None) -> None:
    """Creates every weight from the input shapes, in compare_gan's order."""
    del y_shape  # Unconditional: the always-on norms take no y (infogan.py:50).
    self.check_z_dim(z_shape)
    # The always-on norms are plain BatchNorm: they take no z or y.
    shape = base.build_layers_then_norms(self.dense, z_shape, None, None)
    self.g_dc4.build(base.build_layers_then_norms(
        self.deconvs, (shape[0], *self.map_shape), None, None))

  def call(self, z: tf.Tensor, y: tf.Tensor | None = None, training: bool = False) -> tf.Tensor:
    """Images [B, H, W, colors] in [0, 1]; y is ignored, as compare_gan's."""
    del y  # compare_gan's InfoGAN G is unconditional (infogan.py:50).
    net = z
    for fc, norm in self.dense:
      net = layers.lrelu(norm(fc(net, training=training), training=training))
    net = tf.reshape(net, [-1, *self.map_shape])
    for deconv, norm in self.deconvs:
      net = layers.lrelu(norm(deconv(net, training=training), training=training))
    return tf.sigmoid(self.g_dc4(net, training=training))



@keras.saving.register_keras_serializable(package="compare_gan2.infogan")
class Discriminator(base.DiscriminatorBase):
  """InfoGAN discriminator: images in [0, 1] -> (sigmoid, logits [B, 1], [B, 1024] features)."""

  def __init__(self, **kwargs):
    """Creates the layers; see `base.DiscriminatorBase` (layer_norm is ignored)."""
    super().__init__(**kwargs)
    sn, init = self.spectral_norm, self.kernel_initializer
    self.convs = [
        (layers.Conv2D(channels, _KERNEL, 2, spectral_norm=sn, kernel_initializer=init,
                       name=name), None if norm_name is None else self.norm(norm_name))
        for name, norm_name, channels in _D_CONVS]
    self.dense = [
        (layers.Linear(units, spectral_norm=sn, kernel_initializer=init, name=name),
         None if norm_name is None else self.norm(norm_name))
        for name, norm_name, units in _D_DENSE]
    self.d_fc4 = layers.Linear(1, spectral_norm=sn, kernel_initializer=init, name=_D_LOGIT)

  @classmethod
  def check_resolution(cls, image_shape: tuple[int, int, int]) -> None:
    """H and W must be multiples of 4 (see the module docstring)."""
    _check_divisible(cls, image_shape)

  def build(self, images_shape: tuple, y_shape: tuple | None = None) -> None:
    """Creates every weight from the input shapes, in compare_gan's order."""
    self.check_image_size(images_shape)
    shape = base.build_layers_then_norms(self.convs, images_shape, None, y_shape)
    self.d_fc4.build(base.build_layers_then_norms(
        self.dense, (shape[0], shape[1] * shape[2] * shape[3]), None, y_shape))

  def call(self, images: tf.Tensor, y: tf.Tensor | None = None,
           training: bool = False) -> base.DiscriminatorOutput:
    """(sigmoid(logits), logits [B, 1], the [B, 1024] activations before d_fc4)."""
    net = images
    for conv, norm in self.convs:
      net = layers.lrelu(base.apply_norm(norm, conv(net, training=training), None, y, training))
    _, height, width, channels = net.shape
    net = tf.reshape(net, [-1, height * width * channels])
    for fc, norm in self.dense:
      net = layers.lrelu(base.apply_norm(norm, fc(net, training=training), None, y, training))
    return base.discriminator_output(self.d_fc4(net, training=training), net)


families.register(families.Family(
    "infogan", Generator, Discriminator,
    # Multiples of 4; g_fc2 and d_fc3 grow as (H/4)², so the tests stop at 32 px.
    resolutions=(8, 28, 32), fixed_g_norms=True))
