"""The local edge plays MediaDistribution from template.yaml: behaviour order, signed cookies as CloudFront
checks them (every forgery refused with CloudFront's 403 and error code, never the file), gzip, ranges.

A tiny published tree is served from a folder by an edge on an ephemeral port and read with http.client;
cookies are minted with ``pipeline.access`` for ``http://127.0.0.1:PORT/courses/{course}/*``.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import boto3
import pytest
from botocore.signers import CloudFrontSigner
from moto import mock_aws

from pipeline.access.cookies import cookie_header, cookie_values
from pipeline.access.keypair import generate_private_key, key_id_for, public_key_pem
from pipeline.access.policy import CustomPolicy, course_policy
from pipeline.access.signing import b64encode, sign, sign_policy
from pipeline.content_types import content_type_for
from pipeline.local.compression import accepts_gzip
from pipeline.local.edge import Edge
from pipeline.local.edge_config import EdgeConfig, OriginKind
from pipeline.local.front import HttpFront
from pipeline.local.http import Reply, Request, json_reply
from pipeline.local.origins import bucket_origin, directory_origin
from pipeline.publish import IMMUTABLE, SHORT, cache_control_for

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
COURSE, OTHER = "edge-1", "edge-2"
ASSET = "media-lecture-0a1b2c3d"
MASTER = f"/courses/{COURSE}/media/{ASSET}/hls/master.m3u8"
SEGMENT = f"/courses/{COURSE}/media/{ASSET}/hls/360p/seg-00000.ts"
LESSON = f"/courses/{COURSE}/lessons/intro.html"
INDEX = f"/courses/{COURSE}/index.html"
CSS = f"/courses/{COURSE}/assets/site-0123456789.css"
OTHER_INDEX = f"/courses/{OTHER}/index.html"

KEY = generate_private_key()
KEY_ID = key_id_for(KEY.public_key())
STRANGER = generate_private_key()
STRANGER_ID = key_id_for(STRANGER.public_key())

# A master playlist over 1,000 bytes: CloudFront compresses 1,000 B to 10 MB.
STREAM_INF = (
    '#EXT-X-STREAM-INF:BANDWIDTH={b},CODECS="avc1.64001f,mp4a.40.2",RESOLUTION={w}x{h}\n{h}p/index.m3u8\n'
)
PLAYLIST = (
    "#EXTM3U\n#EXT-X-VERSION:5\n#EXT-X-INDEPENDENT-SEGMENTS\n"
    + "".join(STREAM_INF.format(b=n * 400_000, w=n * 320, h=n * 180) for n in range(1, 13))
).encode()
SEGMENT_BYTES = bytes(range(256)) * 64  # 16 KiB, "already compressed" media
FILES = {
    MASTER: PLAYLIST,
    SEGMENT: SEGMENT_BYTES,
    LESSON: b"<!doctype html><title>Intro</title><p>the lesson body</p>\n",
    INDEX: b"<!doctype html><title>Edge course</title><p>course index</p>\n",
    CSS: b"body{font-family:sans-serif}\n",
    OTHER_INDEX: b"<!doctype html><title>Other course</title><p>secret of the other course</p>\n",
}


@dataclass
class Served:
    front: HttpFront
    log: list[str]
    session_calls: list[Request]

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.front.port}"


def session_route(calls: list[Request]) -> Callable[[Request], Reply]:
    def route(request: Request) -> Reply:
        calls.append(request)
        return json_reply(200, {"path": request.path})

    return route


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("site")
    for path, data in FILES.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[Served]:
    log: list[str] = []
    calls: list[Request] = []
    edge = Edge(
        EdgeConfig.from_template(TEMPLATE),
        bucket=directory_origin(site),
        key_group={KEY_ID: public_key_pem(KEY.public_key()).decode()},
        session=session_route(calls),
        log=log.append,
    )
    with HttpFront("127.0.0.1", 0, routes=edge.routes()) as front:
        yield Served(front, log, calls)


def request(
    served: Served,
    path: str,
    *,
    cookies: dict[str, str] | None = None,
    method: str = "GET",
    headers: dict[str, str] | None = None,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", served.front.port, timeout=10)
    try:
        sent = dict(headers or {})
        if cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        conn.request(method, path, headers=sent)
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def policy(served: Served, course: str = COURSE, **kwargs: object) -> CustomPolicy:
    args: dict[str, object] = {"expires": int(time.time()) + 3600, "scheme": "http"}
    args.update(kwargs)
    return course_policy(served.domain, course, **args)  # type: ignore[arg-type]


def jar(signed_policy: CustomPolicy, *, key: object = KEY, key_id: str = KEY_ID) -> dict[str, str]:
    return cookie_values(sign_policy(signed_policy, key, key_id))  # type: ignore[arg-type]


def raw_jar(document: object) -> dict[str, str]:
    """Cookies carrying any policy document, validly signed by the trusted key."""
    data = json.dumps(document, separators=(",", ":")).encode()
    return {
        "CloudFront-Policy": b64encode(data),
        "CloudFront-Signature": b64encode(sign(data, KEY)),
        "CloudFront-Key-Pair-Id": KEY_ID,
    }


def flip(value: str) -> str:
    middle = len(value) // 2
    return value[:middle] + ("A" if value[middle] != "A" else "B") + value[middle + 1 :]


def error_code(body: bytes) -> str | None:
    return ET.fromstring(body).findtext("Code")


# ---------------------------------------------------------------- behaviours from the real template
@pytest.mark.parametrize(
    ("path", "pattern", "origin", "signed"),
    [
        ("/courses/c/assets/site-1.css", "courses/*/assets/*", OriginKind.BUCKET, False),
        ("/courses/c/assets/player-1.js", "courses/*/assets/*", OriginKind.BUCKET, False),
        ("/courses/c/media/x/hls/master.m3u8", "*.m3u8", OriginKind.BUCKET, True),
        ("/courses/c/media/x/hls/360p/seg-0.ts", "*.ts", OriginKind.BUCKET, True),
        ("/courses/c/media/x/thumbs/sprite.vtt", "*.vtt", OriginKind.BUCKET, True),
        ("/courses/c/lessons/x.html", "*.html", OriginKind.BUCKET, True),
        ("/courses/c/index.html", "*.html", OriginKind.BUCKET, True),
        ("/courses/c/images/pic.png", "*.png", OriginKind.BUCKET, True),
        ("/auth/courses/c/session", "/auth/*", OriginKind.SESSION, False),
        ("/catalog/courses", "/catalog/*", OriginKind.CATALOG, False),
        ("/courses/c/README", "*", OriginKind.BUCKET, True),  # the default behaviour is signed
        ("/courses/c/lessons/x.HTML", "*", OriginKind.BUCKET, True),  # patterns are case-sensitive
        ("/authors", "*", OriginKind.BUCKET, True),  # "/auth/*" needs the slash
    ],
)
def test_behaviours_match_in_template_order(
    path: str, pattern: str, origin: OriginKind, signed: bool
) -> None:
    behaviour = EdgeConfig.from_template(TEMPLATE).behaviour_for(path)
    assert (behaviour.path_pattern, behaviour.origin, behaviour.signed) == (pattern, origin, signed)


def test_behaviour_settings_come_from_the_cache_policies() -> None:
    config = EdgeConfig.from_template(TEMPLATE)
    playlist = config.behaviour_for(MASTER)
    segment = config.behaviour_for(SEGMENT)
    auth = config.behaviour_for("/auth/x")
    assert playlist.compress and not segment.compress
    assert playlist.cache_policy is not None and segment.cache_policy is not None
    assert playlist.cache_policy.max_ttl is not None and segment.cache_policy.min_ttl is not None
    assert playlist.cache_policy.max_ttl <= 60 < segment.cache_policy.default_ttl  # type: ignore[operator]
    assert playlist.allowed_methods == {"GET", "HEAD"}
    assert auth.cache_policy is not None and auth.cache_policy.max_ttl == 0  # CachingDisabled
    assert "POST" in auth.allowed_methods and auth.copy_host_to  # the viewer-host function, emulated
    assert config.default.signed and config.default.path_pattern == "*"


# ---------------------------------------------------------------- forged, expired, wrong-path cookies
@dataclass(frozen=True)
class Forgery:
    name: str
    cookies: Callable[[Served], dict[str, str]]
    code: str
    query: Callable[[Served], str] | None = None


FORGERIES = [
    Forgery("no cookies", lambda s: {}, "MissingKey"),
    Forgery("unknown key id", lambda s: jar(policy(s), key=STRANGER, key_id=STRANGER_ID), "InvalidKey"),
    Forgery(
        "garbled policy",
        lambda s: {**jar(policy(s)), "CloudFront-Policy": "eyJ!!garbled*"},
        "MalformedPolicy",
    ),
    Forgery(
        "two statements, validly signed",
        lambda s: raw_jar({"Statement": [json.loads(policy(s).to_json())["Statement"][0]] * 2}),
        "MalformedPolicy",
    ),
    Forgery(
        "tampered signature",
        lambda s: {**jar(policy(s)), "CloudFront-Signature": flip(jar(policy(s))["CloudFront-Signature"])},
        "AccessDenied",
    ),
    Forgery("expired", lambda s: jar(policy(s, expires=int(time.time()) - 5)), "AccessDenied"),
    Forgery(
        "not yet valid",
        lambda s: jar(policy(s, not_before=int(time.time()) + 600, expires=int(time.time()) + 3600)),
        "AccessDenied",
    ),
    Forgery("another course's cookies", lambda s: jar(policy(s, OTHER)), "AccessDenied"),
    Forgery("cookies for https on the http edge", lambda s: jar(policy(s, scheme="https")), "AccessDenied"),
    Forgery(
        "an IP range without 127.0.0.1", lambda s: jar(policy(s, source_ip="203.0.113.0/24")), "AccessDenied"
    ),
    Forgery(
        "signed-URL parameters override valid cookies",
        lambda s: jar(policy(s)),
        "AccessDenied",
        query=lambda s: "Policy={}&Signature={}&Key-Pair-Id={}".format(
            quote(jar(policy(s))["CloudFront-Policy"]), flip(jar(policy(s))["CloudFront-Signature"]), KEY_ID
        ),
    ),
]


@pytest.mark.parametrize("path", [MASTER, SEGMENT, LESSON, INDEX])
@pytest.mark.parametrize("forgery", FORGERIES, ids=lambda f: f.name)
def test_forged_cookies_get_cloudfronts_403_and_never_the_file(
    served: Served, forgery: Forgery, path: str
) -> None:
    target = path + (f"?{forgery.query(served)}" if forgery.query else "")
    status, headers, body = request(served, target, cookies=forgery.cookies(served))
    assert status == 403, (forgery.name, body)
    assert headers["Content-Type"] == "text/xml"
    assert error_code(body) == forgery.code
    assert FILES[path] not in body and b"#EXTM3U" not in body
    assert headers["X-Cache"].startswith("Error from")
    assert headers["X-Content-Type-Options"] == "nosniff"  # the response headers policy, on errors too


def test_the_edge_log_says_why_it_refused(served: Served) -> None:
    request(served, MASTER, cookies=jar(policy(served, expires=int(time.time()) - 5)))
    assert any(line.startswith(f"GET {MASTER} -> 403 [*.m3u8] expired at") for line in served.log)


# ---------------------------------------------------------------- what valid cookies get
@pytest.mark.parametrize(
    ("path", "content_type", "cache_control"),
    [
        (MASTER, "application/vnd.apple.mpegurl", SHORT),
        (SEGMENT, "video/mp2t", IMMUTABLE),
        (LESSON, "text/html; charset=utf-8", SHORT),
        (INDEX, "text/html; charset=utf-8", SHORT),
    ],
)
def test_valid_cookies_get_the_file(served: Served, path: str, content_type: str, cache_control: str) -> None:
    status, headers, body = request(served, path, cookies=jar(policy(served)))
    assert status == 200
    assert body == FILES[path]
    assert headers["Content-Type"] == content_type
    assert headers["Cache-Control"] == cache_control
    assert headers["Content-Encoding"] is None
    assert headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_cookie_header_as_ffmpeg_sends_it_and_a_query_string_pass(served: Served) -> None:
    header = cookie_header(sign_policy(policy(served), KEY, KEY_ID))
    status, _, body = request(served, f"{MASTER}?v=2", headers={"Cookie": header})
    assert (status, body) == (200, PLAYLIST)


def test_a_valid_signed_url_without_cookies_passes(served: Served) -> None:
    url = f"http://{served.domain}{SEGMENT}"
    signer = CloudFrontSigner(KEY_ID, lambda message: sign(message, KEY))
    signed = signer.generate_presigned_url(url, policy=policy(served).to_json())
    status, _, body = request(served, signed.removeprefix(f"http://{served.domain}"))
    assert (status, body) == (200, SEGMENT_BYTES)


def test_public_site_assets_need_no_cookies(served: Served) -> None:
    status, headers, body = request(served, CSS)
    assert (status, body) == (200, FILES[CSS])
    assert headers["Content-Type"] == "text/css; charset=utf-8"
    assert headers["Cache-Control"] == IMMUTABLE
    assert headers["X-Edge-Behavior"] == "courses/*/assets/*"


def test_playlists_are_gzipped_for_clients_that_take_it(served: Served) -> None:
    status, headers, body = request(
        served, MASTER, cookies=jar(policy(served)), headers={"Accept-Encoding": "br;q=1.0, gzip;q=0.8"}
    )
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in headers["Vary"]
    assert headers["ETag"].startswith('W/"')  # CloudFront weakens a strong ETag when it compresses
    assert len(body) < len(PLAYLIST) and gzip.decompress(body) == PLAYLIST
    status, headers, body = request(served, MASTER, cookies=jar(policy(served)))
    assert headers["Content-Encoding"] is None and body == PLAYLIST  # not without Accept-Encoding


def test_segments_are_never_gzipped(served: Served) -> None:
    status, headers, body = request(
        served, SEGMENT, cookies=jar(policy(served)), headers={"Accept-Encoding": "gzip"}
    )
    assert (status, body) == (200, SEGMENT_BYTES)
    assert headers["Content-Encoding"] is None


def test_small_files_are_not_gzipped(served: Served) -> None:
    _, headers, body = request(
        served, LESSON, cookies=jar(policy(served)), headers={"Accept-Encoding": "gzip"}
    )
    assert headers["Content-Encoding"] is None and body == FILES[LESSON]  # under 1,000 bytes


def test_a_range_of_a_segment_with_cookies(served: Served) -> None:
    status, headers, body = request(
        served,
        SEGMENT,
        cookies=jar(policy(served)),
        headers={"Range": "bytes=100-299", "Accept-Encoding": "gzip"},
    )
    assert status == 206
    assert headers["Content-Range"] == f"bytes 100-299/{len(SEGMENT_BYTES)}"
    assert body == SEGMENT_BYTES[100:300]
    status, _, body = request(served, SEGMENT, headers={"Range": "bytes=0-99"})
    assert status == 403 and error_code(body) == "MissingKey"  # a range is no way around the check


def test_conditional_request_gets_304(served: Served) -> None:
    _, headers, _ = request(served, SEGMENT, cookies=jar(policy(served)))
    status, _, body = request(
        served, SEGMENT, cookies=jar(policy(served)), headers={"If-None-Match": headers["ETag"]}
    )
    assert (status, body) == (304, b"")


@pytest.mark.parametrize(
    "path",
    [
        f"/courses/{COURSE}/../{OTHER}/index.html",
        f"/courses/{COURSE}/%2e%2e/{OTHER}/index.html",
        f"/courses/{COURSE}/assets/../../{OTHER}/index.html",  # through the public behaviour
        f"/courses/{COURSE}/assets/%2E%2E/%2E%2E/{OTHER}/index.html",
        f"/courses/{COURSE}/./index.html",
    ],
)
def test_path_traversal_is_refused(served: Served, path: str) -> None:
    status, _, body = request(served, path, cookies=jar(policy(served)))
    assert status in (400, 403)
    assert FILES[OTHER_INDEX] not in body and FILES[INDEX] not in body


def test_missing_objects_and_directories(served: Served) -> None:
    status, _, _ = request(served, f"/courses/{COURSE}/lessons/nope.html", cookies=jar(policy(served)))
    assert status == 404
    status, _, _ = request(served, f"/courses/{COURSE}/", cookies=jar(policy(served)))
    assert status == 404  # no index documents on the distribution


def test_methods_the_behaviour_does_not_allow_get_403(served: Served) -> None:
    for method in ("POST", "DELETE", "PUT"):
        status, _, body = request(served, MASTER, method=method, cookies=jar(policy(served)))
        assert status == 403 and b"not configured to allow the HTTP request method" in body
    status, headers, body = request(served, MASTER, method="HEAD", cookies=jar(policy(served)))
    assert (status, body, headers["Content-Length"]) == (200, b"", str(len(PLAYLIST)))


def test_api_behaviours_reach_the_routes_given(served: Served) -> None:
    status, headers, body = request(served, "/auth/courses/edge-1/session", method="POST")
    assert status == 200 and json.loads(body) == {"path": "/auth/courses/edge-1/session"}
    assert served.session_calls[-1].header("x-viewer-host") == served.domain  # the viewer-host function
    assert headers["X-Frame-Options"] == "DENY"  # SessionResponseHeadersPolicy
    status, headers, body = request(served, "/catalog/courses")
    assert status == 404 and json.loads(body) == {"message": "Not Found"}  # no catalog route given
    assert headers["Access-Control-Allow-Origin"] is None  # CORS only answers an Origin


def test_cors_for_the_origins_the_template_parameter_allows(site: Path) -> None:
    config = EdgeConfig.from_template(TEMPLATE, parameters={"CorsAllowedOrigins": "http://127.0.0.1:5173"})
    edge = Edge(config, bucket=directory_origin(site), key_group={KEY_ID: public_key_pem(KEY.public_key())})

    def ask(origin: str) -> Reply:
        return edge(
            Request("GET", CSS, "", [("Host", "h"), ("Origin", origin)], b"", ("127.0.0.1", 1), ("h", 1))
        )

    allowed = ask("http://127.0.0.1:5173")
    assert allowed.header("Access-Control-Allow-Origin") == "http://127.0.0.1:5173"
    assert allowed.header("Access-Control-Allow-Credentials") == "true"
    assert ask("http://evil.example").header("Access-Control-Allow-Origin") is None


def test_the_live_publish_bucket_as_origin() -> None:
    with mock_aws():
        s3: Any = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="publish")
        for path in (MASTER, SEGMENT):
            key = path.lstrip("/")
            s3.put_object(
                Bucket="publish", Key=key, Body=FILES[path], ContentType=content_type_for(key),
                CacheControl=cache_control_for(key),
            )  # fmt: skip
        edge = Edge(
            EdgeConfig.from_template(TEMPLATE),
            bucket=bucket_origin(lambda: boto3.client("s3", region_name="us-east-1"), "publish"),
            key_group={KEY_ID: public_key_pem(KEY.public_key())},
        )
        with HttpFront("127.0.0.1", 0, routes=edge.routes()) as front:
            bucket = Served(front, [], [])
            status, headers, body = request(
                bucket, MASTER, cookies=jar(policy(bucket)), headers={"Accept-Encoding": "gzip"}
            )
            assert status == 200 and gzip.decompress(body) == PLAYLIST
            assert headers["Cache-Control"] == SHORT
            status, headers, body = request(bucket, SEGMENT, cookies=jar(policy(bucket)))
            assert (status, body, headers["Content-Type"]) == (200, SEGMENT_BYTES, "video/mp2t")
            status, _, body = request(bucket, SEGMENT)
            assert status == 403 and error_code(body) == "MissingKey"
            status, _, _ = request(bucket, f"/courses/{COURSE}/", cookies=jar(policy(bucket)))
            assert status == 404


@pytest.mark.parametrize(
    ("header", "takes"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br", False),
        ("gzip;q=0", False),
        ("*", True),
        ("", False),
    ],
)
def test_accept_encoding(header: str, takes: bool) -> None:
    assert accepts_gzip(header) is takes


# ---------------------------------------------------------------- the serve command
def test_serve_command_serves_until_sigterm(site: Path, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    code = (
        "import argparse, sys\n"
        "from pipeline.cli import edge\n"
        "from pipeline.cli.registry import Registry\n"
        "registry = Registry(); edge.register(registry)\n"
        "parser = argparse.ArgumentParser(); registry.attach(parser)\n"
        "sys.exit(registry.dispatch(parser.parse_args(sys.argv[1:])))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve", str(site), "--port", "0", "--keys", str(keys), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert set(info) == {"url", "port", "keyId", "keysDir", "dir", "template"}
        assert (keys / "private_key.pem").stat().st_mode & 0o777 == 0o600  # generated on first use
        from pipeline.access.signing import load_private_key

        private = load_private_key((keys / "private_key.pem").read_bytes())
        assert key_id_for(private.public_key()) == info["keyId"]
        signed = sign_policy(
            course_policy(f"127.0.0.1:{info['port']}", COURSE, expires=int(time.time()) + 60, scheme="http"),
            private,
            info["keyId"],
        )
        conn = http.client.HTTPConnection("127.0.0.1", info["port"], timeout=10)
        conn.request("GET", MASTER, headers={"Cookie": cookie_header(signed)})
        assert conn.getresponse().read() == PLAYLIST
        conn.request("GET", MASTER)
        response = conn.getresponse()
        assert response.status == 403 and error_code(response.read()) == "MissingKey"
        conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0, stderr
    assert "stopped" in stderr


def test_a_host_header_cannot_move_the_checked_path(served: Served) -> None:
    """Cookies for one course, a request for another, and a Host with a path in it: the URL the policy is
    checked against must be the URL served (else the other course's file would pass as this course's)."""
    host = f"{served.domain}/courses/{COURSE}/x"
    status, _, body = request(served, OTHER_INDEX, cookies=jar(policy(served)), headers={"Host": host})
    assert status == 400 and b"secret of the other course" not in body
    status, _, body = request(served, OTHER_INDEX, cookies=jar(policy(served)))
    assert status == 403 and b"secret of the other course" not in body
