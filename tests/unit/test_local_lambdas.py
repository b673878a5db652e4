"""A stopping local stack ends its functions' work instead of waiting for it (issue 11: Ctrl-C on
``coursepipe up`` with an encode in flight must exit promptly and leave no ffmpeg behind)."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pipeline.local.lambdas import FunctionSpec, InProcessLambdas, terminate_child_tools

STARTED = threading.Event()


def slow_tool(event: Any, context: Any) -> dict[str, Any]:
    """A handler that runs ffmpeg for a minute, as an encode would."""
    STARTED.set()
    result = subprocess.run(
        ["ffmpeg", "-v", "error", "-re", "-f", "lavfi", "-i", "sine=d=60", "-f", "null", "-"],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"ffmpeg ended with {result.returncode}")
    return {"ok": True}


def quick(event: Any, context: Any) -> dict[str, Any]:
    return {"ran": event}


def children_named(name: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text()
        except OSError:
            continue
        comm = fields[fields.index("(") + 1 : fields.rindex(")")]
        if comm == name and int(fields[fields.rindex(")") + 2 :].split()[1]) == os.getpid():
            found.append(int(entry.name))
    return found


@pytest.fixture
def lambdas() -> InProcessLambdas:
    registry = InProcessLambdas(concurrency=1)
    for name in ("slow_tool", "quick"):
        registry.register(
            FunctionSpec(name, f"arn:aws:lambda:us-east-1:1:function:{name}", f"{__name__}.{name}", 128, 900)
        )
    return registry


@pytest.mark.ffmpeg
def test_close_ends_a_running_encode_and_refuses_what_waits(lambdas: InProcessLambdas) -> None:
    STARTED.clear()
    outcomes: dict[str, tuple[Any, bool]] = {}
    running = threading.Thread(target=lambda: outcomes.setdefault("slow", lambdas.invoke("slow_tool", {})))
    running.start()
    assert STARTED.wait(10)
    deadline = time.monotonic() + 10
    while not children_named("ffmpeg") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert children_named("ffmpeg"), "ffmpeg never started"
    # concurrency 1: this one waits for the slot the encode holds
    waiting = threading.Thread(target=lambda: outcomes.setdefault("queued", lambdas.invoke("quick", 1)))
    waiting.start()
    time.sleep(0.3)

    began = time.monotonic()
    still_running = lambdas.close(timeout=20)
    running.join(10)
    waiting.join(10)

    assert still_running == 0 and time.monotonic() - began < 10
    assert children_named("ffmpeg") == []
    slow_payload, slow_failed = outcomes["slow"]
    assert slow_failed and slow_payload["errorType"] == "RuntimeError"
    queued_payload, queued_failed = outcomes["queued"]
    assert queued_failed and queued_payload["errorType"] == "StackStoppingError"
    assert "stopping" in queued_payload["errorMessage"]
    # Refused invocations never ran: only the encode is recorded.
    assert [name for name, _, _ in lambdas.invocations] == ["slow_tool"]


def test_after_close_nothing_runs_until_installed_again(lambdas: InProcessLambdas) -> None:
    assert lambdas.invoke("quick", 1) == ({"ran": 1}, False)
    assert lambdas.close(timeout=1) == 0
    payload, failed = lambdas.invoke("quick", 2)
    assert failed and payload["errorType"] == "StackStoppingError"
    lambdas.install()
    try:
        assert lambdas.invoke("quick", 3) == ({"ran": 3}, False)
    finally:
        lambdas.uninstall()


def test_only_media_tools_are_ended() -> None:
    other = subprocess.Popen(["sleep", "30"])
    tool = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-re", "-f", "lavfi", "-i", "sine=d=30", "-f", "null", "-"]
    )
    try:
        deadline = time.monotonic() + 10
        while tool.pid not in children_named("ffmpeg") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert terminate_child_tools() == 1
        assert tool.wait(10) != 0
        assert other.poll() is None
    finally:
        other.kill()
        tool.kill()
        other.wait()
        tool.wait()
