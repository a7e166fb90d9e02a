"""PyTorch twins of the benchmarked compare_gan2 GANs, for `benchmarks/bench.py`.

Each twin has the layers, shapes, FLOPs and trainable-parameter count of its
compare_gan2 model (bench.py asserts the counts), written the way a PyTorch user
would write it: NCHW, `nn.Conv2d`, `nn.BatchNorm2d`,
`torch.nn.utils.parametrizations.spectral_norm` (a reparametrization whose
gradient passes through σ, as compare_gan's and ours, Miyato et al. 2018,
Algorithm 1). Weight initialisation and the position of TF's asymmetric SAME
padding differ: the twins are for timing, not for matching values. The
convolutions come two ways (`build(..., our_algorithms=)`, `torch_ops.py`):
straightforward, as StudioGAN, mimicry and BigGAN-PyTorch write them, and with
compare_gan2's algorithms (the ResNet resampling convs as `unpool_conv` /
`conv_downsample`, DCGAN's tiny-map convs as dense matrix products: the same
sums in fewer FLOPs or faster kernels), so the benchmark separates framework
speed from algorithm.

- DCGAN-32: compare_gan `architectures/dcgan.py` (Radford et al. 2016), no
  norms, no spectral norm (compare_gan2.architectures.dcgan defaults).
- ResNet-CIFAR: compare_gan `architectures/resnet_cifar.py` (SNGAN, Miyato et
  al. 2018, Table 4) with BatchNorm in G and spectral norm in D, as
  gin_configs/cifar10/resnet_cifar.gin.
- BigGAN: compare_gan `architectures/resnet_biggan.py` (Brock et al. 2019,
  Fig. 15): conditional BN from concat(z chunk, shared y embedding), spectral
  norm in G and D, attention after G's B4 and D's B1, projection D.

The train step mirrors `ModularGAN.train_step` with disc_iters 1: fakes are drawn
without G gradients, D sees concat(real, fake) once per update, and the G
update also runs D on concat(real, fake) (compare_gan's create_loss).

torch is imported here, in torch_ops.py and in bench_worker.py only; compare_gan2 never
imports it.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import parametrizations

import torch_ops  # (benchmarks/ is on sys.path)


def _sn(module: nn.Module, on: bool) -> nn.Module:
  return parametrizations.spectral_norm(module) if on else module


def lrelu(x: torch.Tensor) -> torch.Tensor:
  """compare_gan's lrelu, leak 0.2."""
  return F.leaky_relu(x, 0.2)


# -- DCGAN-32 -----------------------------------------------------------------

class DcganGenerator(nn.Module):
  """z -> linear 2x2x512 -> 4 x (ReLU, 5x5/2 transposed conv) -> 0.5 tanh + 0.5."""

  def __init__(self, algorithms: torch_ops.Algorithms, z_dim: int = 128, size: int = 32,
               colors: int = 3):
    super().__init__()
    self.algorithms = algorithms
    self.seed = math.ceil(size / 16)
    self.fc = nn.Linear(z_dim, self.seed * self.seed * 512)
    chans = (512, 256, 128, 64, colors)
    self.deconvs = nn.ModuleList(
        nn.ConvTranspose2d(a, b, 5, 2, padding=2, output_padding=1)
        for a, b in zip(chans[:-1], chans[1:]))

  def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """Images in [0, 1], NCHW."""
    x = self.fc(z).reshape(-1, 512, self.seed, self.seed)
    for deconv in self.deconvs:
      x = self.algorithms.conv_transpose(deconv, F.relu(x))
    return 0.5 * torch.tanh(x) + 0.5


class DcganDiscriminator(nn.Module):
  """4 x (5x5/2 conv, lrelu) -> flatten -> linear 1."""

  def __init__(self, algorithms: torch_ops.Algorithms, size: int = 32, colors: int = 3):
    super().__init__()
    self.algorithms = algorithms
    chans = (colors, 64, 128, 256, 512)
    self.convs = nn.ModuleList(nn.Conv2d(a, b, 5, 2, padding=2)
                               for a, b in zip(chans[:-1], chans[1:]))
    self.fc = nn.Linear(512 * math.ceil(size / 16) ** 2, 1)

  def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """Logits [B, 1]."""
    for conv in self.convs:
      x = lrelu(self.algorithms.conv(conv, x))
    return self.fc(x.flatten(1))


# -- ResNet-CIFAR (SNGAN) -------------------------------------------------------

