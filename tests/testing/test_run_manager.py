"""`run_manager`: a Manager running for the length of an `async with` block."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_a_manager_runs_ready_on_free_ports_and_stops_when_the_block_ends(
    suite: pytest.Pytester,
) -> None:
    suite.makepyfile(
        """
        import aiohttp
        import pytest

        from controllerkit.manager import Manager
        from controllerkit.testing import run_manager


        @pytest.mark.asyncio
        async def test_lifecycle(kube_client):
            manager = Manager(kube_client)  # default ports 8080 and 8081: moved to free ones
            async with run_manager(manager) as running:
                assert running is manager and manager.ready
                assert not manager.health_probe_url.endswith(":8081")
                async with aiohttp.ClientSession() as http:
                    async with http.get(f"{manager.health_probe_url}/readyz") as answer:
                        assert answer.status == 200
                    async with http.get(f"{manager.metrics_url}/metrics") as answer:
                        assert answer.status == 200
            assert not manager.ready


        @pytest.mark.asyncio
        async def test_a_server_turned_off_stays_off(kube_client):
            manager = Manager(kube_client, metrics_bind_address="")
            async with run_manager(manager):
                assert manager.metrics_url is None
                assert manager.health_probe_url is not None
        """
    )
    suite.runpytest().assert_outcomes(passed=2)


def test_a_run_that_fails_ends_the_block_with_its_error(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        import asyncio

        import pytest

        from controllerkit.manager import Manager
        from controllerkit.testing import run_manager


        class BackendDown(Exception):
            pass


        @pytest.mark.asyncio
        async def test_failure_while_the_block_waits(kube_client):
            started = asyncio.Event()

            async def worker():
                started.set()
                raise BackendDown("the backend refused the connection")

            manager = Manager(kube_client)
            manager.add_runnable(worker)
            with pytest.raises(BackendDown):
                async with run_manager(manager):
                    await asyncio.Event().wait()  # never set: the failure must end the wait
            assert started.is_set()
            assert asyncio.current_task().cancelling() == 0
        """
    )
    suite.runpytest().assert_outcomes(passed=1)


def test_a_manager_that_cannot_get_ready_fails_the_entry_with_the_run_error(
    suite: pytest.Pytester,
) -> None:
    suite.makepyfile(
        """
        import pytest

        from controllerkit.manager import Manager
        from controllerkit.meta import ResourceKind
        from controllerkit.testing import run_manager

        NOT_INSTALLED = ResourceKind("example.com", "v1", "Widget", "widgets")


        class Unused:
            async def reconcile(self, request):
                raise AssertionError("no widget can exist")


        @pytest.mark.asyncio
        async def test_not_installed(kube_client):
            manager = Manager(kube_client, cache_sync_timeout=0.5)
            manager.controller_builder().for_(NOT_INSTALLED).build(Unused())
            entered = False
            with pytest.raises(Exception, match="Widget"):  # whatever run() raised for it
                async with run_manager(manager):
                    entered = True
            assert not entered
        """
    )
    suite.runpytest().assert_outcomes(passed=1)
