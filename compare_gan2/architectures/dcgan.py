"""DCGAN generator and discriminator (Radford et al. 2016, arXiv:1511.06434).

Port of compare_gan `architectures/dcgan.py:39-129`,
with s_k = ceil(size / k) per side (`conv_out_size_same`, dcgan.py:35-36):

G (dcgan.py:47-82), gf_dim = 64:
  z -> g_fc1 linear to s16·s16·512, reshape [B, s16, s16, 512]
    -> g_bn1, ReLU, g_dc1 5x5/2 -> [B, s8, s8, 256]
    -> g_bn2, ReLU, g_dc2 5x5/2 -> [B, s4, s4, 128]
    -> g_bn3, ReLU, g_dc3 5x5/2 -> [B, s2, s2, 64]
    -> g_bn4, ReLU, g_dc4 5x5/2 -> [B, H, W, colors] -> 0.5·tanh(x) + 0.5.
  The g_bn* are the configured `batch_norm`; with None (the default) DCGAN G has
  no normalization at all. G never gets spectral norm on its own layers
  (compare_gan passes no `use_sn` there); only the projections of a
  conditional / self-modulated norm do, as compare_gan's dispatcher gives them
  `use_sn` (abstract_arch.py:76-83).

D (dcgan.py:92-129), df_dim = 64, every conv 5x5/2, lrelu leak 0.2:
  d_conv1 64, lrelu -> d_conv2 128, d_bn1, lrelu -> d_conv3 256, d_bn2, lrelu
    -> d_conv4 512, d_bn3, lrelu -> flatten -> d_fc4 linear 1 (the logit).
  Spectral norm (if set) on all four convs and d_fc4; the d_bn* are the
  configured `batch_norm`; `layer_norm` is ignored, as in compare_gan. The
  features are the 4-D [B, s16, s16, 512] map before flattening (dcgan.py:129).

Resolutions: any H x W (compare_gan tests 28, 32, 64 and 128 px squares;
28 -> s4 = 7 and s16 = 2 needs the explicit deconvolution output sizes).

Conditioning: DCGAN has no conditional option of its own. y reaches only the
norms, as in compare_gan: `ConditionalBatchNorm` in G or D uses it, anything
else ignores it. A self-modulated norm in D raises (D norms get no z).

Trainable parameters (z_dim 128, 3 colors; pinned in tests/architectures/dcgan_test.py,
counted as docs/design.md §10 says):

| image   | G         | G + BatchNorm | D         | D + BatchNorm |
|---------|-----------|---------------|-----------|---------------|
| 32x32x3 | 4,570,243 | 4,572,163     | 4,308,609 | 4,310,401     |
| 64x64x3 | 5,362,819 | 5,364,739     | 4,314,753 | 4,316,545     |

Gin (the bindings of compare_gan's dcgan_celeba64.gin):
  dcgan.Generator.batch_norm = @ops.BatchNorm   # compare_gan: G.batch_norm_fn = @batch_norm
  ops.BatchNorm.decay = 0.9                      # compare_gan: standardize_batch.decay
  ops.BatchNorm.epsilon = 1e-5
  dcgan.Discriminator.spectral_norm = False      # compare_gan: D.spectral_norm

Names: layer names are compare_gan's scopes, so Keras paths read
`generator/g_dc1/kernel` and `discriminator/d_bn1/moving_mean` exactly as the
TF1 names; `base.compare_gan_names` adds the `kernel/` scope of `u_var` and the
`condition/` / `sbn/` scope of modulated-norm projections.
"""

import math

import keras
import tensorflow as tf

from compare_gan2.architectures import base
from compare_gan2.architectures import families
from compare_gan2.ops import layers

_G_DIM = 64  # gf_dim, dcgan.py:59
_D_DIM = 64  # df_dim, dcgan.py:108
_KERNEL = 5

# g_fc1 output: s16 x s16 x 8·gf_dim (dcgan.py:67-68).
_G_FC = (16, 8 * _G_DIM)
# G after g_fc1 (dcgan.py:69-80): (norm before the deconv, deconv scope, output
# divisor k of s_k, output channels; None = the image's colors).
_G_STAGES = (
    ("g_bn1", "g_dc1", 8, 4 * _G_DIM),
    ("g_bn2", "g_dc2", 4, 2 * _G_DIM),
    ("g_bn3", "g_dc3", 2, _G_DIM),
    ("g_bn4", "g_dc4", 1, None),
)
# D (dcgan.py:109-125): (conv scope, norm after the conv or None, channels);
# every conv halves the size, so the last map is s16 x s16 x 8·df_dim.
_D_STAGES = (
    ("d_conv1", None, _D_DIM),
    ("d_conv2", "d_bn1", 2 * _D_DIM),
    ("d_conv3", "d_bn2", 4 * _D_DIM),
    ("d_conv4", "d_bn3", 8 * _D_DIM),
)



