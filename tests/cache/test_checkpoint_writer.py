"""CheckpointWriter: batched saves on an injected clock, flush and close, failures retried."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from controllerkit.cache.checkpoint import Checkpoint, CheckpointWriter
from controllerkit.cache.checkpoint_file import FileCheckpointStore
from controllerkit.meta import JSONObject
from controllerkit.testing import eventually

SCOPE = "configmaps.v1_all_0123456789abcdef0123456789abcdef"


class ManualClock:
    """A clock that moves only when the test says so; sleepers wake when their time comes."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        wake_up = asyncio.get_running_loop().create_future()
        entry = (self.now + seconds, wake_up)
        self._sleepers.append(entry)
        try:
            await wake_up
        finally:
            self._sleepers.remove(entry)

    @property
    def sleepers(self) -> int:
        return len(self._sleepers)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for deadline, wake_up in self._sleepers:
            if deadline <= self.now and not wake_up.done():
                wake_up.set_result(None)


@dataclass
class FakeCache:
    """What an informer's store looks like to the writer: objects at a resourceVersion."""

    resource_version: int = 0
    objects: dict[str, JSONObject] = field(default_factory=dict)
    snapshots_taken: int = 0

    def change(self, name: str) -> None:
        self.resource_version += 1
        self.objects[name] = {"metadata": {"name": name,
                                           "resourceVersion": str(self.resource_version)}}

    def snapshot(self) -> Checkpoint:
        self.snapshots_taken += 1
        return Checkpoint(str(self.resource_version), list(self.objects.values()))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def cache() -> FakeCache:
    return FakeCache()


@pytest.fixture
def store(tmp_path: Path) -> FileCheckpointStore:
    return FileCheckpointStore(tmp_path)


@pytest.fixture
async def writer(
    store: FileCheckpointStore, cache: FakeCache, clock: ManualClock
) -> AsyncIterator[CheckpointWriter]:
    async with CheckpointWriter(store, SCOPE, cache.snapshot, interval=1.0,
                                max_pending_events=1000, clock=clock) as opened:
        yield opened


def waiting_for_the_interval(writer: CheckpointWriter, clock: ManualClock) -> Callable[[], bool]:
    """The writer has unsaved changes and sleeps until the interval allows the next save."""
    return lambda: clock.sleepers == 1 and writer.stats.saves == writer.stats.save_attempts


async def test_the_first_change_after_a_quiet_period_is_saved_at_once(
    writer: CheckpointWriter, cache: FakeCache, store: FileCheckpointStore
) -> None:
    cache.change("a")
    writer.notify()

    await eventually(lambda: writer.stats.saves == 1, message="the first save")
    assert await store.load(SCOPE) == cache.snapshot()


async def test_changes_within_the_interval_are_saved_together_when_it_ends(
    writer: CheckpointWriter, cache: FakeCache, clock: ManualClock, store: FileCheckpointStore
) -> None:
    cache.change("first")
    writer.notify()
    await eventually(lambda: writer.stats.saves == 1, message="the first save")

    for index in range(1000):
        cache.change(f"cm-{index % 10}")
        writer.notify()
        await asyncio.sleep(0)  # events arrive over time, not in one synchronous burst
    # Advance only once the writer sleeps: a sleep starting later would start from the new time.
    await eventually(waiting_for_the_interval(writer, clock), message="the writer to wait")
    clock.advance(0.999)
    await eventually(waiting_for_the_interval(writer, clock), message="the writer to wait")
    assert writer.stats.save_attempts == 1, "no save before the interval ends"

    clock.advance(0.001)
    await eventually(lambda: writer.stats.saves == 2, message="the save at the interval")
    assert writer.pending_events == 0
    assert await store.load(SCOPE) == cache.snapshot()
    assert writer.stats.last_saved_resource_version == "1001"


async def test_a_thousand_notifications_cost_a_bounded_number_of_saves(
    store: FileCheckpointStore, cache: FakeCache, clock: ManualClock
) -> None:
    async with CheckpointWriter(store, SCOPE, cache.snapshot, interval=1.0,
                                max_pending_events=100, clock=clock) as writer:
        for index in range(1000):
            cache.change(f"cm-{index}")
            writer.notify()
            await asyncio.sleep(0)
        await eventually(
            lambda: writer.pending_events < 100
            and writer.stats.saves == writer.stats.save_attempts,
            message="the writer to catch up",
        )
        # The first change is saved at once; after that only a full batch of 100 moves early.
        assert 2 <= writer.stats.save_attempts <= 1 + 1000 // 100
        assert cache.snapshots_taken == writer.stats.save_attempts

    assert await store.load(SCOPE) == cache.snapshot()


