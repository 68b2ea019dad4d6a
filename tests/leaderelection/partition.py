"""`Partition`: a TCP relay between a client and the API server that a test can cut."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.client import KubeClient


class Partition:
    """A TCP relay to the API server that can stop relaying: requests then hang, as they do
    when a network partition cuts a process off. With `hold_writes` set, PUT requests wait
    until `release_writes()`, so a test can order two candidates' writes."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.cut = False
        self.hold_writes = False
        self.writes_held = 0
        self._writes_released = asyncio.Event()
        self.port = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def release_writes(self) -> None:
        self.hold_writes = False
        self._writes_released.set()

    async def close(self) -> None:
        for pipe in self._pipes:
            pipe.cancel()
        if self._server is not None:
            self._server.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(
            "127.0.0.1", self.target_port)
        loop = asyncio.get_running_loop()
        for source, sink in ((reader, upstream_writer), (upstream_reader, writer)):
            pipe = loop.create_task(self._pipe(source, sink))
            self._pipes.add(pipe)
            pipe.add_done_callback(self._pipes.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                if self.hold_writes and data.startswith(b"PUT "):
                    self.writes_held += 1
                    await self._writes_released.wait()
                if not self.cut:
                    sink.write(data)
                    await sink.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            sink.close()


@contextlib.asynccontextmanager
async def partitioned_client(server: EmbeddedApiServer
                             ) -> AsyncIterator[tuple[Partition, KubeClient]]:
    """A relay to `server` and a client whose every request goes through it."""
    relay = Partition(server.port)
    await relay.start()
    try:
        async with KubeClient.from_url(f"http://127.0.0.1:{relay.port}",
                                       token=server.token) as client:
            yield relay, client
    finally:
        await relay.close()
