"""Structured logs: the reconcile context on every line inside a reconcile, and only there."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from controllerkit.logs import configure_logging, current_reconcile_context, reconcile_context

LOGGER = logging.getLogger("tests.reconciler")


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Logs as JSON lines into a buffer; the root logger is restored afterwards."""
    root = logging.getLogger()
    level = root.level
    buffer = io.StringIO()
    handler = configure_logging("json", logging.DEBUG, stream=buffer)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def lines_of(buffer: io.StringIO) -> list[dict[str, str]]:
    """The JSON lines this module's logger wrote (asyncio and others log too)."""
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    return [line for line in lines if line["logger"] == LOGGER.name]


def test_lines_inside_a_reconcile_carry_its_context_and_lines_outside_do_not(
    json_lines: io.StringIO,
) -> None:
    LOGGER.info("before")
    with reconcile_context(controller="widgets", kind="Widget", namespace="default",
                           name="w1", reconcile_id=7):
        LOGGER.info("inside %s", "w1")
    LOGGER.info("after")

    before, inside, after = lines_of(json_lines)
    assert list(inside) == ["ts", "level", "logger", "msg", "controller", "kind", "namespace",
                            "name", "reconcile_id"]
    assert inside["msg"] == "inside w1"
    assert (inside["level"], inside["logger"]) == ("INFO", "tests.reconciler")
    assert (inside["controller"], inside["kind"], inside["namespace"], inside["name"],
            inside["reconcile_id"]) == ("widgets", "Widget", "default", "w1", "7")
    assert list(before) == list(after) == ["ts", "level", "logger", "msg"]
    assert current_reconcile_context() is None


async def test_concurrent_reconciles_keep_their_own_context(json_lines: io.StringIO) -> None:
    async def reconcile(name: str, steps: int) -> None:
        with reconcile_context(controller="widgets", namespace="default", name=name,
                               reconcile_id=name[-1]):
            for step in range(steps):
                LOGGER.info("%s step %d", name, step)
                await asyncio.sleep(0)  # interleave with the other reconcile

    await asyncio.gather(reconcile("w1", 3), reconcile("w2", 3))

    lines = lines_of(json_lines)
    assert len(lines) == 6
    for line in lines:
        assert line["msg"].startswith(line["name"])
        assert line["reconcile_id"] == line["name"][-1]


def test_an_exception_is_logged_under_exc(json_lines: io.StringIO) -> None:
    with reconcile_context(controller="widgets", name="w1"):
        try:
            raise RuntimeError("backend down")
        except RuntimeError:
            LOGGER.exception("reconcile failed")

    [line] = lines_of(json_lines)
    assert line["msg"] == "reconcile failed"
    assert "RuntimeError: backend down" in line["exc"]
    assert line["controller"] == "widgets"
    assert "kind" not in line  # fields left empty are left out


def test_explicit_extras_are_printed_like_the_context(json_lines: io.StringIO) -> None:
    LOGGER.error("failed", extra={"controller": "widgets", "reconcile_id": 3})

    [line] = lines_of(json_lines)
    assert (line["controller"], line["reconcile_id"]) == ("widgets", "3")


def test_text_lines_end_with_the_context() -> None:
    root = logging.getLogger()
    level = root.level
    buffer = io.StringIO()
    handler = configure_logging("text", logging.INFO, stream=buffer)
    try:
        with reconcile_context(controller="widgets", kind="Widget", namespace="default",
                               name="w1", reconcile_id=1):
            LOGGER.info("scaled")
        LOGGER.debug("below the level")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)

    [line] = buffer.getvalue().splitlines()
    assert line.endswith(" INFO tests.reconciler: scaled "
                         "[controller=widgets kind=Widget namespace=default name=w1 "
                         "reconcile_id=1]")


def test_configuring_again_replaces_the_handler() -> None:
    root = logging.getLogger()
    level = root.level
    first = configure_logging("text", stream=io.StringIO())
    second = configure_logging("json", stream=io.StringIO())
    try:
        assert first not in root.handlers
        assert second in root.handlers
    finally:
        root.removeHandler(second)
        root.setLevel(level)


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="json or text"):
        configure_logging("yaml")  # type: ignore[arg-type]