class ResBlock(nn.Module):
  """compare_gan's SNGAN block: 3x3 conv shortcut, (BN) ReLU conv twice."""

  def __init__(self, c_in: int, c_out: int, scale: str, gen: bool, bn: bool, sn: bool,
               algorithms: torch_ops.Algorithms):
    super().__init__()
    self.scale, self.gen, self.algorithms = scale, gen, algorithms
    self.shortcut = _sn(nn.Conv2d(c_in, c_out, 3, padding=1), sn)
    self.bn1 = nn.BatchNorm2d(c_in) if bn else nn.Identity()
    self.conv1 = _sn(nn.Conv2d(c_in, c_out, 3, padding=1), sn)
    self.bn2 = nn.BatchNorm2d(c_out) if bn else nn.Identity()
    self.conv2 = _sn(nn.Conv2d(c_out, c_out, 3, padding=1), sn)

  def _resample_conv(self, conv, x):
    if self.scale == "up":
      return self.algorithms.up(conv, x)
    return self.algorithms.down(conv, x) if self.scale == "down" else conv(x)

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    """The block (or attention) output."""
    short = self._resample_conv(self.shortcut, x)
    h = F.relu(self.bn1(x))
    h = self._resample_conv(self.conv1, h) if self.gen else self.conv1(h)
    h = F.relu(self.bn2(h))
    h = self.conv2(h) if self.gen else self._resample_conv(self.conv2, h)
    return h + short


class ResnetCifarGenerator(nn.Module):
  """z -> linear 4x4xch -> 3 "up" blocks -> BN, ReLU, 3x3 conv, sigmoid."""

  def __init__(self, algorithms: torch_ops.Algorithms, z_dim: int = 128, ch: int = 256,
               colors: int = 3):
    super().__init__()
    self.ch = ch
    self.fc = nn.Linear(z_dim, 16 * ch)
    self.blocks = nn.Sequential(*[ResBlock(ch, ch, "up", True, True, False, algorithms)
                                  for _ in range(3)])
    self.final_bn = nn.BatchNorm2d(ch)
    self.final_conv = nn.Conv2d(ch, colors, 3, padding=1)

  def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """Images in [0, 1], NCHW."""
    x = self.blocks(self.fc(z).reshape(-1, self.ch, 4, 4))
    return torch.sigmoid(self.final_conv(F.relu(self.final_bn(x))))


class ResnetCifarDiscriminator(nn.Module):
  """2 "down" + 2 "none" blocks (SN), ReLU, mean pooling, linear 1 (SN)."""

  def __init__(self, algorithms: torch_ops.Algorithms, ch: int = 128, colors: int = 3):
    super().__init__()
    self.blocks = nn.Sequential(*[
        ResBlock(c_in, ch, scale, False, False, True, algorithms)
        for c_in, scale in ((colors, "down"), (ch, "down"), (ch, "none"), (ch, "none"))])
    self.fc = _sn(nn.Linear(ch, 1), True)

  def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """Logits [B, 1]."""
    return self.fc(F.relu(self.blocks(x)).mean(dim=(2, 3)))


# -- BigGAN ------------------------------------------------------------------------

class ConditionalBatchNorm(nn.Module):
  """BN without affine parameters, gamma and beta = bias-free SN linear maps of c."""

  def __init__(self, channels: int, cond_dim: int):
    super().__init__()
    self.bn = nn.BatchNorm2d(channels, affine=False)
    self.gamma = _sn(nn.Linear(cond_dim, channels, bias=False), True)
    self.beta = _sn(nn.Linear(cond_dim, channels, bias=False), True)

  def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """BN(x) scaled and shifted per example from c."""
    return self.bn(x) * self.gamma(c)[:, :, None, None] + self.beta(c)[:, :, None, None]


