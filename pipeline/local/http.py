"""The one HTTP layer of the local stack: what a request and a reply are, and the rules every origin follows.

The front (``pipeline.local.front``), the API Gateway adapter, the edge and its origins all speak in
:class:`Request` and :class:`Reply`, so a route is a plain callable ``Request -> Reply`` and behaviours
compose by wrapping. The conditional GET (``If-None-Match`` before ``If-Modified-Since``, RFC 9110 13.2.2)
and single byte ranges live here once, in :func:`object_reply`, because the bucket and the export folder
must answer players and browsers exactly alike: a second copy would drift.

Only the standard library: the front must start wherever the package is installed.
"""

from __future__ import annotations

import email.utils
import json
import sys
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

CHUNK = 64 * 1024
"""Bytes per read when a body is streamed from a file or an S3 object."""

NOT_FOUND = {"message": "Not Found"}
INTERNAL_ERROR = {"message": "Internal Server Error"}


# ---------------------------------------------------------------- request and reply
@dataclass
class Request:
    method: str
    path: str  # as sent: still percent-encoded
    query: str  # as sent
    headers: list[tuple[str, str]]  # as sent: order, case and duplicates kept
    body: bytes
    client: tuple[str, int]
    server: tuple[str, int]
    protocol: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | Iterable[bytes] = b""
    length: int | None = None  # required when ``body`` is an iterable (Content-Length)

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


Route = Callable[[Request], Reply]


def json_reply(status: int, payload: Any, headers: Sequence[tuple[str, str]] = ()) -> Reply:
    body = json.dumps(payload).encode()
    return Reply(status, [("Content-Type", "application/json"), *headers], body)


def text_reply(status: int, text: str, headers: Sequence[tuple[str, str]] = ()) -> Reply:
    return Reply(status, [("Content-Type", "text/plain; charset=utf-8"), *headers], text.encode())


def without(headers: Iterable[tuple[str, str]], *names: str) -> list[tuple[str, str]]:
    """``headers`` less every one named (case-insensitively)."""
    drop = {n.lower() for n in names}
    return [(k, v) for k, v in headers if k.lower() not in drop]


def print_traceback(what: str) -> None:
    """A failure the viewer only sees as a 500 (or a closed connection): the operator reads why here."""
    print(f"coursepipe front: {what}", file=sys.stderr)
    traceback.print_exc(file=sys.stderr)


def decoded_path(request: Request) -> str | None:
    """The percent-decoded path, or None when it is not UTF-8 or holds NUL, ``.`` or ``..`` segments."""
    try:
        path = unquote(request.path, errors="strict")
    except UnicodeDecodeError:
        return None
    if "\x00" in path or any(segment in (".", "..") for segment in path.split("/")):
        return None
    return path


# ---------------------------------------------------------------- validators
def http_date(value: datetime) -> str:
    return email.utils.format_datetime(value.astimezone(UTC), usegmt=True)


def etag_matches(header: str, etag: str) -> bool:
    """Weak comparison, as ``If-None-Match`` asks (a gzipped reply's ``W/`` tag still matches)."""
    if header.strip() == "*":
        return True
    ours = etag.strip().removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == ours for tag in header.split(","))


def not_modified_since(header: str, last_modified: datetime | None) -> bool:
    if last_modified is None:
        return False
    try:
        since = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        return False
    return last_modified.replace(microsecond=0) <= since


def not_modified(request: Request, etag: str, last_modified: datetime | None) -> bool:
    """Whether ``request`` gets a 304: ``If-None-Match`` decides when present, else ``If-Modified-Since``."""
    if_none_match = request.header("If-None-Match")
    if_modified_since = request.header("If-Modified-Since")
    if if_none_match is not None:
        return etag_matches(if_none_match, etag)
    if not if_modified_since:
        return False
    return not_modified_since(if_modified_since, last_modified)


# ---------------------------------------------------------------- byte ranges
class RangeNotSatisfiableError(Exception):
    """The request's Range cannot be served: answer :func:`range_not_satisfiable`."""


def requested_span(request: Request, size: int, etag: str) -> tuple[int, int] | None:
    """The inclusive byte span to serve for ``request`` (Range honoured unless an If-Range names another
    version), or None for the whole body. Raises :class:`RangeNotSatisfiableError`."""
    range_header = request.header("Range")
    if_range = request.header("If-Range")
    if not range_header or (if_range is not None and if_range.strip() != etag):
        return None
    try:
        return parse_range(range_header, size)
    except ValueError as exc:
        raise RangeNotSatisfiableError(str(exc)) from exc


def range_not_satisfiable(size: int) -> Reply:
    return Reply(416, [("Content-Range", f"bytes */{size}"), ("Content-Type", "text/plain")], b"")


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The single byte range ``header`` asks of ``size`` bytes, inclusive; None to serve everything (no
    range, or one this server ignores as RFC 9110 allows). Raises ``ValueError`` if unsatisfiable."""
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = (part.strip() for part in spec.strip().partition("-"))
    if not dash or not (first or last) or any(p and not p.isdigit() for p in (first, last)):
        return None
    if not first:  # the last n bytes
        n = int(last)
        if n == 0 or size == 0:
            raise ValueError("empty suffix range")
        return max(0, size - n), size - 1
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise ValueError("range starts past the end")
    end = min(int(last), size - 1) if last else size - 1
    return start, end


# ---------------------------------------------------------------- stored objects
def object_reply(
    request: Request,
    *,
    size: int,
    etag: str,
    last_modified: datetime | None,
    content_type: str,
    validators: Sequence[tuple[str, str]],
    extra: Sequence[tuple[str, str]] = (),
    body: Callable[[tuple[int, int] | None], Iterable[bytes]],
) -> Reply:
    """The reply to a GET or HEAD of a stored object, as S3 behind CloudFront gives it: 304 with the
    ``validators`` (ETag, Last-Modified, Cache-Control), else 200 or 206 (a single range) or 416.

    ``body(span)`` opens the bytes to send (the inclusive span, or None for all); it is not called for a
    HEAD or an empty object, so no stream is opened that nobody reads."""
    if not_modified(request, etag, last_modified):
        return Reply(304, list(validators))
    headers = [("Content-Type", content_type), *validators, ("Accept-Ranges", "bytes"), *extra]
    try:
        span = requested_span(request, size, etag)
    except RangeNotSatisfiableError:
        return range_not_satisfiable(size)
    status, length = 200, size
    if span is not None:
        status, length = 206, span[1] - span[0] + 1
        headers.append(("Content-Range", f"bytes {span[0]}-{span[1]}/{size}"))
    if request.method == "HEAD" or length == 0:
        return Reply(status, headers, b"", length=length)
    return Reply(status, headers, body(span), length=length)
