"""Rendezvous hashing: stable owners, an even spread, and minimal movement on join and leave."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

from controllerkit.sharding import owner_of, weight

KEYS = [f"default/object-{number}" for number in range(3000)]
THREE = ["replica-a", "replica-b", "replica-c"]


def owners(members: list[str]) -> dict[str, str | None]:
    return {key: owner_of(key, members) for key in KEYS}


def test_the_owner_does_not_depend_on_the_order_of_the_members() -> None:
    assert owners(THREE) == owners(list(reversed(THREE)))


def test_no_members_means_no_owner() -> None:
    assert owner_of("default/orphan", []) is None


def test_weights_are_the_same_in_every_process_whatever_its_hash_seed() -> None:
    code = ("from controllerkit.sharding import weight; "
            "print(weight('replica-a', 'default/object-1'))")
    answers = {
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                       text=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout.strip()
        for seed in ("1", "2")}
    assert answers == {str(weight("replica-a", "default/object-1"))}


def test_three_thousand_keys_spread_evenly_over_three_members() -> None:
    counts = Counter(owners(THREE).values())
    assert set(counts) == set(THREE)
    for member in THREE:
        assert 0.30 < counts[member] / len(KEYS) < 0.37, counts


def test_a_joining_member_takes_about_a_quarter_and_nothing_else_moves() -> None:
    before = owners(THREE)
    after = owners([*THREE, "replica-d"])
    moved = {key for key in KEYS if before[key] != after[key]}
    assert all(after[key] == "replica-d" for key in moved)
    assert 0.20 < len(moved) / len(KEYS) < 0.30


def test_a_leaving_member_gives_away_only_its_own_keys() -> None:
    before = owners(THREE)
    after = owners(["replica-a", "replica-c"])
    moved = {key for key in KEYS if before[key] != after[key]}
    assert moved == {key for key in KEYS if before[key] == "replica-b"}
    # ...and they go to both survivors, not all to one.
    assert set(Counter(after[key] for key in moved)) == {"replica-a", "replica-c"}
