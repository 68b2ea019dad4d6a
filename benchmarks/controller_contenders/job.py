"""The job every contender does, and what the benchmark checks: the Gadget kind and its CRD,
the `Ready` condition, and where the API server is (from the kubeconfig the server wrote).

Imports only the standard library, PyYAML and the benchmark's resource names, so that a
contender that uses it carries no other framework's memory.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from ..resources import COLLECTION, GROUP, NAMESPACE, PLURAL, VERSION, gadget_crd

__all__ = [
    "COLLECTION", "GROUP", "NAMESPACE", "PLURAL", "READY", "VERSION",
    "api_server", "crd", "is_ready", "ready_condition",
]

READY = "Ready"
REASON = "Reconciled"


def crd() -> dict[str, Any]:
    """Gadgets with a status subresource whose `conditions` are typed; the rest of the status
    is kept as sent (kopf records its own progress under `status.kopf`)."""
    condition = {
        "type": "object",
        "required": ["type", "status"],
        "properties": {
            "type": {"type": "string"},
            "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
            "reason": {"type": "string"},
            "message": {"type": "string"},
            "lastTransitionTime": {"type": "string", "format": "date-time"},
            "observedGeneration": {"type": "integer"},
        },
    }
    status = {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
        "properties": {"conditions": {"type": "array", "items": condition}},
    }
    spec = {"type": "object", "properties": {"image": {"type": "string"},
                                             "replicas": {"type": "integer", "minimum": 0}}}
    return gadget_crd(spec, status)


def ready_condition(generation: int) -> dict[str, Any]:
    """The condition a contender writes: Ready=True at the object's generation, now."""
    return {
        "type": READY, "status": "True", "reason": REASON, "message": "",
        "observedGeneration": generation,
        "lastTransitionTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def is_ready(obj: dict[str, Any]) -> bool:
    """Whether the object's status has the condition Ready=True."""
    conditions = (obj.get("status") or {}).get("conditions") or ()
    return any(c.get("type") == READY and c.get("status") == "True" for c in conditions)


def api_server(kubeconfig: Path) -> tuple[str, str | None]:
    """The server URL and bearer token (None without one) of the kubeconfig's current context.

    Covers what `controllerkit apiserver --kubeconfig-out` writes, not every kubeconfig.
    """
    config = yaml.safe_load(kubeconfig.read_text())
    context_name = config["current-context"]
    context = next(c["context"] for c in config["contexts"] if c["name"] == context_name)
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
    user = next((u.get("user") or {} for u in config.get("users") or ()
                 if u["name"] == context.get("user")), {})
    return str(cluster["server"]), user.get("token")