class NonLocalBlock(nn.Module):
  """SAGAN attention as compare_gan (arch_ops.py:709-758): C/8 keys, 2x2-pooled keys/values."""

  def __init__(self, c: int):
    super().__init__()
    conv = lambda a, b: _sn(nn.Conv2d(a, b, 1, bias=False), True)
    self.theta, self.phi, self.g = conv(c, c // 8), conv(c, c // 8), conv(c, c // 2)
    self.sigma = nn.Parameter(torch.zeros(()))
    self.attn_g = conv(c // 2, c)

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    """The block (or attention) output."""
    b, c, h, w = x.shape
    theta = self.theta(x).flatten(2).transpose(1, 2)  # [B, hw, C/8]
    phi = F.max_pool2d(self.phi(x), 2).flatten(2)  # [B, C/8, hw/4]
    g = F.max_pool2d(self.g(x), 2).flatten(2)  # [B, C/2, hw/4]
    attention = torch.softmax(theta @ phi, dim=-1)  # [B, hw, hw/4]
    o = (g @ attention.transpose(1, 2)).reshape(b, c // 2, h, w)
    return x + self.sigma * self.attn_g(o)


class BigGanBlock(nn.Module):
  """BigGAN block: (C)BN, ReLU, conv 3x3 twice, optional 1x1 conv shortcut."""

  def __init__(self, c_in: int, c_out: int, scale: str, cond_dim: int | None,
               algorithms: torch_ops.Algorithms, shortcut: bool = True):
    super().__init__()
    self.scale, self.gen, self.algorithms = scale, cond_dim is not None, algorithms
    self.bn1 = ConditionalBatchNorm(c_in, cond_dim) if self.gen else None
    self.conv1 = _sn(nn.Conv2d(c_in, c_out, 3, padding=1), True)
    self.bn2 = ConditionalBatchNorm(c_out, cond_dim) if self.gen else None
    self.conv2 = _sn(nn.Conv2d(c_out, c_out, 3, padding=1), True)
    self.shortcut = _sn(nn.Conv2d(c_in, c_out, 1), True) if shortcut else None

  def _up_conv(self, conv, x):
    return self.algorithms.up(conv, x) if self.scale == "up" else conv(x)

  def _down_conv(self, conv, x):
    return self.algorithms.down(conv, x) if self.scale == "down" else conv(x)

  def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
    """The block output (c conditions G blocks only)."""
    h = F.relu(self.bn1(x, c) if self.gen else x)
    h = self._up_conv(self.conv1, h) if self.gen else self.conv1(h)
    h = F.relu(self.bn2(h, c) if self.gen else h)
    h = self.conv2(h) if self.gen else self._down_conv(self.conv2, h)
    if self.shortcut is not None:
      h = h + (self._up_conv(self.shortcut, x) if self.gen else self._down_conv(self.shortcut, x))
    return h


class BigGanGenerator(nn.Module):
  """BigGAN-128 G (compare_gan resnet_biggan.py:154-300), hierarchical z, shared embedding."""

  def __init__(self, algorithms: torch_ops.Algorithms, ch: int = 96, z_dim: int = 120,
               num_classes: int = 1000, embed_dim: int = 128, attention_after: int = 4,
               colors: int = 3):
    super().__init__()
    channels = [ch * m for m in (16, 16, 8, 4, 2, 1)]
    self.num_blocks, self.c0 = len(channels) - 1, channels[0]
    chunk = z_dim // (self.num_blocks + 1)
    self.embed_y = nn.Linear(num_classes, embed_dim, bias=False)
    self.fc = _sn(nn.Linear(chunk, 16 * channels[0]), True)
    self.blocks = nn.ModuleList(BigGanBlock(a, b, "up", chunk + embed_dim, algorithms)
                                for a, b in zip(channels[:-1], channels[1:]))
    self.attention_after = attention_after
    self.attention = NonLocalBlock(channels[attention_after])
    self.final_bn = nn.BatchNorm2d(ch)
    self.final_conv = _sn(nn.Conv2d(ch, colors, 3, padding=1), True)

  def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1], NCHW, from z and one-hot y."""
    z0, *zs = torch.chunk(z, self.num_blocks + 1, dim=1)
    e = self.embed_y(y)
    x = self.fc(z0).reshape(-1, self.c0, 4, 4)
    for i, (block, z_i) in enumerate(zip(self.blocks, zs)):
      x = block(x, torch.cat([z_i, e], dim=1))
      if i + 1 == self.attention_after:
        x = self.attention(x)
    x = self.final_conv(F.relu(self.final_bn(x)))
    return (torch.tanh(x) + 1.0) / 2.0


class BigGanDiscriminator(nn.Module):
  """BigGAN-128 D (resnet_biggan.py:305-425): 5 "down" + 1 block, sum pooling, projection."""

  def __init__(self, algorithms: torch_ops.Algorithms, ch: int = 96, num_classes: int = 1000,
               attention_after: int = 1, colors: int = 3):
    super().__init__()
    outs = [ch * m for m in (1, 2, 4, 8, 16, 16)]
    ins = [colors] + outs[:-1]
    scales = ["down"] * 5 + ["none"]
    self.blocks = nn.ModuleList(BigGanBlock(a, b, s, None, algorithms, shortcut=a != b)
                                for a, b, s in zip(ins, outs, scales))
    self.attention_after = attention_after
    self.attention = NonLocalBlock(outs[attention_after - 1])
    self.final_fc = _sn(nn.Linear(outs[-1], 1), True)
    self.embedding_fc = _sn(nn.Linear(num_classes, outs[-1], bias=False), True)

  def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Logits [B, 1] with the projection term."""
    for i, block in enumerate(self.blocks):
      x = block(x)
      if i + 1 == self.attention_after:
        x = self.attention(x)
    h = F.relu(x).sum(dim=(2, 3))
    return self.final_fc(h) + (self.embedding_fc(y) * h).sum(dim=1, keepdim=True)


# -- the train step -------------------------------------------------------------------

def hinge(real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
  """(D loss, G loss) of the hinge loss (compare_gan loss_lib.py)."""
  return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean(), -fake.mean()


def non_saturating(real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
  """(D loss, G loss) of the non-saturating loss (Goodfellow et al. 2014)."""
  return F.softplus(-real).mean() + F.softplus(fake).mean(), F.softplus(-fake).mean()


class TwinGan:
  """One D update then one G update on separate halves of the batch, Adam(2e-4, 0.5)."""

  def __init__(self, generator: nn.Module, discriminator: nn.Module, loss_fn, z_dim: int,
               num_classes: int = 0):
    self.g, self.d, self.loss_fn = generator.train(), discriminator.train(), loss_fn
    self.z_dim, self.num_classes = z_dim, num_classes
    self.d_opt = torch.optim.Adam(self.d.parameters(), 2e-4, betas=(0.5, 0.999))
    self.g_opt = torch.optim.Adam(self.g.parameters(), 2e-4, betas=(0.5, 0.999))

  def _draw(self, n: int):
    z = torch.rand(n, self.z_dim) * 2.0 - 1.0
    if not self.num_classes:
      return z, None
    return z, F.one_hot(torch.randint(0, self.num_classes, (n,)), self.num_classes).float()

  def _logits(self, real, y, fake, y_fake):
    y_all = None if y is None else torch.cat([y, y_fake])
    return self.d(torch.cat([real, fake]), y_all).chunk(2)

  def step(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> float:
    """One D and one G update; returns the G loss (which waits for the step)."""
    y = None if labels is None else F.one_hot(labels, self.num_classes).float()
    half = images.shape[0] // 2
    real_d, real_g = images[0::2], images[1::2]
    y_d, y_g = (None, None) if y is None else (y[0::2], y[1::2])
    z, y_fake = self._draw(half)
    with torch.no_grad():
      fake = self.g(z, y_fake)
    d_loss, _ = self.loss_fn(*self._logits(real_d, y_d, fake, y_fake))
    self.d_opt.zero_grad(set_to_none=True)
    d_loss.backward()
    self.d_opt.step()
    z, y_fake = self._draw(half)
    self.d.requires_grad_(False)
    _, g_loss = self.loss_fn(*self._logits(real_g, y_g, self.g(z, y_fake), y_fake))
    self.g_opt.zero_grad(set_to_none=True)
    g_loss.backward()
    self.g_opt.step()
    self.d.requires_grad_(True)
    return g_loss.item()


def build(model: str, ch: int | None = None, our_algorithms: bool = False) -> TwinGan:
  """The twin of bench.py's `model` ("DCGAN-32", "ResNet-CIFAR", "BigGAN-128").

  our_algorithms: the convolutions as compare_gan2 computes them (torch_ops.py)
  instead of the straightforward way.
  """
  torch.manual_seed(0)
  r = torch_ops.Algorithms(our_algorithms)
  if model == "DCGAN-32":
    return TwinGan(DcganGenerator(r), DcganDiscriminator(r), non_saturating, 128)
  if model == "ResNet-CIFAR":
    return TwinGan(ResnetCifarGenerator(r), ResnetCifarDiscriminator(r), hinge, 128)
  if model == "BigGAN-128":
    return TwinGan(BigGanGenerator(r, ch), BigGanDiscriminator(r, ch), hinge, 120, 1000)
  raise ValueError(f"torch_twins.build: unknown model {model!r}.")


def parameter_counts(gan: TwinGan) -> tuple[int, int]:
  """Trainable parameters of (G, D)."""
  return tuple(sum(p.numel() for p in m.parameters() if p.requires_grad) for m in (gan.g, gan.d))
