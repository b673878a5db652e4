"""The local HTTP front: what API Gateway and CloudFront are to the deployed stack, on 127.0.0.1.

``coursepipe up`` serves the catalog API and the published site through one ``HttpFront``. A route is a
plain callable ``Request -> Reply`` mounted at a path prefix, so behaviours compose by wrapping: a
signed-cookie check (issue 6) is a function that takes the ``s3_route`` and returns a route which answers
403 itself or delegates.

- ``lambda_route`` builds the event API Gateway HTTP APIs send with payload format 2.0 and reads the
  function's response the way API Gateway does
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html):
  header names lowercased, duplicates comma-joined, ``Cookie`` headers moved to ``cookies``, the path
  URL-decoded but ``rawQueryString`` as sent, bodies base64-encoded unless their type is ``text/*``,
  JSON, XML or JavaScript (a form post too is base64: observed on AWS), and a result without
  ``statusCode`` returned as a 200 JSON body.
- ``s3_route`` serves objects as CloudFront does from an S3 origin, with the validators and byte ranges
  HLS players and browsers rely on.

Only the standard library: the front must start wherever the package is installed.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import json
import os
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from pipeline.local.lambdas import Handler, LocalContext, load_handler
from pipeline.local.loopback import refusal

MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit
CHUNK = 64 * 1024
TEXT_TYPES = ("application/json", "application/xml", "application/javascript")
LOCAL_ACCOUNT = "123456789012"


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


NOT_FOUND = {"message": "Not Found"}
INTERNAL_ERROR = {"message": "Internal Server Error"}


def _print_traceback(what: str) -> None:
    print(f"coursepipe front: {what}", file=sys.stderr)
    traceback.print_exc(file=sys.stderr)


# ---------------------------------------------------------------- the server
class _BadRequestError(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Idle keep-alive connections would otherwise outlive ``stop()`` in their threads."""
        with self._open_lock:
            conns = list(self._open)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return  # the client went away: nothing to report
        _print_traceback(f"connection from {client_address[0]} failed")


