"""ffprobe and ffmpeg as HLS clients of a published course, through the local edge with signed cookies.

The course is published by the real pipeline (moto + ffmpeg, exported to a folder), served by the edge
with the template's behaviours, and read the way a learner's tools would: the master playlist, every
rendition playlist and every segment each carry the cookies (ffmpeg's HLS demuxer passes ``-headers``
and ``-cookies`` on to the playlist and segment requests it opens). Without valid cookies every client
gets CloudFront's 403.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import m3u8
import pytest

from pipeline.access.cookies import cookie_header, cookie_values, set_cookie_headers
from pipeline.access.keypair import generate_private_key, key_id_for, public_key_pem
from pipeline.access.policy import course_policy
from pipeline.access.signing import SignedPolicy, sign_policy
from pipeline.cli.uploads import collect_uploads
from pipeline.local.edge import Edge
from pipeline.local.edge_config import EdgeConfig
from pipeline.local.front import HttpFront
from pipeline.local.origins import directory_origin
from pipeline.local.run import run_uploads

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
COURSE, OTHER = "edge-video", "edge-other"
KEY = generate_private_key()
KEY_ID = key_id_for(KEY.public_key())


@dataclass
class Published:
    front: HttpFront
    site: Path
    master: str
    """URL path of the video's master playlist."""
    log: list[str]

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.front.port}"

    def url(self, path: str) -> str:
        return f"http://{self.domain}{path}"

    def signed(self, course: str = COURSE, *, expires_in: int = 600) -> SignedPolicy:
        policy = course_policy(self.domain, course, expires=int(time.time()) + expires_in, scheme="http")
        return sign_policy(policy, KEY, KEY_ID)

    def requests_since(self, mark: int) -> list[str]:
        return self.log[mark:]


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, clip: Path) -> Iterator[Published]:
    root = tmp_path_factory.mktemp("course")
    (root / "lessons").mkdir()
    (root / "media").mkdir()
    (root / "course.yaml").write_text(
        f"id: {COURSE}\ntitle: Edge video\nlang: en\nsections:\n  - title: All\n    lessons:\n"
        "      - {id: intro, file: lessons/intro.md, video: media/lecture.mp4}\n"
    )
    (root / "lessons" / "intro.md").write_text("# Intro\n\nWatch the lecture.\n")
    (root / "media" / "lecture.mp4").write_bytes(clip.read_bytes())
    out = tmp_path_factory.mktemp("out")
    report = run_uploads(collect_uploads([str(root)], COURSE), course_id=COURSE, out=out, log_level="ERROR")
    assert all(e["status"] == "SUCCEEDED" for e in report.executions), report.executions
    site = out / "site"
    (master,) = site.glob(f"courses/{COURSE}/media/*/hls/master.m3u8")
    log: list[str] = []
    edge = Edge(
        EdgeConfig.from_template(REPO / "template.yaml"),
        bucket=directory_origin(site),
        key_group={KEY_ID: public_key_pem(KEY.public_key()).decode()},
        log=log.append,
    )
    with HttpFront("127.0.0.1", 0, routes=edge.routes()) as front:
        yield Published(front, site, "/" + master.relative_to(site).as_posix(), log)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60, check=False)


def ffprobe_streams(url: str, *options: str) -> subprocess.CompletedProcess[str]:
    return run("ffprobe", "-v", "error", *options, "-show_streams", "-of", "json", url)


def served_signed(line: str) -> bool:
    return (" -> 200 " in line or " -> 206 " in line) and "signed cookies" in line


def cookie_option(signed: SignedPolicy) -> list[str]:
    # ffmpeg wants CRLF-terminated header lines (it warns and appends one otherwise).
    return ["-headers", f"Cookie: {cookie_header(signed)}\r\n"]


