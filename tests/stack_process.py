"""`coursepipe up` as a separate process on free ports, for the end-to-end tests that drive it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline() if proc.stdout else ""))
    reader.start()
    reader.join(timeout=timeout_s)
    if not lines or not lines[0].strip():
        proc.kill()
        raise AssertionError(f"coursepipe up did not start: {proc.stderr.read() if proc.stderr else ''}")
    return proc, json.loads(lines[0])
