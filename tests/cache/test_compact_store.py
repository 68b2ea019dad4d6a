"""What only a compact store does: new dicts on every read, snapshots moved as bytes, indexes
built on first use after a restore; and the encoded forms both stores share."""

from __future__ import annotations

import logging

import pytest

from controllerkit.cache import NAMESPACE_INDEX, DeltaType, Store, drop_managed_fields
from controllerkit.cache.encoding import EncodedObjects, decode_object, encode_object
from controllerkit.meta import JSONObject, object_key

from .test_store import names, obj, owners


def sizes(o: JSONObject) -> list[str]:
    return [str(o["spec"]["size"])]


def filled(compact: bool) -> Store:
    store = Store(compact=compact, indexes={"owner": owners})
    store.apply("ADDED", obj("a", 1, "one", owner="w1", size=1))
    store.apply("ADDED", obj("b", 2, "one", owner="w1", size=2))
    store.apply("ADDED", obj("c", 3, "two", owner="w2", size=2))
    store.apply("ADDED", obj("d", 4, "", size=3))
    return store


def contents(store: Store) -> dict[object, JSONObject]:
    return {object_key(o): o for o in store.list()}


def test_every_read_returns_a_new_dict_that_does_not_change_the_cache() -> None:
    store = filled(compact=True)
    first = store.get(("one", "a"))
    assert first is not None and first == obj("a", 1, "one", owner="w1", size=1)
    first["spec"]["size"] = 99
    first["metadata"]["labels"]["sneaky"] = "yes"
    again = store.get(("one", "a"))
    assert again == obj("a", 1, "one", owner="w1", size=1) and again is not first
    assert store.list()[0] is not store.list()[0]
    assert store.by_index("owner", "w2")[0] is not store.by_index("owner", "w2")[0]


def test_an_update_hands_out_the_decoded_old_object_and_the_received_new_one() -> None:
    store = filled(compact=True)
    new = obj("a", 7, "one", owner="w2", size=5)
    delta = store.apply("MODIFIED", new)
    assert delta is not None and delta.type is DeltaType.UPDATED
    assert delta.object is new
    assert delta.old == obj("a", 1, "one", owner="w1", size=1)


@pytest.mark.parametrize("source_compact", [False, True], ids=["from-dict", "from-compact"])
def test_a_restored_compact_store_equals_the_one_it_was_saved_from(
    source_compact: bool,
) -> None:
    source = filled(source_compact)
    restored = Store(compact=True, indexes={"owner": owners})
    restored.restore(source.encoded(), "4")

    assert contents(restored) == contents(source)
    assert sorted(restored.keys()) == sorted(source.keys())
    assert len(restored) == 4 and ("two", "c") in restored and ("two", "a") not in restored
    assert sorted(restored.index_values(NAMESPACE_INDEX)) == ["", "one", "two"]
    assert sorted(restored.index_keys(NAMESPACE_INDEX, "one")) == [("one", "a"), ("one", "b")]
    assert restored.resource_version == "4"
    # The custom index is built on its first query, from the state at that moment: a change
    # made before the query is in it, later changes are maintained.
    restored.apply("MODIFIED", obj("b", 5, "one", owner="w2", size=2))
    assert names(restored.by_index("owner", "w1")) == {"a"}
    assert names(restored.by_index("owner", "w2")) == {"b", "c"}
    restored.apply("DELETED", obj("c", 6, "two", owner="w2", size=2))
    restored.add_index("size", sizes)
    assert names(restored.by_index("size", "2")) == {"b"}
    assert names(restored.by_index("owner", "w2")) == {"b"}
    assert sorted(restored.index_values("owner")) == ["w1", "w2"]


def test_restoring_encoded_objects_adopts_the_bytes_without_a_transform() -> None:
    managed = obj("a", 1)
    managed["metadata"]["managedFields"] = [{"manager": "kubectl"}]
    encoded = EncodedObjects.of([managed])

    compact = Store(compact=True, transform=drop_managed_fields)
    compact.restore(encoded, "1")
    dict_store = Store(transform=drop_managed_fields)
    dict_store.restore(encoded, "1")

    # The caller vouches that encoded bytes went through the transform: kept as they are.
    assert compact.get(("default", "a")) == managed
    # A dict store (and any store given decoded objects) transforms them.
    assert "managedFields" not in dict_store.get(("default", "a"))["metadata"]  # type: ignore[index]
    fresh = Store(compact=True, transform=drop_managed_fields)
    fresh.restore([managed], "1")
    assert "managedFields" not in fresh.get(("default", "a"))["metadata"]  # type: ignore[index]


