"""draws.Table: one Philox draw per call, quantities read fixed columns, and a read
outside the table's columns is refused with the columns named (not silently cut short)."""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import stateless_random
from compare_gan2.augment import draws

SEED = tf.constant([3, 4], tf.int32)


def test_uniform_reads_its_own_columns_of_one_philox_draw():
  table = draws.Table(4, SEED, columns=3)
  words = stateless_random.bits(4 * 3, SEED).numpy().reshape(4, 3)
  expected = 2 + 3 * ((words[:, 1:3] & 0x7FFFFF).astype(np.float32) * 2.0 ** -23)
  np.testing.assert_allclose(table.uniform(1, 2.0, 5.0, width=2).numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("column, width", [(-1, 1), (2, 2), (3, 1)])
def test_columns_outside_the_table_are_refused(column, width):
  table = draws.Table(4, SEED, columns=3)
  with pytest.raises(ValueError, match=rf"columns \[{column}, {column + width}\) lie outside "
                                       r"its 3 columns"):
    table.uniform(column, width=width)


def test_a_normal_needs_two_columns_per_value():
  with pytest.raises(ValueError, match=r"\[2, 4\) lie outside its 3 columns"):
    draws.Table(4, SEED, columns=3).normal(2, 1.0)
