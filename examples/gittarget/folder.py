"""A target's folder in its branch: objects rendered to files, the whole folder synced to a
snapshot, one change committed at a time.

Binds the content layer (paths, sanitised YAML, encrypted Secrets) to the branch worker for
one target: its folder, its recipients and the identity that lets an unchanged Secret be
recognised after a restart (its ciphertext differs on every encryption). The identity Secret
itself is never mirrored: the key that opens the others has no place next to them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from controllerkit.meta import ObjectKey, object_key

from .content import (
    Operation,
    RenderedFile,
    commit_message,
    content_equivalence,
    is_secret,
    object_path,
    object_ref_from_path,
    render,
)
from .worker import BranchWorker, FileChange, SnapshotResult


@dataclass(frozen=True)
class MirroredObject:
    """An object and the resource plural it is served under (part of its file path)."""

    obj: Mapping[str, Any]
    plural: str


@dataclass(frozen=True)
class TargetFolder:
    """One target's folder: `path` in the branch of `worker`, Secrets encrypted to
    `recipients` (none: Secrets are never written)."""

    worker: BranchWorker
    path: str
    recipients: tuple[str, ...] = ()
    identity: str | None = field(default=None, repr=False)
    unmirrored_secrets: frozenset[ObjectKey] = frozenset()
    """Secrets never written: the identity Secret that decrypts the others."""

    def render(self, item: MirroredObject) -> RenderedFile | None:
        """The file mirroring the object; None for a Secret without encryption, and for the
        Secrets of `unmirrored_secrets`."""
        if is_secret(item.obj) and object_key(item.obj) in self.unmirrored_secrets:
            return None
        return render(item.obj, item.plural, self.path, self.recipients or None)

    def path_of(self, item: MirroredObject) -> str:
        """Where the object's file is, whether or not it is written."""
        return object_path(item.obj, item.plural, self.path)

    async def sync(self, objects: Iterable[MirroredObject], *,
                   keep: Callable[[str], bool] | None = None) -> SnapshotResult:
        """Make the folder hold exactly the files of `objects` (one commit per difference);
        files for which `keep` is true (by default every non-object file) stay."""
        desired: dict[str, bytes] = {}
        for item in objects:
            rendered = self.render(item)
            if rendered is not None:
                desired[rendered.path] = rendered.content
        return await self.worker.sync_folder(self.path, desired, keep=keep,
                                             equivalent=content_equivalence(self.identity))

    async def write(self, item: MirroredObject) -> str | None:
        """Commit the object's current state (`[CREATE]` or `[UPDATE]`); None when the file
        already holds it, or for a Secret that is not written."""
        rendered = self.render(item)
        if rendered is None:
            return None
        existing = await self.worker.read(rendered.path)
        operation: Operation = "CREATE" if existing is None else "UPDATE"
        change = FileChange(rendered.path, rendered.content, self._message(operation,
                                                                           rendered.path))
        return await self.worker.apply(change, equivalent=content_equivalence(self.identity))

    async def remove(self, item: MirroredObject) -> str | None:
        """Commit the deletion of the object's file (`[DELETE]`); None if there is none."""
        path = self.path_of(item)
        return await self.worker.apply(FileChange(path, None, self._message("DELETE", path)))

    def _message(self, operation: Operation, path: str) -> str:
        ref = object_ref_from_path(path, self.path)
        return commit_message(operation, ref) if ref is not None else f"[{operation}] {path}"

