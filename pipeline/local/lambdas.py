"""Our Lambda handlers, invoked in-process by moto's Step Functions interpreter and by the local poller.

moto's no-Docker Lambda backend ("simple") answers every invoke with a canned payload; we replace its
``invoke`` so that a call to a function created from ``template.yaml`` imports that function's
``Handler`` and runs it, returning what the real Lambda runtime would: the JSON result, or an error
payload (``errorType``/``errorMessage``/``stackTrace``) with ``X-Amz-Function-Error: Unhandled``, which
Step Functions turns into the state's ``Error``/``Cause``.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto.awslambda_simple.models import LambdaSimpleBackend

Handler = Callable[[Any, Any], Any]
# The media tools our handlers run as child processes: what a stopping stack ends rather than waits for.
CHILD_TOOLS = frozenset({"ffmpeg", "ffprobe"})


class StackStoppingError(RuntimeError):
    """The local stack is stopping: this invocation was refused, not run (its execution fails with it)."""


@dataclass
class LocalContext:
    """The attributes of Lambda's context object that our handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_s: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s
        self.log_group_name = f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    arn: str
    handler: str
    memory_mb: int
    timeout_s: float


def load_handler(path: str) -> Handler:
    module_name, _, attr = path.rpartition(".")
    module = importlib.import_module(module_name)
    handler: Handler = getattr(module, attr)
    return handler


def error_payload(exc: BaseException) -> dict[str, Any]:
    """The shape the Python Lambda runtime reports for an unhandled exception."""
    return {
        "errorType": type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_tb(exc.__traceback__)[-8:],
    }


class InProcessLambdas:
    """Registry of functions + the patched moto invoke. ``concurrency`` bounds simultaneous handler
    runs, like a reserved-concurrency setting: ffmpeg tasks would otherwise oversubscribe the cores.

    ``close`` is how a stack stops promptly with executions in flight: their state lives in this process's
    memory and goes with it, so nothing is gained by finishing a 40 s encode. New invocations are refused
    with ``StackStoppingError`` (an execution then fails within a state or two), the ffmpeg/ffprobe children
    are terminated (their handlers fail at once), and ``close`` waits, bounded, for the handlers to return.
    Otherwise they would go on as daemon threads against a stopped endpoint, retrying, while the
    interpreter shuts down under them, and orphaned encoders would keep both cores busy.
    """

    def __init__(self, concurrency: int) -> None:
        self._functions: dict[str, FunctionSpec] = {}
        self._slots = threading.BoundedSemaphore(max(1, concurrency))
        self._original: Any = None
        self.invocations: list[tuple[str, float, bool]] = []
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._active = 0
        self._closed = threading.Event()

    def register(self, spec: FunctionSpec) -> None:
        self._functions[spec.name] = spec
        self._functions[spec.arn] = spec

    def spec(self, name_or_arn: str) -> FunctionSpec:
        key = name_or_arn.split(":$LATEST")[0]
        if key not in self._functions and ":function:" in key:
            key = key.split(":function:")[1].split(":")[0]
        return self._functions[key]

    def invoke(self, name_or_arn: str, event: Any) -> tuple[Any, bool]:
        """Run the handler; return (payload, failed)."""
        spec = self.spec(name_or_arn)
        refused = error_payload(StackStoppingError(f"{spec.name}: the local stack is stopping")), True
        while not self._slots.acquire(timeout=0.2):
            if self._closed.is_set():
                return refused
        with self._lock:
            if self._closed.is_set():
                self._slots.release()
                return refused
            self._active += 1
        try:
            context = LocalContext(spec.name, spec.memory_mb, spec.arn, spec.timeout_s)
            started = time.monotonic()
            failed = False
            try:
                result: Any = load_handler(spec.handler)(event, context)
            except Exception as exc:  # the Lambda runtime reports every exception the same way
                result, failed = error_payload(exc), True
            with self._lock:
                self.invocations.append((spec.name, time.monotonic() - started, failed))
            return result, failed
        finally:
            self._slots.release()
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    @property
    def active(self) -> int:
        with self._lock:
            return self._active

    def close(self, timeout: float = 15.0) -> int:
        """Refuse new invocations, end the media tools of running ones, wait up to ``timeout`` seconds
        for their handlers to return; returns how many are still running. Idempotent."""
        self._closed.set()
        deadline = time.monotonic() + timeout
        terminate_child_tools()
        with self._idle:
            while self._active and time.monotonic() < deadline:
                self._idle.wait(timeout=0.5)
                if self._active:
                    terminate_child_tools()  # one started between the scan and the refusal
            return self._active

    def install(self) -> None:
        registry = self

        def invoke(
            backend: LambdaSimpleBackend,
            function_name: str,
            qualifier: str | None,
            body: Any,
            headers: Any,
            response_headers: Any,
        ) -> bytes:
            event = json.loads(body) if body else {}
            payload, failed = registry.invoke(function_name, event)
            if failed:
                response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(payload, default=str).encode("utf-8")

        self._closed.clear()
        self._original = LambdaSimpleBackend.invoke
        LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        if self._original is not None:
            LambdaSimpleBackend.invoke = self._original  # type: ignore[method-assign]
            self._original = None


def terminate_child_tools() -> int:
    """SIGTERM this process's ffmpeg/ffprobe children (Linux's /proc; elsewhere none are found): ffmpeg
    stops at once on it and the handler that ran it raises. Other children (a test's browser, a server)
    are left alone. Returns how many were signalled."""
    me, signalled = os.getpid(), 0
    try:
        entries = [p for p in Path("/proc").iterdir() if p.name.isdigit()]
    except OSError:
        return 0
    for entry in entries:
        try:
            fields = (entry / "stat").read_text(encoding="utf-8", errors="replace")
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split at the last ")".
            comm = fields[fields.index("(") + 1 : fields.rindex(")")]
            ppid = int(fields[fields.rindex(")") + 2 :].split()[1])
            if ppid == me and comm in CHILD_TOOLS:
                os.kill(int(entry.name), signal.SIGTERM)
                signalled += 1
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, or not ours to read
    return signalled
