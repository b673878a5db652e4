"""Tiny Lambda handlers for tests/integration/test_moto_semantics.py, run in-process by InProcessLambdas.

They are loaded by dotted path (``moto_fixture_handlers.<name>``): pytest puts this directory on
``sys.path`` (tests/integration has no ``__init__.py``), so the test module and the patched invoke share
one module object, hence one set of counters. Call ``reset()`` at the start of every test.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from pipeline.errors import InvalidMediaError

FLAKY_FAILURES = 2
GATE_TIMEOUT_S = 10.0

_lock = threading.Lock()
calls: dict[str, int] = {}
completion_order: list[int] = []
peak_in_flight = 0
_in_flight = 0
gate_open = threading.Event()


class FlakyError(Exception):
    """Raised by ``flaky`` on its first ``FLAKY_FAILURES`` calls."""


def reset() -> None:
    """Forget every call and close the gate."""
    global _in_flight, peak_in_flight
    with _lock:
        calls.clear()
        completion_order.clear()
        _in_flight = peak_in_flight = 0
    gate_open.clear()


def _count(name: str) -> int:
    with _lock:
        calls[name] = calls.get(name, 0) + 1
        return calls[name]


def echo(event: Any, context: Any) -> dict[str, Any]:
    """Return the event and the function name the runtime context reports."""
    _count("echo")
    return {"got": event, "function": context.function_name}


def flaky(event: Any, context: Any) -> dict[str, Any]:
    """Fail with ``FlakyError`` on the first ``FLAKY_FAILURES`` calls, then succeed."""
    attempt = _count("flaky")
    if attempt <= FLAKY_FAILURES:
        raise FlakyError(f"transient failure on attempt {attempt}")
    return {"attempt": attempt}


def broken_media(event: Any, context: Any) -> dict[str, Any]:
    """Always fail with a domain error, as a handler does for a truncated upload."""
    _count("broken_media")
    raise InvalidMediaError("lecture.mp4 is truncated: re-export it and upload again")


def slow_double(event: Any, context: Any) -> dict[str, Any]:
    """Map item: ``{"n": 3}`` -> ``{"n": 3, "doubled": 6}``. Higher ``n`` finishes sooner, so with
    concurrency the completion order differs from the item order; the peak of concurrent calls is kept."""
    global _in_flight, peak_in_flight
    _count("slow_double")
    with _lock:
        _in_flight += 1
        peak_in_flight = max(peak_in_flight, _in_flight)
    try:
        time.sleep(0.03 * max(0, 6 - int(event["n"])))
        return {"n": event["n"], "doubled": event["n"] * 2}
    finally:
        with _lock:
            _in_flight -= 1
            completion_order.append(int(event["n"]))


def gate(event: Any, context: Any) -> dict[str, Any]:
    """Block until the test sets ``gate_open``, keeping the execution RUNNING meanwhile."""
    _count("gate")
    if not gate_open.wait(GATE_TIMEOUT_S):
        raise TimeoutError("the test never opened the gate")
    return {"released": True}
