"""The local HTTP front: API Gateway's payload 2.0 events and responses, and an S3 origin on moto.

Real clients (``http.client``) talk to a front on an ephemeral port; the Lambda route is backed by tiny
handlers defined here and the S3 route by moto in-process, reached from the front's own threads.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import time
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from pipeline.local.apigw import lambda_route
from pipeline.local.front import HttpFront
from pipeline.local.http import Reply, Request, parse_range
from pipeline.local.origins import s3_route

if TYPE_CHECKING:
    from collections.abc import Iterator

REGION = "us-east-1"
SITE = "site-bucket"
SEGMENT = bytes(range(256)) * 4  # 1024 bytes


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """No statusCode: API Gateway answers 200 with this dict as a JSON body."""
    return {
        "event": event,
        "function": context.function_name,
        "remaining": context.get_remaining_time_in_millis(),
    }


def shaped(event: dict[str, Any], context: Any) -> Any:
    body = json.loads(event.get("body") or "{}")
    kind = body.get("kind")
    if kind == "binary":
        return {
            "statusCode": 201,
            "headers": {"content-type": "image/png", "x-one": "1"},
            "multiValueHeaders": {"x-many": ["a", "b"]},
            "cookies": ["session=abc; Path=/; HttpOnly", "theme=dark"],
            "body": base64.b64encode(b"\x89PNG\x00\xff").decode(),
            "isBase64Encoded": True,
        }
    if kind == "string":
        return "Hello from Lambda!"
    if kind == "malformed":
        return {"statusCode": "two hundred", "body": "x"}
    if kind == "empty":
        return {"statusCode": 204}
    raise RuntimeError("the handler failed")


def call(
    front: HttpFront,
    method: str,
    path: str,
    headers: list[tuple[str, str]] | None = None,
    body: bytes | None = None,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", front.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers or []:
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


@pytest.fixture
def api() -> Iterator[HttpFront]:
    routes = [
        ("/echo", lambda_route(echo, "EchoFunction", timeout_s=10)),
        ("/shaped", lambda_route(shaped, "ShapedFunction")),
    ]
    with HttpFront(port=0, routes=routes) as front:
        yield front


# ---------------------------------------------------------------- the event
def test_get_becomes_a_payload_2_event(api: HttpFront) -> None:
    status, headers, body = call(
        api,
        "GET",
        "/echo/a%20b/c?x=1&x=2&q=hello%20world&empty=",
        [
            ("User-Agent", "front-test/1.0"),
            ("X-Dup", "one"),
            ("x-dup", "two"),
            ("Cookie", "session=abc; theme=dark"),
            ("Cookie", "lang=fr"),
        ],
    )

    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert headers["apigw-requestid"]
    reply = json.loads(body)
    assert reply["function"] == "EchoFunction"
    assert 0 < reply["remaining"] <= 10_000
    event = reply["event"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == "/echo/a b/c"
    assert event["rawQueryString"] == "x=1&x=2&q=hello%20world&empty="
    assert event["queryStringParameters"] == {"x": "1,2", "q": "hello world", "empty": ""}
    assert event["cookies"] == ["session=abc", "theme=dark", "lang=fr"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-dup"] == "one,two"
    assert event["headers"]["user-agent"] == "front-test/1.0"
    assert event["headers"]["host"] == f"127.0.0.1:{api.port}"
    assert event["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert all(name == name.lower() for name in event["headers"])
    assert event["isBase64Encoded"] is False
    assert "body" not in event

    ctx = event["requestContext"]
    assert ctx["accountId"] == "123456789012"
    assert ctx["apiId"] == "local"
    assert ctx["domainName"] == f"127.0.0.1:{api.port}"
    assert ctx["domainPrefix"] == "127"
    assert ctx["http"] == {
        "method": "GET",
        "path": "/echo/a b/c",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "front-test/1.0",
    }
    assert ctx["routeKey"] == "$default"
    assert ctx["stage"] == "$default"
    assert ctx["requestId"] == headers["apigw-requestid"]
    assert abs(ctx["timeEpoch"] / 1000 - time.time()) < 60
    assert time.strptime(ctx["time"], "%d/%b/%Y:%H:%M:%S +0000")


def test_post_bodies_are_base64_unless_text(api: HttpFront) -> None:
    binary = bytes(range(256))
    _, _, raw = call(api, "POST", "/echo", [("Content-Type", "application/octet-stream")], binary)
    event = json.loads(raw)["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == binary
    assert event["requestContext"]["http"]["method"] == "POST"
    assert "queryStringParameters" not in event
    assert "cookies" not in event

    _, _, raw = call(
        api, "POST", "/echo", [("Content-Type", "application/json; charset=utf-8")], b'{"a": "\xc3\xa9"}'
    )
    event = json.loads(raw)["event"]
    assert (event["isBase64Encoded"], event["body"]) == (False, '{"a": "é"}')

    # Form posts are base64-encoded by HTTP APIs, as is a body without a Content-Type.
    for headers in ([("Content-Type", "application/x-www-form-urlencoded")], []):
        _, _, raw = call(api, "POST", "/echo", headers, b"a=1&b=2")
        event = json.loads(raw)["event"]
        assert (event["isBase64Encoded"], base64.b64decode(event["body"])) == (True, b"a=1&b=2")


# ---------------------------------------------------------------- the response
def test_response_cookies_headers_and_base64_body(api: HttpFront) -> None:
    status, headers, body = call(
        api, "POST", "/shaped", [("Content-Type", "application/json")], b'{"kind": "binary"}'
    )

    assert status == 201
    assert body == b"\x89PNG\x00\xff"
    assert headers["Content-Type"] == "image/png"
    assert headers["x-one"] == "1"
    assert headers.get_all("x-many") == ["a", "b"]
    assert headers.get_all("Set-Cookie") == ["session=abc; Path=/; HttpOnly", "theme=dark"]
    assert headers["Content-Length"] == "6"


def test_a_result_without_status_code_is_200_json(api: HttpFront) -> None:
    status, headers, body = call(
        api, "POST", "/shaped", [("Content-Type", "application/json")], b'{"kind": "string"}'
    )

    assert (status, headers["Content-Type"], body) == (200, "application/json", b"Hello from Lambda!")


def test_status_without_body(api: HttpFront) -> None:
    status, _, body = call(
        api, "POST", "/shaped", [("Content-Type", "application/json")], b'{"kind": "empty"}'
    )

    assert (status, body) == (204, b"")


@pytest.mark.parametrize("kind", ["raise", "malformed"])
def test_failures_are_500_like_api_gateway_and_the_front_survives(
    api: HttpFront, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, headers, body = call(
        api, "POST", "/shaped", [("Content-Type", "application/json")], json.dumps({"kind": kind}).encode()
    )

    assert status == 500
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"message": "Internal Server Error"}
    assert "Traceback" in capsys.readouterr().err
    assert call(api, "GET", "/echo")[0] == 200


# ---------------------------------------------------------------- the server
def test_unrouted_paths_are_404_json(api: HttpFront) -> None:
    for path in ("/", "/echoes", "/nothing/here"):
        status, headers, body = call(api, "GET", path)
        assert (status, json.loads(body)) == (404, {"message": "Not Found"})
        assert headers["Content-Type"] == "application/json"


def test_longest_prefix_wins() -> None:
    def fixed(text: str) -> Any:
        return lambda request: Reply(200, [("Content-Type", "text/plain")], text.encode())

    routes = [("/", fixed("root")), ("/a", fixed("a")), ("/a/b/", fixed("ab"))]
    with HttpFront(routes=routes) as front:
        assert [call(front, "GET", p)[2] for p in ("/x", "/a", "/a/x", "/ab", "/a/b", "/a/b/c")] == [
            b"root",
            b"a",
            b"a",
            b"root",
            b"ab",
            b"ab",
        ]


def test_bad_requests_do_not_kill_the_server(api: HttpFront) -> None:
    with socket.create_connection(("127.0.0.1", api.port), timeout=5) as raw:
        raw.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        assert b"400" in raw.recv(1024)
    with socket.create_connection(("127.0.0.1", api.port), timeout=5) as raw:
        raw.sendall(b"BREW /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert raw.recv(1024).startswith(b"HTTP/1.1 501")
    with socket.create_connection(("127.0.0.1", api.port), timeout=5) as raw:
        raw.sendall(b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: nope\r\n\r\n")
        assert raw.recv(1024).startswith(b"HTTP/1.1 400")
    with socket.create_connection(("127.0.0.1", api.port), timeout=5) as raw:
        raw.sendall(b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 999999999\r\n\r\n")
        assert raw.recv(1024).startswith(b"HTTP/1.1 413")
    with socket.create_connection(("127.0.0.1", api.port), timeout=5) as raw:
        raw.sendall(b"GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and hang up mid-request
    assert call(api, "GET", "/echo")[0] == 200


def test_chunked_request_bodies_are_read(api: HttpFront) -> None:
    with socket.create_connection(("127.0.0.1", api.port), timeout=5) as raw:
        raw.sendall(
            b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
            b"Transfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )
        data = b""
        while chunk := raw.recv(65536):
            data += chunk
    event = json.loads(data.split(b"\r\n\r\n", 1)[1])["event"]
    assert event["body"] == "hello world"


def test_keep_alive_then_stop_is_prompt_and_idempotent() -> None:
    lines: list[str] = []
    front = HttpFront(routes=[("/echo", lambda_route(echo, "Echo"))], log=lines.append).start()
    assert front.port > 0
    assert front.url == f"http://127.0.0.1:{front.port}"
    conn = http.client.HTTPConnection("127.0.0.1", front.port, timeout=10)
    for _ in range(3):  # one connection, three requests
        conn.request("GET", "/echo")
        resp = conn.getresponse()
        assert resp.status == 200
        resp.read()
    started = time.monotonic()
    front.stop()  # with the connection still open and idle
    front.stop()
    assert time.monotonic() - started < 5
    conn.close()
    assert len(lines) == 3 and "GET /echo HTTP/1.1" in lines[0]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", front.port), timeout=1).close()


# ---------------------------------------------------------------- S3 origin
@pytest.fixture
def site() -> Iterator[HttpFront]:
    with mock_aws():
        s3: Any = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=SITE)
        put = [
            ("index.html", b"<h1>home</h1>", "text/html; charset=utf-8", "no-cache"),
            ("courses/intro/index.html", b"<h1>intro</h1>", "text/html; charset=utf-8", "max-age=60"),
            ("courses/intro/hls/seg00001.ts", SEGMENT, "video/mp2t", "max-age=31536000, immutable"),
            ("courses/intro/notes and more.txt", b"notes", "text/plain", None),
            ("secret.txt", b"not for you", "text/plain", None),
        ]
        for key, body, content_type, cache in put:
            extra = {"CacheControl": cache} if cache else {}
            s3.put_object(Bucket=SITE, Key=key, Body=body, ContentType=content_type, **extra)
        route = s3_route(lambda: boto3.client("s3", region_name=REGION), SITE)
        with HttpFront(routes=[("/", route)]) as front:
            yield front


def test_objects_are_served_with_their_metadata(site: HttpFront) -> None:
    status, headers, body = call(site, "GET", "/courses/intro/hls/seg00001.ts")

    assert (status, body) == (200, SEGMENT)
    assert headers["Content-Type"] == "video/mp2t"
    assert headers["Cache-Control"] == "max-age=31536000, immutable"
    assert headers["Content-Length"] == str(len(SEGMENT))
    assert headers["ETag"].startswith('"') and headers["ETag"].endswith('"')
    assert headers["Last-Modified"].endswith("GMT")
    assert headers["Accept-Ranges"] == "bytes"


def test_directories_serve_their_index_and_paths_are_url_decoded(site: HttpFront) -> None:
    assert call(site, "GET", "/")[2] == b"<h1>home</h1>"
    status, headers, body = call(site, "GET", "/courses/intro/")
    assert (status, body, headers["Content-Type"]) == (200, b"<h1>intro</h1>", "text/html; charset=utf-8")
    assert call(site, "GET", "/courses/intro/notes%20and%20more.txt")[2] == b"notes"


def test_validators_give_304(site: HttpFront) -> None:
    _, headers, _ = call(site, "GET", "/courses/intro/index.html")
    etag, last_modified = headers["ETag"], headers["Last-Modified"]

    status, again, body = call(site, "GET", "/courses/intro/index.html", [("If-None-Match", etag)])
    assert (status, body) == (304, b"")
    assert again["ETag"] == etag
    assert again["Cache-Control"] == "max-age=60"
    assert call(site, "GET", "/courses/intro/index.html", [("If-None-Match", '"other", ' + etag)])[0] == 304
    assert call(site, "GET", "/courses/intro/index.html", [("If-None-Match", '"other"')])[0] == 200
    assert call(site, "GET", "/courses/intro/index.html", [("If-Modified-Since", last_modified)])[0] == 304


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=1000-", (1000, 1023)),
        ("bytes=-24", (1000, 1023)),
        ("bytes=1000-5000", (1000, 1023)),
    ],
)
def test_ranges_give_206(site: HttpFront, header: str, expected: tuple[int, int]) -> None:
    status, headers, body = call(site, "GET", "/courses/intro/hls/seg00001.ts", [("Range", header)])

    start, end = expected
    assert status == 206
    assert body == SEGMENT[start : end + 1]
    assert headers["Content-Range"] == f"bytes {start}-{end}/{len(SEGMENT)}"
    assert headers["Content-Length"] == str(end - start + 1)


def test_unsatisfiable_range_is_416_and_odd_ranges_serve_everything(site: HttpFront) -> None:
    status, headers, _ = call(site, "GET", "/courses/intro/hls/seg00001.ts", [("Range", "bytes=5000-")])
    assert (status, headers["Content-Range"]) == (416, f"bytes */{len(SEGMENT)}")
    for ignored in ("bytes=0-1,5-6", "items=0-1", "bytes=9-2"):
        status, _, body = call(site, "GET", "/courses/intro/hls/seg00001.ts", [("Range", ignored)])
        assert (status, body) == (200, SEGMENT)
    # A Range for another version of the object is ignored (If-Range).
    status, _, body = call(
        site, "GET", "/courses/intro/hls/seg00001.ts", [("Range", "bytes=0-1"), ("If-Range", '"stale"')]
    )
    assert (status, body) == (200, SEGMENT)


def test_head_has_the_headers_without_the_body(site: HttpFront) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=10)
    conn.request("HEAD", "/courses/intro/hls/seg00001.ts")
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.headers["Content-Length"] == str(len(SEGMENT))
    assert resp.headers["Content-Type"] == "video/mp2t"
    assert resp.read() == b""
    conn.request("GET", "/index.html")  # the connection is still usable: no stray body bytes
    assert conn.getresponse().read() == b"<h1>home</h1>"
    conn.close()


def test_missing_objects_are_404_and_dot_segments_are_refused(site: HttpFront) -> None:
    status, _, body = call(site, "GET", "/courses/intro/nope.m3u8")
    assert status == 404 and body
    for path in ("/courses/../secret.txt", "/courses/%2e%2e/secret.txt", "/courses/./intro/index.html"):
        status, _, body = call(site, "GET", path)
        assert status == 400, path
        assert b"not for you" not in body
    assert call(site, "POST", "/index.html", body=b"x")[0] == 405


def test_parse_range_edge_cases() -> None:
    assert parse_range("bytes=0-0", 10) == (0, 0)
    assert parse_range("bytes=-100", 10) == (0, 9)
    assert parse_range("bytes= 2 - 3 ", 10) == (2, 3)
    assert parse_range("bytes=-", 10) is None
    with pytest.raises(ValueError):
        parse_range("bytes=-0", 10)
    with pytest.raises(ValueError):
        parse_range("bytes=0-", 0)


def test_a_route_can_be_wrapped_by_a_check(site: HttpFront) -> None:
    """How issue 6's signed-cookie check will sit on the S3 route."""
    inner = site.route_for("/")
    assert inner is not None

    def guarded(request: Request) -> Reply:
        if request.header("Cookie") != "CloudFront-Policy=ok":
            return Reply(403, [("Content-Type", "text/plain")], b"MissingKey")
        return inner(request)

    with HttpFront(routes=[("/", guarded)]) as front:
        assert call(front, "GET", "/index.html")[0] == 403
        assert call(front, "GET", "/index.html", [("Cookie", "CloudFront-Policy=ok")])[2] == b"<h1>home</h1>"
