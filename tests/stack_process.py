"""`coursepipe up` as a separate process on free ports, for the end-to-end tests that drive it."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_up(keys: Path, timeout_s: float = 60) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """Start `coursepipe up --json` with its signing keys in ``keys``; return the process and the
    endpoints line it prints once ready (the caller stops the process)."""
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "pipeline", "up",
            "--aws-port", str(free_port()), "--http-port", str(free_port()), "--keys", str(keys), "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As from a terminal: a test run started in the background (CI agents, `cmd &`) ignores SIGINT,
        # children inherit that, and Python then installs no KeyboardInterrupt handler: Ctrl-C would be lost.
        preexec_fn=_default_sigint,
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline() if proc.stdout else ""))
    reader.start()
    reader.join(timeout=timeout_s)
    if not lines or not lines[0].strip():
        proc.kill()
        raise AssertionError(f"coursepipe up did not start: {proc.stderr.read() if proc.stderr else ''}")
    info: dict[str, Any] = json.loads(lines[0])
    # Both pipes drained for as long as the process lives: a child whose stderr pipe fills (64 KiB of logs
    # nobody reads) blocks in write() while holding the logging lock, and then cannot even shut down.
    info["stderr"] = drain(proc.stderr)
    drain(proc.stdout)
    return proc, info


def drain(stream: IO[str] | None) -> list[str]:
    """Read ``stream`` to its end in a daemon thread; return the list its lines are appended to."""
    lines: list[str] = []
    if stream is not None:
        threading.Thread(target=lambda: lines.extend(iter(stream.readline, "")), daemon=True).start()
    return lines
