"""The internal HTTP API of the binding example: upsert, read and reconcile bindings, and
replace runtimes idempotently. `create_app(client, tokens=...)` builds it;
`python -m examples.binding.api` serves it."""

from .app import create_app

__all__ = ["create_app"]