async def test_reaching_max_pending_events_saves_before_the_interval_ends(
    store: FileCheckpointStore, cache: FakeCache, clock: ManualClock
) -> None:
    async with CheckpointWriter(store, SCOPE, cache.snapshot, interval=3600.0,
                                max_pending_events=50, clock=clock) as writer:
        cache.change("first")
        writer.notify()
        await eventually(lambda: writer.stats.saves == 1, message="the first save")

        for index in range(49):
            cache.change(f"cm-{index}")
            writer.notify()
        await eventually(waiting_for_the_interval(writer, clock), message="the writer to wait")
        assert writer.stats.save_attempts == 1

        cache.change("the-fiftieth")
        writer.notify()
        await eventually(lambda: writer.stats.saves == 2, message="the early save")
        assert clock.now == 0.0
        assert await store.load(SCOPE) == cache.snapshot()


async def test_a_burst_of_notifications_takes_one_snapshot(
    writer: CheckpointWriter, cache: FakeCache
) -> None:
    for index in range(5000):
        cache.change(f"cm-{index}")
        writer.notify()

    await eventually(lambda: writer.stats.saves == 1, message="the save")
    await writer.flush()
    assert cache.snapshots_taken == 1
    assert writer.stats.save_attempts == 1


async def test_only_one_save_is_in_flight_while_the_disk_is_slow(
    tmp_path: Path, cache: FakeCache, clock: ManualClock
) -> None:
    gate = asyncio.Event()
    started: list[str] = []

    class SlowDisk(FileCheckpointStore):
        async def save(self, scope: str, checkpoint: Checkpoint) -> None:
            started.append(checkpoint.resource_version)
            await gate.wait()
            await super().save(scope, checkpoint)

    store = SlowDisk(tmp_path)
    async with CheckpointWriter(store, SCOPE, cache.snapshot, interval=0.0,
                                max_pending_events=10, clock=clock) as writer:
        for index in range(3000):
            cache.change(f"cm-{index}")
            writer.notify()  # returns at once even though the save cannot finish
            if index % 100 == 0:
                await asyncio.sleep(0)
        assert started == ["1"]

        gate.set()
        await eventually(lambda: writer.pending_events == 0 and writer.stats.saves == 2,
                         message="the second save")
        assert started == ["1", "3000"]
    assert await store.load(SCOPE) == cache.snapshot()


async def test_flush_saves_the_latest_state_now(
    store: FileCheckpointStore, cache: FakeCache, clock: ManualClock
) -> None:
    async with CheckpointWriter(store, SCOPE, cache.snapshot, interval=3600.0,
                                clock=clock) as writer:
        cache.change("a")
        writer.notify()
        await eventually(lambda: writer.stats.saves == 1, message="the first save")
        cache.change("b")
        writer.notify()

        await writer.flush()

        assert await store.load(SCOPE) == cache.snapshot()
        assert writer.stats.saves == 2
        await writer.flush()
        assert writer.stats.save_attempts == 2, "a flush with nothing new writes nothing"


async def test_aclose_saves_the_latest_state_and_ignores_later_notifications(
    store: FileCheckpointStore, cache: FakeCache, clock: ManualClock
) -> None:
    writer = CheckpointWriter(store, SCOPE, cache.snapshot, interval=3600.0, clock=clock)
    cache.change("a")
    writer.notify()
    await eventually(lambda: writer.stats.saves == 1, message="the first save")
    cache.change("b")
    writer.notify()

    await writer.aclose()
    assert await store.load(SCOPE) == Checkpoint("2", list(cache.objects.values()))

    cache.change("c")
    writer.notify()
    await writer.aclose()
    assert (await store.load(SCOPE) or Checkpoint("", None)).resource_version == "2"


async def test_aclose_during_a_save_waits_for_it_then_saves_what_came_after(
    tmp_path: Path, cache: FakeCache, clock: ManualClock
) -> None:
    gate = asyncio.Event()

    class SlowDisk(FileCheckpointStore):
        async def save(self, scope: str, checkpoint: Checkpoint) -> None:
            await gate.wait()
            await super().save(scope, checkpoint)

    store = SlowDisk(tmp_path)
    writer = CheckpointWriter(store, SCOPE, cache.snapshot, interval=3600.0, clock=clock)
    cache.change("a")
    writer.notify()
    await eventually(lambda: writer.stats.save_attempts == 1, message="the first save to start")
    cache.change("b")
    writer.notify()

    closing = asyncio.ensure_future(writer.aclose())
    await asyncio.sleep(0)
    gate.set()
    await closing

    assert writer.stats.saves == 2
    assert await store.load(SCOPE) == Checkpoint("2", list(cache.objects.values()))


async def test_a_writer_never_notified_writes_nothing(
    store: FileCheckpointStore, cache: FakeCache
) -> None:
    writer = CheckpointWriter(store, SCOPE, cache.snapshot)
    await writer.flush()
    await writer.aclose()

    assert cache.snapshots_taken == 0
    assert await store.load(SCOPE) is None


