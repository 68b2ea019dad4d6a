"""Woken from outside the cluster: a PackageWatch reports the latest version of a package in a
package index; the index announces new versions, and a resync catches what was missed.

Nothing in the cluster changes when a package gets a new release, so no watch would wake
the controller. Instead a runnable consumes the index's announcements (standing for a
webhook or a message queue) and fires a `Trigger` for the PackageWatches of that package.
Announcements can be lost, so each reconcile also asks to run again after
`RESYNC_SECONDS` (`Result(requeue_after=...)`). Here the index is an object of this module
(`index`); in a real controller it is a registry's API and its notifications.

Run it against a cluster (or `controllerkit apiserver`) with the CRD installed
(`controllerkit crd examples.external_trigger:PackageWatch | kubectl apply -f -`):

    controllerkit run examples.external_trigger:manager
"""

import asyncio

from controllerkit import Context, CustomResource, KubeModel, Manager, Request, Result
from controllerkit.controller import Trigger

RESYNC_SECONDS = 300.0


class PackageIndex:
    """Stands for a package registry: the latest version of each package, and a queue of
    announcements of new versions."""

    def __init__(self) -> None:
        self.latest: dict[str, str] = {}
        self.announcements: asyncio.Queue[str] = asyncio.Queue()

    def release(self, package: str, version: str, *, announce: bool = True) -> None:
        """Publish `version` of `package`; `announce=False` loses the announcement."""
        self.latest[package] = version
        if announce:
            self.announcements.put_nowait(package)


class PackageWatchSpec(KubeModel):
    package: str


class PackageWatchStatus(KubeModel):
    latest_version: str = ""
    """The newest version in the index, as of the last look."""


class PackageWatch(CustomResource[PackageWatchSpec, PackageWatchStatus], group="example.com",
                   version="v1", kind="PackageWatch"):
    """Follows a package's releases."""


index = PackageIndex()
new_release = Trigger()
manager = Manager.from_kubeconfig()


@manager.controller(PackageWatch, triggers=[new_release])
async def reconcile(watch: PackageWatch | None, ctx: Context) -> Result | None:
    if watch is None:
        return None
    watch.status = PackageWatchStatus(latest_version=index.latest.get(watch.spec.package, ""))
    await ctx.client.write_status(watch)
    return Result(requeue_after=RESYNC_SECONDS)


async def consume_announcements() -> None:
    """Wake the PackageWatches of each package announced."""
    while True:
        package = await index.announcements.get()
        watches = await manager.cached_client.list(PackageWatch)
        new_release.fire(*(Request(watch.metadata.namespace or "", watch.metadata.name or "")
                           for watch in watches if watch.spec.package == package))


manager.add_runnable(consume_announcements)
