"""Tests for compare_gan2.data.base: seeds, the per-index hash, stream sources.

The per-example seeds and the label-subset hash must depend on nothing but
their inputs (so order, crops and subsets are pure functions); a streaming
source annotates canonical indices, filters after relabelling, and finds its
length from `num_examples`, then metadata, then by counting.
"""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2.data import base


def test_example_seeds_differ_by_purpose_and_index_and_repeat():
  seeds = {tuple(base.example_seed(547, purpose, index).numpy())
           for purpose in (base.ORDER, base.CROP, base.LABEL, base.Z) for index in range(50)}
  assert len(seeds) == 200
  np.testing.assert_array_equal(base.example_seed(1, base.Z, 7), base.example_seed(1, base.Z, 7))


def test_unit_hash_is_uniform_per_index_and_shape_free():
  values = base.unit_hash(3, np.arange(20_000)).numpy()
  assert values.dtype == np.float64 and 0 <= values.min() and values.max() < 1
  assert abs(values.mean() - 0.5) < 0.01 and len(np.unique(values)) == 20_000
  assert float(base.unit_hash(3, tf.constant(123, tf.int64))) == values[123]
  other = base.unit_hash(4, np.arange(20_000)).numpy()
  # Independent of the index's neighbours and of the other seed: correlations near 0
  # (sd ~ 1/sqrt(20_000) = 0.007), and a 5% subset reaches the first indices.
  assert abs(np.corrcoef(values[:-1], values[1:])[0, 1]) < 0.04
  assert abs(np.corrcoef(values, other)[0, 1]) < 0.04
  assert (values[:100] < 0.05).sum() >= 1


def _stream(labels, **kwargs):
  labels = np.asarray(labels, np.int32)
  return base.StreamSource(open=lambda: tf.data.Dataset.from_tensor_slices(
      {"image": np.zeros(len(labels), np.uint8), "label": labels}), **kwargs)


def test_canonical_stream_indexes_then_relabels_then_filters():
  source = _stream([0, 1, 2, 3, 4], label_fn=lambda label, index: label * 10 + tf.cast(
      index, tf.int32), keep=lambda raw: raw["label"] % 3 != 0)
  rows = [(int(r["index"]), int(r["label"])) for r in source.canonical()]
  assert rows == [(1, 11), (2, 22), (4, 44)]  # 0 -> 0 and 3 -> 33 are filtered


@pytest.mark.parametrize("kwargs,expected", [
    (dict(num_examples=9), 9),                        # trusted as given
    (dict(count=lambda: 7), 7),                       # metadata
    (dict(count=lambda: None), 5),                    # empty metadata: counted
    (dict(count=lambda: 7, keep=lambda raw: raw["label"] > 1), 3),  # a filter: counted
])
def test_stream_length(kwargs, expected):
  assert _stream([0, 1, 2, 3, 4], **kwargs).length == expected


def test_array_source_counts_kept_examples():
  source = base.ArraySource(items=np.zeros(6), labels=np.arange(6), kept=np.array([1, 4]))
  assert source.num_examples == 2
