"""Fixtures for the small examples: each test imports the example it exercises afresh, as
`controllerkit run examples.NAME:manager` would in a new process, connected to the test's
embedded API server."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from types import ModuleType
from typing import TypeVar

import pytest
from pydantic import BaseModel

from controllerkit import KubeClient, crd_for
from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.client import TypedClient
from controllerkit.errors import NotFound
from controllerkit.meta import CUSTOM_RESOURCE_DEFINITION
from controllerkit.resource import Resource

LoadExample = Callable[[str], ModuleType]
M = TypeVar("M", bound=BaseModel)


@pytest.fixture
def load_example(server: EmbeddedApiServer, monkeypatch: pytest.MonkeyPatch) -> LoadExample:
    """`load_example("minimal")`: a new module object for `examples.minimal`, with its own
    `manager` (whose client reads `KUBECONFIG`, pointed at `server`), kinds and state.

    Every call executes the module again, so two calls are two replicas of one program; the
    `sys.modules` entry is the latest load until the test ends.
    """
    monkeypatch.setenv("KUBECONFIG", str(server.kubeconfig_path))

    def load(name: str) -> ModuleType:
        spec = importlib.util.find_spec(f"examples.{name}")
        assert spec is not None and spec.loader is not None, f"no module examples.{name}"
        module = importlib.util.module_from_spec(spec)
        # Registered before it runs, as an import does: pydantic resolves names through it.
        monkeypatch.setitem(sys.modules, spec.name, module)
        spec.loader.exec_module(module)
        return module

    return load


async def install_crd(kube: KubeClient, model: type[Resource]) -> None:
    """Create the CustomResourceDefinition of `model` (as `controllerkit crd` prints it)."""
    await kube.create(CUSTOM_RESOURCE_DEFINITION, crd_for(model))


async def get_or_none(objects: TypedClient[M], name: str, namespace: str = "default"
                      ) -> M | None:
    """The object named `name` in `namespace`; None when there is none."""
    try:
        return await objects.get(name, namespace=namespace)
    except NotFound:
        return None


async def existing(objects: TypedClient[M], name: str, namespace: str = "default") -> M:
    """The object named `name` in `namespace`; `AssertionError` (not yet, for `eventually`)
    when there is none."""
    found = await get_or_none(objects, name, namespace)
    assert found is not None, f"no {objects.kind.kind} {namespace}/{name}"
    return found
