"""Downloads through the real state machine on moto with real ffmpeg: a course that allows them gets a
faststart MP4 (H.264 + AAC, the source's length) and an M4A of its lecture, served as attachments behind
the signed cookies and linked from the lesson page; a course that does not gets neither. A course.yaml
that changes them applies to the lectures already published, in its own execution (no re-encode, no
re-upload): turned on, the files are made from the published HLS and linked; turned off, they go."""

from __future__ import annotations

import struct
import subprocess
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

from pipeline.access.cookies import cookie_header
from pipeline.access.keypair import generate_private_key, key_id_for, public_key_pem
from pipeline.access.policy import course_policy
from pipeline.access.signing import sign_policy
from pipeline.catalog.dynamo import DynamoCatalog
from pipeline.keys import asset_id_for
from pipeline.local.edge import Edge
from pipeline.local.edge_config import EdgeConfig
from pipeline.local.front import HttpFront
from pipeline.local.origins import bucket_origin
from pipeline.local.runtime import LocalRuntime
from pipeline.local.samples import make_lecture_clip
from tests.e2e.test_video_pipeline import REPO, published

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = [pytest.mark.slow, pytest.mark.ffmpeg]
COURSE = "downloads-e2e"
VIDEO_PATH = "media/Leçon 1.mp4"
VIDEO = f"courses/{COURSE}/{VIDEO_PATH}"
LESSON = f"courses/{COURSE}/lessons/intro.md"
SECONDS = 12.0
KEY = generate_private_key()
KEY_ID = key_id_for(KEY.public_key())


def manifest(flag: str, course: str = COURSE) -> bytes:
    return (
        f"id: {course}\ntitle: Downloads\n{flag}sections:\n  - title: All\n    lessons:\n"
        f"      - {{id: intro, file: lessons/intro.md, video: '{VIDEO_PATH}'}}\n"
    ).encode()


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    params = {"LogLevel": "ERROR", "EncodeChunkSeconds": "6"}
    with LocalRuntime(REPO / "template.yaml", parameters=params) as rt:
        yield rt


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_lecture_clip(
        tmp_path_factory.mktemp("dl") / "lecture.mp4", seconds=SECONDS, width=1280, height=720
    )


def settle(runtime: LocalRuntime) -> list[dict[str, Any]]:
    runtime.pump()
    sfn = runtime.client("stepfunctions")
    arns = [
        str(e["executionArn"])
        for e in sfn.list_executions(stateMachineArn=runtime.state_machine_arn)["executions"]
    ]
    done = runtime.wait_for(arns, timeout_s=240)
    return sorted(done.values(), key=lambda d: d["startDate"])


def upload(runtime: LocalRuntime, key: str, body: bytes | Path) -> dict[str, Any]:
    runtime.upload(key, body)
    latest = settle(runtime)[-1]
    assert latest["status"] == "SUCCEEDED", latest
    return latest


def entered(runtime: LocalRuntime, execution: dict[str, Any]) -> list[str]:
    history = runtime.history(str(execution["executionArn"]))
    return [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]


def video_item(runtime: LocalRuntime, course: str = COURSE) -> dict[str, Any]:
    catalog = DynamoCatalog(runtime.client("dynamodb"), runtime.catalog_table)
    item = catalog.get_asset(course, asset_id_for(VIDEO_PATH))
    assert item is not None
    return item


def lesson_page(runtime: LocalRuntime, course: str = COURSE) -> str:
    key = f"courses/{course}/lessons/{asset_id_for('lessons/intro.md')}.html"
    body: bytes = runtime.client("s3").get_object(Bucket=runtime.publish_bucket, Key=key)["Body"].read()
    return body.decode()


def top_level_boxes(data: bytes) -> list[str]:
    boxes, at = [], 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        if size == 1:
            (size,) = struct.unpack(">Q", data[at + 8 : at + 16])
        boxes.append(kind.decode("latin-1"))
        if size == 0:
            break
        at += size
    return boxes


def ffprobe(path: Path, entries: str) -> str:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", entries, "-of", "csv=p=0", str(path)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return out.stdout.strip()


