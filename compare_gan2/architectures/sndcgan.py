"""SNDCGAN generator and discriminator (Miyato et al. 2018, "Spectral
Normalization for Generative Adversarial Networks", Table 3; ICLR 2018,
openreview B1QRgziT-).

Port of compare_gan `architectures/sndcgan.py:36-127`,
with s_k = ceil(size / k) per side (`conv_out_size_same`, sndcgan.py:32-33):

G (sndcgan.py:42-79):
  z -> g_fc1 linear to s8·s8·512, g_bn1 on that rank-2 tensor (per-feature
    statistics over s8²·512 features), ReLU, reshape [B, s8, s8, 512]
    -> g_dc2 4x4/2 -> [B, s4, s4, 256], g_bn2, ReLU
    -> g_dc3 4x4/2 -> [B, s2, s2, 128], g_bn3, ReLU
    -> g_dc4 4x4/2 -> [B, H, W, 64], g_bn4, ReLU
    -> g_dc5 3x3/1 -> [B, H, W, colors] -> (tanh(x) + 1) / 2.
  The g_bn* are the configured `batch_norm` (none by default). G never gets
  spectral norm on its own layers; only modulated-norm projections do.

D (sndcgan.py:88-127): the input is rescaled to x·2 − 1 (the paper trains on
  [-1, 1] images), then seven convolutions, each followed by lrelu leak 0.1:
  d_conv1 3/1 64, d_conv2 4/2 128, d_conv3 3/1 128, d_conv4 4/2 256,
  d_conv5 3/1 256, d_conv6 4/2 512, d_conv7 3/1 512 -> flatten -> d_fc1 linear 1.
  Spectral norm (if set) on every layer. There is no normalization at all:
  `batch_norm`, `layer_norm` and y are ignored, as in compare_gan (`training`
  only decides whether spectral norm stores its new u). The features are the flattened [B, s8·s8·512] activations.

Resolutions: any H x W (compare_gan tests 28, 32, 64 and 128 px squares).

Conditioning: no conditional option; y reaches only G's norms (a
`ConditionalBatchNorm`). compare_gan's conditional and self-modulated norms
reshape gamma to [-1, 1, 1, C], which breaks on the rank-2 g_bn1 for batches
> 1; that bug is not ported (the port modulates [B, C] inputs per example).

Trainable parameters (z_dim 128, 3 colors; pinned in tests/architectures/sndcgan_test.py,
counted as docs/design.md §10 says):

| image     | G          | G + BatchNorm | D         |
|-----------|------------|---------------|-----------|
| 32x32x3   | 3,811,459  | 3,828,739     | 5,860,865 |
| 128x128x3 | 19,662,979 | 19,926,019    | 5,983,745 |

Gin:
  sndcgan.Generator.batch_norm = @ops.BatchNorm   # compare_gan: G.batch_norm_fn
  sndcgan.Discriminator.spectral_norm = True      # compare_gan: D.spectral_norm

Names: layer names are compare_gan's scopes (`generator/g_dc5/kernel`,
`discriminator/d_conv7/u_var` = TF1 `discriminator/d_conv7/kernel/u_var`);
`base.compare_gan_names` gives the TF1 names.
"""

import keras
import tensorflow as tf

from compare_gan2.architectures import base
from compare_gan2.architectures import families
from compare_gan2.ops import layers

_LEAK = 0.1  # sndcgan.py:110-122, not arch_ops.lrelu's default 0.2

# g_fc1 output: s8 x s8 x 512 (sndcgan.py:59).
_G_FC = (8, 512)
# G upsampling after g_fc1 (sndcgan.py:63-71): (deconv 4x4/2 scope, norm after
# it, then ReLU; output divisor k of s_k, channels).
_G_DECONVS = (
    ("g_dc2", "g_bn2", 4, 256),
    ("g_dc3", "g_bn3", 2, 128),
    ("g_dc4", "g_bn4", 1, 64),
)
# Output layer (sndcgan.py:72-73): a 3x3/1 deconvolution to the image's colors.
_G_OUTPUT = ("g_dc5", 3)
# D (sndcgan.py:109-121): (conv scope, kernel, stride, channels).
_D_CONVS = (
    ("d_conv1", 3, 1, 64),
    ("d_conv2", 4, 2, 128),
    ("d_conv3", 3, 1, 128),
    ("d_conv4", 4, 2, 256),
    ("d_conv5", 3, 1, 256),
    ("d_conv6", 4, 2, 512),
    ("d_conv7", 3, 1, 512),
)



