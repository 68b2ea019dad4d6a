"""metadata.resourceVersion on PUT and create, answered as a real API server answers it.

A PUT without a resourceVersion overwrites what is stored for the built-in kinds whose update
strategy allows it (`AllowUnconditionalUpdate`): every kind served here but Leases and CRDs.
Custom resources, their status included, always need one. On create, a resourceVersion that is
not a positive decimal number is ignored, as the real server ignores what it cannot parse.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from controllerkit.apiserver import EmbeddedApiServer

from .http_api import (
    CONFIGMAPS,
    CRDS,
    WIDGET_CRD_NAME,
    RestClient,
    assert_status,
    cause_fields,
    core_path,
    install_widget_crd,
    ok,
    rest_client,
    widgets_path,
)
from .manifests import configmap, widget
from .workload_manifests import CASES, KindCase

JSONDict = dict[str, Any]
MUST_BE_SPECIFIED = "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"
LEASES = "/apis/coordination.k8s.io/v1/namespaces/default/leases"


@pytest.fixture
async def api() -> AsyncIterator[RestClient]:
    async with EmbeddedApiServer() as server, rest_client(server.url) as client:
        yield client


def _without_resource_version(obj: JSONDict, resource_version: str | None = None) -> JSONDict:
    meta = {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}
    if resource_version is not None:
        meta["resourceVersion"] = resource_version
    return {**obj, "metadata": meta}


def _assert_must_be_specified(reply: Any, qualified_plural: str, name: str) -> None:
    status = assert_status(reply, 422, "Invalid")
    assert status["message"] == f'{qualified_plural} "{name}" is invalid: {MUST_BE_SPECIFIED}'
    assert cause_fields(status) == ["metadata.resourceVersion"]
    assert status["details"]["causes"][0]["reason"] == "FieldValueInvalid"
    assert status["details"]["name"] == name


# -- PUT without a resourceVersion ----------------------------------------------------------


@pytest.mark.parametrize("resource_version", [None, "0"])
async def test_custom_resource_put_needs_a_resource_version(
    api: RestClient, resource_version: str | None,
) -> None:
    await install_widget_crd(api)
    created = ok(await api.post(widgets_path(), widget("w1", size=1)), 201)
    changed = _without_resource_version(created, resource_version)
    changed["spec"]["size"] = 2
    reply = await api.put(widgets_path("w1"), changed)
    _assert_must_be_specified(reply, "widgets.example.com", "w1")
    assert reply.body["details"]["kind"] == "widgets"
    assert reply.body["details"]["group"] == "example.com"
    assert ok(await api.get(widgets_path("w1")))["spec"]["size"] == 1


async def test_custom_resource_status_put_needs_a_resource_version(api: RestClient) -> None:
    await install_widget_crd(api)
    created = ok(await api.post(widgets_path(), widget("w1")), 201)
    reply = await api.put(widgets_path("w1", subresource="status"),
                          {**_without_resource_version(created), "status": {"phase": "Ready"}})
    _assert_must_be_specified(reply, "widgets.example.com", "w1")


async def test_put_of_a_missing_custom_resource_is_not_found_first(api: RestClient) -> None:
    await install_widget_crd(api)
    reply = await api.put(widgets_path("absent"), widget("absent"))
    assert_status(reply, 404, "NotFound")


async def test_crd_put_needs_a_resource_version(api: RestClient) -> None:
    await install_widget_crd(api)
    crd = ok(await api.get(f"{CRDS}/{WIDGET_CRD_NAME}"))
    reply = await api.put(f"{CRDS}/{WIDGET_CRD_NAME}", _without_resource_version(crd))
    _assert_must_be_specified(
        reply, "customresourcedefinitions.apiextensions.k8s.io", WIDGET_CRD_NAME)


async def test_lease_put_needs_a_resource_version(api: RestClient) -> None:
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "leader"}, "spec": {"holderIdentity": "a"}}
    created = ok(await api.post(LEASES, lease), 201)
    changed = _without_resource_version(created)
    changed["spec"]["holderIdentity"] = "b"
    reply = await api.put(f"{LEASES}/leader", changed)
    _assert_must_be_specified(reply, "leases.coordination.k8s.io", "leader")


@pytest.mark.parametrize("resource_version", [None, "0"])
async def test_configmap_put_without_resource_version_overwrites(
    api: RestClient, resource_version: str | None,
) -> None:
    created = ok(await api.post(CONFIGMAPS, configmap("c", data={"a": "1"})), 201)
    changed = _without_resource_version(created, resource_version)
    changed["data"] = {"a": "2"}
    updated = ok(await api.put(core_path("configmaps", "c"), changed))
    assert updated["data"] == {"a": "2"}
    assert int(updated["metadata"]["resourceVersion"]) > int(
        created["metadata"]["resourceVersion"])


async def test_secret_and_namespace_put_without_resource_version_overwrite(
    api: RestClient,
) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
              "stringData": {"a": "1"}}
    created = ok(await api.post(core_path("secrets"), secret), 201)
    changed = {**_without_resource_version(created), "data": {"a": "Mg=="}}
    assert ok(await api.put(core_path("secrets", "s"), changed))["data"] == {"a": "Mg=="}
    namespace = ok(await api.post(core_path("namespaces", namespace=None),
                                  {"metadata": {"name": "team"}}), 201)
    labelled = _without_resource_version(namespace)
    labelled["metadata"]["labels"] = {"team": "a"}
    updated = ok(await api.put(core_path("namespaces", "team", namespace=None), labelled))
    assert updated["metadata"]["labels"] == {"team": "a"}


@pytest.mark.parametrize("case", CASES, ids=str)
async def test_workload_kind_put_without_resource_version_overwrites(
    api: RestClient, case: KindCase,
) -> None:
    collection = case.kind.path(case.namespace)
    created = ok(await api.post(collection, case.manifest("one")), 201)
    changed = _without_resource_version(created)
    changed["metadata"]["labels"] = {"changed": "yes"}
    updated = ok(await api.put(case.kind.path(case.namespace, "one"), changed))
    assert updated["metadata"]["labels"] == {"changed": "yes"}
    if case.has_status:
        current = ok(await api.get(case.kind.path(case.namespace, "one")))
        status_write = {**_without_resource_version(current), "status": case.status}
        written = ok(await api.put(case.kind.path(case.namespace, "one") + "/status",
                                   status_write))
        assert written["status"] == case.status


# -- create with a resourceVersion ----------------------------------------------------------


@pytest.mark.parametrize("resource_version", ["abc", "0", "00", "-1", "+5", "1.5", " 5",
                                              "99999999999999999999999"])
async def test_create_ignores_a_resource_version_that_is_not_a_positive_number(
    api: RestClient, resource_version: str,
) -> None:
    sent = configmap("c")
    sent["metadata"]["resourceVersion"] = resource_version
    created = ok(await api.post(CONFIGMAPS, sent), 201)
    assigned = created["metadata"]["resourceVersion"]
    assert assigned != resource_version and int(assigned) > 0
    assert ok(await api.get(core_path("configmaps", "c")))["metadata"]["resourceVersion"] == (
        assigned)


async def test_dry_run_create_does_not_echo_an_ignored_resource_version(
    api: RestClient,
) -> None:
    sent = configmap("c")
    sent["metadata"]["resourceVersion"] = "abc"
    created = ok(await api.post(CONFIGMAPS, sent, params={"dryRun": "All"}), 201)
    assert created["metadata"].get("resourceVersion") != "abc"


async def test_create_with_a_positive_resource_version_is_refused(api: RestClient) -> None:
    sent = configmap("c")
    sent["metadata"]["resourceVersion"] = "5"
    status = assert_status(await api.post(CONFIGMAPS, sent), 400, "BadRequest")
    assert status["message"] == "resourceVersion should not be set on objects to be created"
