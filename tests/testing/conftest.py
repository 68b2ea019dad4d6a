"""The plugin's tests run generated test files in a pytester project set up the way a
controller author's would be: the plugin installed, pytest-asyncio in its default strict mode.

Each test module enables `pytester` itself (`pytest_plugins`): declared in this non-root
conftest, it would break `pytest` runs that start above `tests/`."""

from __future__ import annotations

import pytest


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester project whose async tests and fixtures run on the test's own loop, with an
    embedded server per test whatever cluster the outer run uses."""
    for name in ("CONTROLLERKIT_EXISTING_CLUSTER", "KUBECONFIG"):
        monkeypatch.delenv(name, raising=False)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    return pytester
