"""Checking, before any watch starts, that the server serves every kind a manager watches.

A kind that is not served (a CRD not installed, a group misspelled) would otherwise surface
only when the cache sync times out, minutes later; discovery says so within seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from ..client.mapper import RestMapper
from ..errors import NoKindMatch
from ..meta import ResourceKind

__all__ = ["check_kinds"]

logger = logging.getLogger(__name__)

_RETRY_INTERVAL = 0.25


async def check_kinds(mapper: RestMapper, kinds: Iterable[ResourceKind],
                      timeout: float) -> None:  # noqa: ASYNC109
    """Return once discovery serves every kind as declared; `NoKindMatch` naming the first
    that it still does not serve after `timeout` seconds (a CRD created just before may take
    a moment to be served). Other discovery errors propagate at once."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    for kind in dict.fromkeys(kinds):
        while True:
            try:
                await mapper.check(kind)
                break
            except NoKindMatch as error:
                if loop.time() >= deadline:
                    logger.error("%s", error)
                    raise
            await asyncio.sleep(_RETRY_INTERVAL)
