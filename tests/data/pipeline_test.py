"""Tests for compare_gan2.data.pipeline: order as a pure function of (seed, step).

Fixture datasets whose image is its own canonical index make the order
visible. Checked for random-access and streaming sources: resuming at step k
gives the batches of an uninterrupted run, every epoch is a permutation, the
global batch is the same for 1 replica, 2 replicas and 2 input pipelines,
z is per example, and the errors (indivisible batch, empty split).
"""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import data
from compare_gan2.data import base
from compare_gan2.data import pipeline

N = 20


def _prepare(raw, seed):
  del seed
  return tf.cast(tf.reshape(raw["image"], [1, 1, 1]), tf.float32)


def indexed(kind: str, n: int = N, labels=None, soft=None) -> base.Dataset:
  """A dataset of n examples whose image value is its canonical index."""
  items = np.arange(n, dtype=np.int32)
  labels = (items % 3).astype(np.int32) if labels is None else labels
  if kind == "array":
    source = base.ArraySource(items=items, labels=labels, soft=soft)
  else:
    source = base.StreamSource(
        open=lambda: tf.data.Dataset.from_tensor_slices({"image": items, "label": labels}),
        soft=soft)
  split = base.Split(source, _prepare)
  info = base.DatasetInfo("indexed", (1, 1, 1), 3, n, n, n)
  return base.Dataset(info=info, train=split, eval=split)


def _indices(batches, steps):
  return np.stack([np.asarray(b["images"]).reshape(-1) for b in batches.take(steps)])


@pytest.mark.parametrize("kind", ["array", "stream"])
def test_resuming_at_step_k_gives_the_batches_of_a_straight_run(kind):
  dataset = indexed(kind)
  straight = _indices(pipeline.train_dataset(dataset, 6, seed=3, shuffle_window=7), 12)
  for k in (3, 7):  # 7 · 6 = 42 crosses two epoch and several window boundaries.
    resumed = _indices(pipeline.train_dataset(dataset, 6, start_step=k, seed=3,
                                              shuffle_window=7), 12 - k)
    np.testing.assert_array_equal(resumed, straight[k:])


@pytest.mark.parametrize("kind", ["array", "stream"])
def test_every_epoch_is_a_fresh_permutation(kind):
  order = _indices(pipeline.train_dataset(indexed(kind), 5, seed=1, shuffle_window=8), 12)
  epochs = order.reshape(3, N)
  for epoch in epochs:
    assert sorted(epoch) == list(range(N))
  assert not np.array_equal(epochs[0], epochs[1])
  assert not np.array_equal(epochs[0], np.arange(N))


@pytest.mark.parametrize("kind", ["array", "stream"])
def test_order_depends_on_the_seed_only(kind):
  first = _indices(pipeline.train_dataset(indexed(kind), 4, seed=5, shuffle_window=8), 5)
  again = _indices(pipeline.train_dataset(indexed(kind), 4, seed=5, shuffle_window=8), 5)
  other = _indices(pipeline.train_dataset(indexed(kind), 4, seed=6, shuffle_window=8), 5)
  np.testing.assert_array_equal(first, again)
  assert not np.array_equal(first, other)


def _global_batches(strategy, dataset, batch, steps, **kwargs):
  distributed = pipeline.train_input(dataset, strategy, batch, **kwargs)
  result = []
  for step, per_replica in enumerate(distributed):
    if step == steps:
      break
    local = [strategy.experimental_local_results(per_replica[key]) for key in ("images", "z")]
    result.append([np.concatenate([np.asarray(t) for t in parts]) for parts in local])
  return result


@pytest.mark.parametrize("kind", ["array", "stream"])
def test_one_and_two_replicas_see_the_same_global_batches(kind, two_replicas):
  dataset = indexed(kind)
  kwargs = dict(seed=2, shuffle_window=6, z_dim=3, start_step=2)
  one = _global_batches(tf.distribute.get_strategy(), dataset, 8, 4, **kwargs)
  two = _global_batches(two_replicas, dataset, 8, 4, **kwargs)
  for (images1, z1), (images2, z2) in zip(one, two):
    np.testing.assert_array_equal(images1, images2)
    np.testing.assert_array_equal(z1, z2)
  # Replica 0 holds the first half of the global batch.
  first = next(iter(pipeline.train_input(dataset, two_replicas, 8, **kwargs)))
  replica0 = two_replicas.experimental_local_results(first["images"])[0]
  np.testing.assert_array_equal(np.asarray(replica0), one[0][0][:4])