class HttpFront:
    """Serves ``routes`` (path prefix, route) on ``host:port`` from daemon threads; the longest matching
    prefix wins, on whole path segments. ``port=0`` picks a free port (read ``.port``)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        routes: Sequence[tuple[str, Route]] = (),
        log: Callable[[str], None] | None = None,
        loopback_only: bool = True,
    ) -> None:
        self.host = host
        # Only this machine's pages and tools (pipeline.local.loopback): no other site, no DNS rebinding.
        self.loopback_only = loopback_only
        self.routes = sorted(
            ((prefix.rstrip("/"), route) for prefix, route in routes), key=lambda r: -len(r[0])
        )
        self.log = log
        self._server = _Server((host, port), self._handler_class())
        self.port: int = self._server.server_address[1]
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def route_for(self, path: str) -> Route | None:
        for prefix, route in self.routes:
            if not prefix or path == prefix or path.startswith(prefix + "/"):
                return route
        return None

    def start(self) -> HttpFront:
        with self._lock:
            if self._closed:
                raise RuntimeError("this front was stopped; build a new one")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._server.serve_forever,
                    kwargs={"poll_interval": 0.05},  # how long stop() waits for the loop
                    name=f"front:{self.port}",
                    daemon=True,
                )
                self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._thread is not None:
                self._server.shutdown()
                self._thread.join()
            self._server.close_connections()
            self._server.server_close()

    def __enter__(self) -> HttpFront:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ per request
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        front = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: players fetch many segments per connection
            timeout = 60  # idle keep-alive connections end
            server_version = "coursepipe-front"

            def log_message(self, format: str, *args: Any) -> None:
                if front.log is not None:
                    front.log(f"{self.client_address[0]} {format % args}")

            def _serve(self) -> None:
                front._serve(self)

            do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _serve

        return _Handler

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        try:
            request = self._read(handler)
        except _BadRequestError as bad:
            handler.close_connection = True
            self._send(handler, bad.reply)
            return
        reason = refusal(request.headers) if self.loopback_only else None
        if reason is not None:
            self._send(handler, json_reply(403, {"message": "Forbidden", "detail": reason}))
            return
        route = self.route_for(request.path)
        try:
            reply = route(request) if route is not None else json_reply(404, NOT_FOUND)
        except Exception:
            _print_traceback(f"{request.method} {request.path} failed")
            reply = json_reply(500, INTERNAL_ERROR)
        self._send(handler, reply)

    def _read(self, handler: BaseHTTPRequestHandler) -> Request:
        target = handler.path
        if "://" in target.split("?", 1)[0]:  # absolute-form, as proxies send
            parts = urlsplit(target)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        path, _, query = target.partition("?")
        query = query.partition("#")[0]
        return Request(
            method=handler.command,
            path=path or "/",
            query=query,
            headers=list(handler.headers.items()),
            body=self._read_body(handler),
            client=(str(handler.client_address[0]), int(handler.client_address[1])),
            server=(self.host, self.port),
            protocol=handler.request_version,
        )

    def _read_body(self, handler: BaseHTTPRequestHandler) -> bytes:
        if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked(handler)
        raw = handler.headers.get("Content-Length")
        if raw is None:
            return b""
        try:
            length = int(raw)
            if length < 0:
                raise ValueError(raw)
        except ValueError as exc:
            raise _BadRequestError(json_reply(400, {"message": "Bad Request"})) from exc
        if length > MAX_BODY:
            raise _BadRequestError(json_reply(413, {"message": "Request Entity Too Large"}))
        return handler.rfile.read(length)

    def _read_chunked(self, handler: BaseHTTPRequestHandler) -> bytes:
        body = bytearray()
        try:
            while True:
                size = int(handler.rfile.readline(1024).split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while handler.rfile.readline(1024).strip():  # trailers
                        pass
                    return bytes(body)
                if len(body) + size > MAX_BODY:
                    raise _BadRequestError(json_reply(413, {"message": "Request Entity Too Large"}))
                body += handler.rfile.read(size)
                handler.rfile.readline(1024)
        except ValueError as exc:
            raise _BadRequestError(json_reply(400, {"message": "Bad Request"})) from exc

    def _send(self, handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        body = reply.body
        chunks: Iterable[bytes]
        if isinstance(body, bytes | bytearray):
            # A HEAD reply states the length of the body it omits.
            length: int | None = len(body) if reply.length is None else reply.length
            chunks = (bytes(body),)
        else:
            length, chunks = reply.length, body
        bodyless = reply.status in (204, 304) or reply.status < 200
        try:
            handler.send_response(reply.status)
            for name, value in reply.headers:
                if name.lower() != "content-length":
                    handler.send_header(name, value)
            if not bodyless:
                if length is None:
                    raise ValueError("a streamed reply needs its length")
                handler.send_header("Content-Length", str(length))
            handler.end_headers()
            if handler.command != "HEAD" and not bodyless:
                for chunk in chunks:
                    handler.wfile.write(chunk)
        except (ConnectionError, TimeoutError):
            handler.close_connection = True
        except Exception:
            # Headers may be out already: the only honest signal left is closing the connection.
            handler.close_connection = True
            _print_traceback(f"sending {handler.command} {handler.path} failed")
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()


# ---------------------------------------------------------------- API Gateway HTTP API -> Lambda
def _is_text(content_type: str | None) -> bool:
    if not content_type:
        return False
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime.startswith("text/") or mime in TEXT_TYPES


def _request_id() -> str:
    return base64.b64encode(os.urandom(11)).decode()  # the shape of API Gateway's, e.g. "QQCtFipSIAMEPNQ="


def api_gateway_v2_event(
    request: Request,
    *,
    route_key: str = "$default",
    stage: str = "$default",
    api_id: str = "local",
    account_id: str = LOCAL_ACCOUNT,
) -> dict[str, Any]:
    """The event an HTTP API with payload format 2.0 sends to its Lambda integration for ``request``."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    client_ip = request.client[0]
    headers.setdefault("x-forwarded-for", client_ip)
    headers.setdefault("x-forwarded-port", str(request.server[1]))
    headers.setdefault("x-forwarded-proto", "http")
    now = time.time()
    headers.setdefault("x-amzn-trace-id", f"Root=1-{int(now):08x}-{os.urandom(12).hex()}")
    domain = headers.get("host") or f"{request.server[0]}:{request.server[1]}"
    path = unquote(request.path)  # HTTP APIs hand the function a decoded path
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": request.query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if request.query:
        params: dict[str, str] = {}
        for key, value in parse_qsl(request.query, keep_blank_values=True):
            params[key] = f"{params[key]},{value}" if key in params else value
        event["queryStringParameters"] = params
    event["requestContext"] = {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": path,
            "protocol": request.protocol,
            "sourceIp": client_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": _request_id(),
        "routeKey": route_key,
        "stage": stage,
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if request.body:
        if _is_text(headers.get("content-type")):
            try:
                event["body"] = request.body.decode("utf-8")
                event["isBase64Encoded"] = False
                return event
            except UnicodeDecodeError:
                pass
        event["body"] = base64.b64encode(request.body).decode()
        event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False
    return event


def api_gateway_v2_reply(result: Any) -> Reply:
    """Read a function's result as API Gateway does for payload format 2.0."""
    if not (isinstance(result, dict) and "statusCode" in result):
        text = result if isinstance(result, str) else json.dumps(result)
        return Reply(200, [("Content-Type", "application/json")], text.encode())
    status = result["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"statusCode {status!r} is not an HTTP status")
    headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(v)) for v in values)
    headers.extend(("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or [])
    raw = result.get("body")
    body: bytes
    if raw is None:
        body = b""
    elif not isinstance(raw, str):
        raise ValueError(f"body must be a string, not {type(raw).__name__}")
    elif result.get("isBase64Encoded"):
        body = base64.b64decode(raw, validate=True)
    else:
        body = raw.encode("utf-8")
    return Reply(status, headers, body)


def lambda_route(
    handler: Handler | str,
    function_name: str,
    *,
    memory_mb: int = 128,
    timeout_s: float = 30.0,
    region: str | None = None,
    account_id: str = LOCAL_ACCOUNT,
    route_key: str = "$default",
) -> Route:
    """A route that invokes ``handler`` (a callable, or a dotted path imported at the first request so
    the function's environment is in place) as API Gateway's Lambda proxy integration would."""
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
    loaded: list[Handler] = [] if isinstance(handler, str) else [handler]

    def route(request: Request) -> Reply:
        if not loaded:
            loaded.append(load_handler(str(handler)))
        event = api_gateway_v2_event(request, route_key=route_key, account_id=account_id)
        request_id = event["requestContext"]["requestId"]
        context = LocalContext(function_name, memory_mb, arn, timeout_s)
        try:
            reply = api_gateway_v2_reply(loaded[0](event, context))
        except Exception:
            # What API Gateway answers for a failed invocation or a malformed response.
            _print_traceback(f"{function_name} failed on {request.method} {request.path}")
            reply = json_reply(500, INTERNAL_ERROR)
        reply.headers.append(("apigw-requestid", request_id))
        return reply

    return route


# ---------------------------------------------------------------- S3 origin
def _http_date(value: datetime) -> str:
    return email.utils.format_datetime(value.astimezone(UTC), usegmt=True)


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    ours = etag.strip().removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == ours for tag in header.split(","))


def _not_modified_since(header: str, last_modified: datetime | None) -> bool:
    if last_modified is None:
        return False
    try:
        since = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        return False
    return last_modified.replace(microsecond=0) <= since


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


def _is_missing(exc: Exception) -> bool:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    error = response.get("Error", {})
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return str(error.get("Code")) in ("404", "NoSuchKey", "NotFound") or status == 404


def _is_precondition_failed(exc: Exception) -> bool:
    response = getattr(exc, "response", None)
    return isinstance(response, dict) and str(response.get("Error", {}).get("Code")) in (
        "412",
        "PreconditionFailed",
    )


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
            return text_reply(405, "Method Not Allowed\n", [("Allow", "GET, HEAD")])
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
            except Exception as exc:
                if _is_missing(exc):
                    return text_reply(404, "Not Found\n")
                if not _is_precondition_failed(exc):
                    raise
        return text_reply(503, "Service Unavailable: the object keeps changing\n")

    return route


def _serve_object(s3: Any, bucket: str, key: str, request: Request) -> Reply:
    head = s3.head_object(Bucket=bucket, Key=key)
    etag = str(head.get("ETag", ""))
    size = int(head["ContentLength"])
    last_modified: datetime | None = head.get("LastModified")
    validators = [("ETag", etag)] if etag else []
    if last_modified is not None:
        validators.append(("Last-Modified", _http_date(last_modified)))
    if head.get("CacheControl"):
        validators.append(("Cache-Control", str(head["CacheControl"])))

    if_none_match = request.header("If-None-Match")
    if_modified_since = request.header("If-Modified-Since")
    if (if_none_match is not None and _etag_matches(if_none_match, etag)) or (
        if_none_match is None and if_modified_since and _not_modified_since(if_modified_since, last_modified)
    ):
        return Reply(304, validators)

    headers = [("Content-Type", str(head.get("ContentType") or "binary/octet-stream")), *validators]
    headers.append(("Accept-Ranges", "bytes"))
    for field_name, header in (
        ("ContentEncoding", "Content-Encoding"),
        ("ContentDisposition", "Content-Disposition"),
        ("ContentLanguage", "Content-Language"),
    ):
        if head.get(field_name):
            headers.append((header, str(head[field_name])))

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
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if etag:
        kwargs["IfMatch"] = etag
    if span is not None:
        kwargs["Range"] = f"bytes={span[0]}-{span[1]}"
    obj = s3.get_object(**kwargs)
    return Reply(status, headers, _stream(obj["Body"]), length=length)
