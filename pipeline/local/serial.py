"""One request at a time for the moto services whose in-memory models are not thread-safe.

The local runtime runs many executions at once (moto's Step Functions interpreter gives each its own
threads, and our handlers run in-process on them), so moto's models see concurrent requests. Two of
them break under that:

- **S3.** ``put_object`` replaces a key's version list and *closes* the replaced ``FakeKey``'s spooled
  buffer at once, while another request that still holds that key (computing its ``ETag`` for a PUT
  response, or reading it for a GET) reads it: ``ValueError: I/O operation on closed file``. Two PUTs of
  one key in a versioned bucket read, extend and store the version list without a lock, so one version
  can be lost.
- **DynamoDB.** A conditional write evaluates its condition and then stores the item as two steps, so
  two writers can both pass a condition only one should (the catalog's ordering rests on it).

SQS and EventBridge mutate shared lists and dicts the same way. Each of these services is therefore
served one request at a time, whole (the response is built before the next request starts): the
guarantee AWS gives per request, at the depth where moto lacks it. Requests are short and in memory;
the slow work (ffmpeg, Pillow, rendering) runs in Lambda handlers, which stay concurrent, as do Step
Functions and Lambda themselves. A server-mode request body is read from its socket *before* the lock
is taken, so a slow client cannot hold a service up.
"""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

_installed: list[tuple[type[Any], str, Any]] = []
_guard = threading.Lock()


def _serialized(original: Callable[..., Any], lock: threading.RLock) -> Callable[..., Any]:
    @functools.wraps(original)
    def wrapper(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        get_data = getattr(request, "get_data", None)  # werkzeug (server mode): read the body now
        if callable(get_data):
            get_data(cache=True)
        with lock:
            return original(self, request, *args, **kwargs)

    wrapper.__coursepipe_serialized__ = True  # type: ignore[attr-defined]
    return wrapper


def _targets() -> list[tuple[type[Any], tuple[str, ...]]]:
    """(response class, the methods every request of that service passes through).

    moto's URL maps hold its ``dispatch`` classmethods bound at import time, so the wrap goes one level
    down, on what those look up per request: S3's ``*_response`` methods, ``_dispatch`` elsewhere."""
    from moto.dynamodb.responses import DynamoHandler
    from moto.events.responses import EventsHandler
    from moto.s3.responses import S3Response
    from moto.sqs.responses import SQSResponse

    return [
        (S3Response, ("ambiguous_response", "bucket_response", "key_response")),
        (DynamoHandler, ("_dispatch",)),
        (SQSResponse, ("_dispatch",)),
        (EventsHandler, ("_dispatch",)),
    ]


def install() -> None:
    """Serialize each service's requests (idempotent; one re-entrant lock per service, since an S3
    ``ambiguous_response`` calls ``bucket_response`` or ``key_response`` inside)."""
    with _guard:
        if _installed:
            return
        for cls, methods in _targets():
            lock = threading.RLock()
            for name in methods:
                original = getattr(cls, name)
                if getattr(original, "__coursepipe_serialized__", False):
                    continue
                # Stored as found on the class itself (None: inherited), so uninstall restores exactly.
                _installed.append((cls, name, cls.__dict__.get(name)))
                setattr(cls, name, _serialized(original, lock))


def uninstall() -> None:
    with _guard:
        while _installed:
            cls, name, own = _installed.pop()
            if own is None:
                delattr(cls, name)
            else:
                setattr(cls, name, own)


def is_installed() -> bool:
    return bool(_installed)
