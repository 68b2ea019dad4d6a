"""A stand-in for the runtime operator, for demos and tests: it moves Spritzes through their
phases the way a real one would report them.

- A new Spritz gets the simulator's finalizer and phase Provisioning, and becomes Ready
  `ready_delay` seconds after the simulator first saw it.
- Annotation `spritz.sh/simulate` changes that: `error` puts the Spritz in Error (at any
  time, a Ready one too), `expire` in Expired, `hold` keeps it Provisioning until the
  annotation is removed.
- A deleted Spritz turns Terminating and its deletion is held (by the finalizer) for
  `deletion_hold` seconds, like a runtime that takes time to shut down; with
  `spritz.sh/simulate-deletion: hold` also until that annotation is removed.

Time is measured from when this process first saw the Spritz (a restarted simulator starts
the delays again) on an injectable `Clock`, which also times the controller's requeues: a
test drives it with a `FakeClock`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from controllerkit import Manager, Request, Result
from controllerkit.cache import Store
from controllerkit.client import Client
from controllerkit.clock import SYSTEM_CLOCK, Clock
from controllerkit.controller import Finalizer
from controllerkit.meta import JSONObject
from controllerkit.status import StatusWriter, retry_on_conflict

from .kinds import SPRITZ, SpritzPhase, spritz_phase

SIMULATOR_FINALIZER = "spritz.sh/runtime-simulator"
SIMULATE_ANNOTATION = "spritz.sh/simulate"
"""`error`, `expire` or `hold` (see the module doc)."""
SIMULATE_DELETION_ANNOTATION = "spritz.sh/simulate-deletion"
"""`hold`: keep a deleted Spritz Terminating until the annotation is removed."""
HOLD = "hold"
CONTROLLER_NAME = "spritz-simulator"
FIELD_MANAGER = "spritz-runtime-simulator"

_FORCED_PHASES = {"error": SpritzPhase.ERROR, "expire": SpritzPhase.EXPIRED}


@dataclass(frozen=True)
class SimulatorSettings:
    """How long the simulated runtimes take."""

    ready_delay: float = 1.0
    """Seconds from first sight to Ready."""
    deletion_hold: float = 1.0
    """Seconds a deleted Spritz stays Terminating before its deletion completes."""


class RuntimeSimulator:
    """Reconciles Spritzes as a runtime operator would (see the module doc)."""

    def __init__(self, client: Client, spritzes: Store, settings: SimulatorSettings, *,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self.client = client
        self.spritzes = spritzes
        self.settings = settings
        self.writer = StatusWriter(client, field_manager=FIELD_MANAGER)
        self.finalizer = Finalizer(client, SPRITZ, SIMULATOR_FINALIZER, self._shut_down)
        self.clock = clock
        self._first_seen: dict[str, float] = {}
        self._deleting_since: dict[str, float] = {}

    async def reconcile(self, request: Request) -> Result:
        cached = self.spritzes.get(request.key)
        if cached is None:
            return Result()
        reads = [cached]

        async def one_pass() -> Result:
            obj = reads.pop() if reads else await self.client.get(
                SPRITZ, request.name, namespace=request.namespace)
            return await self._pass(obj)

        return await retry_on_conflict(one_pass)

    async def _pass(self, obj: JSONObject) -> Result:
        meta = obj["metadata"]
        uid = str(meta.get("uid"))
        annotations = meta.get("annotations") or {}
        if meta.get("deletionTimestamp"):
            return await self._hold_deletion(obj, uid, annotations)
        obj = (await self.finalizer.apply(obj)).object
        first_seen = self._first_seen.setdefault(uid, self.clock.monotonic())
        phase = spritz_phase(obj)
        wanted = annotations.get(SIMULATE_ANNOTATION, "")
        delay: float | None = None
        if wanted in _FORCED_PHASES:
            phase = _FORCED_PHASES[wanted]
        elif phase in (None, SpritzPhase.PROVISIONING):
            remaining = self.settings.ready_delay - (self.clock.monotonic() - first_seen)
            if wanted == HOLD or remaining > 0:
                phase = SpritzPhase.PROVISIONING
                # A held Spritz waits for its annotation to change (which wakes us).
                delay = None if wanted == HOLD else remaining
            else:
                phase = SpritzPhase.READY
        await self._set_phase(obj, phase)
        return Result(requeue_after=timedelta(seconds=delay)) if delay else Result()

    async def _hold_deletion(self, obj: JSONObject, uid: str,
                             annotations: dict[str, str]) -> Result:
        if SIMULATOR_FINALIZER not in (obj["metadata"].get("finalizers") or ()):
            return Result()
        obj = await self._set_phase(obj, SpritzPhase.TERMINATING)
        since = self._deleting_since.setdefault(uid, self.clock.monotonic())
        if annotations.get(SIMULATE_DELETION_ANNOTATION) == HOLD:
            return Result()
        remaining = self.settings.deletion_hold - (self.clock.monotonic() - since)
        if remaining > 0:
            return Result(requeue_after=timedelta(seconds=remaining))
        await self.finalizer.apply(obj)
        return Result()

    async def _shut_down(self, obj: JSONObject) -> None:
        """The finalizer's cleanup: the runtime is gone; forget its timers."""
        uid = str(obj["metadata"].get("uid"))
        self._first_seen.pop(uid, None)
        self._deleting_since.pop(uid, None)

    async def _set_phase(self, obj: JSONObject, phase: str) -> JSONObject:
        status = dict(obj.get("status") or {})
        status["phase"] = str(phase)
        return await self.writer.patch(SPRITZ, obj, status)


def add_simulator(manager: Manager, settings: SimulatorSettings, *,
                  namespace: str | None = None,
                  clock: Clock = SYSTEM_CLOCK) -> RuntimeSimulator:
    """Run the runtime simulator as a controller of `manager` (in `namespace`, or the
    manager's scope); `clock` times its delays and requeues."""
    scope = namespace or manager.namespace
    spritzes = manager.informers.informer(SPRITZ, namespace=scope).store
    simulator = RuntimeSimulator(manager.client, spritzes, settings, clock=clock)
    (manager.controller_builder()
     .for_(SPRITZ, namespace=scope)
     .with_options(max_concurrent_reconciles=4, clock=clock)
     .named(CONTROLLER_NAME)
     .build(simulator))
    return simulator
