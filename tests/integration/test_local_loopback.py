"""Only this machine's own pages and tools drive the local stack. A web page in the user's browser can send
requests to 127.0.0.1; with moto's global CORS it could also read the replies (the signing key in Secrets
Manager) and plant uploads. Checked over real HTTP against moto's server and the HTTP front."""

from __future__ import annotations

import http.client
import json
import socket
from typing import TYPE_CHECKING

import pytest

from pipeline.local.front import HttpFront
from pipeline.local.http import Reply, Request, json_reply
from pipeline.local.loopback import host_allowed, origin_allowed
from pipeline.local.runtime import LocalRuntime
from tests.conftest import REPO

if TYPE_CHECKING:
    from collections.abc import Iterator

EVIL = "https://evil.example"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[LocalRuntime]:
    with LocalRuntime(
        REPO / "template.yaml", parameters={"LogLevel": "ERROR"}, server_port=free_port()
    ) as rt:
        rt.client("secretsmanager").create_secret(Name="the-key", SecretString="PRIVATE KEY")
        yield rt


def raw(port: int, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=body, headers=headers)
    reply = conn.getresponse()
    data = reply.read()
    conn.close()
    return reply.status, data


def get_secret(port: int, headers: dict[str, str]) -> tuple[int, bytes]:
    """What a page's fetch() sends: JSON protocol, no signature (moto accepts any)."""
    return raw(
        port,
        "POST",
        "/",
        {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "secretsmanager.GetSecretValue",
            "Authorization": "AWS4-HMAC-SHA256"
            " Credential=testing/20260101/us-east-1/secretsmanager/aws4_request,"
            " SignedHeaders=host, Signature=x",
        }
        | headers,
        json.dumps({"SecretId": "the-key"}).encode(),
    )


def port_of(rt: LocalRuntime) -> int:
    assert rt.endpoint_url is not None
    return int(rt.endpoint_url.rsplit(":", 1)[1])


def test_a_loopback_caller_reads_the_secret(server: LocalRuntime) -> None:
    port = port_of(server)
    assert (
        server.client("secretsmanager").get_secret_value(SecretId="the-key")["SecretString"] == "PRIVATE KEY"
    )
    status, body = get_secret(port, {"Origin": f"http://localhost:{port + 1}"})
    assert status == 200 and b"PRIVATE KEY" in body


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": EVIL},  # any other site: cross-origin fetch
        {"Origin": "null"},  # sandboxed iframe, file: page
        {"Origin": "http://127.0.0.1.evil.example"},
        {"Host": "rebind.evil.example"},  # DNS rebinding: same-origin, no Origin, attacker's Host
        {"Host": "localhost.evil.example:4566"},
    ],
)
def test_other_sites_and_rebound_names_are_refused_by_moto(
    server: LocalRuntime, headers: dict[str, str]
) -> None:
    port = port_of(server)
    status, body = get_secret(port, headers)
    assert status == 403 and b"PRIVATE KEY" not in body
    assert b"loopback" in body
    # ... nor can it plant an upload in the ingest bucket.
    status, _ = raw(port, "PUT", f"/{server.ingest_bucket}/courses/x/lessons/01.md", headers, b"# planted")
    assert status == 403
    assert "Contents" not in server.client("s3").list_objects_v2(
        Bucket=server.ingest_bucket, Prefix="courses/x/"
    )


def test_the_front_refuses_other_sites_and_rebound_names() -> None:
    def ok(request: Request) -> Reply:
        return json_reply(200, {"ok": True})

    with HttpFront("127.0.0.1", 0, routes=[("", ok)]) as front:
        assert raw(front.port, "GET", "/", {})[0] == 200
        assert raw(front.port, "POST", "/", {"Origin": f"http://127.0.0.1:{front.port}"})[0] == 200
        assert raw(front.port, "GET", "/", {"Host": "app.localhost:8080"})[0] == 200
        assert raw(front.port, "POST", "/auth/dev/sign-in", {"Origin": EVIL})[0] == 403
        assert raw(front.port, "GET", "/", {"Host": "rebind.evil.example:8080"})[0] == 403


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1:4566", True),
        ("localhost", True),
        ("[::1]:8080", True),
        ("bucket.localhost:4566", True),
        ("LOCALHOST.", True),
        ("127.0.0.2", False),  # loopback too, but no tool of ours uses it: keep the list short
        ("0.0.0.0", False),
        ("evil.example", False),
        ("localhost@evil.example", False),
        ("[::1", False),
    ],
)
def test_host_names(host: str, allowed: bool) -> None:
    assert host_allowed(host) is allowed


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (None, True),
        ("http://127.0.0.1:8080", True),
        ("https://localhost", True),
        ("http://[::1]:3000", True),
        ("null", False),
        ("file://", False),
        ("http://localhost.evil.example", False),
        ("chrome-extension://abc", False),
    ],
)
def test_origins(origin: str | None, allowed: bool) -> None:
    assert origin_allowed(origin) is allowed