@keras.saving.register_keras_serializable(package="compare_gan2.sndcgan")
class Generator(base.GeneratorBase):
  """SNDCGAN generator: z [B, z_dim] (and y for a conditional norm) -> images in [0, 1]."""

  def __init__(self, **kwargs):
    """Creates the layers; see `base.GeneratorBase` for the arguments."""
    super().__init__(**kwargs)
    colors = self.image_shape[2]
    self.fc_shape = (*base.scaled_size(self.image_shape, _G_FC[0]), _G_FC[1])
    init = self.kernel_initializer
    self.g_fc1 = layers.Linear(self.fc_shape[0] * self.fc_shape[1] * self.fc_shape[2],
                               kernel_initializer=init, name="g_fc1")
    self.g_bn1 = self.norm("g_bn1")
    self.deconvs = [
        (layers.Deconv2D(channels, 4, 2, kernel_initializer=init,
                         output_size=base.scaled_size(self.image_shape, divisor), name=name),
         self.norm(norm_name))
        for name, norm_name, divisor, channels in _G_DECONVS]
    self.g_dc5 = layers.Deconv2D(colors, _G_OUTPUT[1], 1, kernel_initializer=init,
                                 output_size=self.image_shape[:2], name=_G_OUTPUT[0])

  @classmethod
  def check_resolution(cls, image_shape: tuple[int, int, int]) -> None:
    """Any positive H x W works (sizes round up at each stride-2 step)."""
    base.check_positive_size(cls, image_shape)

  def build(self, z_shape: tuple, y_shape: tuple | None = None) -> None:
    """Creates every weight from the input shapes, in compare_gan's order."""
    self.check_z_dim(z_shape)
    self.g_fc1.build(z_shape)
    # g_bn1 normalizes the flat g_fc1 output (sndcgan.py:60), before the reshape.
    base.build_norm(self.g_bn1, self.g_fc1.compute_output_shape(z_shape), z_shape, y_shape)
    self.g_dc5.build(base.build_layers_then_norms(
        self.deconvs, (z_shape[0], *self.fc_shape), z_shape, y_shape))

  def call(self, z: tf.Tensor, y: tf.Tensor | None = None, training: bool = False) -> tf.Tensor:
    """Images [B, H, W, colors] in [0, 1]; y is used only by a conditional norm."""
    net = tf.nn.relu(base.apply_norm(self.g_bn1, self.g_fc1(z, training=training), z, y,
                                     training))
    net = tf.reshape(net, [-1, *self.fc_shape])
    for deconv, norm in self.deconvs:
      net = tf.nn.relu(base.apply_norm(norm, deconv(net, training=training), z, y, training))
    return (tf.tanh(self.g_dc5(net, training=training)) + 1.0) / 2.0



@keras.saving.register_keras_serializable(package="compare_gan2.sndcgan")
class Discriminator(base.DiscriminatorBase):
  """SNDCGAN discriminator: images in [0, 1] -> (sigmoid, logits [B, 1], flat features).

  `batch_norm`, `layer_norm` and y are accepted and ignored, as in compare_gan
  (sndcgan.py:103): this D has no normalization and no conditioning.
  """

  def __init__(self, **kwargs):
    """Creates the layers; see `base.DiscriminatorBase` (norm arguments are ignored)."""
    super().__init__(**kwargs)
    sn, init = self.spectral_norm, self.kernel_initializer
    self.convs = [layers.Conv2D(channels, kernel, stride, spectral_norm=sn,
                                kernel_initializer=init, name=name)
                  for name, kernel, stride, channels in _D_CONVS]
    self.d_fc1 = layers.Linear(1, spectral_norm=sn, kernel_initializer=init, name="d_fc1")

  @classmethod
  def check_resolution(cls, image_shape: tuple[int, int, int]) -> None:
    """Any positive H x W works (sizes round up at each stride-2 step)."""
    base.check_positive_size(cls, image_shape)

  def build(self, images_shape: tuple, y_shape: tuple | None = None) -> None:
    """Creates every weight from the input shapes, in compare_gan's order."""
    del y_shape  # No conditioning (sndcgan.py:103).
    self.check_image_size(images_shape)
    shape = tuple(images_shape)
    for conv in self.convs:
      conv.build(shape)
      shape = conv.compute_output_shape(shape)
    self.d_fc1.build((shape[0], shape[1] * shape[2] * shape[3]))

  def call(self, images: tf.Tensor, y: tf.Tensor | None = None,
           training: bool = False) -> base.DiscriminatorOutput:
    """(sigmoid(logits), logits [B, 1], the flattened [B, s8·s8·512] activations)."""
    del y  # compare_gan's SNDCGAN D ignores y (sndcgan.py:103).
    # compare_gan feeds [0, 1] images; the SNDCGAN authors used [-1, 1] (sndcgan.py:105-108).
    net = images * 2.0 - 1.0
    for conv in self.convs:
      net = layers.lrelu(conv(net, training=training), _LEAK)
    _, height, width, channels = net.shape
    net = tf.reshape(net, [-1, height * width * channels])
    return base.discriminator_output(self.d_fc1(net, training=training), net)


families.register(families.Family(
    "sndcgan", Generator, Discriminator,
    # Any size; these (compare_gan tests 28 to 128 px) keep the generic tests fast.
    resolutions=(8, 28, 32, 64), d_batch_norm=False))
