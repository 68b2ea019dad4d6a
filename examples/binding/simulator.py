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

from controllerkit import Context, Manager, Result
from controllerkit.clock import SYSTEM_CLOCK, Clock

from .kinds import Spritz, SpritzPhase, SpritzStatus

SIMULATOR_FINALIZER = "spritz.sh/runtime-simulator"
SIMULATE_ANNOTATION = "spritz.sh/simulate"
"""`error`, `expire` or `hold` (see the module doc)."""
SIMULATE_DELETION_ANNOTATION = "spritz.sh/simulate-deletion"
"""`hold`: keep a deleted Spritz Terminating until the annotation is removed."""
HOLD = "hold"
CONTROLLER_NAME = "spritz-simulator"

_FORCED_PHASES = {"error": SpritzPhase.ERROR, "expire": SpritzPhase.EXPIRED}


@dataclass(frozen=True)
class SimulatorSettings:
    """How long the simulated runtimes take."""

    ready_delay: float = 1.0
    """Seconds from first sight to Ready."""
    deletion_hold: float = 1.0
    """Seconds a deleted Spritz stays Terminating before its deletion completes."""


def add_simulator(manager: Manager, settings: SimulatorSettings, *,
                  namespace: str | None = None, clock: Clock = SYSTEM_CLOCK) -> None:
    """Run the runtime simulator (see the module doc) as a controller of `manager` (in
    `namespace`, or the manager's scope); `clock` times its delays and requeues."""
    first_seen: dict[str, float] = {}
    deleting_since: dict[str, float] = {}

    async def shut_down(spritz: Spritz) -> None:
        """The finalizer's cleanup: the runtime is gone; forget its timers."""
        first_seen.pop(str(spritz.metadata.uid), None)
        deleting_since.pop(str(spritz.metadata.uid), None)

    async def hold_deletion(spritz: Spritz, ctx: Context) -> Result | None:
        if SIMULATOR_FINALIZER not in (spritz.metadata.finalizers or ()):
            return None
        spritz = await _set_phase(ctx, spritz, SpritzPhase.TERMINATING)
        since = deleting_since.setdefault(str(spritz.metadata.uid), clock.monotonic())
        if (spritz.metadata.annotations or {}).get(SIMULATE_DELETION_ANNOTATION) == HOLD:
            return None  # removing the annotation wakes us
        remaining = settings.deletion_hold - (clock.monotonic() - since)
        if remaining > 0:
            return Result(requeue_after=remaining)
        await ctx.finalize(spritz, SIMULATOR_FINALIZER, shut_down)
        return None

    @manager.controller(Spritz, name=CONTROLLER_NAME, namespace=namespace,
                        max_concurrent_reconciles=4, clock=clock)
    async def simulate(spritz: Spritz | None, ctx: Context) -> Result | None:
        if spritz is None:
            return None
        if spritz.metadata.deletion_timestamp is not None:
            return await hold_deletion(spritz, ctx)
        spritz = await ctx.finalize(spritz, SIMULATOR_FINALIZER, shut_down)
        if spritz is None:
            return None
        first = first_seen.setdefault(str(spritz.metadata.uid), clock.monotonic())
        wanted = (spritz.metadata.annotations or {}).get(SIMULATE_ANNOTATION, "")
        phase = spritz.status.phase if spritz.status else None
        delay: float | None = None
        if wanted in _FORCED_PHASES:
            phase = _FORCED_PHASES[wanted]
        elif phase in (None, SpritzPhase.PROVISIONING):
            remaining = settings.ready_delay - (clock.monotonic() - first)
            if wanted == HOLD or remaining > 0:
                phase = SpritzPhase.PROVISIONING
                # A held Spritz waits for its annotation to change (which wakes us).
                delay = None if wanted == HOLD else remaining
            else:
                phase = SpritzPhase.READY
        await _set_phase(ctx, spritz, phase)
        return Result(requeue_after=delay) if delay else None


async def _set_phase(ctx: Context, spritz: Spritz, phase: SpritzPhase) -> Spritz:
    spritz.status = spritz.status or SpritzStatus()
    spritz.status.phase = phase
    return await ctx.client.write_status(spritz)