async def test_a_failed_save_is_logged_and_retried_at_the_next_interval(
    tmp_path: Path, cache: FakeCache, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "checkpoints"
    blocked.write_text("a file where the checkpoint directory should be")
    store = FileCheckpointStore(blocked)
    async with CheckpointWriter(store, SCOPE, cache.snapshot, interval=2.0, clock=clock,
                                max_pending_events=10) as writer:
        with caplog.at_level(logging.WARNING, logger="controllerkit.cache.checkpoint"):
            cache.change("a")
            writer.notify()
            await eventually(lambda: writer.stats.failures == 1, message="the failed save")
            for index in range(20):  # past max_pending_events: a failing disk is not hammered
                cache.change(f"cm-{index}")
                writer.notify()
            await eventually(lambda: clock.sleepers == 1, message="the writer to wait")
            assert writer.stats.save_attempts == 1
        assert f"checkpoint save for scope {SCOPE} failed, retrying in 2.0s" in caplog.text
        assert "FileExistsError" in writer.stats.last_error

        blocked.unlink()
        clock.advance(2.0)
        await eventually(lambda: writer.stats.saves == 1, message="the retried save")

        assert writer.stats.last_error == ""
        assert await store.load(SCOPE) == cache.snapshot()


async def test_flush_raises_when_the_save_fails(
    tmp_path: Path, cache: FakeCache, clock: ManualClock
) -> None:
    blocked = tmp_path / "checkpoints"
    blocked.write_text("a file where the checkpoint directory should be")
    writer = CheckpointWriter(FileCheckpointStore(blocked), SCOPE, cache.snapshot,
                              interval=3600.0, clock=clock)
    cache.change("a")
    writer.notify()
    await eventually(lambda: writer.stats.failures == 1, message="the failed save")

    with pytest.raises(FileExistsError):
        await writer.flush()
    assert writer.pending_events == 1, "the change is still unsaved"
    await writer.aclose()  # logs, does not raise


@pytest.mark.parametrize(
    ("interval", "max_pending", "duty_cycle"), [(-1.0, 10, 0.1), (1.0, 0, 0.1), (1.0, 10, 0.0)]
)
def test_nonsensical_settings_are_refused(
    store: FileCheckpointStore, cache: FakeCache, interval: float, max_pending: int,
    duty_cycle: float,
) -> None:
    with pytest.raises(ValueError, match="must be"):
        CheckpointWriter(store, SCOPE, cache.snapshot, interval=interval,
                         max_pending_events=max_pending, max_duty_cycle=duty_cycle)


async def test_slow_saves_are_spaced_to_keep_within_the_duty_cycle(
    tmp_path: Path, cache: FakeCache, clock: ManualClock
) -> None:
    class HalfSecondDisk(FileCheckpointStore):
        async def save(self, scope: str, checkpoint: Checkpoint) -> None:
            await super().save(scope, checkpoint)
            clock.advance(0.5)  # as if serialising a big cache took half a second

    store = HalfSecondDisk(tmp_path)
    async with CheckpointWriter(store, SCOPE, cache.snapshot, interval=1.0,
                                max_pending_events=10, max_duty_cycle=0.1, clock=clock) as writer:
        cache.change("first")
        writer.notify()
        await eventually(lambda: writer.stats.saves == 1, message="the first save")
        for index in range(20):  # past max_pending_events and past the interval
            cache.change(f"cm-{index}")
            writer.notify()
        clock.advance(4.0)
        await eventually(waiting_for_the_interval(writer, clock), message="the writer to wait")
        assert writer.stats.save_attempts == 1, "0.5 s of saving buys 4.5 s of rest"

        clock.advance(0.5)
        await eventually(lambda: writer.stats.saves == 2, message="the next save")
        assert writer.stats.last_save_seconds == 0.5


async def test_saves_and_failures_are_exported_as_prometheus_metrics(
    tmp_path: Path, cache: FakeCache, clock: ManualClock
) -> None:
    labels = {"scope": SCOPE}
    registry = CollectorRegistry()
    blocked = tmp_path / "checkpoints"
    blocked.write_text("a file where the checkpoint directory should be")
    async with CheckpointWriter(FileCheckpointStore(blocked), SCOPE, cache.snapshot,
                                interval=1.0, clock=clock, registry=registry) as writer:
        assert registry.get_sample_value("controllerkit_checkpoint_saves_total", labels) == 0
        assert registry.get_sample_value(
            "controllerkit_checkpoint_last_save_timestamp_seconds", labels) is None
        cache.change("a")
        writer.notify()
        await eventually(lambda: writer.stats.failures == 1, message="the failed save")
        await eventually(lambda: clock.sleepers == 1, message="the writer to wait for the retry")
        blocked.unlink()
        clock.advance(1.0)
        await eventually(lambda: writer.stats.saves == 1, message="the retried save")

    assert registry.get_sample_value("controllerkit_checkpoint_save_failures_total",
                                     labels) == 1.0
    assert registry.get_sample_value("controllerkit_checkpoint_saves_total", labels) == 1.0
    last_save = registry.get_sample_value(
        "controllerkit_checkpoint_last_save_timestamp_seconds", labels)
    assert last_save is not None and abs(time.time() - last_save) < 60
