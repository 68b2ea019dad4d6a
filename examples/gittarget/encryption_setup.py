"""The `EncryptionConfigured` gate's work: which age recipients a target's Secrets are
encrypted to, and the identity Secret that holds the key to read them back.

- Encryption disabled (or absent): True/`NotRequired`; Secrets are then never mirrored.
- `secretRef` names a Secret holding an age identity under `SOPS_AGE_KEY`; its recipient is
  added to `recipients`. A missing Secret is created with a fresh identity only when
  `generateWhenMissing` is true (`SecretCreateDisabled` otherwise). The created Secret has no
  owner reference on purpose: deleting the target must never destroy the only key to the
  Secrets already in git.
- Every recipient must be a valid age public key (`InvalidRecipients` names the bad ones).

Secrets are not cached (unless a WatchRule mirrors them), so the Secret is read from the
server: the controller needs `get` (and for generation `create`) on Secrets of the targets'
namespaces, not `list` or `watch` on all.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from controllerkit.cache import CachedClient
from controllerkit.errors import AlreadyExists
from controllerkit.gates import GateResult
from controllerkit.meta import SECRET, JSONObject

from .content import EncryptionError, generate_identity, recipient_of, validate_recipients
from .contract import EncryptionConfigured
from .kinds import GitTarget

IDENTITY_KEY = "SOPS_AGE_KEY"
RECIPIENT_ANNOTATION = "gittarget.controllerkit.dev/age-recipient"
BACKUP_ANNOTATION = "gittarget.controllerkit.dev/backup-warning"
BACKUP_WARNING = ("back this identity up outside the cluster: without it the Secrets mirrored "
                  "to git cannot be decrypted")


@dataclass(frozen=True)
class EncryptionPlan:
    """What the gate resolved: the recipients (sorted, empty when Secrets are not mirrored),
    the identity when the controller holds one, and the name of the identity Secret."""

    recipients: tuple[str, ...] = ()
    identity: str | None = field(default=None, repr=False)
    secret_name: str | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.recipients)


@dataclass(frozen=True)
class EncryptionOutcome:
    """The gate's result, and the plan when it is True."""

    result: GateResult
    plan: EncryptionPlan | None = None


async def configure_encryption(client: CachedClient, target: GitTarget) -> EncryptionOutcome:
    """Resolve (and if allowed, create) the target's encryption; see the module doc."""
    spec = target.spec.encryption
    if spec is None or not spec.enabled:
        return EncryptionOutcome(
            GateResult("True", EncryptionConfigured.NOT_REQUIRED,
                       "encryption is disabled: Secrets are not mirrored"),
            EncryptionPlan())
    invalid = validate_recipients(spec.recipients)
    if invalid:
        return _failed(EncryptionConfigured.INVALID_RECIPIENTS,
                       f"not valid age public keys: {', '.join(invalid)}")
    recipients = set(spec.recipients)
    identity: str | None = None
    if spec.secret_ref is not None:
        namespace = target.metadata.namespace or ""
        name = spec.secret_ref.name
        secret = await client.get(SECRET, name, namespace=namespace)
        if secret is None:
            if not spec.generate_when_missing:
                return _failed(EncryptionConfigured.SECRET_CREATE_DISABLED,
                               f"Secret {name!r} not found in namespace {namespace!r} and "
                               f"generateWhenMissing is false")
            secret = await _create_identity_secret(client, namespace, name)
        identity = _identity_in(secret)
        if identity is None:
            return _failed(EncryptionConfigured.MISSING_SECRET,
                           f"Secret {name!r} has no {IDENTITY_KEY} key holding an age identity")
        try:
            recipients.add(recipient_of(identity))
        except EncryptionError as error:
            return _failed(EncryptionConfigured.INVALID_RECIPIENTS,
                           f"Secret {name!r}: {IDENTITY_KEY}: {error}")
    if not recipients:
        return _failed(EncryptionConfigured.MISSING_SECRET,
                       "encryption is enabled but neither secretRef nor recipients is set")
    plan = EncryptionPlan(tuple(sorted(recipients)), identity,
                          spec.secret_ref.name if spec.secret_ref else None)
    return EncryptionOutcome(
        GateResult("True", EncryptionConfigured.OK,
                   f"Secrets are encrypted to {len(plan.recipients)} age recipient(s)"),
        plan)


async def _create_identity_secret(client: CachedClient, namespace: str, name: str
                                  ) -> JSONObject:
    identity, recipient = generate_identity()
    secret: JSONObject = {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": name, "namespace": namespace, "annotations": {
            RECIPIENT_ANNOTATION: recipient, BACKUP_ANNOTATION: BACKUP_WARNING}},
        "data": {IDENTITY_KEY: base64.b64encode(identity.encode()).decode()},
    }
    try:
        return await client.create(secret)
    except AlreadyExists:
        # Created meanwhile (another reconcile, or by hand): use that one, never overwrite it.
        # From the server: a cache of mirrored Secrets may not show it yet.
        return await client.api.get(SECRET, name, namespace=namespace)


def _identity_in(secret: JSONObject) -> str | None:
    encoded = (secret.get("data") or {}).get(IDENTITY_KEY)
    if not encoded:
        return None
    try:
        return base64.b64decode(encoded, validate=True).decode().strip() or None
    except (binascii.Error, UnicodeDecodeError):
        return None


def _failed(reason: str, message: str) -> EncryptionOutcome:
    return EncryptionOutcome(GateResult("False", reason, message))
