"""`examples/typed_status.py`: a Backup's conditions, observedGeneration, printer columns, and
an Event for each condition that changes its status."""

from __future__ import annotations

from typing import Any

import aiohttp

from controllerkit import KubeClient
from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.meta import EVENT
from controllerkit.testing import eventually, run_manager

from .conftest import LoadExample, install_crd

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


async def recorded(kube: KubeClient, name: str, *expected: tuple[str, str, str]) -> bool:
    """Whether Events about the object `name` in `default` include every (type, reason,
    message) of `expected`."""
    events = (await kube.list(EVENT, namespace="default")).items
    return set(expected) <= {(event["type"], event["reason"], event["message"])
                             for event in events if event["involvedObject"]["name"] == name}


async def table_row(server: EmbeddedApiServer, path: str) -> dict[str, Any]:
    """What `kubectl get` shows for the one object at `path`: its cells by column name."""
    headers = {"Authorization": f"Bearer {server.token}", "Accept": TABLE}
    async with (aiohttp.ClientSession(headers=headers) as session,
                session.get(server.url + path) as response):
        table = await response.json()
    names = [column["name"] for column in table["columnDefinitions"]]
    [row] = table["rows"]
    return dict(zip(names, row["cells"], strict=True))


async def test_conditions_describe_the_latest_generation_and_transitions_are_events(
    kube: KubeClient, server: EmbeddedApiServer, load_example: LoadExample,
) -> None:
    example = load_example("typed_status")
    await install_crd(kube, example.Backup)
    backups = kube.typed(example.Backup)

    async def judged(generation: int, **statuses: str) -> Any:
        backup = await backups.get("nightly", namespace="default")
        assert backup.metadata.generation == generation
        assert backup.status is not None
        assert backup.status.observed_generation == generation
        conditions = {condition.type: condition for condition in backup.status.conditions}
        assert {type: conditions[type].status for type in statuses} == statuses
        assert {condition.observed_generation for condition in conditions.values()} == {
            generation}
        return conditions

    async with run_manager(example.manager):
        await backups.create(example.Backup.model_validate({
            "metadata": {"name": "nightly", "namespace": "default"},
            "spec": {"schedule": "0 3 * * *"}}))
        first = await eventually(lambda: judged(1, ScheduleValid="True", Active="True",
                                                Ready="True"))
        await eventually(lambda: recorded(
            kube, "nightly", ("Normal", "Valid", "ScheduleValid is True"),
            ("Normal", "Active", "Active is True"), ("Normal", "Scheduled", "Ready is True")))
        row = await table_row(server, "/apis/example.com/v1/namespaces/default/backups")
        assert {name: row[name] for name in ("Name", "Schedule", "Ready", "Reason")} == {
            "Name": "nightly", "Schedule": "0 3 * * *", "Ready": "True", "Reason": "Scheduled"}

        await backups.patch("nightly", {"spec": {"suspend": True}}, namespace="default")
        second = await eventually(lambda: judged(2, ScheduleValid="True", Active="False",
                                                 Ready="False"))
        assert second["Ready"].reason == "Suspended"
        # Re-judged at generation 2 but unchanged: same status, same transition time.
        assert (second["ScheduleValid"].last_transition_time
                == first["ScheduleValid"].last_transition_time)

        await eventually(lambda: recorded(
            kube, "nightly", ("Warning", "Suspended", "Active is False"),
            ("Warning", "Suspended", "Ready is False")))

        await backups.patch("nightly", {"spec": {"schedule": "every night"}},
                            namespace="default")
        third = await eventually(lambda: judged(3, ScheduleValid="False", Active="False",
                                                Ready="False"))
        assert third["ScheduleValid"].reason == "InvalidSchedule"
        assert third["ScheduleValid"].message == "a cron expression has 5 fields, not 2"
        assert third["Ready"].reason == "InvalidSchedule"

        await eventually(lambda: recorded(
            kube, "nightly", ("Warning", "InvalidSchedule",
                              "ScheduleValid is False: a cron expression has 5 fields, not 2")))
        row = await table_row(server, "/apis/example.com/v1/namespaces/default/backups")
        assert (row["Ready"], row["Reason"]) == ("False", "InvalidSchedule")
