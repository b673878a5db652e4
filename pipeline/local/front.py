"""The local HTTP front: what API Gateway and CloudFront are to the deployed stack, on 127.0.0.1.

``coursepipe up`` serves the catalog API and the published site through one ``HttpFront``, ``coursepipe
serve`` an export folder. The front only carries requests: it reads one into a
:class:`~pipeline.local.http.Request`, hands it to the route mounted at the longest matching path prefix
and writes the :class:`~pipeline.local.http.Reply` back, streamed when its body is. What a route answers
is the business of the edge (``pipeline.local.edge``), the API Gateway adapter (``pipeline.local.apigw``)
and the origins (``pipeline.local.origins``).

Only the standard library: the front must start wherever the package is installed.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pipeline.local.http import INTERNAL_ERROR, NOT_FOUND, Reply, Request, Route, json_reply, print_traceback
from pipeline.local.loopback import refusal

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit


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
        print_traceback(f"connection from {client_address[0]} failed")


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
            print_traceback(f"{request.method} {request.path} failed")
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
            print_traceback(f"sending {handler.command} {handler.path} failed")
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
