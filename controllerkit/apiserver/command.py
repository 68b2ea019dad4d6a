"""`controllerkit apiserver`: the embedded API server as a command.

Its own module, imported only for this command, so that `controllerkit run` (a controller
process) never loads the test server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from .engine import ApiServerOptions
from .persistence import PersistenceError
from .server import EmbeddedApiServer

__all__ = ["main", "options_from_args", "parser"]


def parser() -> argparse.ArgumentParser:
    """The command's arguments."""
    p = argparse.ArgumentParser(
        prog="controllerkit apiserver",
        description="Serve the Kubernetes REST protocol on loopback, for kubectl, "
        "kubernetes-asyncio and controllers under development.",
    )
    defaults = ApiServerOptions()
    p.add_argument("--host", default=defaults.host, help="address to listen on (%(default)s)")
    p.add_argument("--port", type=int, default=6443,
                   help="port to listen on; 0 picks a free port (%(default)s)")
    p.add_argument("--kubeconfig-out", type=Path, help="write a kubeconfig for this server here")
    p.add_argument("--data-dir", type=Path,
                   help="persist every write to SQLite in this directory (default: memory only)")
    p.add_argument("--tls", action="store_true",
                   help="serve HTTPS with a self-signed certificate (its CA is in the kubeconfig)")
    p.add_argument("--tokens", type=Path,
                   help="YAML file of bearer tokens and access rules; implies --tls, because "
                   "kubectl sends bearer tokens only over HTTPS")
    p.add_argument("--client-certs", action="store_true",
                   help="also authenticate clients by TLS client certificate (CN is the user, "
                   "O the groups) signed by the server's CA, and write the kubeconfig with "
                   "such a certificate instead of a token; implies --tls")
    p.add_argument("--client-ca", type=Path, metavar="FILE",
                   help="also trust client certificates signed by the CA certificates in this "
                   "PEM file; implies --client-certs")
    p.add_argument("--watch-history", type=int, default=defaults.watch_history,
                   help="events kept per resource for watch resumption (%(default)s)")
    p.add_argument("--bookmark-interval", type=float, default=defaults.bookmark_interval,
                   help="seconds of quiet before a watch gets a BOOKMARK (%(default)s)")
    p.add_argument("--max-body-bytes", type=int, default=defaults.max_body_bytes,
                   help="largest accepted request body (%(default)s)")
    p.add_argument("--strict-status", action="store_true",
                   help="refuse status writes without a resourceVersion precondition, and "
                   "status writes that would change anything but .status (a real server "
                   "accepts the first and drops such changes)")
    p.add_argument("-v", "--verbose", action="store_true", help="log requests and errors")
    return p


def options_from_args(args: argparse.Namespace) -> ApiServerOptions:
    return ApiServerOptions(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        tls=args.tls or args.tokens is not None,
        tokens_file=args.tokens,
        client_certificates=args.client_certs,
        client_ca_file=args.client_ca,
        kubeconfig_out=args.kubeconfig_out,
        watch_history=args.watch_history,
        bookmark_interval=args.bookmark_interval,
        max_body_bytes=args.max_body_bytes,
        strict_status=args.strict_status,
        log_requests=args.verbose,
    )


async def serve(options: ApiServerOptions) -> None:
    """Run the server until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with EmbeddedApiServer(options) as server:
        print(f"serving on {server.url}", flush=True)
        if options.kubeconfig_out:
            print(f"kubeconfig written to {server.kubeconfig_path}", flush=True)
        await stop.wait()


def main(argv: Sequence[str]) -> int:
    """Run the server until SIGINT or SIGTERM; 1 with a one-line error if it cannot start."""
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        asyncio.run(serve(options_from_args(args)))
    except (OSError, ValueError, PersistenceError) as exc:
        print(f"controllerkit apiserver: {exc}", file=sys.stderr)
        return 1
    return 0
