"""Kubeconfig users with a legacy `auth-provider` (gcp, azure, oidc), through kubernetes-asyncio.

These providers are deprecated in kubectl in favour of exec plugins, and only kubernetes-asyncio's
loader implements them here. Its client package imports every generated model (tens of
megabytes), so it is imported inside `auth_provider_credentials`: only processes whose user
has an auth provider pay for it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from .credentials import LoaderCredentials
from .kubeconfig import KubeconfigError


async def auth_provider_credentials(
    paths: Sequence[str], context: str | None, *, refresh_period: float
) -> LoaderCredentials:
    """The `Authorization` header of `context`'s auth-provider user, renewed by the loader.

    The loader runs now and again every `refresh_period` seconds and after a 401; it refreshes
    the provider's token itself when that token has expired. Raises `KubeconfigError` when the
    loader rejects the kubeconfig.
    """
    from kubernetes_asyncio.client import Configuration
    from kubernetes_asyncio.config import ConfigException, load_kube_config

    configuration = Configuration()
    try:
        loader = await load_kube_config(
            config_file=os.pathsep.join(paths),
            context=context,
            client_configuration=configuration,
            persist_config=False,
        )
    except (ConfigException, AssertionError, KeyError, TypeError, ValueError, OSError) as exc:
        raise KubeconfigError(f"auth-provider: {exc!r}") from exc

    async def reload(force: bool) -> str | None:
        # The loader decides itself whether the provider's token needs renewing; a forced
        # reload after a 401 cannot ask more of it than a periodic one.
        fresh = Configuration()
        await loader.load_and_set(fresh)
        return _authorization(fresh)

    return LoaderCredentials(reload, _authorization(configuration), refresh_period=refresh_period)


def _authorization(configuration: Any) -> str | None:
    # kubernetes-asyncio stores the whole header value ("Bearer x") under this key.
    value = configuration.api_key.get("BearerToken")
    return str(value) if value else None
