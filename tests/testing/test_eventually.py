"""`eventually`: a check is called until it returns something truthy, within a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from controllerkit.testing import eventually

pytest_plugins = ["pytester"]


def test_in_a_test_suite_it_waits_and_its_timeout_names_the_last_assertion(
    suite: pytest.Pytester,
) -> None:
    suite.makepyfile(
        """
        import asyncio

        import pytest

        from controllerkit.testing import eventually


        @pytest.mark.asyncio
        async def test_waits_for_another_task():
            phases = []

            async def progress():
                for phase in ("Pending", "Provisioning", "Ready"):
                    await asyncio.sleep(0.01)
                    phases.append(phase)

            task = asyncio.create_task(progress())

            async def ready():
                assert phases and phases[-1] == "Ready"
                return phases[-1]

            assert await eventually(ready, within=10) == "Ready"
            await task


        @pytest.mark.asyncio
        async def test_times_out():
            phase = "Pending"
            await eventually(lambda: _is(phase, "Ready"), within=0.2,
                             message="the widget to be Ready")


        def _is(phase, expected):
            assert phase == expected
            return True
        """
    )
    result = suite.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "E*AssertionError: the widget to be Ready: not passed within 0.2 s (*); "
        "last raised AssertionError: assert 'Pending' == 'Ready'*",
    ])


async def test_returns_the_first_truthy_value() -> None:
    answers: Iterator[object] = iter([None, 0, [], {"name": "web"}])
    assert await eventually(lambda: next(answers), interval=0) == {"name": "web"}


async def test_awaits_what_the_check_returns() -> None:
    calls = 0

    async def third_call() -> int:
        nonlocal calls
        calls += 1
        return calls if calls >= 3 else 0

    assert await eventually(third_call, interval=0) == 3


async def test_a_falsy_value_at_the_deadline_is_reported() -> None:
    with pytest.raises(AssertionError, match=r"^the check: not passed within 0\.05 s "
                                             r"\(\d+ attempts?\); last returned \[\]$"):
        await eventually(list, within=0.05)


async def test_an_error_other_than_an_assertion_propagates_at_once() -> None:
    calls = 0

    def broken() -> bool:
        nonlocal calls
        calls += 1
        raise KeyError("missing")

    with pytest.raises(KeyError):
        await eventually(broken)
    assert calls == 1


async def test_a_check_still_running_at_the_deadline_is_cancelled() -> None:
    cancelled = asyncio.Event()

    async def hangs() -> bool:
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()
        return True

    with pytest.raises(AssertionError, match="the last call was still running"):
        await eventually(hangs, within=0.05, message="hanging")
    assert cancelled.is_set()


async def test_the_deadline_must_be_positive() -> None:
    with pytest.raises(ValueError, match="within must be positive"):
        await eventually(lambda: True, within=0)