def test_downloads_are_published_served_as_attachments_and_linked(
    runtime: LocalRuntime, clip: Path, tmp_path: Path
) -> None:
    upload(runtime, f"courses/{COURSE}/course.yaml", manifest("downloads: true\n"))
    upload(runtime, LESSON, b"# Intro\n\nThe lecture, and its files under it.\n")
    run = upload(runtime, VIDEO, clip)
    states = entered(runtime, run)
    assert states.index("PackageHls") < states.index("MakeDownloads") < states.index("RecordAsset")

    item = video_item(runtime)
    found = item["details"]["downloads"]
    aid = asset_id_for(VIDEO_PATH)
    folder = f"courses/{COURSE}/media/{aid}/downloads/"
    assert found["mp4"]["key"] == folder + "Leçon 1.mp4" and found["m4a"]["key"] == folder + "Leçon 1.m4a"
    assert (found["mp4"]["width"], found["mp4"]["height"]) == (1280, 720)
    assert sorted(published(runtime, folder)) == [folder + "Leçon 1.m4a", folder + "Leçon 1.mp4"]
    assert item["outputs"][0].endswith("/hls/master.m3u8") and folder + "Leçon 1.mp4" in item["outputs"]

    s3 = runtime.client("s3")
    for kind, content_type in (("mp4", "video/mp4"), ("m4a", "audio/mp4")):
        head = s3.head_object(Bucket=runtime.publish_bucket, Key=found[kind]["key"])
        assert head["ContentType"] == content_type and head["ContentLength"] == found[kind]["bytes"]
        assert head["ContentDisposition"] == (
            f"attachment; filename=\"Lecon 1.{kind}\"; filename*=UTF-8''Le%C3%A7on%201.{kind}"
        )

    # The MP4 plays: H.264 + AAC, the source's length, its index before the media (faststart).
    mp4, m4a = tmp_path / "lecture.mp4", tmp_path / "lecture.m4a"
    s3.download_file(runtime.publish_bucket, found["mp4"]["key"], str(mp4))
    s3.download_file(runtime.publish_bucket, found["m4a"]["key"], str(m4a))
    assert ffprobe(mp4, "stream=codec_name").split() == ["h264", "aac"]
    source_s = float(ffprobe(clip, "format=duration"))
    assert abs(float(ffprobe(mp4, "format=duration")) - source_s) < 0.2
    boxes = top_level_boxes(mp4.read_bytes())
    assert boxes.index("moov") < boxes.index("mdat"), boxes
    assert ffprobe(m4a, "stream=codec_name") == "aac"
    assert abs(float(ffprobe(m4a, "format=duration")) - source_s) < 0.2

    # The lesson page links both, relative to the page, with their sizes.
    page = lesson_page(runtime)
    href = f"../media/{aid}/downloads/{quote('Leçon 1', safe='')}"
    mb = f"{found['mp4']['bytes'] / 1e6:.1f} MB"
    assert f'<a href="{href}.mp4" download>Video (MP4, 720p, {mb})</a>' in page
    assert f'<a href="{href}.m4a" download>Audio (M4A, ' in page and 'class="cp-downloads"' in page

    # Through the edge (the template's behaviours over the publish bucket): signed cookies or 403.
    edge = Edge(
        EdgeConfig.from_template(REPO / "template.yaml"),
        bucket=bucket_origin(lambda: runtime.client("s3"), runtime.publish_bucket),
        key_group={KEY_ID: public_key_pem(KEY.public_key()).decode()},
    )
    with HttpFront("127.0.0.1", 0, routes=edge.routes()) as front:
        domain = f"127.0.0.1:{front.port}"
        url = f"http://{domain}/{quote(found['mp4']['key'])}"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=10)
        assert refused.value.code == 403
        policy = course_policy(domain, COURSE, expires=int(time.time()) + 600, scheme="http")
        cookies = cookie_header(sign_policy(policy, KEY, KEY_ID))
        request = urllib.request.Request(url, headers={"Cookie": cookies})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["Content-Disposition"].startswith('attachment; filename="Lecon 1.mp4"')
            assert response.headers["Cache-Control"] == "public, max-age=60"
            assert response.read() == mp4.read_bytes()


def test_with_downloads_off_nothing_is_published_and_earlier_files_go(
    runtime: LocalRuntime, clip: Path
) -> None:
    folder = f"courses/{COURSE}/media/{asset_id_for(VIDEO_PATH)}/downloads/"
    assert published(runtime, folder), "the previous test published downloads"
    run = upload(runtime, f"courses/{COURSE}/course.yaml", manifest(""))
    assert "ApplyDownloads" in entered(runtime, run)  # the lecture published before it: files go now
    assert published(runtime, folder) == []
    assert "downloads" not in video_item(runtime)["details"]
    assert 'class="cp-downloads"' not in lesson_page(runtime)

    upload(runtime, VIDEO, clip.read_bytes())  # the same lecture again: a new version
    assert published(runtime, folder) == []
    assert "downloads" not in video_item(runtime)["details"]
    assert 'class="cp-downloads"' not in lesson_page(runtime)


