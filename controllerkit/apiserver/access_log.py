"""One log line per served request: method, path with query, status and duration.

With `ApiServerOptions.log_requests` (`controllerkit apiserver -v`), the lines go to the
`controllerkit.apiserver.access` logger at INFO, so they appear when that logger is enabled
for INFO and cost nothing otherwise: aiohttp asks `enabled` once per connection and skips the
logger entirely when it is off. A watch is logged when it ends, with the time it stayed open.
"""

from __future__ import annotations

import logging

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

ACCESS_LOGGER_NAME = "controllerkit.apiserver.access"


class AccessLogger(AbstractAccessLogger):
    """Formats `GET /api/v1/namespaces?limit=500 200 1.3ms` (aiohttp's `access_log_class`)."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info("%s %s %d %.1fms", request.method, request.path_qs, response.status,
                         time * 1000)

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


def access_logger() -> logging.Logger:
    """The logger the request lines are written to."""
    return logging.getLogger(ACCESS_LOGGER_NAME)
