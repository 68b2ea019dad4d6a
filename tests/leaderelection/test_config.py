"""`LeaderElectionConfig`: client-go's defaults and validation rules."""

from __future__ import annotations

import re
import socket
from typing import Any

import pytest

from controllerkit.leaderelection import LeaderElectionConfig


def test_defaults_are_client_gos() -> None:
    config = LeaderElectionConfig("ctl", "default")
    assert (config.lease_duration, config.renew_deadline, config.retry_period) == (15, 10, 2)
    assert config.release_on_cancel
    assert re.fullmatch(re.escape(socket.gethostname()) + r"_[0-9a-f-]{36}", config.identity)


def test_each_config_gets_its_own_identity() -> None:
    assert LeaderElectionConfig("ctl", "ns").identity != LeaderElectionConfig("ctl", "ns").identity


@pytest.mark.parametrize(("timings", "complaint"), [
    ({"lease_duration": 10.0}, "lease_duration .* must be greater than renew_deadline"),
    ({"renew_deadline": 2.4}, r"renew_deadline .* greater than 1.2 x retry_period"),
    ({"retry_period": 0.0}, "retry_period must be positive"),
    ({"lease_duration": -1.0}, "lease_duration must be positive"),
])
def test_timings_client_go_rejects_are_rejected(timings: dict[str, Any],
                                                complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        LeaderElectionConfig("ctl", "default", **timings)


@pytest.mark.parametrize(("lease_name", "namespace", "identity"), [
    ("", "default", "me"), ("ctl", "", "me"), ("ctl", "default", "")])
def test_empty_names_are_rejected(lease_name: str, namespace: str, identity: str) -> None:
    with pytest.raises(ValueError):
        LeaderElectionConfig(lease_name, namespace, identity=identity)


def test_fractional_lease_duration_is_recorded_rounded_up() -> None:
    config = LeaderElectionConfig("ctl", "default", lease_duration=2.0, renew_deadline=1.5,
                                  retry_period=0.3)
    assert config.lease_duration_seconds == 2
    assert LeaderElectionConfig("ctl", "default", lease_duration=2.5, renew_deadline=1.5,
                                retry_period=0.3).lease_duration_seconds == 3
