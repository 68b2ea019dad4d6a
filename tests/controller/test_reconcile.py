"""`Request` and `Result`: the reconciler contract's values."""

from __future__ import annotations

from datetime import timedelta

import pytest

from controllerkit.reconcile import Request, Result


def test_request_is_a_hashable_key_named_like_kubectl() -> None:
    assert {Request("default", "a"), Request("default", "a")} == {Request("default", "a")}
    assert str(Request("default", "a")) == "default/a"
    assert str(Request("", "cluster-wide")) == "cluster-wide"
    assert Request.for_object({"metadata": {"name": "a", "namespace": "ns"}}).key == ("ns", "a")


def test_result_delay_accepts_seconds_or_timedelta() -> None:
    assert Result().delay is None
    assert Result(requeue_after=timedelta(minutes=1)).delay == 60.0
    assert Result(requeue_after=2).delay == 2.0
    with pytest.raises(ValueError, match="negative"):
        Result(requeue_after=-1)
