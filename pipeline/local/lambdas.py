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
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda_simple.models import LambdaSimpleBackend

Handler = Callable[[Any, Any], Any]


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
    runs, like a reserved-concurrency setting: ffmpeg tasks would otherwise oversubscribe the cores."""

    def __init__(self, concurrency: int) -> None:
        self._functions: dict[str, FunctionSpec] = {}
        self._slots = threading.BoundedSemaphore(max(1, concurrency))
        self._original: Any = None
        self.invocations: list[tuple[str, float, bool]] = []
        self._lock = threading.Lock()

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
        context = LocalContext(spec.name, spec.memory_mb, spec.arn, spec.timeout_s)
        started = time.monotonic()
        failed = False
        with self._slots:
            try:
                result: Any = load_handler(spec.handler)(event, context)
            except Exception as exc:  # the Lambda runtime reports every exception the same way
                result, failed = error_payload(exc), True
        with self._lock:
            self.invocations.append((spec.name, time.monotonic() - started, failed))
        return result, failed

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

        self._original = LambdaSimpleBackend.invoke
        LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        if self._original is not None:
            LambdaSimpleBackend.invoke = self._original  # type: ignore[method-assign]
            self._original = None
