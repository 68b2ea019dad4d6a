"""Bearer-token protection and JSend error shapes of the internal API, and the API served as
its own process (`python -m examples.binding.api`)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from controllerkit import KubeClient
from examples.binding.api import create_app
from examples.binding.api.auth import BearerTokens, read_token_file

from ...support import ROOT
from .support import ADMIN_TOKEN, NAMESPACE, ApiCluster, InternalApi, binding_path, upsert_body

UNACCEPTED = [
    ("no header", None),
    ("another token", "Bearer not-the-token"),
    ("another scheme", "Basic Y2FsbGVyLXRva2Vu"),
    ("no token", "Bearer "),
    ("the API server's token", f"Bearer {ADMIN_TOKEN}"),
]


@pytest.mark.parametrize("authorization", [value for _, value in UNACCEPTED],
                         ids=[case for case, _ in UNACCEPTED])
async def test_requests_without_an_accepted_token_are_refused_before_anything_happens(
        api: InternalApi, cluster: ApiCluster, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}

    response = await api.http.put(binding_path(NAMESPACE, "k"), json=upsert_body(),
                                  headers=headers)

    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert await response.json() == {
        "status": "fail", "data": {"authorization": "a valid bearer token is required"}}
    assert (await api.get_binding("k")).status == 404


async def test_the_token_scheme_is_case_insensitive(api: InternalApi) -> None:
    response = await api.http.get(binding_path(NAMESPACE, "k"),
                                  headers={"Authorization": f"bearer {api.token}"})

    assert response.status == 404  # authenticated: the binding just does not exist


async def test_unknown_paths_and_methods_answer_jsend_fail(api: InternalApi) -> None:
    unknown = await api.call("GET", "/api/internal/v1/nothing-here")
    wrong_method = await api.call("DELETE", binding_path(NAMESPACE, "k"))

    assert (unknown.status, unknown.body["status"]) == (404, "fail")
    assert (wrong_method.status, wrong_method.body["status"]) == (405, "fail")


async def test_refusals_of_the_api_server_answer_jsend_error(cluster: ApiCluster) -> None:
    # An identity the API server does not know: every call the app makes is refused.
    async with KubeClient.from_url(cluster.server.url, token="unknown") as stranger:
        app = create_app(stranger, tokens=["caller"])
        async with TestClient(TestServer(app)) as http:
            response = await http.get(binding_path(NAMESPACE, "k"),
                                      headers={"Authorization": "Bearer caller"})
            body = await response.json()

    assert response.status == 502
    assert body["status"] == "error"
    assert body["code"] == "Unauthorized"


def test_an_app_must_accept_at_least_one_token() -> None:
    with pytest.raises(ValueError, match="at least one"):
        BearerTokens([])
    with pytest.raises(ValueError, match="blank"):
        BearerTokens(["ok", "  "])


def test_token_files_hold_one_token_a_line(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text("# callers of the internal API\nfirst\n\n  second  \n")

    assert read_token_file(path) == ["first", "second"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_the_api_runs_as_its_own_process(cluster: ApiCluster, tmp_path: Path) -> None:
    tokens = tmp_path / "api-tokens"
    tokens.write_text("process-token\n")
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "examples.binding.api",
        "--kubeconfig", str(cluster.server.kubeconfig_path), "--port", str(port),
        "--token-file", str(tokens), cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    url = f"http://127.0.0.1:{port}{binding_path(NAMESPACE, 'from-process')}"
    headers = {"Authorization": "Bearer process-token"}
    try:
        async with aiohttp.ClientSession() as session:
            status = await _first_answer(session, "PUT", url, headers, upsert_body())
            async with session.get(url, headers=headers) as response:
                body = await response.json()
    finally:
        process.terminate()
        _, stderr = await process.communicate()

    assert status == 201
    assert body["data"]["spec"]["bindingKey"] == "from-process"
    assert process.returncode == 0, stderr.decode()


async def _first_answer(session: aiohttp.ClientSession, method: str, url: str,
                        headers: dict[str, str], body: object) -> int:
    """The status of the first request the starting process answers."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while True:
        with contextlib.suppress(aiohttp.ClientConnectionError):
            async with session.request(method, url, json=body, headers=headers) as response:
                return response.status
        if loop.time() > deadline:
            raise AssertionError("the API process did not start listening")
        await asyncio.sleep(0.1)
