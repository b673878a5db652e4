"""Only this machine may drive the local stack: the guard in front of moto's server and the HTTP front.

The local stack holds a signing key (Secrets Manager), an ingest bucket that publishes whatever lands in it,
and a dev sign-in page. Binding to 127.0.0.1 keeps other machines out, but not the browser on this one: any
web page can send requests to ``http://127.0.0.1:port``, and moto's server answers every ``Origin`` with a
matching ``Access-Control-Allow-Origin`` (global CORS), so the page can read the replies too. Two checks
close that, on every request, before anything is served:

- **Origin**: a browser names the page that sent a request; only pages served from a loopback host
  (``http(s)://127.0.0.1|localhost|[::1]|*.localhost``) pass. ``null`` (sandboxed frames, ``file:``) does
  not. Clients that are not browsers (boto3, the AWS CLI, curl) send no ``Origin`` and pass.
- **Host**: DNS rebinding points an attacker's name at 127.0.0.1, so the page is same-origin with the stack
  and sends no cross-origin ``Origin``; its ``Host`` header still carries the attacker's name. Only
  loopback names pass.

``*.localhost`` is loopback by RFC 6761 (browsers resolve it to 127.0.0.1 without DNS), and S3 clients use
``bucket.localhost`` in virtual-hosted style.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})

REFUSAL = (
    "the local stack answers only requests from this machine's own pages and tools "
    "(Host and Origin must be 127.0.0.1, localhost or [::1])"
)


def _loopback_name(name: str) -> bool:
    name = name.lower().rstrip(".")
    return name in LOOPBACK_NAMES or name.endswith(".localhost")


def host_allowed(host: str | None) -> bool:
    """``Host`` names a loopback address (any port). A missing Host (HTTP/1.0) is a local tool's."""
    if not host:
        return True
    try:
        name = urlsplit(f"//{host}").hostname
    except ValueError:
        return False
    return name is not None and _loopback_name(name)


def origin_allowed(origin: str | None) -> bool:
    """No ``Origin`` (not a browser, or a same-origin GET), or a page served from a loopback host."""
    if origin is None:
        return True
    try:
        parts = urlsplit(origin.strip())
        name = parts.hostname
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and name is not None and _loopback_name(name)


def refusal(headers: Iterable[tuple[str, str]]) -> str | None:
    """Why this request is refused (None: it may be served). ``headers`` as (name, value) pairs."""
    host: str | None = None
    origin: str | None = None
    for name, value in headers:
        lowered = name.lower()
        if lowered == "host":
            host = value
        elif lowered == "origin":
            origin = value
    if not host_allowed(host):
        return f"Host {host!r} is not a loopback name: {REFUSAL}"
    if not origin_allowed(origin):
        return f"Origin {origin!r} is not a loopback page: {REFUSAL}"
    return None


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def guard_wsgi(app: WsgiApp) -> WsgiApp:
    """Wrap moto's WSGI application: a refused request gets 403 JSON and never reaches a backend."""

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        headers = [(k[5:].replace("_", "-"), str(v)) for k, v in environ.items() if k.startswith("HTTP_")]
        reason = refusal(headers)
        if reason is None:
            return app(environ, start_response)
        body = json.dumps({"message": "Forbidden", "detail": reason}).encode()
        start_response(
            "403 Forbidden",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("Vary", "Origin")],
        )
        return [body]

    return guarded