def test_an_index_added_between_prepare_and_replace_is_complete(compact: bool) -> None:
    store = Store(compact=compact, indexes={"owner": owners})
    prepared = [store.prepare(obj(name, rv, owner="w1", size=rv))
                for rv, name in enumerate(["a", "b", "c"], start=1)]
    store.add_index("size", sizes)
    deltas = list(store.replace_prepared(prepared, "3"))

    assert [(d.type, d.key[1]) for d in deltas] == [(DeltaType.ADDED, "a"),
                                                   (DeltaType.ADDED, "b"),
                                                   (DeltaType.ADDED, "c")]
    assert deltas[0].object == obj("a", 1, owner="w1", size=1)
    assert names(store.by_index("size", "2")) == {"b"}
    assert names(store.by_index("owner", "w1")) == {"a", "b", "c"}


def test_a_relist_into_a_restored_store_diffs_against_the_snapshot(compact: bool) -> None:
    snapshot = filled(compact=False).encoded()
    store = Store(compact=compact, indexes={"owner": owners})
    store.restore(snapshot, "4")
    deltas = list(store.replace_prepared([
        store.prepare(obj("a", 1, "one", owner="w1", size=1)),
        store.prepare(obj("b", 8, "one", owner="w3", size=2)),
        store.prepare(obj("d", 9, "", uid="recreated", size=3)),
        store.prepare(obj("e", 10, "two")),
    ], "10"))

    summary = sorted((d.type, d.key[1], d.final_state_unknown) for d in deltas)
    assert summary == sorted([
        (DeltaType.UPDATED, "b", False),
        (DeltaType.DELETED, "c", True),
        (DeltaType.DELETED, "d", True),
        (DeltaType.ADDED, "d", False),
        (DeltaType.ADDED, "e", False),
    ])
    by_type = {(d.type, d.key[1]): d for d in deltas}
    assert by_type[DeltaType.UPDATED, "b"].old == obj("b", 2, "one", owner="w1", size=2)
    assert by_type[DeltaType.DELETED, "c"].object == obj("c", 3, "two", owner="w2", size=2)
    assert names(store.by_index("owner", "w1")) == {"a"}
    assert names(store.by_index("owner", "w3")) == {"b"}
    assert store.resource_version == "10"


def test_a_failing_index_function_on_a_pending_index_is_logged_when_built(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = filled(compact=True)
    store.add_index("broken", lambda o: [o["spec"]["missing"]])
    with caplog.at_level(logging.ERROR):
        assert store.index_values("broken") == []
    assert "index function 'broken' failed" in caplog.text


def test_encoded_objects_keep_their_order_and_decode_to_equal_objects() -> None:
    objects = [obj("a", 1, "one"), obj("b", 2, "two"), obj("c", 3, "one"), obj("d", 4, "one")]
    encoded = EncodedObjects.of(objects)
    assert [run.namespace for run in encoded.runs] == ["one", "two", "one"]
    assert len(encoded) == 4
    assert [(key, version) for key, version, _ in encoded] == [
        (("one", "a"), "1"), (("two", "b"), "2"), (("one", "c"), "3"), (("one", "d"), "4")]
    assert encoded.decoded() == objects


def test_encoded_bytes_are_compact_json_sized_exactly() -> None:
    value = obj("a", 1, labels={"note": "line\nbreak-ü"})
    data = encode_object(value)
    assert b"\n" not in data and b" " not in data and b"\\n" in data
    assert decode_object(data) == value
    with pytest.raises(ValueError, match="expected a JSON object"):
        decode_object(b"[1, 2]")


def test_a_key_listed_twice_is_added_once_with_its_last_state(compact: bool) -> None:
    store = Store(compact=compact, indexes={"owner": owners})
    deltas = store.replace([obj("a", 1, owner="w1"), obj("b", 2), obj("a", 3, owner="w2")], "3")

    assert [(d.type, d.key[1]) for d in deltas] == [(DeltaType.ADDED, "a"), (DeltaType.ADDED, "b")]
    assert deltas[0].object == obj("a", 3, owner="w2")
    assert store.by_index("owner", "w1") == []
    assert names(store.by_index("owner", "w2")) == {"a"}
