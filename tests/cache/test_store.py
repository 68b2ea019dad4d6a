"""The Store: keys, indexes, relist diffs and transforms (waiting on a resourceVersion: see
test_freshness).

Every test runs against both ways of keeping objects (the `compact` fixture): decoded dicts and
JSON bytes give the same observable results."""

from __future__ import annotations

import logging

import pytest

from controllerkit.cache import (
    NAMESPACE_INDEX,
    Delta,
    DeltaType,
    Store,
    drop_managed_fields,
)
from controllerkit.meta import JSONObject


def obj(name: str, rv: int, namespace: str = "default", *, uid: str = "",
        labels: dict[str, str] | None = None, owner: str = "", size: int = 1) -> JSONObject:
    metadata: JSONObject = {"name": name, "namespace": namespace, "resourceVersion": str(rv),
                            "uid": uid or f"uid-{namespace}-{name}", "labels": labels or {}}
    if owner:
        metadata["ownerReferences"] = [{"uid": owner, "kind": "Widget", "name": owner}]
    return {"apiVersion": "v1", "kind": "Thing", "metadata": metadata, "spec": {"size": size}}


def owners(o: JSONObject) -> list[str]:
    return [ref["uid"] for ref in o["metadata"].get("ownerReferences", ())]


def names(objects: list[JSONObject]) -> set[str]:
    return {o["metadata"]["name"] for o in objects}


def test_objects_are_keyed_by_namespace_and_name(compact: bool) -> None:
    store = Store(compact=compact)
    store.apply("ADDED", obj("a", 1, "one"))
    store.apply("ADDED", obj("a", 2, "two"))
    store.apply("ADDED", obj("b", 3, ""))
    assert store.get(("one", "a"))["metadata"]["resourceVersion"] == "1"  # type: ignore[index]
    assert store.get(("two", "a"))["metadata"]["resourceVersion"] == "2"  # type: ignore[index]
    assert store.get(("", "b")) is not None
    assert store.get(("three", "a")) is None
    assert len(store) == 3 and ("one", "a") in store


def test_namespace_index_is_built_in(compact: bool) -> None:
    store = Store(compact=compact)
    for i, namespace in enumerate(["one", "one", "two", ""]):
        store.apply("ADDED", obj(f"o{i}", i + 1, namespace))
    assert names(store.by_index(NAMESPACE_INDEX, "one")) == {"o0", "o1"}
    assert names(store.by_index(NAMESPACE_INDEX, "")) == {"o3"}
    assert sorted(store.index_values(NAMESPACE_INDEX)) == ["", "one", "two"]


def test_custom_indexes_follow_updates_and_deletes(compact: bool) -> None:
    store = Store(indexes={"owner": owners}, compact=compact)
    store.add_index("app", lambda o: [o["metadata"]["labels"]["app"]]
                    if "app" in o["metadata"]["labels"] else [])
    store.add_index("size", lambda o: [str(o["spec"]["size"])])
    store.apply("ADDED", obj("a", 1, owner="w1", labels={"app": "web"}, size=1))
    store.apply("ADDED", obj("b", 2, owner="w1", labels={"app": "db"}, size=2))
    store.apply("ADDED", obj("c", 3, owner="w2", size=2))
    assert names(store.by_index("owner", "w1")) == {"a", "b"}
    assert names(store.by_index("app", "web")) == {"a"}
    assert names(store.by_index("size", "2")) == {"b", "c"}

    store.apply("MODIFIED", obj("a", 4, owner="w2", labels={"app": "db"}, size=2))
    assert names(store.by_index("owner", "w1")) == {"b"}
    assert names(store.by_index("owner", "w2")) == {"a", "c"}
    assert store.by_index("app", "web") == []
    assert "web" not in store.index_values("app")
    assert names(store.by_index("size", "2")) == {"a", "b", "c"}

    store.apply("DELETED", obj("b", 5, owner="w1", labels={"app": "db"}, size=2))
    assert store.by_index("owner", "w1") == []
    assert names(store.by_index("app", "db")) == {"a"}


