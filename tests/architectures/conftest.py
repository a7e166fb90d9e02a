"""Fixtures shared by the architecture tests (test modules cannot import each other)."""

from collections.abc import Callable, Iterator

import pytest

from compare_gan2 import testing


@pytest.fixture
def created() -> Iterator[list[testing.WeightRecord]]:
  """Every weight created during the test, as (layer, variable), in creation order."""
  with testing.record_weight_creation() as records:
    yield records


@pytest.fixture
def created_names(created: list[testing.WeightRecord]) -> Callable[[], list[str]]:
  """Lists the created weights' names so far, a kernel by its layer's name ("up_conv1")."""
  return lambda: [r.layer.name if r.variable.name == "kernel" else r.variable.name
                  for r in created]
