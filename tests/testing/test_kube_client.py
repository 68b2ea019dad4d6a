"""`kube_client`: an open `KubeClient` for the `apiserver` fixture's cluster."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_kube_client_and_kubectl_reach_the_same_server(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        import pytest

        from controllerkit.meta import CONFIG_MAP


        @pytest.mark.asyncio
        async def test_round_trip(apiserver, kube_client, kubectl):
            assert kube_client.config.server == apiserver.url
            await kube_client.create(
                CONFIG_MAP, {"metadata": {"name": "settings"}, "data": {"mode": "fast"}},
                namespace="default")

            listed = await kubectl.arun("get", "configmap", "settings", "-n", "default",
                                        "-o", "jsonpath={.data.mode}")
            assert listed.stdout == "fast"
        """
    )
    suite.runpytest().assert_outcomes(passed=1)
