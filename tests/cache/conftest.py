"""Fixtures of the cache tests: the two ways a store keeps its objects."""

from __future__ import annotations

import pytest


@pytest.fixture(params=[False, True], ids=["dict", "compact"])
def compact(request: pytest.FixtureRequest) -> bool:
    """Whether the store under test keeps its objects as JSON bytes (`Store(compact=True)`).

    Tests that take this fixture run once per mode and must observe the same results in both.
    """
    return bool(request.param)
