"""GAN losses with compare_gan's formulas (compare_gan `gans/loss_lib.py`).

Each loss maps the discriminator's logits on real and fake images, both of
shape [N, 1], to a `GanLosses`. Means run over every element. The D and G
totals come from TF-GAN's tensor losses where the math is identical; the real
and fake parts are returned as well for logging.

| loss           | d_loss_real           | d_loss_fake          | d_loss      | g_loss                  |
|----------------|-----------------------|----------------------|-------------|-------------------------|
| non_saturating | mean softplus(−l_r)   | mean softplus(l_f)   | real + fake | mean softplus(−l_f)     |
| wasserstein    | −mean l_r             | mean l_f             | real + fake | −mean l_f               |
| least_squares  | mean (σ(l_r) − 1)²    | mean σ(l_f)²         | ½(r + f)    | ½ mean (σ(l_f) − 1)²    |
| hinge          | mean relu(1 − l_r)    | mean relu(1 + l_f)   | real + fake | −mean l_f               |

Goodfellow et al. 2014 (eq. 1 and the non-saturating G of §3); Arjovsky et al.
2017 (WGAN, eq. 3); Mao et al. 2017 (LSGAN, eq. 2 with a=0, b=c=1); Lim & Ye
2017 and Miyato et al. 2018 (hinge, SNGAN eq. 16-17).
"""

import dataclasses
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from compare_gan2 import registry
from compare_gan2.tfgan_compat import tfgan

_wargs = tfgan.losses.wargs


@dataclasses.dataclass(frozen=True)
class GanLosses:
  """The four scalars every loss returns (compare_gan's 4-tuple, named)."""
  d_loss: tf.Tensor
  g_loss: tf.Tensor
  d_loss_real: tf.Tensor
  d_loss_fake: tf.Tensor


LossFn = Callable[[tf.Tensor, tf.Tensor], GanLosses]
# (real logits, fake logits) as NumPy arrays -> (d_loss, g_loss, d_loss_real, d_loss_fake).
Reference = Callable[[np.ndarray, np.ndarray], tuple[float, float, float, float]]
LOSSES: list[LossFn] = []
_REFERENCES: dict[LossFn, Reference] = {}


def register_loss(reference: Reference) -> Callable[[LossFn], LossFn]:
  """Decorator: registers a loss with gin (`@losses.<name>`), in `LOSSES`, with its reference.

  Args:
    reference: an independent NumPy formula of the same four values, declared
      beside the loss; tests/losses_test.py checks every registered loss
      against its reference (docs/extending.md).

  Returns:
    A decorator that returns the loss unchanged.
  """
  def decorator(fn: LossFn) -> LossFn:
    LOSSES.append(fn)
    _REFERENCES[fn] = reference
    # Logits are tensors passed at call time: nothing of a loss is bindable.
    return registry.register(module="compare_gan2.losses",
                             denylist=("d_real_logits", "d_fake_logits"))(fn)
  return decorator


def reference(fn: LossFn) -> Reference:
  """The NumPy reference a registered loss declared (gin's wrapper of it works too)."""
  fn = getattr(fn, "__wrapped__", fn)
  if fn not in _REFERENCES:
    raise KeyError(f"{getattr(fn, '__name__', fn)!r} is not a registered loss; "
                   f"registered: {[f.__name__ for f in LOSSES]}.")
  return _REFERENCES[fn]


def check_dimensions(d_real_logits: tf.Tensor, d_fake_logits: tf.Tensor) -> None:
  """Raises ValueError unless both logits have the same rank-2 static shape.

  compare_gan `gans/loss_lib.py:27-50`: a D that returns [N] or [N, K] logits
  would otherwise broadcast silently into a wrong loss.
  """
  real, fake = d_real_logits.shape, d_fake_logits.shape
  if real.rank != 2 or fake.rank != 2:
    raise ValueError(f"GAN loss expects logits of rank 2 [N, 1]; got real {real}, fake {fake}.")
  if real.as_list() != fake.as_list():
    raise ValueError(f"GAN loss shape mismatch: real logits {real}, fake logits {fake}.")


def _mean(x: tf.Tensor) -> tf.Tensor:
  return tf.reduce_mean(x)


# loss_collection=None keeps TF-GAN from adding to TF1 graph collections.
_NO_COLLECTION = {"loss_collection": None}


def _np_softplus(x: np.ndarray) -> np.ndarray:
  return np.logaddexp(0.0, x)


def _np_sigmoid(x: np.ndarray) -> np.ndarray:
  return 1.0 / (1.0 + np.exp(-x))