@keras.saving.register_keras_serializable(package="compare_gan2.dcgan")
class Generator(base.GeneratorBase):
  """DCGAN generator: z [B, z_dim] (and y for a conditional norm) -> images in [0, 1]."""

  def __init__(self, **kwargs):
    """Creates the layers; see `base.GeneratorBase` for the arguments."""
    super().__init__(**kwargs)
    colors = self.image_shape[2]
    self.fc_shape = (*base.scaled_size(self.image_shape, _G_FC[0]), _G_FC[1])
    init = self.kernel_initializer
    self.g_fc1 = layers.Linear(math.prod(self.fc_shape), kernel_initializer=init, name="g_fc1")
    # (norm or None, deconv) pairs, tracked in compare_gan's creation order.
    self.stages = [
        (self.norm(norm_name), layers.Deconv2D(
            channels or colors, _KERNEL, 2, output_size=base.scaled_size(self.image_shape, divisor),
            kernel_initializer=init, name=deconv_name))
        for norm_name, deconv_name, divisor, channels in _G_STAGES]

  @classmethod
  def check_resolution(cls, image_shape: tuple[int, int, int]) -> None:
    """Any positive H x W works (sizes round up at each stride-2 step)."""
    base.check_positive_size(cls, image_shape)

  def build(self, z_shape: tuple, y_shape: tuple | None = None) -> None:
    """Creates every weight from the input shapes, in compare_gan's order."""
    self.check_z_dim(z_shape)
    self.g_fc1.build(z_shape)
    shape = (z_shape[0], *self.fc_shape)
    for norm, deconv in self.stages:
      base.build_norm(norm, shape, z_shape, y_shape)
      deconv.build(shape)
      shape = deconv.compute_output_shape(shape)

  def call(self, z: tf.Tensor, y: tf.Tensor | None = None, training: bool = False) -> tf.Tensor:
    """Images [B, H, W, colors] in [0, 1]; y is used only by a conditional norm."""
    net = tf.reshape(self.g_fc1(z, training=training), [-1, *self.fc_shape])
    for norm, deconv in self.stages:
      net = tf.nn.relu(base.apply_norm(norm, net, z, y, training))
      net = deconv(net, training=training)
    return 0.5 * tf.nn.tanh(net) + 0.5



@keras.saving.register_keras_serializable(package="compare_gan2.dcgan")
class Discriminator(base.DiscriminatorBase):
  """DCGAN discriminator: images in [0, 1] -> (sigmoid, logits [B, 1], 4-D features)."""

  def __init__(self, **kwargs):
    """Creates the layers; see `base.DiscriminatorBase` (layer_norm is ignored)."""
    super().__init__(**kwargs)
    self.stages = [
        (layers.Conv2D(channels, _KERNEL, 2, spectral_norm=self.spectral_norm,
                       kernel_initializer=self.kernel_initializer, name=conv_name),
         None if norm_name is None else self.norm(norm_name))
        for conv_name, norm_name, channels in _D_STAGES]
    self.d_fc4 = layers.Linear(1, spectral_norm=self.spectral_norm,
                               kernel_initializer=self.kernel_initializer, name="d_fc4")

  @classmethod
  def check_resolution(cls, image_shape: tuple[int, int, int]) -> None:
    """Any positive H x W works (sizes round up at each stride-2 step)."""
    base.check_positive_size(cls, image_shape)

  def build(self, images_shape: tuple, y_shape: tuple | None = None) -> None:
    """Creates every weight from the input shapes, in compare_gan's order."""
    self.check_image_size(images_shape)
    shape = base.build_layers_then_norms(self.stages, images_shape, None, y_shape)
    self.d_fc4.build((shape[0], math.prod(shape[1:])))

  def call(self, images: tf.Tensor, y: tf.Tensor | None = None,
           training: bool = False) -> base.DiscriminatorOutput:
    """(sigmoid(logits), logits [B, 1], the [B, s16, s16, 512] map before d_fc4)."""
    net = images
    for conv, norm in self.stages:
      net = layers.lrelu(base.apply_norm(norm, conv(net, training=training), None, y, training))
    flat = tf.reshape(net, [-1, math.prod(net.shape[1:])])
    return base.discriminator_output(self.d_fc4(flat, training=training), net)


families.register(families.Family(
    "dcgan", Generator, Discriminator,
    # Any size; these (compare_gan tests 28 to 128 px) keep the generic tests fast.
    resolutions=(8, 28, 32, 64)))
