"""No handler hands its response to the tracer: the session's is signed cookies, the encoders' are large,
and every task's output is already in the execution history. Checked on the decorated handlers themselves
(the flag Powertools resolved when it wrapped each one), so a new handler that forgets it fails here."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest

import pipeline.handlers

MODULES = sorted(
    m.name for m in pkgutil.iter_modules(pipeline.handlers.__path__) if not m.name.startswith("_")
)


def tracer_flags(function: Any) -> list[bool]:
    """The ``capture_response`` each tracer wrapper on the ``__wrapped__`` chain closed over."""
    flags = []
    while function is not None:
        code = getattr(function, "__code__", None)
        if code is not None and "capture_response" in code.co_freevars:
            cell = function.__closure__[code.co_freevars.index("capture_response")]
            flags.append(cell.cell_contents)
        function = getattr(function, "__wrapped__", None)
    return flags


def test_every_handler_module_is_checked() -> None:
    assert len(MODULES) >= 15 and "session" in MODULES and "encode_chunk" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_the_tracer_does_not_capture_the_response(name: str) -> None:
    module = importlib.import_module(f"pipeline.handlers.{name}")
    assert tracer_flags(module.handler) == [False], f"{name}: capture_lambda_handler(capture_response=False)"