def _non_saturating_reference(lr: np.ndarray, lf: np.ndarray) -> tuple[float, ...]:
  """compare_gan loss_lib.py:53-79: −log σ(l_r) − log(1 − σ(l_f)) and −log σ(l_f)."""
  real, fake = np.mean(_np_softplus(-lr)), np.mean(_np_softplus(lf))
  return real + fake, np.mean(_np_softplus(-lf)), real, fake


@register_loss(_non_saturating_reference)
def non_saturating(d_real_logits: tf.Tensor, d_fake_logits: tf.Tensor) -> GanLosses:
  """Cross-entropy D loss and the non-saturating G loss −log D(G(z))."""
  check_dimensions(d_real_logits, d_fake_logits)
  return GanLosses(
      d_loss=_wargs.modified_discriminator_loss(
          d_real_logits, d_fake_logits, label_smoothing=0.0, **_NO_COLLECTION),
      g_loss=_wargs.modified_generator_loss(d_fake_logits, **_NO_COLLECTION),
      d_loss_real=_mean(tf.nn.softplus(-d_real_logits)),
      d_loss_fake=_mean(tf.nn.softplus(d_fake_logits)))


def _wasserstein_reference(lr: np.ndarray, lf: np.ndarray) -> tuple[float, ...]:
  """compare_gan loss_lib.py:82-102: E[l_f] − E[l_r] and −E[l_f]."""
  real, fake = -np.mean(lr), np.mean(lf)
  return real + fake, -np.mean(lf), real, fake


@register_loss(_wasserstein_reference)
def wasserstein(d_real_logits: tf.Tensor, d_fake_logits: tf.Tensor) -> GanLosses:
  """WGAN critic loss E[D(fake)] − E[D(real)] and G loss −E[D(fake)]."""
  check_dimensions(d_real_logits, d_fake_logits)
  return GanLosses(
      d_loss=_wargs.wasserstein_discriminator_loss(
          d_real_logits, d_fake_logits, **_NO_COLLECTION),
      g_loss=_wargs.wasserstein_generator_loss(d_fake_logits, **_NO_COLLECTION),
      d_loss_real=-_mean(d_real_logits),
      d_loss_fake=_mean(d_fake_logits))


def _least_squares_reference(lr: np.ndarray, lf: np.ndarray) -> tuple[float, ...]:
  """compare_gan loss_lib.py:105-125: on sigmoid probabilities, D's total halved."""
  pr, pf = _np_sigmoid(lr), _np_sigmoid(lf)
  real, fake = np.mean((pr - 1) ** 2), np.mean(pf ** 2)
  return 0.5 * (real + fake), 0.5 * np.mean((pf - 1) ** 2), real, fake


@register_loss(_least_squares_reference)
def least_squares(d_real_logits: tf.Tensor, d_fake_logits: tf.Tensor) -> GanLosses:
  """LSGAN on D's sigmoid probabilities, as compare_gan (not on logits).

  As in compare_gan, only d_loss is halved; d_loss_real and d_loss_fake are not.
  """
  check_dimensions(d_real_logits, d_fake_logits)
  d_real, d_fake = tf.sigmoid(d_real_logits), tf.sigmoid(d_fake_logits)
  return GanLosses(
      d_loss=_wargs.least_squares_discriminator_loss(d_real, d_fake, **_NO_COLLECTION),
      g_loss=_wargs.least_squares_generator_loss(d_fake, **_NO_COLLECTION),
      d_loss_real=_mean(tf.square(d_real - 1.0)),
      d_loss_fake=_mean(tf.square(d_fake)))


def _hinge_reference(lr: np.ndarray, lf: np.ndarray) -> tuple[float, ...]:
  """compare_gan loss_lib.py:128-148: E[max(0, 1 − l_r)] + E[max(0, 1 + l_f)], −E[l_f]."""
  real, fake = np.mean(np.maximum(0, 1 - lr)), np.mean(np.maximum(0, 1 + lf))
  return real + fake, -np.mean(lf), real, fake


@register_loss(_hinge_reference)
def hinge(d_real_logits: tf.Tensor, d_fake_logits: tf.Tensor) -> GanLosses:
  """Hinge D loss and G loss −E[D(fake)] (SNGAN, BigGAN, SAGAN)."""
  check_dimensions(d_real_logits, d_fake_logits)
  return GanLosses(
      d_loss=_wargs.wasserstein_hinge_discriminator_loss(
          d_real_logits, d_fake_logits, **_NO_COLLECTION),
      g_loss=_wargs.wasserstein_generator_loss(d_fake_logits, **_NO_COLLECTION),
      d_loss_real=_mean(tf.nn.relu(1.0 - d_real_logits)),
      d_loss_fake=_mean(tf.nn.relu(1.0 + d_fake_logits)))
