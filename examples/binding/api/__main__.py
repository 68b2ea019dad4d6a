"""Serve the internal API: `python -m examples.binding.api --kubeconfig K --port P
--token-file F`.

The token file holds the accepted bearer tokens, one per line (`#` comments allowed). The
process talks to the API server of the kubeconfig (its current context, or `--context`) and
serves until interrupted (SIGINT or SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from controllerkit import KubeClient

from .app import create_app
from .auth import read_token_file

logger = logging.getLogger("examples.binding.api")


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m examples.binding.api",
                                     description="Serve the binding example's internal API.")
    parser.add_argument("--kubeconfig", type=Path, default=None,
                        help="kubeconfig of the API server (default: $KUBECONFIG or "
                             "~/.kube/config)")
    parser.add_argument("--context", default=None, help="kubeconfig context to use")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on")
    parser.add_argument("--token-file", type=Path, required=True,
                        help="file of accepted bearer tokens, one per line")
    return parser.parse_args(argv)


async def serve(arguments: argparse.Namespace, stop: asyncio.Event) -> None:
    """Serve until `stop` is set."""
    tokens = read_token_file(arguments.token_file)
    async with KubeClient.from_kubeconfig(arguments.kubeconfig,
                                          context=arguments.context) as client:
        runner = web.AppRunner(create_app(client, tokens=tokens))
        await runner.setup()
        try:
            site = web.TCPSite(runner, arguments.host, arguments.port)
            await site.start()
            logger.info("internal API listening on http://%s:%d", arguments.host,
                        arguments.port)
            await stop.wait()
        finally:
            await runner.cleanup()


async def main(argv: Sequence[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    await serve(arguments, stop)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(main())
