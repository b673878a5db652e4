"""What stands behind the edge's bucket behaviours: the publish bucket read by key, or an export folder
laid out as the bucket is.

Both answer as an S3 origin behind CloudFront does, through :func:`pipeline.local.http.object_reply`
(validators, conditional GET, single byte ranges: what HLS players and browsers rely on), so ``coursepipe
serve`` on an export folder and ``coursepipe up`` on moto cannot disagree on a header.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from pipeline.content_types import content_type_for
from pipeline.local.http import (
    CHUNK,
    Reply,
    Request,
    Route,
    decoded_path,
    http_date,
    object_reply,
    text_reply,
)
from pipeline.publish import cache_control_for

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

NOT_FOUND_TEXT = "Not Found\n"
METHOD_NOT_ALLOWED = "Method Not Allowed\n"


# ---------------------------------------------------------------- S3
def _is_missing(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return str(error.get("Code")) in ("404", "NoSuchKey", "NotFound") or status == 404


def _is_precondition_failed(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in ("412", "PreconditionFailed")


def _stream(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK)
    finally:
        body.close()


def s3_route(
    client_factory: Callable[[], Any], bucket: str, prefix: str = "", *, index: str = "index.html"
) -> Route:
    """A route serving ``bucket`` objects under ``prefix`` by URL path (``/a/b`` is key ``prefix + a/b``;
    a path ending in ``/`` serves its ``index``). The client is built once, at the first request."""
    clients: list[Any] = []
    clients_lock = threading.Lock()

    def client() -> Any:
        with clients_lock:
            if not clients:
                clients.append(client_factory())
            return clients[0]

    def route(request: Request) -> Reply:
        if request.method not in ("GET", "HEAD"):
            return text_reply(405, METHOD_NOT_ALLOWED, [("Allow", "GET, HEAD")])
        try:
            path = unquote(request.path, errors="strict")
        except UnicodeDecodeError:
            return text_reply(400, "Bad Request: the path is not UTF-8\n")
        segments = path.split("/")
        if any(s in ("..", ".") for s in segments) or "\x00" in path:
            return text_reply(400, "Bad Request: relative path segments are refused\n")
        key = prefix + path.lstrip("/")
        if key.endswith("/") or key == prefix:
            key += index
        for _attempt in range(3):  # the object may be replaced between the HEAD and the GET
            try:
                return _serve_object(client(), bucket, key, request)
            except ClientError as exc:
                if _is_missing(exc):
                    return text_reply(404, NOT_FOUND_TEXT)
                if not _is_precondition_failed(exc):
                    raise
        return text_reply(503, "Service Unavailable: the object keeps changing\n")

    return route


def _serve_object(s3: Any, bucket: str, key: str, request: Request) -> Reply:
    head = s3.head_object(Bucket=bucket, Key=key)
    etag = str(head.get("ETag", ""))
    last_modified: datetime | None = head.get("LastModified")
    validators = [("ETag", etag)] if etag else []
    if last_modified is not None:
        validators.append(("Last-Modified", http_date(last_modified)))
    if head.get("CacheControl"):
        validators.append(("Cache-Control", str(head["CacheControl"])))
    extra = [
        (header, str(head[field_name]))
        for field_name, header in (
            ("ContentEncoding", "Content-Encoding"),
            ("ContentDisposition", "Content-Disposition"),
            ("ContentLanguage", "Content-Language"),
        )
        if head.get(field_name)
    ]

    def body(span: tuple[int, int] | None) -> Iterator[bytes]:
        # IfMatch: the bytes sent are those of the object the HEAD described, or a retry.
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if etag:
            kwargs["IfMatch"] = etag
        if span is not None:
            kwargs["Range"] = f"bytes={span[0]}-{span[1]}"
        return _stream(s3.get_object(**kwargs)["Body"])

    return object_reply(
        request,
        size=int(head["ContentLength"]),
        etag=etag,
        last_modified=last_modified,
        content_type=str(head.get("ContentType") or "binary/octet-stream"),
        validators=validators,
        extra=extra,
        body=body,
    )


def bucket_origin(client_factory: Callable[[], Any], bucket: str) -> Route:
    """The publish bucket (moto, or any S3 endpoint) as CloudFront's S3 origin reads it: by key.

    A path ending in ``/`` is a key no object has (the distribution has no index documents)."""
    objects = s3_route(client_factory, bucket)

    def route(request: Request) -> Reply:
        if request.path.endswith("/"):
            return text_reply(404, NOT_FOUND_TEXT)
        return objects(request)

    return route


# ---------------------------------------------------------------- an export folder
@dataclass
class _FileTag:
    size: int
    mtime_ns: int
    etag: str


def directory_origin(root: Path) -> Route:
    """An export folder laid out by publish key (``coursepipe-out/site``) served as the bucket would be:
    Content-Type and Cache-Control as ``publish`` sets them, an S3-style ETag (the MD5 of the bytes),
    Last-Modified, conditional requests and single byte ranges. Nothing outside ``root`` is served."""
    base = root.resolve()
    tags: dict[Path, _FileTag] = {}
    tags_lock = threading.Lock()

    def etag_for(path: Path, size: int, mtime_ns: int) -> str:
        with tags_lock:
            known = tags.get(path)
        if known is not None and (known.size, known.mtime_ns) == (size, mtime_ns):
            return known.etag
        digest = hashlib.md5(usedforsecurity=False)
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK), b""):
                digest.update(chunk)
        etag = f'"{digest.hexdigest()}"'
        with tags_lock:
            tags[path] = _FileTag(size, mtime_ns, etag)
        return etag

    def route(request: Request) -> Reply:
        if request.method not in ("GET", "HEAD"):
            return text_reply(405, METHOD_NOT_ALLOWED, [("Allow", "GET, HEAD")])
        path = decoded_path(request)
        if path is None or "\\" in path:
            return text_reply(400, "Bad Request: the path is not a plain UTF-8 key\n")
        key = path.lstrip("/")
        if not key or key.endswith("/"):
            return text_reply(404, NOT_FOUND_TEXT)
        file = (base / key).resolve()
        if base not in file.parents or not file.is_file():
            return text_reply(404, NOT_FOUND_TEXT)
        stat = file.stat()
        etag = etag_for(file, stat.st_size, stat.st_mtime_ns)
        modified = datetime.fromtimestamp(int(stat.st_mtime), tz=UTC)

        def body(span: tuple[int, int] | None) -> Iterator[bytes]:
            start, end = span if span is not None else (0, stat.st_size - 1)
            return _read_span(file, start, end - start + 1)

        return object_reply(
            request,
            size=stat.st_size,
            etag=etag,
            last_modified=modified,
            content_type=content_type_for(key),
            validators=[
                ("ETag", etag),
                ("Last-Modified", http_date(modified)),
                ("Cache-Control", cache_control_for(key)),
            ],
            body=body,
        )

    return route


def _read_span(path: Path, start: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(start)
        left = length
        while left > 0:
            chunk = handle.read(min(CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk
