"""Top-k training of G, Sinha et al. 2020 (arXiv 2002.06224, §3, Algorithm 1).

G's adversarial loss averages over only the k fakes D scores highest (the
"most realistic"); the others contribute no gradient. k starts at the batch
size B and decays by γ per epoch down to a floor ν·B:
    k(epoch) = ⌊max(γ^epoch · B, ν · B)⌋,   epoch = ⌊step / steps_per_epoch⌋,
with γ = 0.99 and ν = 0.5 (the authors' `TopKGenerator` defaults; the paper
also reports ν = 0.75 for some models). PyTorch-StudioGAN (src/utils/losses.py
`adjust_k`, src/loader.py) multiplies a float k by γ at each epoch end with
the floor ⌊ν·B⌋ and truncates at use: the same k up to float rounding.

Selection is over the global batch (B is the update's global sub-batch), so
1 and N replicas train alike. Each replica all-gathers D's fake logits (the
gather is differentiable: its gradient sums the replicas' upstream gradients
and slices this replica's rows), takes the global top k, and G's loss on it
is the global top-k mean, identical on every replica. The GAN scales each
replica's loss by 1/N and sums the gradients, so G receives ∂(top-k mean)/∂θ,
as on one device. Per-replica top-k would pick the best k/N of each replica,
another set of fakes.
"""

from typing import Any

import tensorflow as tf

from compare_gan2 import global_batch
from compare_gan2.gans import catalog
from compare_gan2.gans import components
from compare_gan2.regularizers import base


def schedule(step: tf.Tensor, batch_size: tf.Tensor | int, steps_per_epoch: int,
             gamma: float, nu: float) -> tf.Tensor:
  """k(step) = ⌊max(γ^⌊step/steps_per_epoch⌋ · B, ν · B)⌋, at least 1 (int32)."""
  epoch = tf.cast(tf.cast(step, tf.int64) // steps_per_epoch, tf.float64)
  batch = tf.cast(batch_size, tf.float64)
  # float64: γ^epoch·B in float32 can round just below an integer and drop a fake.
  k = tf.floor(tf.maximum(tf.pow(tf.constant(gamma, tf.float64), epoch) * batch, nu * batch))
  return tf.cast(tf.maximum(k, 1.0), tf.int32)


def global_top_k(logits: tf.Tensor, k: tf.Tensor) -> tf.Tensor:
  """The k highest of every replica's logits [n, 1] as [k, 1], the same on every replica."""
  logits = tf.convert_to_tensor(logits)
  if logits.shape.rank != 2 or logits.shape[1] != 1:
    raise ValueError(f"TopK expects D's fake logits of shape [n, 1], got {logits.shape}.")
  return tf.math.top_k(_all_gather(logits)[:, 0], k=k, sorted=True).values[:, None]


@catalog.component(base.MODULE)
class TopK(components.Component):
  """G's loss over the k highest-scored fakes of the global batch; logs "topk_k"."""

  side = None

  def __init__(self, steps_per_epoch: int, gamma: float = 0.99, nu: float = 0.5, **kwargs: Any):
    """Args:
      steps_per_epoch: training steps (G updates) per pass over the data.
      gamma: decay γ of k per epoch.
      nu: the floor ν of k as a fraction of the batch.
      **kwargs: Keras layer arguments (name).
    """
    if steps_per_epoch < 1:
      raise ValueError(f"TopK.steps_per_epoch must be a positive integer, got {steps_per_epoch}.")
    if not (0.0 < gamma <= 1.0 and 0.0 < nu <= 1.0):  # also refuses NaN
      raise ValueError(f"TopK needs gamma and nu in (0, 1]; got gamma={gamma}, nu={nu}.")
    kwargs.setdefault("name", "topk")
    super().__init__(**kwargs)
    self.steps_per_epoch, self.gamma, self.nu = steps_per_epoch, gamma, nu

  def metric_names(self) -> tuple[str, ...]:
    """The k of the G updates."""
    return ("topk_k",)

  def k(self, view: components.DiscriminatorView) -> tf.Tensor:
    """How many fakes G learns from in this update (of the global sub-batch)."""
    rows = tf.shape(view.fake_out.logits)[0] * global_batch.replica()[1]
    return schedule(view.step, rows, self.steps_per_epoch, self.gamma, self.nu)

  def generator_logits(self, real: tf.Tensor, fake: tf.Tensor,
                       view: components.DiscriminatorView) -> tuple[tf.Tensor, tf.Tensor]:
    """The global top-k of the fake logits, as both halves ([k, 1] each).

    The losses' G terms read the fake logits only (tests/regularizers/topk_test.py
    checks every registered loss), so the pair is (top, top).
    """
    del real
    top = global_top_k(fake, self.k(view))
    return top, top

  def generator_terms(self, view: components.DiscriminatorView) -> components.Terms:
    """No loss of its own; logs k."""
    return components.Terms(None, {"topk_k": tf.cast(self.k(view), tf.float32)})


def _all_gather(x: tf.Tensor) -> tf.Tensor:
  """x of every replica, concatenated in replica order (x itself on one device)."""
  if global_batch.replica()[1] == 1:
    return x
  return tf.distribute.get_replica_context().all_gather(x, axis=0)