LATER = "downloads-later"


def test_a_course_yaml_turning_downloads_on_then_off_applies_to_a_published_lecture(
    runtime: LocalRuntime, clip: Path, tmp_path: Path
) -> None:
    """The author publishes the course and its lecture without downloads, then allows them: the
    manifest's execution makes the lecture's files from what is published (the encode is not run
    again, the source not read), the catalog item lists them, the lesson links them. Then forbids them:
    they go, and so do the links."""
    upload(runtime, f"courses/{LATER}/course.yaml", manifest("", LATER))
    upload(runtime, f"courses/{LATER}/lessons/intro.md", b"# Intro\n\nThe lecture.\n")
    upload(runtime, f"courses/{LATER}/{VIDEO_PATH}", clip)
    before = video_item(runtime, LATER)
    aid = asset_id_for(VIDEO_PATH)
    folder = f"courses/{LATER}/media/{aid}/downloads/"
    hls = published(runtime, f"courses/{LATER}/media/{aid}/hls/")
    assert "downloads" not in before["details"] and published(runtime, folder) == []

    run = upload(runtime, f"courses/{LATER}/course.yaml", manifest("downloads: true\n", LATER))
    states = entered(runtime, run)
    assert (
        states.index("BuildCourse") < states.index("ApplyDownloadsSetting") < states.index("ApplyDownloads")
    )
    assert states.index("ApplyDownloads") < states.index("RecordAsset")
    assert not {"ProbeMedia", "EncodeChunk", "PackageHls", "MakeDownloads"} & set(states)

    item = video_item(runtime, LATER)
    found = item["details"]["downloads"]
    mp4_key, m4a_key = folder + "Leçon 1.mp4", folder + "Leçon 1.m4a"
    assert (found["mp4"]["key"], found["m4a"]["key"]) == (mp4_key, m4a_key)
    assert (found["mp4"]["width"], found["mp4"]["height"]) == (1280, 720)
    assert sorted(published(runtime, folder)) == [m4a_key, mp4_key]
    # The same version, its HLS untouched; the item's other details as its own run wrote them.
    assert (
        item["sourceVersion"] == before["sourceVersion"]
        and item["details"]["hls"] == before["details"]["hls"]
    )
    assert published(runtime, f"courses/{LATER}/media/{aid}/hls/") == hls
    assert item["outputs"][0].endswith("/hls/master.m3u8") and {mp4_key, m4a_key} <= set(item["outputs"])

    s3 = runtime.client("s3")
    head = s3.head_object(Bucket=runtime.publish_bucket, Key=mp4_key)
    assert head["ContentType"] == "video/mp4" and head["ContentLength"] == found["mp4"]["bytes"]
    assert head["ContentDisposition"].startswith('attachment; filename="Lecon 1.mp4"')
    mp4 = tmp_path / "lecture.mp4"
    s3.download_file(runtime.publish_bucket, mp4_key, str(mp4))
    assert ffprobe(mp4, "stream=codec_name").split() == ["h264", "aac"]
    assert abs(float(ffprobe(mp4, "format=duration")) - float(ffprobe(clip, "format=duration"))) < 0.2
    boxes = top_level_boxes(mp4.read_bytes())
    assert boxes.index("moov") < boxes.index("mdat"), boxes

    page = lesson_page(runtime, LATER)
    href = f"../media/{aid}/downloads/{quote('Leçon 1', safe='')}"
    assert f'<a href="{href}.mp4" download>Video (MP4, 720p, ' in page
    assert f'<a href="{href}.m4a" download>Audio (M4A, ' in page

    run = upload(runtime, f"courses/{LATER}/course.yaml", manifest("downloads: false\n", LATER))
    assert "ApplyDownloads" in entered(runtime, run)
    assert published(runtime, folder) == []
    item = video_item(runtime, LATER)
    assert "downloads" not in item["details"] and not any("/downloads/" in o for o in item["outputs"])
    assert 'class="cp-downloads"' not in lesson_page(runtime, LATER)

    # Nothing to change: the Map runs on an empty list.
    run = upload(runtime, f"courses/{LATER}/course.yaml", manifest("downloads: false\n# again\n", LATER))
    states = entered(runtime, run)
    assert "ApplyDownloadsSetting" in states and "ApplyDownloads" not in states
