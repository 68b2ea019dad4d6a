"""Transforms that shrink cached objects without changing what they say."""

from __future__ import annotations

import copy
import sys
import types

import orjson
import pytest

from controllerkit.cache import Store, Transform, compose, drop_managed_fields, share_strings
from controllerkit.cache.transforms import transform_identity
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


def _module_transform(source: str, monkeypatch: pytest.MonkeyPatch) -> Transform:
    """The function `strip` of a module built from `source`, registered as `fake_transforms`."""
    module = types.ModuleType("fake_transforms")
    exec(compile(source, "fake_transforms.py", "exec"), module.__dict__)
    monkeypatch.setitem(sys.modules, "fake_transforms", module)
    return module.strip  # type: ignore[no-any-return]


def test_transform_identity_names_module_functions_and_their_compositions() -> None:
    assert transform_identity(None) == ""
    dropped = transform_identity(drop_managed_fields)
    assert dropped is not None
    assert dropped.startswith("controllerkit.cache.transforms.drop_managed_fields@")
    assert dropped == transform_identity(drop_managed_fields)
    both = transform_identity(compose(drop_managed_fields, share_strings))
    assert both == f"compose({dropped},{transform_identity(share_strings)})"
    assert both != transform_identity(compose(share_strings, drop_managed_fields))


def test_transform_identity_is_unknown_for_what_a_name_cannot_pin_down() -> None:
    def nested(obj: JSONObject) -> JSONObject:
        return obj

    class Passthrough:
        def __call__(self, obj: JSONObject) -> JSONObject:
            return obj

    assert transform_identity(lambda obj: obj) is None
    assert transform_identity(nested) is None
    assert transform_identity(Passthrough()) is None
    assert transform_identity(compose(drop_managed_fields, nested)) is None


def test_transform_identity_changes_with_the_function_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = _module_transform("def strip(obj):\n    return obj\n", monkeypatch)
    identity = transform_identity(original)
    assert identity is not None and identity.startswith("fake_transforms.strip@")
    # The same code loaded again (as by another process) has the same identity.
    again = _module_transform("def strip(obj):\n    return obj\n", monkeypatch)
    assert transform_identity(again) == identity
    edited = _module_transform(
        "def strip(obj):\n    obj.pop('status', None)\n    return obj\n", monkeypatch)
    assert transform_identity(edited) not in (None, identity)
    # No longer what its module exposes under its name: it cannot be pinned down.
    assert transform_identity(original) is None
