"""Contender (a), the floor: the least a Python process can do for the job.

    python -m benchmarks.controller_contenders.floor --kubeconfig PATH

Plain aiohttp and orjson: one watch of the Gadget collection (resumed from the last
resourceVersion when the server ends it), and for every Gadget it has not seen before and that
is not Ready, one JSON merge patch of `/status` setting the condition; at most 16 patches in
flight (reading the watch waits for a free slot). No cache, no queue, no retries: an unexpected
answer ends the process with an error. SIGTERM stops it (exit 0).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from .job import COLLECTION, api_server, is_ready, ready_condition

IN_FLIGHT = 16
WATCH_SECONDS = 3600
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


class Floor:
    """Watches the collection and marks each new Gadget Ready."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base
        self.slots = asyncio.Semaphore(IN_FLIGHT)
        self.seen: set[str] = set()

    async def run(self) -> None:
        resource_version = ""
        async with asyncio.TaskGroup() as patches:
            while True:
                resource_version = await self.watch(resource_version, patches)

    async def watch(self, resource_version: str, patches: asyncio.TaskGroup) -> str:
        """One watch request until the server ends it; the resourceVersion to resume from
        ("" after an expired one: the next watch starts with every object again)."""
        params = {"watch": "1", "timeoutSeconds": str(WATCH_SECONDS)}
        if resource_version:
            params["resourceVersion"] = resource_version
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        async with self.session.get(self.base + COLLECTION, params=params,
                                    timeout=timeout) as response:
            response.raise_for_status()
            async for line in response.content:
                if not line.strip():
                    continue
                event = orjson.loads(line)
                if event["type"] == "ERROR":  # 410 Gone: the version is too old
                    return ""
                obj = event["object"]
                resource_version = obj["metadata"]["resourceVersion"]
                if event["type"] == "ADDED":
                    await self.added(obj, patches)
        return resource_version

    async def added(self, obj: dict[str, Any], patches: asyncio.TaskGroup) -> None:
        name = obj["metadata"]["name"]
        if name in self.seen or is_ready(obj):
            return
        self.seen.add(name)
        await self.slots.acquire()
        patches.create_task(self.mark_ready(name, obj["metadata"].get("generation", 1)))

    async def mark_ready(self, name: str, generation: int) -> None:
        try:
            body = orjson.dumps({"status": {"conditions": [ready_condition(generation)]}})
            async with self.session.patch(f"{self.base}{COLLECTION}/{name}/status", data=body,
                                          headers=MERGE_PATCH) as response:
                text = await response.read()
                if response.status not in (200, 404):  # 404: deleted meanwhile
                    raise RuntimeError(f"PATCH {name}/status: HTTP {response.status}: "
                                       f"{text[:300]!r}")
        finally:
            self.slots.release()


async def serve(kubeconfig: Path) -> None:
    url, token = api_server(kubeconfig)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
        with contextlib.suppress(asyncio.CancelledError):
            await Floor(session, url).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.controller_contenders.floor",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--kubeconfig", type=Path, required=True)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.kubeconfig))
    return 0


if __name__ == "__main__":
    sys.exit(main())
