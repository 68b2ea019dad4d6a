"""Gate behaviours beyond the §7.2 table: each reason a gate can give, regressions that block
later gates, recovery when the cluster changes."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from controllerkit.errors import Forbidden
from controllerkit.meta import CONFIG_MAP, CUSTOM_RESOURCE_DEFINITION, EVENT, SECRET
from controllerkit.testing import eventually
from examples.gittarget.app import Settings
from examples.gittarget.content import generate_identity, recipient_of, recipients_hash
from examples.gittarget.encryption_setup import IDENTITY_KEY, RECIPIENT_ANNOTATION
from examples.gittarget.kinds import GIT_PROVIDER, GIT_TARGET, WATCH_RULE
from tests.apiserver.manifests import widget_crd

from .support import (
    NAMESPACE,
    Cluster,
    RuleChange,
    conditions,
    provider,
    running,
    summary,
    target,
    watch_rule,
    with_delays,
)

READ_WIDGETS = {"verbs": ["get", "list", "watch"], "apiGroups": ["example.com"],
                "resources": ["widgets"]}


async def reason_of(cluster: Cluster, condition: str, name: str = "cluster") -> str | None:
    found = (await conditions(cluster.admin, name)).get(condition)
    return found["reason"] if found else None


async def wait_reason(cluster: Cluster, condition: str, reason: str,
                      name: str = "cluster") -> None:
    async def reached() -> bool:
        return await reason_of(cluster, condition, name) == reason
    await eventually(reached)


async def test_branch_outside_the_allowed_globs_is_not_allowed(
        cluster: Cluster, remote: Path, settings: Settings) -> None:
    await cluster.admin.create(GIT_PROVIDER, provider(remote, branches=["env/*"]),
                               namespace=NAMESPACE)
    await cluster.admin.create(GIT_TARGET, target(branch="main"), namespace=NAMESPACE)
    await cluster.admin.create(GIT_TARGET, target("staging", branch="env/staging"),
                               namespace=NAMESPACE)
    async with running(cluster.controller_client, settings):
        await wait_reason(cluster, "Validated", "BranchNotAllowed")
        await wait_reason(cluster, "Ready", "OK", name="staging")
    found = await conditions(cluster.admin)
    assert "['env/*']" in found["Validated"]["message"]


async def test_the_later_target_of_one_folder_conflicts_until_the_earlier_one_goes(
        cluster: Cluster, remote: Path, settings: Settings) -> None:
    await cluster.admin.create(GIT_PROVIDER, provider(remote), namespace=NAMESPACE)
    await cluster.admin.create(GIT_TARGET, target("first"), namespace=NAMESPACE)
    await cluster.admin.create(GIT_TARGET, target("second"), namespace=NAMESPACE)
    async with running(cluster.controller_client, settings):
        await wait_reason(cluster, "Ready", "OK", name="first")
        await wait_reason(cluster, "Validated", "TargetConflict", name="second")
        second = await conditions(cluster.admin, "second")
        assert "'first'" in second["Validated"]["message"]

        await cluster.admin.delete(GIT_TARGET, "first", namespace=NAMESPACE)
        await wait_reason(cluster, "Ready", "OK", name="second")


async def test_a_missing_identity_secret_is_generated_when_allowed(
        cluster: Cluster, remote: Path, settings: Settings) -> None:
    encryption = {"enabled": True, "secretRef": {"name": "age-key"},
                  "generateWhenMissing": True}
    await cluster.admin.create(GIT_PROVIDER, provider(remote), namespace=NAMESPACE)
    await cluster.admin.create(GIT_TARGET, target(encryption=encryption), namespace=NAMESPACE)
    async with running(cluster.controller_client, settings):
        await wait_reason(cluster, "Ready", "OK")
    secret = await cluster.admin.get(SECRET, "age-key", namespace=NAMESPACE)
    identity = base64.b64decode(secret["data"][IDENTITY_KEY]).decode()
    recipient = recipient_of(identity)
    assert secret["metadata"]["annotations"][RECIPIENT_ANNOTATION] == recipient
    assert "ownerReferences" not in secret["metadata"]
    status = (await cluster.admin.get(GIT_TARGET, "cluster", namespace=NAMESPACE))["status"]
    assert status["encryption"]["mode"] == "Age"
    assert status["encryption"]["secretRef"] == {"name": "age-key"}
    assert status["encryption"]["recipientsHash"] == recipients_hash([recipient])
    found = await conditions(cluster.admin)
    assert summary(found)["EncryptionConfigured"] == ("True", "OK")


async def test_invalid_recipients_are_named(cluster: Cluster, remote: Path,
                                            settings: Settings) -> None:
    _, valid = generate_identity()
    encryption = {"enabled": True, "recipients": [valid, "age1notakey"]}
    await cluster.admin.create(GIT_PROVIDER, provider(remote), namespace=NAMESPACE)
    await cluster.admin.create(GIT_TARGET, target(encryption=encryption), namespace=NAMESPACE)
    async with running(cluster.controller_client, settings):
        await wait_reason(cluster, "EncryptionConfigured", "InvalidRecipients")
    message = (await conditions(cluster.admin))["EncryptionConfigured"]["message"]
    assert "age1notakey" in message and valid not in message


async def test_an_identity_secret_without_the_key_is_missing(
        cluster: Cluster, remote: Path, settings: Settings) -> None:
    await cluster.admin.create(SECRET, {"metadata": {"name": "age-key"},
                                        "stringData": {"other": "x"}}, namespace=NAMESPACE)
    encryption = {"enabled": True, "secretRef": {"name": "age-key"}}
    await cluster.admin.create(GIT_PROVIDER, provider(remote), namespace=NAMESPACE)
    await cluster.admin.create(GIT_TARGET, target(encryption=encryption), namespace=NAMESPACE)
    async with running(cluster.controller_client, settings):
        await wait_reason(cluster, "EncryptionConfigured", "MissingSecret")


@pytest.mark.parametrize("controller_rules", [RuleChange(drop=("configmaps",))], indirect=True)
async def test_a_snapshot_that_cannot_read_its_objects_fails_naming_the_cause(
        cluster: Cluster, remote: Path, settings: Settings) -> None:
    await cluster.admin.create(GIT_PROVIDER, provider(remote), namespace=NAMESPACE)
    await cluster.admin.create(GIT_TARGET, target(), namespace=NAMESPACE)
    await cluster.admin.create(WATCH_RULE, watch_rule(), namespace=NAMESPACE)
    quick = dataclasses.replace(settings, snapshot_sync_timeout=0.5)
    async with running(cluster.controller_client, quick):
        await wait_reason(cluster, "SnapshotSynced", "SnapshotFailed")
    found = await conditions(cluster.admin)
    assert 'cannot list resource "configmaps"' in found["SnapshotSynced"]["message"] or (
        'cannot watch resource "configmaps"' in found["SnapshotSynced"]["message"])
    assert summary(found)["Ready"] == ("False", "InitialSyncInProgress")


@pytest.mark.parametrize("controller_rules", [RuleChange(add=(READ_WIDGETS,))], indirect=True)
async def test_the_stream_registers_once_the_missing_kind_is_served(
        cluster: Cluster, remote: Path, settings: Settings) -> None:
    widgets = {"apiGroups": ["example.com"], "apiVersions": ["v1"], "resources": ["widgets"]}
    await cluster.admin.create(GIT_PROVIDER, provider(remote), namespace=NAMESPACE)
    await cluster.admin.create(GIT_TARGET, target(), namespace=NAMESPACE)
    await cluster.admin.create(WATCH_RULE, watch_rule(rules=[widgets]), namespace=NAMESPACE)
    async with running(cluster.controller_client, with_delays(settings, short=0.2)):
        await wait_reason(cluster, "EventStreamLive", "RegistrationFailed")
        await cluster.admin.create(CUSTOM_RESOURCE_DEFINITION, widget_crd())
        await wait_reason(cluster, "Ready", "OK")


async def test_a_regression_blocks_the_later_gates_and_lets_the_worker_go(
        cluster: Cluster, remote: Path, settings: Settings) -> None:
    await cluster.admin.create(CONFIG_MAP, {"metadata": {"name": "app"}}, namespace=NAMESPACE)
    await cluster.admin.create(GIT_PROVIDER, provider(remote), namespace=NAMESPACE)
    await cluster.admin.create(GIT_TARGET, target(), namespace=NAMESPACE)
    await cluster.admin.create(WATCH_RULE, watch_rule(), namespace=NAMESPACE)
    async with running(cluster.controller_client, settings):
        await wait_reason(cluster, "Ready", "OK")
        await cluster.admin.delete(GIT_PROVIDER, "repo", namespace=NAMESPACE)
        await wait_reason(cluster, "Validated", "ProviderNotFound")
        found = summary(await conditions(cluster.admin))
        status = (await cluster.admin.get(GIT_TARGET, "cluster", namespace=NAMESPACE))["status"]
    assert found == {
        "Validated": ("False", "ProviderNotFound"),
        "EncryptionConfigured": ("Unknown", "Blocked"),
        "Bootstrapped": ("Unknown", "Blocked"),
        "SnapshotSynced": ("Unknown", "Blocked"),
        "EventStreamLive": ("Unknown", "Blocked"),
        "Ready": ("False", "ValidationFailed"),
    }
    assert status["phase"] == "BOOTSTRAPPING"
    assert "workerRef" not in status and "stream" not in status
    assert status["snapshot"]["stats"] == {"created": 1, "updated": 0, "deleted": 0}


async def test_the_controller_may_write_status_but_not_spec(cluster: Cluster) -> None:
    created = await cluster.admin.create(GIT_TARGET, target(), namespace=NAMESPACE)
    with pytest.raises(Forbidden):
        await cluster.controller_client.patch(GIT_TARGET, "cluster",
                                              {"spec": {"branch": "other"}},
                                              namespace=NAMESPACE)
    patched = await cluster.controller_client.patch_status(
        GIT_TARGET, "cluster", {"status": {"phase": "PENDING"}}, namespace=NAMESPACE,
        resource_version=created["metadata"]["resourceVersion"])
    assert patched["status"]["phase"] == "PENDING"


async def test_a_missing_credentials_secret_keeps_the_worker_from_starting(
        cluster: Cluster, remote: Path, settings: Settings) -> None:
    await cluster.admin.create(GIT_PROVIDER, provider(remote, secretRef={"name": "git-creds"}),
                               namespace=NAMESPACE)
    await cluster.admin.create(GIT_TARGET, target(), namespace=NAMESPACE)
    async with running(cluster.controller_client, with_delays(settings, short=0.2)):
        await wait_reason(cluster, "Bootstrapped", "WorkerNotFound")
        message = (await conditions(cluster.admin))["Bootstrapped"]["message"]
        assert "git-creds" in message
        await cluster.admin.create(SECRET, {"metadata": {"name": "git-creds"},
                                            "stringData": {"password": "t0ken"}},
                                   namespace=NAMESPACE)
        # Secrets are not watched: the requeue after the short delay notices this one.
        await wait_reason(cluster, "Ready", "OK")


async def test_becoming_ready_and_ceasing_to_be_are_recorded_as_events(
        cluster: Cluster, remote: Path, settings: Settings) -> None:
    await cluster.admin.create(GIT_PROVIDER, provider(remote), namespace=NAMESPACE)
    await cluster.admin.create(GIT_TARGET, target(), namespace=NAMESPACE)

    async def recorded(type_: str, reason: str) -> dict[str, Any] | None:
        found = await cluster.admin.list(EVENT, namespace=NAMESPACE)
        return next((event for event in found.items if event["involvedObject"]["name"] ==
                     "cluster" and (event["type"], event["reason"]) == (type_, reason)), None)

    async with running(cluster.controller_client, settings):
        await eventually(lambda: recorded("Normal", "Ready"))
        await cluster.admin.delete(GIT_PROVIDER, "repo", namespace=NAMESPACE)
        regression = await eventually(lambda: recorded("Warning", "ValidationFailed"))
    assert "ProviderNotFound" in regression["message"]
