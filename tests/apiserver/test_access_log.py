"""One log line per request: `controllerkit apiserver -v` and the access logger in process."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import selectors
import time

import pytest

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.apiserver.access_log import ACCESS_LOGGER_NAME

from .http_api import rest_client
from .server_process import ServerProcess

# `<method> <path with query> <status> <milliseconds>ms`
REQUEST_LINE = re.compile(r"(?P<method>[A-Z]+) (?P<path>\S+) (?P<status>\d{3}) [\d.]+ms")


def _stderr_line_matching(server: ServerProcess, pattern: re.Pattern[str],
                          within: float = 10.0) -> str:
    """The first stderr line in which `pattern` is found, read as the server writes it."""
    assert server.proc is not None and server.proc.stderr is not None
    fd = server.proc.stderr.fileno()
    buffered = b""
    deadline = time.monotonic() + within
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            *complete, buffered = buffered.split(b"\n")
            for raw in complete:
                line = raw.decode(errors="replace")
                if pattern.search(line):
                    return line
            left = deadline - time.monotonic()
            assert left > 0, f"no stderr line matching {pattern.pattern!r} in {within}s"
            if selector.select(left):
                chunk = os.read(fd, 4096)
                assert chunk, "the server closed stderr"
                buffered += chunk


async def test_verbose_flag_logs_each_request_with_method_path_status_and_duration() -> None:
    with ServerProcess("-v") as server:
        async with rest_client(server.url) as api:
            reply = await api.get("/api/v1/namespaces", params={"limit": "1"})
            assert reply.status == 200
        line = await asyncio.to_thread(
            _stderr_line_matching, server,
            re.compile(r"GET /api/v1/namespaces\?limit=1 200 [\d.]+ms$"))
    assert "controllerkit.apiserver.access" in line


async def test_failed_requests_are_logged_with_their_status(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER_NAME)
    async with EmbeddedApiServer(log_requests=True) as server, rest_client(server.url) as api:
        reply = await api.get("/api/v1/namespaces/default/configmaps/missing")
        assert reply.status == 404
        deadline = time.monotonic() + 10
        while not (lines := [r.getMessage() for r in caplog.records
                             if r.name == ACCESS_LOGGER_NAME and "missing" in r.getMessage()]):
            assert time.monotonic() < deadline, "the request was never logged"
            await asyncio.sleep(0.01)
    match = REQUEST_LINE.fullmatch(lines[0])
    assert match is not None, lines
    assert match["method"] == "GET"
    assert match["path"] == "/api/v1/namespaces/default/configmaps/missing"
    assert match["status"] == "404"


@pytest.mark.parametrize(("log_requests", "level"), [(False, logging.INFO),
                                                     (True, logging.WARNING)])
async def test_requests_are_logged_only_when_asked_and_enabled_for_info(
    caplog: pytest.LogCaptureFixture, log_requests: bool, level: int,
) -> None:
    caplog.set_level(level, logger=ACCESS_LOGGER_NAME)
    async with EmbeddedApiServer(log_requests=log_requests) as server, \
            rest_client(server.url) as api:
        assert (await api.get("/version")).status == 200
    # The server has stopped: every request it served has finished, logged or not.
    assert [r for r in caplog.records if r.name == ACCESS_LOGGER_NAME] == []
