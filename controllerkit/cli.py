"""The `controllerkit` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from .apiserver import ApiServerOptions, EmbeddedApiServer
from .apiserver.persistence import PersistenceError


def _apiserver_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "apiserver",
        help="run the embedded Kubernetes-compatible API server",
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
    p.add_argument("--watch-history", type=int, default=defaults.watch_history,
                   help="events kept per resource for watch resumption (%(default)s)")
    p.add_argument("--bookmark-interval", type=float, default=defaults.bookmark_interval,
                   help="seconds of quiet before a watch gets a BOOKMARK (%(default)s)")
    p.add_argument("--max-body-bytes", type=int, default=defaults.max_body_bytes,
                   help="largest accepted request body (%(default)s)")
    p.add_argument("--status-precondition", choices=("required", "optional"),
                   default="required",
                   help="whether status writes must carry a resourceVersion (%(default)s)")
    p.add_argument("-v", "--verbose", action="store_true", help="log requests and errors")


def options_from_args(args: argparse.Namespace) -> ApiServerOptions:
    return ApiServerOptions(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        tls=args.tls or args.tokens is not None,
        tokens_file=args.tokens,
        kubeconfig_out=args.kubeconfig_out,
        watch_history=args.watch_history,
        bookmark_interval=args.bookmark_interval,
        max_body_bytes=args.max_body_bytes,
        require_status_precondition=args.status_precondition == "required",
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="controllerkit")
    sub = parser.add_subparsers(dest="command", required=True)
    _apiserver_parser(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "apiserver":
        try:
            asyncio.run(serve(options_from_args(args)))
        except (OSError, ValueError, PersistenceError) as exc:
            print(f"controllerkit apiserver: {exc}", file=sys.stderr)
            return 1
        return 0
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
