"""Transforms that shrink cached objects without changing what they say."""

from __future__ import annotations

import copy

import orjson

from controllerkit.cache import Store, compose, drop_managed_fields, share_strings
from controllerkit.meta import JSONObject


def decoded(name: str) -> JSONObject:
    # Decoded separately, as each list page or watch event is: equal strings, distinct objects.
    return orjson.loads(orjson.dumps({  # type: ignore[no-any-return]
        "apiVersion": "apps.example.com/v1", "kind": "Widget",
        "metadata": {"name": name, "namespace": "team-" + "a" * 20,
                     "labels": {"app": "web-" + "b" * 20, "long": "x" * 100},
                     "managedFields": [{"manager": "kubectl"}]},
        "spec": {"size": 1},
    }))


def test_share_strings_keeps_values_and_shares_repeated_strings() -> None:
    first, second = decoded("a"), decoded("b")
    assert first["metadata"]["namespace"] is not second["metadata"]["namespace"]
    expected = copy.deepcopy(first)
    assert share_strings(first) == expected
    share_strings(second)
    for path in (("apiVersion",), ("kind",), ("metadata", "namespace"),
                 ("metadata", "labels", "app")):
        a, b = first, second
        for part in path:
            a, b = a[part], b[part]
        assert a is b, path
    assert first["metadata"]["labels"]["long"] is not second["metadata"]["labels"]["long"]


def test_composed_transforms_run_in_order_in_the_store() -> None:
    store = Store(transform=compose(drop_managed_fields, share_strings))
    store.apply("ADDED", {**decoded("a"), "metadata": {**decoded("a")["metadata"],
                                                      "resourceVersion": "1"}})
    cached = store.list()[0]
    assert "managedFields" not in cached["metadata"]
    assert cached["metadata"]["labels"]["app"] == "web-" + "b" * 20
