"""`RecentWrites`: overlays of this process's writes until the cache shows them, and the
records that tell a controller's own writes from other changes. resourceVersions are never
ordered here: the versions below are deliberately not increasing."""

from __future__ import annotations

from controllerkit.cache.recent_writes import RecentWrites
from controllerkit.clock import FakeClock
from controllerkit.meta import CONFIG_MAP, SECRET, JSONObject

KEY = ("default", "web")


def obj(version: str, **data: str) -> JSONObject:
    return {"apiVersion": "v1", "kind": "ConfigMap", "data": dict(data),
            "metadata": {"name": "web", "namespace": "default", "resourceVersion": version}}


def write(writes: RecentWrites, cached: JSONObject | None, written: JSONObject | None,
          *, writer: str = "", cached_now: JSONObject | None = None) -> None:
    base = writes.base(CONFIG_MAP, KEY, cached)
    writes.wrote(CONFIG_MAP, KEY, base, cached_now=cached if cached_now is None else cached_now,
                 written=written, writer=writer)


def test_a_write_is_read_until_the_cache_shows_it() -> None:
    writes = RecentWrites()
    before, after = obj("90", a="1"), obj("17", a="2")
    write(writes, before, after)

    assert writes.overlay(CONFIG_MAP, KEY, before) == (True, after)
    writes.observe(CONFIG_MAP, after)
    assert writes.overlay(CONFIG_MAP, KEY, after) == (False, None)


def test_a_newer_change_than_the_write_ends_the_overlay() -> None:
    writes = RecentWrites()
    write(writes, obj("5"), obj("6", a="mine"))
    writes.observe(CONFIG_MAP, obj("3", a="theirs"))  # someone else's, after ours
    assert writes.overlay(CONFIG_MAP, KEY, obj("3", a="theirs")) == (False, None)


def test_a_second_write_on_top_of_the_first_survives_the_first_arriving() -> None:
    writes = RecentWrites()
    cached = obj("10")
    write(writes, cached, obj("11", step="finalizer"))
    write(writes, cached, obj("12", step="status"))
    # The cache now shows the first write: the second is still ahead of it.
    writes.observe(CONFIG_MAP, obj("11", step="finalizer"))
    assert writes.overlay(CONFIG_MAP, KEY, obj("11")) == (True, obj("12", step="status"))


def test_a_write_the_cache_already_passed_is_not_overlaid() -> None:
    writes = RecentWrites()
    write(writes, obj("1"), obj("2"), cached_now=obj("2"))
    assert len(writes) == 0


def test_a_delete_reads_as_gone_until_the_cache_drops_the_object() -> None:
    writes = RecentWrites()
    write(writes, obj("4"), None)
    assert writes.overlay(CONFIG_MAP, KEY, obj("4")) == (True, None)
    writes.observe(CONFIG_MAP, obj("4"), deleted=True)
    assert writes.overlay(CONFIG_MAP, KEY, None) == (False, None)


def test_a_create_reads_as_present_until_the_cache_has_it() -> None:
    writes = RecentWrites()
    write(writes, None, obj("8"))
    assert writes.overlay(CONFIG_MAP, KEY, None) == (True, obj("8"))
    assert writes.overlaid_keys(CONFIG_MAP) == [KEY]
    assert writes.overlaid_keys(SECRET) == []


def test_overlays_expire() -> None:
    clock = FakeClock()
    writes = RecentWrites(clock=clock, max_age=5)
    write(writes, obj("1"), obj("2"))
    clock.advance(5)
    assert writes.overlay(CONFIG_MAP, KEY, obj("1")) == (False, None)


def test_only_the_writer_sees_its_write_as_its_own_and_only_once() -> None:
    writes = RecentWrites()
    write(writes, obj("1"), obj("2"), writer="websites")

    assert not writes.is_own_write("other", CONFIG_MAP, obj("1"), obj("2"))
    assert writes.is_own_write("websites", CONFIG_MAP, obj("1"), obj("2"))
    assert not writes.is_own_write("websites", CONFIG_MAP, obj("1"), obj("2"))


def test_a_change_in_between_makes_the_write_no_longer_only_ones_own() -> None:
    writes = RecentWrites()
    write(writes, obj("1"), obj("3"), writer="websites")
    # The cache went 1 -> 2 (someone else) -> 3: the step to 3 started from 2, not from 1.
    assert not writes.is_own_write("websites", CONFIG_MAP, obj("2"), obj("3"))


def test_a_create_is_own_when_the_object_first_appears_as_written() -> None:
    writes = RecentWrites()
    write(writes, None, obj("7"), writer="websites")
    assert writes.is_own_write("websites", CONFIG_MAP, None, obj("7"))