def test_ffprobe_reads_every_rendition_with_cookies(published: Published) -> None:
    playlist = m3u8.loads((published.site / published.master.lstrip("/")).read_text())
    rungs = {(p.stream_info.resolution, p.uri) for p in playlist.playlists}
    assert len(rungs) >= 2
    mark = len(published.log)

    result = ffprobe_streams(published.url(published.master), *cookie_option(published.signed()))

    assert result.returncode == 0, result.stderr
    streams = json.loads(result.stdout)["streams"]
    videos = {(s["width"], s["height"]) for s in streams if s["codec_type"] == "video"}
    assert videos == {resolution for resolution, _ in rungs}
    assert any(s["codec_type"] == "audio" and s["codec_name"] == "aac" for s in streams)
    # The cookies reached every playlist and segment request, and the edge let each one through (206:
    # ffmpeg asks for "Range: bytes=0-").
    requests = published.requests_since(mark)
    assert requests and all(served_signed(line) for line in requests), requests
    for _, uri in rungs:
        rendition = published.master.rsplit("/", 1)[0] + "/" + uri
        assert any(line.startswith(f"GET {rendition} ") for line in requests)
    assert any(".ts -> 20" in line and "[*.ts]" in line for line in requests)


def test_ffmpeg_decodes_a_rendition_with_cookies(published: Published) -> None:
    playlist = m3u8.loads((published.site / published.master.lstrip("/")).read_text())
    rendition = published.master.rsplit("/", 1)[0] + "/" + playlist.playlists[0].uri
    result = run(
        "ffmpeg", "-v", "error", "-nostdin", *cookie_option(published.signed()),
        "-i", published.url(rendition), "-f", "null", "-",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_ffmpeg_cookies_option_takes_the_set_cookie_lines(published: Published) -> None:
    # Host-only cookies (no Domain), as the session API sets them: ffmpeg applies them to the request's
    # host. A cookie whose Domain lacks the port is never sent: ffmpeg matches it against "host:port".
    signed = published.signed()
    lines = set_cookie_headers(signed, path=f"/courses/{COURSE}/", now=time.time())
    mark = len(published.log)
    result = ffprobe_streams(published.url(published.master), "-cookies", "\n".join(lines))
    assert result.returncode == 0, result.stderr
    assert all(served_signed(line) for line in published.requests_since(mark))


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("no cookies", "MissingKey"),
        ("expired policy", "AccessDenied"),
        ("another course's policy", "AccessDenied"),
        ("tampered signature", "AccessDenied"),
    ],
)
def test_clients_without_valid_cookies_get_403(published: Published, case: str, code: str) -> None:
    cookies: dict[str, str] = {}
    if case == "expired policy":
        cookies = cookie_values(published.signed(expires_in=-5))
    elif case == "another course's policy":
        cookies = cookie_values(published.signed(OTHER))
    elif case == "tampered signature":
        cookies = cookie_values(published.signed())
        signature = cookies["CloudFront-Signature"]
        cookies["CloudFront-Signature"] = (
            signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
        )
    header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    options = ["-headers", f"Cookie: {header}\r\n"] if header else []
    mark = len(published.log)

    result = ffprobe_streams(published.url(published.master), *options)

    assert result.returncode != 0
    assert "403" in result.stderr
    assert published.requests_since(mark)[0].startswith(f"GET {published.master} -> 403 [*.m3u8]")
    direct = urllib.request.Request(
        published.url(published.master), headers={"Cookie": header} if header else {}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(direct, timeout=10)
    assert refused.value.code == 403
    assert ET.fromstring(refused.value.read()).findtext("Code") == code


def test_a_segment_is_refused_on_its_own_too(published: Published) -> None:
    (segment,) = list(published.site.glob(f"courses/{COURSE}/media/*/hls/audio/0/*.ts"))[:1]
    url = published.url("/" + segment.relative_to(published.site).as_posix())
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=10)
    assert refused.value.code == 403
    allowed = urllib.request.Request(url, headers={"Cookie": cookie_header(published.signed())})
    with urllib.request.urlopen(allowed, timeout=10) as response:
        assert response.read() == segment.read_bytes()
