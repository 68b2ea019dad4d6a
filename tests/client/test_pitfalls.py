"""The kubernetes-asyncio pitfalls, each shown not to happen here.

1. No read timeout: a half-open watch connection hangs forever. Here a silent stream raises
   `WatchStalled` within its stall timeout.
2. Watch and list bodies deserialised into generated models even when raw data is asked for.
   Here bodies become plain dicts and no model class is ever instantiated.
3. Patch Content-Type guessed from the body (a dict became a JSON patch). Here it is the
   declared `PatchType`, and a body that does not fit it is refused.
4. Unclosed aiohttp sessions. Here `async with` closes everything, even on errors and with
   watches left open.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing, asynccontextmanager, contextmanager
from typing import Any

import aiohttp
import pytest

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.client import ClientTimeouts, KubeClient, PatchType, WatchOptions
from controllerkit.errors import UnsupportedMediaType, WatchStalled
from controllerkit.meta import CONFIG_MAP, resource_version

from ..apiserver.manifests import widget
from .kinds import WIDGET, configmap

# -- 1. half-open watches ---------------------------------------------------------------------

WATCH_HEADERS = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


@asynccontextmanager
async def silent_server(*, send: bytes) -> AsyncIterator[str]:
    """A TCP server that reads a request, sends `send`, then neither writes nor closes."""
    connections: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        await reader.readuntil(b"\r\n\r\n")
        writer.write(send)
        await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()


async def watch_until_stalled(url: str, options: WatchOptions, **client: Any) -> list[str]:
    names: list[str] = []
    async with KubeClient.from_url(url, **client) as kube:
        stream = kube.watch(CONFIG_MAP, options, namespace="default")
        async with aclosing(stream):
            async for event in stream:
                names.append(event.object["metadata"]["name"])
    return names


@pytest.mark.parametrize(
    "send",
    [
        pytest.param(b"", id="no-headers"),
        pytest.param(WATCH_HEADERS, id="headers-then-silence"),
        pytest.param(
            WATCH_HEADERS + chunk(b'{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n'),
            id="one-event-then-silence",
        ),
    ],
)
async def test_half_open_watch_raises_watch_stalled_within_the_stall_timeout(
    send: bytes,
) -> None:
    loop = asyncio.get_running_loop()
    async with silent_server(send=send) as url:
        started = loop.time()
        with pytest.raises(WatchStalled, match=r"0\.3s"):
            await asyncio.wait_for(
                watch_until_stalled(url, WatchOptions(stall_timeout=0.3)), timeout=10
            )
        elapsed = loop.time() - started
    assert 0.3 <= elapsed < 2.0


async def test_events_before_the_stall_are_delivered() -> None:
    event = b'{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n'
    names: list[str] = []
    async with (
        silent_server(send=WATCH_HEADERS + chunk(event)) as url,
        KubeClient.from_url(url) as kube,
    ):
        options = WatchOptions(stall_timeout=0.3)
        with pytest.raises(WatchStalled):
            async for watched in kube.watch(CONFIG_MAP, options, namespace="default"):
                names.append(watched.object["metadata"]["name"])
    assert names == ["a"]


async def test_stall_timeout_defaults_to_the_client_configuration() -> None:
    async with silent_server(send=WATCH_HEADERS) as url:
        with pytest.raises(WatchStalled, match=r"0\.2s"):
            await asyncio.wait_for(
                watch_until_stalled(
                    url, WatchOptions(), timeouts=ClientTimeouts(watch_stall=0.2)
                ),
                timeout=10,
            )


async def test_silent_server_fails_a_plain_read_after_the_read_timeout() -> None:
    from controllerkit.client import TransportError

    async with (
        silent_server(send=b"") as url,
        KubeClient.from_url(url, timeouts=ClientTimeouts(read=0.2)) as kube,
    ):
        with pytest.raises(TransportError, match="Timeout"):
            await asyncio.wait_for(kube.get(CONFIG_MAP, "x", namespace="default"), 10)


async def test_live_watch_with_bookmarks_does_not_stall(kube: KubeClient) -> None:
    # The server sends a bookmark every 0.2 s: the stream outlives its 0.6 s stall timeout.
    loop = asyncio.get_running_loop()
    latest = await kube.create(CONFIG_MAP, configmap("c"))
    options = WatchOptions(resource_version=resource_version(latest), stall_timeout=0.6)
    started, bookmarks = loop.time(), 0
    async with aclosing(kube.watch(CONFIG_MAP, options, namespace="default")) as stream:
        async for event in stream:
            bookmarks += event.type == "BOOKMARK"
            if loop.time() - started > 1.0:
                break
    assert bookmarks >= 4


# -- 2. raw dicts, never models -----------------------------------------------------------------


@pytest.fixture
def generated_models_forbidden(monkeypatch: pytest.MonkeyPatch) -> int:
    """Make every kubernetes-asyncio model class fail when instantiated; return how many."""
    from kubernetes_asyncio.client import models

    def refuse(self: object, *args: object, **kwargs: object) -> None:
        raise AssertionError(f"{type(self).__name__} was instantiated")

    classes = [cls for _, cls in inspect.getmembers(models, inspect.isclass)
               if cls.__module__.startswith("kubernetes_asyncio.client.models")]
    for cls in classes:
        monkeypatch.setattr(cls, "__init__", refuse)
    return len(classes)


def assert_plain_json(value: object) -> None:
    """Only dict, list, str, int, float, bool and None, all the way down."""
    if isinstance(value, dict):
        assert type(value) is dict
        for key, item in value.items():
            assert type(key) is str
            assert_plain_json(item)
    elif isinstance(value, list):
        assert type(value) is list
        for item in value:
            assert_plain_json(item)
    else:
        assert value is None or type(value) in (str, int, float, bool)


async def test_reads_and_watches_return_plain_dicts_and_build_no_models(
    server: EmbeddedApiServer, generated_models_forbidden: int
) -> None:
    from kubernetes_asyncio.client import V1ConfigMap

    assert generated_models_forbidden > 500
    with pytest.raises(AssertionError, match="V1ConfigMap was instantiated"):
        V1ConfigMap()  # the trap is armed

    async with KubeClient.from_kubeconfig(str(server.kubeconfig_path)) as kube:
        start = await kube.list(CONFIG_MAP, namespace="default")
        created = await kube.create(CONFIG_MAP, configmap("c", a="1"))
        read = await kube.get(CONFIG_MAP, "c", namespace="default")
        pages = [page async for page in kube.list_all(CONFIG_MAP, page_size=1)]
        options = WatchOptions(resource_version=start.resource_version)
        async with aclosing(kube.watch(CONFIG_MAP, options, namespace="default")) as stream:
            event = await anext(stream)

    for value in (created, read, event.object, *[p.items for p in pages]):
        assert_plain_json(value)
    assert event.object == created


# -- 3. patch content type from PatchType --------------------------------------------------------


@pytest.mark.usefixtures("widgets_installed")
async def test_merge_patch_of_a_dict_on_a_custom_resource_has_merge_semantics(
    kube: KubeClient,
) -> None:
    body = widget("w1")
    body["spec"]["labels"] = {"keep": "1", "drop": "2"}
    await kube.create(WIDGET, body)
    # As a JSON patch this body would be refused; as a strategic-merge patch a custom resource
    # answers 415. Only a merge patch deletes `drop` and keeps `keep`.
    patched = await kube.patch(
        WIDGET, "w1", {"spec": {"labels": {"drop": None}}}, namespace="default"
    )
    assert patched["spec"]["labels"] == {"keep": "1"}


@pytest.mark.usefixtures("widgets_installed")
async def test_declared_patch_type_is_sent_even_when_the_server_refuses_it(
    kube: KubeClient,
) -> None:
    await kube.create(WIDGET, widget("w1"))
    with pytest.raises(UnsupportedMediaType):
        await kube.patch(WIDGET, "w1", {"spec": {"size": 2}}, namespace="default",
                         patch_type=PatchType.STRATEGIC)


async def test_strategic_merge_patch_of_a_builtin_is_accepted(kube: KubeClient) -> None:
    await kube.create(CONFIG_MAP, configmap("c", a="1"))
    patched = await kube.patch(CONFIG_MAP, "c", {"data": {"b": "2"}}, namespace="default",
                               patch_type=PatchType.STRATEGIC)
    assert patched["data"] == {"a": "1", "b": "2"}


@pytest.mark.parametrize(
    ("patch_type", "body"),
    [
        (PatchType.JSON, {"spec": {"size": 2}}),
        (PatchType.MERGE, [{"op": "replace", "path": "/spec/size", "value": 2}]),
    ],
)
async def test_body_that_does_not_fit_its_patch_type_is_refused_before_sending(
    kube: KubeClient, patch_type: PatchType, body: Any
) -> None:
    with pytest.raises(ValueError, match="patch"):
        await kube.patch(WIDGET, "w1", body, namespace="default", patch_type=patch_type)
    assert sum(kube.stats.requests.values()) == 0


# -- 4. no unclosed sessions ---------------------------------------------------------------------


@contextmanager
def leak_detector() -> Iterator[list[str]]:
    """Collects ResourceWarnings and loop exception reports ("Unclosed client session")."""
    reports: list[str] = []
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: reports.append(str(context.get("message"))))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield reports
            for _ in range(3):
                gc.collect()
        reports.extend(
            str(w.message) for w in caught if issubclass(w.category, ResourceWarning)
        )
    finally:
        loop.set_exception_handler(previous)


async def test_leak_detector_sees_an_unclosed_session() -> None:
    with leak_detector() as reports:
        session = aiohttp.ClientSession()
        del session
    assert any("Unclosed client session" in report for report in reports)


async def test_async_with_leaves_no_unclosed_session_or_connection(
    server: EmbeddedApiServer,
) -> None:
    with leak_detector() as reports:
        async with KubeClient.from_url(server.url) as kube:
            await kube.create(CONFIG_MAP, configmap("c"))
            async for _ in kube.list_all(CONFIG_MAP):
                pass
            # A watch abandoned mid-stream, never closed by its consumer.
            stream = kube.watch(CONFIG_MAP, WatchOptions(), namespace="default")
            await anext(stream)
        del kube, stream
        await asyncio.sleep(0)
    assert reports == []


async def test_error_inside_async_with_still_closes_the_session(
    server: EmbeddedApiServer,
) -> None:
    with leak_detector() as reports:
        with pytest.raises(ZeroDivisionError):
            async with KubeClient.from_url(server.url) as kube:
                await kube.list(CONFIG_MAP)
                raise ZeroDivisionError
        with pytest.raises(RuntimeError, match="not open"):
            await kube.list(CONFIG_MAP)
        del kube
    assert reports == []


async def test_tls_client_closes_cleanly() -> None:
    with leak_detector() as reports:
        async with (
            EmbeddedApiServer(tls=True) as server,
            KubeClient.from_kubeconfig(str(server.kubeconfig_path)) as kube,
        ):
            await kube.create(CONFIG_MAP, configmap("c"))
            stream = kube.watch(CONFIG_MAP, WatchOptions(), namespace="default")
            await anext(stream)
        del kube, stream
        await asyncio.sleep(0)
    assert reports == []
