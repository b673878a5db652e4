"""A video through the real state machine on moto: PlanEncode fans out a Map of EncodeChunk tasks,
EncodeAudio and MakeThumbnails run beside it, PackageHls writes the playlists; the catalog records it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import m3u8
import pytest

from pipeline.catalog.dynamo import DynamoCatalog
from pipeline.local.runtime import LocalRuntime
from pipeline.local.samples import make_lecture_clip

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
COURSE = "video-e2e"


@pytest.fixture
def chunky() -> Iterator[LocalRuntime]:
    """The template's own stack, with 6 s chunks so a 20 s clip needs three EncodeChunk tasks."""
    params = {"LogLevel": "ERROR", "EncodeChunkSeconds": "6", "EncodeMaxConcurrency": "2"}
    with LocalRuntime(REPO / "template.yaml", parameters=params) as rt:
        yield rt


@pytest.fixture(scope="module")
def lecture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_lecture_clip(
        tmp_path_factory.mktemp("e2e") / "lecture.mp4", seconds=20, width=640, height=360
    )


def run(runtime: LocalRuntime, key: str, body: bytes | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    runtime.upload(key, body)
    runtime.pump()
    arns = [
        str(e["executionArn"])
        for e in runtime.client("stepfunctions").list_executions(stateMachineArn=runtime.state_machine_arn)[
            "executions"
        ]
    ]
    done = runtime.wait_for(arns, timeout_s=180)
    latest = max(done.values(), key=lambda d: d["startDate"])
    return latest, runtime.history(str(latest["executionArn"]))


def published(runtime: LocalRuntime, prefix: str) -> list[str]:
    s3 = runtime.client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=runtime.publish_bucket, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def download(runtime: LocalRuntime, keys: list[str], root: Path) -> None:
    for key in keys:
        target = root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        runtime.client("s3").download_file(runtime.publish_bucket, key, str(target))


def test_chunked_encode_through_the_state_machine(
    chunky: LocalRuntime, lecture: Path, tmp_path: Path
) -> None:
    described, history = run(chunky, f"courses/{COURSE}/week 1/lecture.mp4", lecture)
    assert described["status"] == "SUCCEEDED", described
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    assert entered.count("EncodeChunk") == 3
    for state in ("PlanEncode", "Transcode", "EncodeAudio", "MakeThumbnails", "PackageHls", "RecordAsset"):
        assert state in entered
    # Small payloads: no state carries segment listings (Step Functions caps a state at 256 KB).
    for event in history:
        for details in event.values():
            payload = details.get("input") or details.get("output") if isinstance(details, dict) else None
            if isinstance(payload, str):
                assert len(payload) < 16_000

    item = next(
        i for i in DynamoCatalog(chunky.client("dynamodb"), chunky.catalog_table).course_items(COURSE)
    )
    assert item["status"] == "PUBLISHED"
    probe, hls = item["details"]["probe"], item["details"]["hls"]
    assert (probe["width"], probe["height"], probe["audio_channels"]) == (640, 360, 1)  # a mono source
    assert 19.5 < probe["duration_s"] < 20.5 and probe["fps"] == 30
    assert hls["chunks"] == 3 and [r["name"] for r in hls["renditions"]] == ["360p", "234p"]
    sprites = item["details"]["sprites"]
    assert sprites["tiles"] == 2 and sprites["vtt"].endswith("thumbs/sprite.vtt")
    assert item["outputs"][0] == hls["master"]

    prefix = f"courses/{COURSE}/"
    keys = published(chunky, prefix)
    assert not published(chunky, "work/")  # intermediates gone
    download(chunky, keys, tmp_path)
    master = tmp_path / hls["master"]
    playlist = m3u8.load(str(master.parent / "360p/index.m3u8"))
    assert [s.duration for s in playlist.segments] == [6.0, 6.0, 6.0, 2.0]
    referenced = {hls["master"]}
    for rel in (
        "360p/index.m3u8",
        "234p/index.m3u8",
        "audio/0/index.m3u8",
        "iframes/360p.m3u8",
        "iframes/234p.m3u8",
    ):
        path = master.parent / rel
        referenced.add(str(path.relative_to(tmp_path)))
        for seg in m3u8.load(str(path)).segments:
            referenced.add(str((path.parent / seg.uri).resolve().relative_to(tmp_path.resolve())))
    hls_keys = {k for k in keys if "/hls/" in k}
    assert hls_keys == referenced  # nothing published that no playlist references
    decode = subprocess.run(
        ["ffmpeg", "-v", "error", "-xerror", "-i", str(master), "-map", "0:v", "-map", "0:a",
         "-f", "null", "-"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert decode.returncode == 0 and not decode.stderr.strip(), decode.stderr


def test_reupload_replaces_segments_and_prunes_the_old_version(runtime: LocalRuntime, clip: Path) -> None:
    key = f"courses/{COURSE}/intro.mp4"
    first, _ = run(runtime, key, clip)
    assert first["status"] == "SUCCEEDED"
    old = {k for k in published(runtime, f"courses/{COURSE}/") if k.endswith(".ts")}
    second, _ = run(runtime, key, clip.read_bytes() + b"")  # a new object version of the same path
    assert second["status"] == "SUCCEEDED"
    new = {k for k in published(runtime, f"courses/{COURSE}/") if k.endswith(".ts")}
    assert new and old and not (old & new)  # new names (generation), old ones pruned


def test_audio_only_lecture_through_the_pipeline(runtime: LocalRuntime, tmp_path: Path) -> None:
    talk = tmp_path / "talk.m4a"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=300:sample_rate=44100:duration=7",
         "-c:a", "aac", str(talk)],
        check=True,
    )  # fmt: skip
    described, history = run(runtime, f"courses/{COURSE}/podcast/talk.m4a", talk)
    assert described["status"] == "SUCCEEDED", described
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    assert "EncodeChunk" not in entered  # no video: the Map has no items
    item = next(
        i for i in DynamoCatalog(runtime.client("dynamodb"), runtime.catalog_table).course_items(COURSE)
    )
    assert item["kind"] == "audio" and item["status"] == "PUBLISHED"
    assert item["details"].get("sprites") is None
    assert [r["name"] for r in item["details"]["hls"]["renditions"]] == ["audio"]
    assert any(k.endswith("poster-1280.jpg") for k in item["outputs"])  # the waveform card


def test_corrupt_video_fails_alone_with_a_named_error(runtime: LocalRuntime, clip: Path) -> None:
    data = clip.read_bytes()
    described, _ = run(runtime, f"courses/{COURSE}/broken.mp4", data[: len(data) // 3])
    assert described["status"] == "FAILED"
    assert described["error"] == "InvalidMediaError"
    item = next(
        i for i in DynamoCatalog(runtime.client("dynamodb"), runtime.catalog_table).course_items(COURSE)
    )
    assert item["status"] == "FAILED" and "broken.mp4" in item["error"]["message"]
    assert not published(runtime, "work/") and not published(runtime, f"courses/{COURSE}/media/")
    assert json.loads(json.dumps(item["error"]))["name"] == "InvalidMediaError"


def test_a_chunk_that_fails_fails_the_asset_and_leaves_nothing(
    chunky: LocalRuntime, lecture: Path, tmp_path: Path
) -> None:
    # Index at the front (faststart), data cut at 40%: the probe sees 20 s, the third chunk has nothing.
    faststart = tmp_path / "faststart.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(lecture),
            "-c",
            "copy",
            "-movflags",
            "+faststart",
            str(faststart),
        ],
        check=True,
    )
    data = faststart.read_bytes()
    described, history = run(chunky, f"courses/{COURSE}/cut.mp4", data[: int(len(data) * 0.4)])
    assert described["status"] == "FAILED" and described["error"] == "InvalidMediaError", described
    assert "cut.mp4" in described["cause"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    assert "EncodeChunk" in entered and "RecordFailure" in entered and "PackageHls" not in entered
    # Nothing published. (Chunks still running when another one fails finish and upload their staged
    # files afterwards: those stay under work/, which expires, never in the published tree.)
    assert not published(chunky, f"courses/{COURSE}/media/")
    item = next(
        i for i in DynamoCatalog(chunky.client("dynamodb"), chunky.catalog_table).course_items(COURSE)
    )
    assert item["status"] == "FAILED" and item["error"]["name"] == "InvalidMediaError"
