"""Top-k training of G, Sinha et al. 2020 (arXiv 2002.06224, §3, Algorithm 1).

G's adversarial loss averages over only the k fakes D scores highest (the
"most realistic"); the others contribute no gradient. k starts at the batch
size B and decays by γ per epoch down to a floor ν·B:
    k(epoch) = ⌊max(γ^epoch · B, ν · B)⌋,   epoch = ⌊step / steps_per_epoch⌋,
with γ = 0.99 and ν = 0.5 (the authors' `TopKGenerator` defaults; the paper
also reports ν = 0.75 for some models). PyTorch-StudioGAN (src/utils/losses.py
`adjust_k`, src/loader.py) multiplies a float k by γ at each epoch end with
the floor ⌊ν·B⌋ and truncates at use: the same k up to float rounding.

Selection is over the global batch, so 1 and N replicas train alike. Each
replica all-gathers D's fake logits (the gather is differentiable: its
gradient sums the replicas' upstream gradients and slices this replica's
rows), takes the global top k, and G's loss on it is the global top-k mean,
identical on every replica. The GAN scales each replica's loss by 1/N and sums
the gradients, so G receives ∂(top-k mean)/∂θ, as on one device. Per-replica
top-k would instead pick the best k/N of each replica, another set of fakes.
"""

import tensorflow as tf

from compare_gan2 import global_batch
from compare_gan2.regularizers import base


def schedule(step: tf.Tensor, batch_size: tf.Tensor | int, steps_per_epoch: int,
             gamma: float, nu: float) -> tf.Tensor:
  """k(step) = ⌊max(γ^⌊step/steps_per_epoch⌋ · B, ν · B)⌋, at least 1 (int32)."""
  epoch = tf.cast(tf.cast(step, tf.int64) // steps_per_epoch, tf.float64)
  batch = tf.cast(batch_size, tf.float64)
  # float64: γ^epoch·B in float32 can round just below an integer and drop a fake.
  k = tf.floor(tf.maximum(tf.pow(tf.constant(gamma, tf.float64), epoch) * batch, nu * batch))
  return tf.cast(tf.maximum(k, 1.0), tf.int32)


@base.register
class TopK(base.Regularizer):
  """G's loss over the k highest-scored fakes of the global batch."""

  def __init__(self, steps_per_epoch: int, gamma: float = 0.99, nu: float = 0.5):
    """Args:
      steps_per_epoch: training steps (G updates) per pass over the data.
      gamma: decay γ of k per epoch.
      nu: the floor ν of k as a fraction of the batch.
    """
    super().__init__(name="topk")
    if steps_per_epoch < 1:
      raise ValueError(f"TopK.steps_per_epoch must be a positive integer, got {steps_per_epoch}.")
    if not (0.0 < gamma <= 1.0 and 0.0 < nu <= 1.0):  # also refuses NaN
      raise ValueError(f"TopK needs gamma and nu in (0, 1]; got gamma={gamma}, nu={nu}.")
    self.steps_per_epoch, self.gamma, self.nu = steps_per_epoch, gamma, nu
    # The k of the last G update, for logging; every replica assigns the same k.
    self.last_k = tf.Variable(0, dtype=tf.int32, trainable=False, name="last_k",
                              aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

  def k(self, step: tf.Tensor, global_batch_size: tf.Tensor | int) -> tf.Tensor:
    """How many fakes G learns from at `step`."""
    return schedule(step, global_batch_size, self.steps_per_epoch, self.gamma, self.nu)

  def generator_logits(self, d_fake_logits: tf.Tensor, step: tf.Tensor) -> tf.Tensor:
    """The global top-k of D's fake logits [n, 1] as [k, 1], the same on every replica.

    G's loss on these (the GAN's G loss reads the fake logits only) is the
    top-k mean over the global batch.
    """
    logits = tf.convert_to_tensor(d_fake_logits)
    if logits.shape.rank != 2 or logits.shape[1] != 1:
      raise ValueError(f"TopK expects D's fake logits of shape [n, 1], got {logits.shape}.")
    everything = _all_gather(logits)
    k = self.k(step, tf.shape(everything)[0])
    self.last_k.assign(k)
    return tf.math.top_k(everything[:, 0], k=k, sorted=True).values[:, None]

  def metrics(self) -> dict[str, tf.Tensor]:
    """{"topk_k": k of the last G update}."""
    return {"topk_k": tf.identity(self.last_k)}


def _all_gather(x: tf.Tensor) -> tf.Tensor:
  """x of every replica, concatenated in replica order (x itself on one device)."""
  if global_batch.replica()[1] == 1:
    return x
  return tf.distribute.get_replica_context().all_gather(x, axis=0)