def test_an_index_added_later_covers_cached_objects(compact: bool) -> None:
    store = Store(compact=compact)
    store.apply("ADDED", obj("a", 1, owner="w1"))
    store.add_index("owner", owners)
    assert names(store.by_index("owner", "w1")) == {"a"}
    with pytest.raises(ValueError, match="already exists"):
        store.add_index("owner", owners)
    with pytest.raises(KeyError, match="no index named 'nope'"):
        store.by_index("nope", "x")


def test_a_failing_index_function_is_logged_and_leaves_the_cache_consistent(
    caplog: pytest.LogCaptureFixture, compact: bool
) -> None:
    store = Store(indexes={"size": lambda o: [str(o["spec"]["missing"])]}, compact=compact)
    with caplog.at_level(logging.ERROR):
        store.apply("ADDED", obj("a", 1))
        store.apply("MODIFIED", obj("a", 2))
        store.apply("DELETED", obj("a", 3))
    assert "index function 'size' failed" in caplog.text
    assert len(store) == 0 and store.index_values("size") == []


def test_watch_events_become_deltas(compact: bool) -> None:
    store = Store(compact=compact)
    added = store.apply("ADDED", obj("a", 1))
    updated = store.apply("MODIFIED", obj("a", 2))
    repeated = store.apply("MODIFIED", obj("a", 2))
    deleted = store.apply("DELETED", obj("a", 3))
    unknown_delete = store.apply("DELETED", obj("b", 4))
    assert added == Delta(DeltaType.ADDED, obj("a", 1))
    assert updated == Delta(DeltaType.UPDATED, obj("a", 2), obj("a", 1))
    assert repeated is None
    assert deleted == Delta(DeltaType.DELETED, obj("a", 3))
    assert unknown_delete is None
    assert store.resource_version == "4"


def test_replace_yields_the_difference_with_tombstones_for_vanished_objects(compact: bool) -> None:
    store = Store(compact=compact)
    store.replace([obj("same", 1), obj("changed", 2), obj("gone", 3), obj("reborn", 4)], "4")
    kept = store.get(("default", "same"))
    deltas = store.replace(
        [obj("same", 1), obj("changed", 5), obj("new", 6), obj("reborn", 7, uid="other")], "9"
    )
    summary = {(d.type, d.key[1], d.final_state_unknown) for d in deltas}
    assert summary == {
        (DeltaType.DELETED, "gone", True),
        (DeltaType.UPDATED, "changed", False),
        (DeltaType.ADDED, "new", False),
        (DeltaType.DELETED, "reborn", True),
        (DeltaType.ADDED, "reborn", False),
    }
    reborn = [d.type for d in deltas if d.key[1] == "reborn"]
    assert reborn == [DeltaType.DELETED, DeltaType.ADDED]
    # Unchanged objects keep their cached form: the same dict, or equal bytes decoded anew.
    if compact:
        assert store.get(("default", "same")) == kept
        assert store.get(("default", "same")) is not kept
    else:
        assert store.get(("default", "same")) is kept
    assert store.resource_version == "9"
    assert names(store.by_index(NAMESPACE_INDEX, "default")) == {"same", "changed", "new",
                                                                  "reborn"}


def test_transform_runs_before_caching(compact: bool) -> None:
    store = Store(transform=drop_managed_fields, compact=compact)
    managed = obj("a", 1)
    managed["metadata"]["managedFields"] = [{"manager": "kubectl"}]
    delta = store.apply("ADDED", managed)
    assert delta is not None and "managedFields" not in delta.object["metadata"]
    assert "managedFields" not in store.get(("default", "a"))["metadata"]  # type: ignore[index]
    assert "managedFields" in managed["metadata"]  # the server's dict is not modified


