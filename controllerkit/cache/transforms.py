"""Transforms that shrink objects before they are cached.

A cache holds every object of its kind and scope for the life of the process, so its memory
is the controller's memory. `drop_managed_fields` removes server-side apply bookkeeping that
controllers rarely read (often a quarter of an object); `share_strings` makes the strings that
repeat across objects (apiVersion, kind, namespace, label values) one shared string each.
`compose` chains transforms: `Store(transform=compose(drop_managed_fields, share_strings))`.

`transform_identity` names a transform across processes, so that a compact cache can tell
whether a checkpoint's objects went through the transform it uses itself.
"""

from __future__ import annotations

import hashlib
import sys
import types
from collections.abc import Callable, Iterator

from ..meta import JSONObject

Transform = Callable[[JSONObject], JSONObject]
"""Rewrites an object before it is cached; must not change what the object means."""

# Longer label values are unlikely to repeat; interning them would only grow the intern table.
_SHARED_LABEL_VALUE_LENGTH = 63


def drop_managed_fields(obj: JSONObject) -> JSONObject:
    """The object without `metadata.managedFields` (a new dict; the input is not changed)."""
    metadata = obj.get("metadata")
    if not metadata or "managedFields" not in metadata:
        return obj
    return {**obj, "metadata": {k: v for k, v in metadata.items() if k != "managedFields"}}


def share_strings(obj: JSONObject) -> JSONObject:
    """The object with its commonly repeated strings replaced by one shared (interned) copy.

    apiVersion, kind, metadata.namespace and label values (up to 63 characters, the label
    limit) are interned in place: equal values, so nothing a reader can observe changes, and a
    few hundred bytes less per cached object. Costs a few microseconds per object. A compact
    store keeps bytes, not strings, so there it saves nothing.
    """
    intern = sys.intern
    for field in ("apiVersion", "kind"):
        value = obj.get(field)
        if type(value) is str:
            obj[field] = intern(value)
    metadata = obj.get("metadata")
    if type(metadata) is dict:
        namespace = metadata.get("namespace")
        if type(namespace) is str:
            metadata["namespace"] = intern(namespace)
        labels = metadata.get("labels")
        if type(labels) is dict:
            for key, value in labels.items():
                if type(value) is str and len(value) <= _SHARED_LABEL_VALUE_LENGTH:
                    labels[key] = intern(value)
    return obj


class _Composed:
    """The transform `compose` returns; it keeps its parts so that it can be identified."""

    def __init__(self, transforms: tuple[Transform, ...]) -> None:
        self.transforms = transforms

    def __call__(self, obj: JSONObject) -> JSONObject:
        for transform in self.transforms:
            obj = transform(obj)
        return obj

    def __repr__(self) -> str:
        return f"compose({', '.join(map(repr, self.transforms))})"


def compose(*transforms: Transform) -> Transform:
    """One transform applying `transforms` left to right."""
    return _Composed(transforms)


def transform_identity(transform: Transform | None) -> str | None:
    """A name for `transform` that is the same in every process running the same code.

    - no transform: `""`;
    - a function defined at module level (reachable as `module.qualname`): that name and a
      digest of its code, so editing the function changes its identity;
    - `compose(...)` of identifiable transforms: `compose(<identity>,...)`;
    - anything else (a lambda, a nested function, a callable object): None. Those may depend
      on captured values that no name reveals.

    A compact store restores a checkpoint's bytes as they are only when the checkpoint was
    written under the same, known identity; otherwise it decodes and transforms every object
    again. Not guaranteed: noticing a change the function's own code does not show (a module
    constant or a helper it calls). Rename the function when its output changes that way.
    """
    if transform is None:
        return ""
    if isinstance(transform, _Composed):
        parts = [transform_identity(part) for part in transform.transforms]
        if any(part is None for part in parts):
            return None
        return f"compose({','.join(str(part) for part in parts)})"
    if not isinstance(transform, types.FunctionType):
        return None
    module, qualname = transform.__module__, transform.__qualname__
    # Only a function its module exposes under its own name can be the same function in
    # another process; lambdas and closures cannot be told apart by name.
    found: object = sys.modules.get(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if found is not transform:
        return None
    digest = hashlib.sha256()
    for code_part in _code_parts(transform.__code__):
        digest.update(code_part)
    digest.update(repr((transform.__defaults__, transform.__kwdefaults__)).encode())
    return f"{module}.{qualname}@{digest.hexdigest()[:16]}"


def _code_parts(code: types.CodeType) -> Iterator[bytes]:
    yield code.co_code
    yield repr(code.co_names).encode()
    for constant in code.co_consts:
        # Nested code objects (comprehensions, inner functions) print their address: recurse.
        if isinstance(constant, types.CodeType):
            yield from _code_parts(constant)
        else:
            yield repr(constant).encode()