@pytest.mark.parametrize("kind", ["array", "stream"])
def test_input_pipelines_each_produce_their_share(kind):
  dataset = indexed(kind)
  whole = _indices(pipeline.train_dataset(dataset, 8, seed=4, shuffle_window=6), 3)
  shares = []
  for pipeline_id in (0, 1):
    context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=pipeline_id,
                                         num_replicas_in_sync=4)
    batches = pipeline.train_dataset(dataset, 8, seed=4, shuffle_window=6,
                                     input_context=context)
    shares.append(_indices(batches, 6).reshape(3, 4))  # 2 replicas x 2 examples per step.
  np.testing.assert_array_equal(np.concatenate(shares, axis=1), whole)


def test_indivisible_global_batch_is_a_clear_error(two_replicas):
  with pytest.raises(ValueError, match="global_batch_size 7 is not divisible by the 2 replicas"):
    pipeline.train_input(indexed("array"), two_replicas, 7)


def test_z_is_per_example_deterministic_and_standard_normal():
  batches = list(pipeline.train_dataset(indexed("array"), 10, seed=9, z_dim=16).take(40))
  z = np.concatenate([b["z"] for b in batches])
  assert z.shape == (400, 16) and z.dtype == np.float32
  assert abs(z.mean()) < 0.05 and abs(z.std() - 1) < 0.05
  resumed = next(iter(pipeline.train_dataset(indexed("array"), 10, start_step=3, seed=9,
                                             z_dim=16)))
  np.testing.assert_array_equal(resumed["z"], batches[3]["z"])
  assert "z" not in next(iter(pipeline.train_dataset(indexed("array"), 10)))


@pytest.mark.parametrize("kind", ["array", "stream"])
def test_elements_follow_the_contract(kind):
  soft = base.SoftLabels("mem", np.eye(3, dtype=np.float32)[np.arange(N) % 3], logits=False)
  batch = next(iter(pipeline.train_dataset(indexed(kind, soft=soft), 4)))
  assert set(batch) == {"images", "labels", "soft_labels"}
  assert batch["labels"].dtype == tf.int32 and batch["labels"].shape == (4,)
  index = np.asarray(batch["images"]).reshape(-1).astype(int)
  np.testing.assert_array_equal(batch["labels"], index % 3)
  np.testing.assert_array_equal(np.argmax(batch["soft_labels"], axis=1), index % 3)


@pytest.mark.parametrize("kind", ["array", "stream"])
def test_eval_input_reads_each_example_once_in_order(kind):
  soft = base.SoftLabels("mem", np.ones([N, 3], np.float32), logits=True)
  examples = list(pipeline.eval_input(indexed(kind, soft=soft)))
  assert [int(e["images"][0, 0, 0]) for e in examples] == list(range(N))
  assert set(examples[0]) == {"images", "labels"}
  batches = list(pipeline.eval_input(indexed(kind), batch_size=8))
  assert [len(b["labels"]) for b in batches] == [8, 8, 4]


def test_empty_filtered_stream_fails_instead_of_spinning():
  dataset = indexed("stream")
  source = dataset.train.source
  empty = base.StreamSource(open=source.open, keep=lambda raw: raw["label"] > 5)
  split = base.Split(empty, _prepare)
  with pytest.raises(data.DataError, match="indexed: the train split has no examples"):
    pipeline.train_dataset(base.Dataset(dataset.info, split, split), 4)


def test_a_filtered_stream_is_counted_for_resuming():
  dataset = indexed("stream")
  kept = base.StreamSource(open=dataset.train.source.open, keep=lambda raw: raw["label"] == 0)
  filtered = base.Dataset(dataset.info, base.Split(kept, _prepare), dataset.eval)
  assert kept.length == 7  # 0, 3, ..., 18
  straight = _indices(pipeline.train_dataset(filtered, 3, shuffle_window=4), 6)
  resumed = _indices(pipeline.train_dataset(filtered, 3, start_step=4, shuffle_window=4), 2)
  np.testing.assert_array_equal(resumed, straight[4:])
  assert set(straight.reshape(-1)) == set(range(0, N, 3))
