"""`EventRecorder` against the embedded API server, over HTTP through `KubeClient`."""

from __future__ import annotations

import logging
import re
import textwrap
from pathlib import Path

import pytest

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.client import KubeClient
from controllerkit.clock import FakeClock
from controllerkit.events import EventRecorder
from controllerkit.logs import ReconcileContextFilter, reconcile_context
from controllerkit.meta import CONFIG_MAP, EVENT, NAMESPACE, JSONObject


async def events_in(kube: KubeClient, namespace: str = "default") -> list[JSONObject]:
    return (await kube.list(EVENT, namespace=namespace)).items


async def test_an_event_is_written_about_the_object(
    kube: KubeClient, settings: JSONObject
) -> None:
    async with EventRecorder(kube, component="settings-controller", host="node-1") as recorder:
        recorder.event(settings, "Warning", "BadValue", "key a is not a word")
        await recorder.flush()
        [event] = await events_in(kube)

    meta = settings["metadata"]
    assert event["involvedObject"] == {
        "apiVersion": "v1", "kind": "ConfigMap", "namespace": "default", "name": "settings",
        "uid": meta["uid"], "resourceVersion": meta["resourceVersion"],
    }
    assert (event["type"], event["reason"], event["message"]) == (
        "Warning", "BadValue", "key a is not a word")
    assert event["source"] == {"component": "settings-controller", "host": "node-1"}
    assert event["count"] == 1
    assert event["firstTimestamp"] == event["lastTimestamp"]
    assert re.fullmatch(r"settings\.[0-9a-f]+", event["metadata"]["name"])
    assert event["metadata"]["namespace"] == "default"


async def test_ten_repeats_update_one_event_to_count_ten(
    kube: KubeClient, settings: JSONObject
) -> None:
    async with EventRecorder(kube, component="c") as recorder:
        for _ in range(10):
            recorder.event(settings, "Normal", "Synced", "in sync")
            await recorder.flush()  # each repeat is written on its own: a patch
        [event] = await events_in(kube)

    assert event["count"] == 10


async def test_repeats_queued_together_are_written_once(
    server: EmbeddedApiServer, kube: KubeClient, settings: JSONObject
) -> None:
    server.engine.requests.clear()
    async with EventRecorder(kube, component="c") as recorder:
        for _ in range(10):
            recorder.event(settings, "Normal", "Synced", "in sync")
        await recorder.flush()
        [event] = await events_in(kube)

    assert event["count"] == 10
    writes = (server.engine.requests.count("create", "events")
              + server.engine.requests.count("patch", "events"))
    assert writes <= 2


async def test_different_messages_make_different_events(
    kube: KubeClient, settings: JSONObject
) -> None:
    async with EventRecorder(kube, component="c") as recorder:
        recorder.event(settings, "Normal", "Scaled", "to 2")
        recorder.event(settings, "Normal", "Scaled", "to 3")
        await recorder.flush()
        events = await events_in(kube)

    assert sorted(event["message"] for event in events) == ["to 2", "to 3"]
    assert len({event["metadata"]["name"] for event in events}) == 2


async def test_a_repeat_after_the_window_starts_a_new_event(
    kube: KubeClient, settings: JSONObject
) -> None:
    clock = FakeClock()
    async with EventRecorder(kube, component="c", clock=clock,
                             aggregation_window=600) as recorder:
        recorder.event(settings, "Normal", "Synced", "in sync")
        clock.advance(601)
        recorder.event(settings, "Normal", "Synced", "in sync")
        await recorder.flush()
        events = await events_in(kube)

    assert [event["count"] for event in events] == [1, 1]


