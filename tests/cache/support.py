"""Test support for the cache tests: an event recorder and object builders."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.cache import BackoffPolicy, DeletedFinalStateUnknown, ReflectorOptions
from controllerkit.meta import JSONObject, ObjectKey, object_key, resource_version

# Fast retries: the tests provoke failures on purpose and should not wait 0.8 s for each.
FAST = ReflectorOptions(backoff=BackoffPolicy(initial=0.01, cap=0.05))


def config_map(name: str, namespace: str = "default", **data: str) -> JSONObject:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": dict(data),
    }


@dataclass(frozen=True)
class Recorded:
    """One handler call: "add", "update" or "delete", with the state it carried."""

    type: str
    key: ObjectKey
    object: JSONObject
    old: JSONObject | None = None
    tombstone: bool = False

    @property
    def resource_version(self) -> str:
        return resource_version(self.object)


class EventRecorder:
    """An `EventHandler` that keeps every call it receives."""

    def __init__(self) -> None:
        self.events: list[Recorded] = []

    def on_add(self, obj: JSONObject) -> None:
        self.events.append(Recorded("add", object_key(obj), obj))

    def on_update(self, old: JSONObject, new: JSONObject) -> None:
        self.events.append(Recorded("update", object_key(new), new, old))

    def on_delete(self, obj: JSONObject | DeletedFinalStateUnknown) -> None:
        if isinstance(obj, DeletedFinalStateUnknown):
            self.events.append(Recorded("delete", obj.key, obj.object, tombstone=True))
        else:
            self.events.append(Recorded("delete", object_key(obj), obj))

    def last_by_key(self) -> dict[ObjectKey, Recorded]:
        last: dict[ObjectKey, Recorded] = {}
        for event in self.events:
            last[event.key] = event
        return last

    def summary(self) -> list[tuple[str, ObjectKey]]:
        return [(event.type, event.key) for event in self.events]


def server_resource_version(server: EmbeddedApiServer) -> str:
    """The API server's current resourceVersion (what a cache must reach to be current)."""
    return str(server.engine.store.resource_version)


def requests_with(server: EmbeddedApiServer, verb: str, parameter: str, value: str) -> int:
    """How many configmap requests of `verb` carried `parameter=value`."""
    return sum(
        1 for record in server.engine.requests.records
        if record.verb == verb and record.plural == "configmaps"
        and record.query.get(parameter) == value
    )


def metric(registry: CollectorRegistry, name: str, kind: str = "ConfigMap") -> float:
    """The value of a reflector counter for `kind` in `registry`; None fails the test."""
    value = registry.get_sample_value(name, {"kind": kind})
    assert value is not None, f"{name}{{kind={kind!r}}} is not in the registry"
    return value
