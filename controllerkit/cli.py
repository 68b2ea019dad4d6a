"""The `controllerkit` command line: `apiserver`, `run`, `crd` and `--version`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import importlib
import importlib.metadata
import inspect
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from . import __version__
from .cache import CacheSyncTimeout
from .client import KubeClient
from .client.config import ConfigError
from .crd import crd_for
from .errors import NoKindMatch
from .leaderelection import LeaderElectionConfig, LeadershipLost
from .logs import configure_logging
from .manager import Manager
from .resource import CustomResource, Resource
from .sharding import ShardingConfig, ShardLeaseLost

EXIT_LEASE_LOST = 1
"""Exit status of `controllerkit run` when the process lost its leader or shard Lease.

It exits rather than campaigning again, as controller-runtime does: the restarted process
starts from clean caches and queues, and its orchestrator (a Deployment) counts the restart.
"""

SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def _apiserver_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # Listed for `controllerkit --help` only: `main` hands `apiserver ...` to the server's own
    # command before parsing, so a controller process never loads the test server.
    sub.add_parser("apiserver", help="run the embedded Kubernetes-compatible API server "
                   "(see `controllerkit apiserver --help`)")


def _run_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "run",
        help="run a controller manager",
        description="Import MODULE:ATTR (a Manager, or a function, sync or async, that builds "
        "one from a client) and run it until SIGTERM or SIGINT, then stop gracefully.",
    )
    p.add_argument("target", metavar="MODULE:ATTR",
                   help="where the Manager or its factory is, e.g. myapp.controllers:build")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--kubeconfig", type=Path,
                        help="kubeconfig to connect with (default: $KUBECONFIG or "
                        "~/.kube/config); also exported as $KUBECONFIG before the import")
    source.add_argument("--embedded", action="store_true",
                        help="start the embedded API server in this process and connect to it")
    p.add_argument("--namespace",
                   help="watch only this namespace (passed to a factory as namespace=NS)")
    p.add_argument("--metrics-bind-address",
                   help="host:port for /metrics; 0 picks a free port, empty turns it off "
                   "(default: the manager's)")
    p.add_argument("--health-probe-bind-address",
                   help="host:port for /healthz, /readyz and the quarantine endpoints; 0 "
                   "picks a free port, empty turns it off (default: the manager's)")
    p.add_argument("--cache-sync-timeout", type=_positive_seconds, metavar="SECONDS",
                   help="how long the caches may take to fill before the manager gives up "
                   "and exits with status 1 (default: the manager's, 120 unless it sets "
                   "another)")
    p.add_argument("--log-format", choices=("text", "json"), default="text",
                   help="log line format (%(default)s)")
    p.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    ha = p.add_argument_group(
        "high availability",
        "Replicas coordinate through coordination.k8s.io/v1 Leases. A replica that loses "
        f"its Lease stops its work and exits with status {EXIT_LEASE_LOST}, to be restarted.")
    ha.add_argument("--leader-elect", action="store_true",
                    help="run the controllers only on the replica that holds the Lease "
                    "named by --leader-election-id; the others stand by with warm caches")
    ha.add_argument("--leader-election-id", metavar="NAME",
                    help="name of the leader election Lease (required with --leader-elect "
                    "unless the manager configures it)")
    ha.add_argument("--leader-election-namespace", metavar="NS",
                    help="namespace of the Leases (default: --namespace, else the pod's "
                    "service account namespace, else 'default')")
    ha.add_argument("--shard-name", metavar="NAME",
                    help="share the keys of every controller with the other replicas "
                    "started with this name, each holding a Lease NAME-shard-<identity>")
    ha.add_argument("--identity", metavar="ID",
                    help="this replica's name in the Leases, e.g. the pod name from the "
                    "downward API; must differ between replicas (default: <hostname>_<uuid>)")
    ha.add_argument("--lease-duration", type=float, metavar="SECONDS",
                    help="how long others wait before taking a Lease that is not renewed "
                    "(default 15)")
    ha.add_argument("--renew-deadline", type=float, metavar="SECONDS",
                    help="how long a holder keeps retrying a renewal before it stops its "
                    "work and gives up (default 10)")
    ha.add_argument("--retry-period", type=float, metavar="SECONDS",
                    help="pause between renewals and acquisition attempts (default 2)")


def configure_high_availability(manager: Manager, args: argparse.Namespace) -> None:
    """Apply the high-availability flags to `manager` (overriding what it configured).

    Raises `LaunchError` when a flag is missing or has nothing to apply to, `ValueError` for
    timings that break the Lease rules.
    """
    # Fields of both configs, set only where a flag was given.
    overrides: dict[str, Any] = {
        name: value
        for name in ("identity", "lease_duration", "renew_deadline", "retry_period")
        if (value := getattr(args, name)) is not None}
    namespace = (args.leader_election_namespace or args.namespace or manager.namespace
                 or _service_account_namespace() or "default")
    if args.leader_elect:
        config = manager.leader_election
        if config is None:
            if args.leader_election_id is None:
                raise LaunchError("--leader-elect needs --leader-election-id NAME, the name "
                                  "of the Lease the replicas campaign for")
            config = LeaderElectionConfig(args.leader_election_id, namespace, **overrides)
        else:
            names = {"lease_name": args.leader_election_id,
                     "namespace": args.leader_election_namespace}
            config = dataclasses.replace(config, **overrides, **{
                field: value for field, value in names.items() if value is not None})
        manager.leader_election = config
    elif args.leader_election_id is not None:
        raise LaunchError("--leader-election-id is only used with --leader-elect")
    if args.shard_name is not None:
        manager.sharding = ShardingConfig(args.shard_name, namespace, **overrides)
    elif overrides and manager.sharding is not None:
        manager.sharding = dataclasses.replace(manager.sharding, **overrides)
    if overrides and not (args.leader_elect or manager.sharding is not None):
        raise LaunchError("--identity, --lease-duration, --renew-deadline and --retry-period "
                          "apply only with --leader-elect or --shard-name")


def _service_account_namespace() -> str | None:
    try:
        return SERVICE_ACCOUNT_NAMESPACE.read_text().strip() or None
    except OSError:
        return None


def _positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not seconds > 0:  # NaN too
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return seconds


class LaunchError(Exception):
    """MODULE:ATTR does not name what the command needs (a Manager, a model); one line."""


def import_target(target: str) -> object:
    """The object named by `MODULE:ATTR` (ATTR may be dotted); the working directory is on
    the import path, as for `python -m`.

    Raises `LaunchError` when `target` is not of that form, when the module cannot be imported
    (not found, or its import failed), or when it has no such attribute.
    """
    module_name, separator, attribute = target.partition(":")
    if not separator or not module_name or not attribute:
        raise LaunchError(f"{target!r} is not MODULE:ATTR")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        found: object = importlib.import_module(module_name)
    except ImportError as error:
        raise LaunchError(f"cannot import {module_name}: {_one_line(error)}") from error
    except Exception as error:
        # The module's own code failed: name the exception, since its message may not.
        raise LaunchError(f"cannot import {module_name}: {type(error).__name__}: "
                          f"{_one_line(error)}") from error
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise LaunchError(f"{module_name} has no attribute {attribute}") from None
    return found


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def load_model(target: str) -> type[Resource]:
    """The `CustomResource` model named by `MODULE:MODEL`; `LaunchError` for anything else."""
    found = import_target(target)
    if not (isinstance(found, type) and issubclass(found, CustomResource)):
        if isinstance(found, type):
            what = f"the class {found.__name__}"
        else:
            name = type(found).__name__
            what = f"{'an' if name[0] in 'aeiouAEIOU' else 'a'} {name}"
        raise LaunchError(f"{target} is {what}, not a CustomResource model")
    return found


def crd_documents(targets: Sequence[str]) -> str:
    """The CustomResourceDefinitions of the models `targets` name, as YAML documents
    separated by `---`.

    Raises `LaunchError` for a target that is not a CustomResource model with a declared
    kind in a non-core group, or whose schema a CRD cannot express (see `crd_for`).
    """
    definitions = []
    for target in targets:
        model = load_model(target)
        try:
            definitions.append(crd_for(model))
        except TypeError as error:  # no declared kind, a core group, an unsupported schema
            raise LaunchError(f"{target}: {_one_line(error)}") from error
    return yaml.safe_dump_all(definitions, sort_keys=False)


def package_version() -> str:
    """The installed distribution's version; the package's own when it is not installed."""
    try:
        return importlib.metadata.version("controllerkit")
    except importlib.metadata.PackageNotFoundError:
        return __version__


def _crd_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "crd",
        help="print the CustomResourceDefinitions of typed models",
        description="Import each MODULE:MODEL (a CustomResource subclass that declares its "
        "kind) and print its CustomResourceDefinition as YAML, one document per model, "
        "e.g. for `kubectl apply -f -`.",
    )
    p.add_argument("models", nargs="+", metavar="MODULE:MODEL",
                   help="where a model is, e.g. myapp.resources:Widget")


async def load_manager(
    target: str, kubeconfig: Path | None, namespace: str | None,
    resources: contextlib.AsyncExitStack,
) -> Manager:
    """Import `target` and get the Manager: as is, or from its factory given an open client.

    The manager's client (if a `KubeClient`) is opened and closed with `resources`.
    """
    if kubeconfig is not None:
        # A Manager built at import time reads its kubeconfig from the environment.
        os.environ["KUBECONFIG"] = str(kubeconfig)
    found = import_target(target)
    if isinstance(found, Manager):
        if namespace is not None and found.namespace != namespace:
            raise LaunchError(f"{target} is a Manager for namespace {found.namespace!r}; "
                              f"--namespace needs a factory function")
        if isinstance(found.client, KubeClient):
            await resources.enter_async_context(found.client)
        return found
    if not callable(found):
        raise LaunchError(f"{target} is a {type(found).__name__}, not a Manager or a "
                          f"function that builds one")
    client = await resources.enter_async_context(KubeClient.from_kubeconfig(kubeconfig))
    built = found(client, namespace=namespace) if namespace is not None else found(client)
    if inspect.isawaitable(built):
        built = await built
    if not isinstance(built, Manager):
        raise LaunchError(f"{target} returned a {type(built).__name__}, not a Manager")
    return built


async def run_manager(args: argparse.Namespace) -> None:
    """Load and run the manager of `controllerkit run` until a signal stops it."""
    async with contextlib.AsyncExitStack() as stack:
        kubeconfig: Path | None = args.kubeconfig
        if args.embedded:
            from .apiserver import EmbeddedApiServer

            server = await stack.enter_async_context(EmbeddedApiServer(port=0))
            kubeconfig = server.kubeconfig_path
            logging.getLogger(__name__).info("embedded API server on %s, kubeconfig %s",
                                             server.url, kubeconfig)
        manager = await load_manager(args.target, kubeconfig, args.namespace, stack)
        if args.metrics_bind_address is not None:
            manager.metrics_bind_address = args.metrics_bind_address
        if args.health_probe_bind_address is not None:
            manager.health_probe_bind_address = args.health_probe_bind_address
        if args.cache_sync_timeout is not None:
            manager.cache_sync_timeout = args.cache_sync_timeout
        configure_high_availability(manager, args)
        await manager.run_until_signalled()


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["apiserver"]:
        from .apiserver.command import main as apiserver_main

        return apiserver_main(arguments[1:])
    parser = argparse.ArgumentParser(prog="controllerkit")
    parser.add_argument("--version", action="version",
                        version=f"controllerkit {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    _apiserver_parser(sub)
    _run_parser(sub)
    _crd_parser(sub)
    args = parser.parse_args(arguments)
    if args.command == "crd":
        try:
            documents = crd_documents(args.models)
        except LaunchError as exc:
            print(f"controllerkit crd: {exc}", file=sys.stderr)
            return 2
        sys.stdout.write(documents)
        return 0
    if args.command == "run":
        configure_logging(args.log_format, logging.DEBUG if args.verbose else logging.INFO)
        try:
            asyncio.run(run_manager(args))
        except (LeadershipLost, ShardLeaseLost) as lost:
            logging.getLogger(__name__).error(
                "%s; all work stopped, exiting with status %d so that the process is "
                "restarted", lost, EXIT_LEASE_LOST)
            return EXIT_LEASE_LOST
        except (LaunchError, ConfigError, CacheSyncTimeout, NoKindMatch, OSError,
                ValueError) as exc:
            print(f"controllerkit run: {exc}", file=sys.stderr)
            return 1
        return 0
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
