"""`eventually`: wait for a condition that other tasks, threads or processes bring about.

```python
await eventually(lambda: controller.stats.results["success"] == 1)
obj = await eventually(lambda: cache.get(("default", "web")))  # the first truthy value


async def reconciled() -> bool:
    obj = await kube.get(WIDGET, "w", namespace="default")
    assert obj["status"]["phase"] == "Ready"  # a failed assert means "not yet"
    return True

await eventually(reconciled, message="the widget to become Ready")
```
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

__all__ = ["DEFAULT_INTERVAL", "DEFAULT_WITHIN", "eventually"]

T = TypeVar("T")

# Generous: a check that passes in milliseconds on an idle laptop may need seconds on a loaded
# CI machine, and the timeout only costs time when a test is failing anyway.
DEFAULT_WITHIN = 30.0
DEFAULT_INTERVAL = 0.02


@overload
async def eventually(
    check: Callable[[], Awaitable[T]], *, within: float = ..., interval: float = ...,
    message: str | None = ...,
) -> T: ...


@overload
async def eventually(
    check: Callable[[], T], *, within: float = ..., interval: float = ...,
    message: str | None = ...,
) -> T: ...


async def eventually(
    check: Callable[[], Any],
    *,
    within: float = DEFAULT_WITHIN,
    interval: float = DEFAULT_INTERVAL,
    message: str | None = None,
) -> Any:
    """Call `check` until it passes and return the value it passed with.

    The rule: `check` (a plain function, or one returning an awaitable, which is awaited)
    passes when it returns a truthy value. Raising `AssertionError` or returning a falsy value
    (`False`, `None`, `0`, an empty collection) means "not yet": it is called again
    `interval` seconds later. So a predicate (`lambda: len(seen) == 3`), a lookup
    (`lambda: cache.get(key)`) and a function of `assert` statements that ends with
    `return True` all work. Any other exception is a failure and propagates at once.

    Time is the running loop's clock. Once `within` seconds have passed without the check
    passing, raises `AssertionError` naming `message` (what was awaited), the number of
    attempts and the last outcome: the last `AssertionError` (also chained as the cause) or
    the last falsy value. An awaitable check still running at that moment is cancelled.

    Guaranteed: `check` is called at least once, and never concurrently with itself.
    Not guaranteed: that a state which held only briefly between two calls is seen.
    """
    if within <= 0 or interval < 0:
        raise ValueError(f"within must be positive and interval not negative, not "
                         f"within={within}, interval={interval}")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    attempts = 0
    last_failure: AssertionError | None = None
    last_value: object = None
    while True:
        attempts += 1
        try:
            value = await _outcome(check, deadline)
        except AssertionError as failure:
            last_failure, last_value = failure, None
        except _StillRunning:
            outcome = "the last call was still running"
            if last_failure is not None:
                outcome += f"; the call before raised {_describe(last_failure)}"
            raise AssertionError(_report(message, within, attempts, outcome)) from last_failure
        else:
            if value:
                return value
            last_failure, last_value = None, value
        remaining = deadline - loop.time()
        if remaining <= 0:
            outcome = (f"last raised {_describe(last_failure)}" if last_failure is not None
                       else f"last returned {last_value!r}")
            raise AssertionError(_report(message, within, attempts, outcome)) from last_failure
        await asyncio.sleep(min(interval, remaining))


class _StillRunning(Exception):
    """The deadline passed while an awaitable check was running."""


async def _outcome(check: Callable[[], Any], deadline: float) -> Any:
    value = check()
    if not inspect.isawaitable(value):
        return value
    try:
        async with asyncio.timeout_at(deadline) as scope:
            return await value
    except TimeoutError:
        if scope.expired():
            raise _StillRunning from None
        raise  # the check's own TimeoutError is a failure like any other error


def _report(message: str | None, within: float, attempts: int, outcome: str) -> str:
    what = message or "the check"
    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
    return f"{what}: not passed within {within} s ({tries}); {outcome}"


def _describe(failure: AssertionError) -> str:
    detail = str(failure)
    return f"AssertionError: {detail}" if detail else "AssertionError"
