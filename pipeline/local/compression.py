"""CloudFront's automatic gzip (ServingCompressedFiles in the CloudFront Developer Guide), for the local edge.

With a behaviour's ``Compress`` on, a ``200`` whose ``Content-Type`` is on CloudFront's list, with a
``Content-Length`` of 1,000 to 10,000,000 bytes and no ``Content-Encoding``, is gzipped for a viewer whose
``Accept-Encoding`` takes gzip (never over HTTP/1.0); a strong ``ETag`` becomes weak (``W/``). ``text/vtt``
and media segments are not on the list, so their bytes and ranges reach the player as stored, as there.
Brotli (which CloudFront prefers when the viewer takes both) is not emulated.
"""

from __future__ import annotations

import contextlib
import gzip
from typing import TYPE_CHECKING

from pipeline.local.http import Reply, Request, without

if TYPE_CHECKING:
    from collections.abc import Iterable

COMPRESS_MIN_BYTES = 1_000
COMPRESS_MAX_BYTES = 10_000_000
COMPRESSIBLE_TYPES = frozenset(
    {
        "application/dash+xml",
        "application/eot",
        "application/font",
        "application/font-sfnt",
        "application/javascript",
        "application/json",
        "application/opentype",
        "application/otf",
        "application/pkcs7-mime",
        "application/protobuf",
        "application/rss+xml",
        "application/truetype",
        "application/ttf",
        "application/vnd.apple.mpegurl",
        "application/vnd.ms-fontobject",
        "application/xhtml+xml",
        "application/xml",
        "application/x-font-opentype",
        "application/x-font-truetype",
        "application/x-font-ttf",
        "application/x-httpd-cgi",
        "application/x-javascript",
        "application/x-mpegurl",
        "application/x-opentype",
        "application/x-otf",
        "application/x-perl",
        "application/x-ttf",
        "font/eot",
        "font/opentype",
        "font/otf",
        "font/ttf",
        "image/svg+xml",
        "text/css",
        "text/csv",
        "text/html",
        "text/javascript",
        "text/js",
        "text/plain",
        "text/richtext",
        "text/tab-separated-values",
        "text/xml",
        "text/x-component",
        "text/x-java-source",
        "text/x-script",
        "vnd.apple.mpegurl",
    }
)
"""CloudFront's documented list ("File types that CloudFront compresses"), matched case-insensitively."""


def accepts_gzip(header: str | None) -> bool:
    """Whether an ``Accept-Encoding`` value takes gzip (``gzip`` or ``*`` with a non-zero q)."""
    for part in (header or "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() not in ("gzip", "*"):
            continue
        q = params.strip().lower()
        if q.startswith("q="):
            try:
                return float(q[2:]) > 0
            except ValueError:
                return False
        return True
    return False


def compressed(request: Request, reply: Reply) -> Reply:
    """``reply`` gzipped if CloudFront would gzip it for ``request``, else ``reply`` itself."""
    content_type = (reply.header("Content-Type") or "").split(";", 1)[0].strip().lower()
    length = reply.length if reply.length is not None else _bytes_length(reply.body)
    if (
        reply.status != 200
        or request.method != "GET"
        or request.protocol == "HTTP/1.0"
        or not accepts_gzip(request.header("Accept-Encoding"))
        or reply.header("Content-Encoding") is not None
        or content_type not in COMPRESSIBLE_TYPES
        or length is None
        or not COMPRESS_MIN_BYTES <= length <= COMPRESS_MAX_BYTES
    ):
        return reply
    data = _read_all(reply.body)
    body = gzip.compress(data, compresslevel=6, mtime=0)
    headers = without(reply.headers, "Content-Length", "Accept-Ranges", "ETag", "Vary")
    etag = reply.header("ETag")
    if etag and etag.startswith('"'):
        headers.append(("ETag", f"W/{etag}"))
    elif etag and etag.startswith("W/"):
        headers.append(("ETag", etag))
    vary = [v.strip() for v in (reply.header("Vary") or "").split(",") if v.strip()]
    if "accept-encoding" not in {v.lower() for v in vary}:
        vary.append("Accept-Encoding")
    headers += [("Content-Encoding", "gzip"), ("Vary", ", ".join(vary))]
    return Reply(200, headers, body)


def _bytes_length(body: bytes | Iterable[bytes]) -> int | None:
    return len(body) if isinstance(body, bytes | bytearray) else None


def _read_all(body: bytes | Iterable[bytes]) -> bytes:
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    try:
        return b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):
                close()
