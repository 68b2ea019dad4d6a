"""`ShardingConfig`: client-go's timing rules and valid Lease names from any identity."""

from __future__ import annotations

from typing import Any

import pytest

from controllerkit.sharding import ShardingConfig


def test_defaults_are_client_gos_and_the_identity_is_unique_per_config() -> None:
    first, second = ShardingConfig("widgets", "default"), ShardingConfig("widgets", "default")
    assert (first.lease_duration, first.renew_deadline, first.retry_period) == (15, 10, 2)
    assert first.identity != second.identity


@pytest.mark.parametrize(("timings", "rule"), [
    ({"lease_duration": 10, "renew_deadline": 10}, "lease_duration .* greater than"),
    ({"renew_deadline": 2.4, "retry_period": 2}, r"greater than 1.2 x retry_period"),
    ({"retry_period": 0}, "retry_period must be positive"),
])
def test_inconsistent_timings_are_rejected_naming_the_rule(
    timings: dict[str, Any], rule: str
) -> None:
    with pytest.raises(ValueError, match=rule):
        ShardingConfig("widgets", "default", **timings)


def test_an_empty_name_or_identity_is_rejected() -> None:
    with pytest.raises(ValueError, match="ring name"):
        ShardingConfig("", "default")
    with pytest.raises(ValueError, match="identity"):
        ShardingConfig("widgets", "default", identity="")


def test_the_lease_name_is_a_valid_name_built_from_the_identity() -> None:
    config = ShardingConfig("widgets", "default", identity="Node-7_0b5e0d8c-AA")
    assert config.lease_name == "widgets-shard-node-7-0b5e0d8c-aa"


def test_a_very_long_identity_gives_a_short_name_that_still_tells_identities_apart() -> None:
    names = {ShardingConfig("widgets", "default", identity="x" * 300 + suffix).lease_name
             for suffix in ("1", "2")}
    assert len(names) == 2
    assert all(len(name) <= 253 and name.startswith("widgets-shard-x") for name in names)


def test_the_recorded_duration_is_rounded_up_to_whole_seconds() -> None:
    config = ShardingConfig("widgets", "default", lease_duration=1.5, renew_deadline=1.0,
                            retry_period=0.2)
    assert config.lease_duration_seconds == 2
