"""The overlap check the HA tests rely on finds overlaps and only overlaps."""

from __future__ import annotations

from pathlib import Path

from .journal import Interval, Journal, overlapping, read_intervals


def test_sequential_reconciles_of_one_key_do_not_overlap() -> None:
    runs = [Interval("a", "k", 0.0, 1.0), Interval("b", "k", 1.0, 2.0),
            Interval("a", "k", 2.5, 3.0)]
    assert overlapping(runs) == []


def test_reconciles_of_one_key_by_two_replicas_at_once_overlap() -> None:
    first, second = Interval("a", "k", 0.0, 5.0), Interval("b", "k", 4.0, 6.0)
    assert overlapping([second, first]) == [(first, second)]


def test_a_run_nested_after_a_long_one_is_found() -> None:
    long = Interval("a", "k", 0.0, 10.0)
    runs = [long, Interval("b", "k", 1.0, 2.0), Interval("c", "k", 3.0, 4.0)]
    assert [pair[0] for pair in overlapping(runs)] == [long, long]


def test_different_keys_never_overlap() -> None:
    assert overlapping([Interval("a", "k1", 0.0, 5.0), Interval("b", "k2", 1.0, 2.0)]) == []


def test_unfinished_reconcile_lasts_until_the_replica_died(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    Journal(path, "a").record("k", "start")
    Journal(path, "b").record("k", "start")
    Journal(path, "b").record("k", "end")
    assert len(overlapping(read_intervals(path))) == 1
    assert overlapping(read_intervals(path, died_at={"a": 0.0})) == []