async def test_spam_limit_drops_beyond_the_burst_and_refills_slowly(
    kube: KubeClient, settings: JSONObject, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    caplog.set_level(logging.DEBUG, logger="controllerkit.events")
    async with EventRecorder(kube, component="c", clock=clock) as recorder:
        for number in range(30):
            recorder.event(settings, "Normal", "Step", f"step {number}")
        await recorder.flush()
        assert len(await events_in(kube)) == 25
        assert "dropped by the spam limit" in caplog.text

        clock.advance(299)
        recorder.event(settings, "Normal", "Step", "too early")
        clock.advance(1)  # 5 minutes after the burst: one token
        recorder.event(settings, "Normal", "Step", "refilled")
        recorder.event(settings, "Normal", "Step", "no token left")
        await recorder.flush()
        messages = {event["message"] for event in await events_in(kube)}

    assert len(messages) == 26
    assert "refilled" in messages
    assert not messages & {"too early", "no token left"}


async def test_the_spam_limit_is_per_object(kube: KubeClient, settings: JSONObject) -> None:
    other = await kube.create(CONFIG_MAP, {
        "metadata": {"name": "other", "namespace": "default"}})
    async with EventRecorder(kube, component="c", clock=FakeClock(), spam_burst=2) as recorder:
        for number in range(3):
            recorder.event(settings, "Normal", "Step", f"{number}")
            recorder.event(other, "Normal", "Step", f"{number}")
        await recorder.flush()
        events = await events_in(kube)

    names = sorted(event["involvedObject"]["name"] for event in events)
    assert names == ["other", "other", "settings", "settings"]


async def test_events_about_cluster_scoped_objects_go_to_default(kube: KubeClient) -> None:
    namespace = await kube.create(NAMESPACE, {"metadata": {"name": "team-a"}})
    async with EventRecorder(kube, component="c") as recorder:
        recorder.event(namespace, "Normal", "Adopted", "labelled")
        await recorder.flush()
        [event] = await events_in(kube, "default")

    assert event["involvedObject"]["kind"] == "Namespace"
    assert "namespace" not in event["involvedObject"]


async def test_a_repeat_of_a_deleted_event_creates_it_again_with_its_count(
    kube: KubeClient, settings: JSONObject
) -> None:
    async with EventRecorder(kube, component="c") as recorder:
        recorder.event(settings, "Normal", "Synced", "in sync")
        await recorder.flush()
        [first] = await events_in(kube)
        await kube.delete(EVENT, first["metadata"]["name"], namespace="default")
        recorder.event(settings, "Normal", "Synced", "in sync")
        await recorder.flush()
        [again] = await events_in(kube)

    assert again["metadata"]["name"] == first["metadata"]["name"]
    assert again["count"] == 2


async def test_forbidden_event_writes_are_logged_never_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(textwrap.dedent("""
        identities:
          - name: configmaps-only
            token: "t1"
            rules:
              - {verbs: ["*"], apiGroups: [""], resources: [configmaps]}
    """))
    caplog.set_level(logging.WARNING, logger="controllerkit.events")
    async with (EmbeddedApiServer(tokens_file=tokens) as server,
                KubeClient.from_url(server.url, token="t1") as kube):
        settings = await kube.create(CONFIG_MAP, {
            "metadata": {"name": "settings", "namespace": "default"}})
        async with EventRecorder(kube, component="c") as recorder:
            recorder.event(settings, "Warning", "Broken", "cannot tell anyone")
            recorder.event(settings, "Warning", "Broken", "cannot tell anyone")
            await recorder.flush()

    [warning, *_] = [r for r in caplog.records if r.name == "controllerkit.events"]
    assert warning.levelno == logging.WARNING
    assert "could not write Event default/settings." in warning.getMessage()
    assert "forbidden" in warning.getMessage()


async def test_events_queued_before_the_run_are_written_and_after_stop_dropped(
    kube: KubeClient, settings: JSONObject
) -> None:
    recorder = EventRecorder(kube, component="c")
    recorder.event(settings, "Normal", "First", "queued before the writer runs")
    async with recorder:
        pass  # leaving stops the writer once it has written what is queued
    recorder.event(settings, "Normal", "Late", "dropped")

    assert [event["reason"] for event in await events_in(kube)] == ["First"]


def test_an_unknown_event_type_is_a_programming_error(kube: KubeClient) -> None:
    recorder = EventRecorder(kube, component="c")
    with pytest.raises(ValueError, match="Normal or Warning"):
        recorder.event({}, "Info", "R", "m")  # type: ignore[arg-type]


async def test_the_writer_does_not_inherit_the_reconcile_that_recorded_the_event(
    kube: KubeClient, caplog: pytest.LogCaptureFixture
) -> None:
    # The namespace does not exist, so the write fails and the writer logs a warning.
    lost = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "lost", "namespace": "nowhere"}}
    caplog.set_level(logging.WARNING, logger="controllerkit.events")
    caplog.handler.addFilter(ReconcileContextFilter())
    recorder = EventRecorder(kube, component="c")
    with reconcile_context(controller="widgets", name="w1"):
        recorder.event(lost, "Normal", "Started", "recorded in a reconcile")
    async with recorder:
        pass

    [warning] = [r for r in caplog.records if r.name == "controllerkit.events"]
    assert "not found" in warning.getMessage()
    assert not hasattr(warning, "reconcile_context")
