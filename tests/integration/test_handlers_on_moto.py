"""Each Lambda handler, invoked the way Lambda would, against moto resources built from template.yaml,
with real ffmpeg and Pillow on media generated at test time."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

import ffmpeg
from PIL import Image

from pipeline.catalog.dynamo import DynamoCatalog
from pipeline.catalog.model import SourceRef

if TYPE_CHECKING:
    from pathlib import Path

    from pipeline.local.runtime import LocalRuntime

COURSE = "handlers-1"


def put(runtime: LocalRuntime, path: str, data: bytes) -> dict[str, Any]:
    key = f"courses/{COURSE}/{path}"
    version = runtime.upload(key, data)
    return {
        "bucket": runtime.ingest_bucket,
        "key": key,
        "versionId": version,
        "etag": None,
        "size": len(data),
        "sequencer": "0A",
    }


def invoke(runtime: LocalRuntime, function: str, event: dict[str, Any]) -> tuple[Any, bool]:
    return runtime.lambdas.invoke(f"coursepipe-{function}", event)


def catalog(runtime: LocalRuntime) -> DynamoCatalog:
    return DynamoCatalog(runtime.client("dynamodb"), runtime.catalog_table)


def head(runtime: LocalRuntime, key: str) -> dict[str, Any]:
    resp: dict[str, Any] = runtime.client("s3").head_object(Bucket=runtime.publish_bucket, Key=key)
    return resp


def test_video_branch_handlers(runtime: LocalRuntime, clip: Path, tmp_path: Path) -> None:
    source = put(runtime, "media/Lecture 1 (final).mp4", clip.read_bytes())
    asset, failed = invoke(runtime, "Classify", {"source": source, "executionArn": "arn:x"})
    assert not failed, asset
    assert asset["kind"] == "video" and asset["courseId"] == COURSE
    item = catalog(runtime).course_items(COURSE)[0]
    assert item["status"] == "PROCESSING" and item["executionArn"] == "arn:x"

    probe, failed = invoke(runtime, "ProbeMedia", {"source": source, "asset": asset})
    assert not failed, probe
    assert probe["width"] == 640 and probe["height"] == 360 and 3.5 < probe["duration_s"] < 4.5

    plan, failed = invoke(runtime, "PlanEncode", {"source": source, "asset": asset, "probe": probe})
    assert not failed, plan
    assert [r[0] for r in plan["job"]["rungs"]] == ["360p", "234p"] and plan["chunks"] == [[0, 0, None]]
    assert len(json.dumps(plan)) < 2000  # travels in the state: compact
    work = plan["job"]["workPrefix"]

    chunk, failed = invoke(
        runtime,
        "EncodeChunk",
        {"source": source, "asset": asset, "job": plan["job"], "chunk": plan["chunks"][0]},
    )
    assert not failed, chunk
    assert chunk == {"chunk": 0, "firstSegment": 0, "segments": 1}
    audio, failed = invoke(
        runtime, "EncodeAudio", {"source": source, "asset": asset, "job": plan["job"], "track": 0}
    )
    assert not failed and audio["audio"], audio
    thumbs, failed = invoke(
        runtime, "MakeThumbnails", {"source": source, "asset": asset, "probe": probe, "job": plan["job"]}
    )
    assert not failed, thumbs
    s3 = runtime.client("s3")
    manifests = [o["Key"] for o in s3.list_objects_v2(Bucket=runtime.publish_bucket, Prefix=work)["Contents"]]
    assert sorted(manifests)[:2] == [f"{work}audio-0.json", f"{work}chunk-00000.json"]
    # Segments and thumbnails are staged under the work prefix; nothing is published yet.
    assert all(k.startswith((f"{work}hls/", f"{work}thumbs/")) for k in sorted(manifests)[2:])
    assert not s3.list_objects_v2(Bucket=runtime.publish_bucket, Prefix=f"courses/{COURSE}/").get("KeyCount")

    hls, failed = invoke(
        runtime, "PackageHls", {"source": source, "asset": asset, "probe": probe, "plan": plan}
    )
    assert not failed, hls
    master = hls["outputs"][0]
    assert master == f"courses/{COURSE}/media/{asset['assetId']}/hls/master.m3u8"
    assert head(runtime, master)["ContentType"] == "application/vnd.apple.mpegurl"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=runtime.publish_bucket)["Contents"]]
    assert not [k for k in keys if k.startswith("work/")]  # the packager removed its work files
    segments = [k for k in keys if k.endswith(".ts")]
    assert len(segments) == 3  # one segment per rung + audio
    assert all(head(runtime, k)["ContentType"] == "video/mp2t" for k in segments)
    assert all("immutable" in head(runtime, k)["CacheControl"] for k in segments)
    assert "immutable" not in head(runtime, master)["CacheControl"]

    # The published tree is a real HLS stream: ffprobe reads it as a client would.
    site = tmp_path / "site"
    for key in keys:
        target = site / key
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(runtime.publish_bucket, key, str(target))
    streams = ffmpeg.probe(str(site / master))["streams"]
    assert {s["codec_type"] for s in streams} == {"video", "audio"}

    assert set(thumbs["outputs"]) <= set(keys), (thumbs["outputs"], keys)
    body = s3.get_object(Bucket=runtime.publish_bucket, Key=thumbs["details"]["posters"][-1])
    assert body["ContentType"] in ("image/jpeg", "image/webp")
    assert Image.open(io.BytesIO(body["Body"].read())).size == (640, 360)
    vtt = s3.get_object(Bucket=runtime.publish_bucket, Key=thumbs["details"]["sprites"]["vtt"])
    assert vtt["ContentType"].startswith("text/vtt") and vtt["Body"].read().startswith(b"WEBVTT")


def test_failed_video_leaves_no_segments_of_its_version(runtime: LocalRuntime, clip: Path) -> None:
    source = put(runtime, "media/half-done.mp4", clip.read_bytes())
    asset, _ = invoke(runtime, "Classify", {"source": source, "executionArn": "arn:y"})
    probe, _ = invoke(runtime, "ProbeMedia", {"source": source, "asset": asset})
    plan, _ = invoke(runtime, "PlanEncode", {"source": source, "asset": asset, "probe": probe})
    invoke(
        runtime,
        "EncodeChunk",
        {"source": source, "asset": asset, "job": plan["job"], "chunk": plan["chunks"][0]},
    )
    s3 = runtime.client("s3")
    prefix = f"courses/{COURSE}/media/{asset['assetId']}/hls/"
    work = plan["job"]["workPrefix"]
    assert s3.list_objects_v2(Bucket=runtime.publish_bucket, Prefix=prefix).get("KeyCount", 0) == 0
    assert s3.list_objects_v2(Bucket=runtime.publish_bucket, Prefix=work + "hls/").get("KeyCount", 0) == 2

    state = {"source": source, "asset": asset, "probe": probe, "plan": plan,
             "error": {"Error": "States.Timeout", "Cause": ""}}  # fmt: skip
    failure, failed = invoke(runtime, "RecordFailure", {"state": state})
    assert not failed and failure["discarded"] == 3  # two segments + the chunk manifest
    assert s3.list_objects_v2(Bucket=runtime.publish_bucket, Prefix=prefix).get("KeyCount", 0) == 0
    assert s3.list_objects_v2(Bucket=runtime.publish_bucket, Prefix="work/").get("KeyCount", 0) == 0


def test_image_lesson_and_manifest_handlers(runtime: LocalRuntime) -> None:
    png = io.BytesIO()
    Image.new("RGB", (1200, 600), (200, 30, 30)).save(png, "PNG")
    img_source = put(runtime, "images/diagram.png", png.getvalue())
    img_asset, _ = invoke(runtime, "Classify", {"source": img_source})
    assert img_asset["kind"] == "image"
    variants, failed = invoke(runtime, "ImageVariants", {"source": img_source, "asset": img_asset})
    assert not failed, variants
    sizes = []
    for key in variants["outputs"]:
        webp = runtime.client("s3").get_object(Bucket=runtime.publish_bucket, Key=key)
        assert webp["ContentType"] == "image/webp"
        sizes.append((key.rsplit("/", 1)[1], Image.open(io.BytesIO(webp["Body"].read())).size))
    # Every configured width has its file; above the 1200 px source it keeps the source size.
    assert sizes == [("320.webp", (320, 160)), ("640.webp", (640, 320)), ("1280.webp", (1200, 600))]

    manifest = (
        f"id: {COURSE}\ntitle: Handlers <b>101</b>\nlang: en\nsections:\n  - title: One\n    lessons:\n"
        "      - {id: intro, file: lessons/intro.md}\n"
    ).encode()
    man_source = put(runtime, "course.yaml", manifest)
    man_asset, _ = invoke(runtime, "Classify", {"source": man_source})
    assert man_asset["kind"] == "manifest"
    built, failed = invoke(runtime, "BuildCourse", {"source": man_source, "asset": man_asset})
    assert not failed, built
    course = next(i for i in catalog(runtime).course_items(COURSE) if i["SK"] == "COURSE")
    assert course["title"] == "Handlers <b>101</b>" and course["sections"][0]["lessons"][0]["id"] == "intro"

    lesson = b"# Intro\n\n<script>alert(1)</script>\n\n[x](javascript:alert(2)) ![d](../images/diagram.png)\n"
    les_source = put(runtime, "lessons/intro.md", lesson)
    les_asset, _ = invoke(runtime, "Classify", {"source": les_source})
    assert les_asset["kind"] == "lesson"
    page, failed = invoke(runtime, "RenderLesson", {"source": les_source, "asset": les_asset})
    assert not failed, page
    obj = runtime.client("s3").get_object(Bucket=runtime.publish_bucket, Key=page["outputs"][0])
    assert obj["ContentType"] == "text/html; charset=utf-8"
    html = obj["Body"].read().decode()
    assert "<script>alert" not in html and "javascript:" not in html
    assert "Handlers &lt;b&gt;101&lt;/b&gt;" in html  # the course title from the catalog, escaped
    assert f"../images/{img_asset['assetId']}/640.webp" in html


def test_record_failure_keeps_the_author_message(runtime: LocalRuntime) -> None:
    source = put(runtime, "media/broken.mp4", b"\x00" * 100)
    cause = json.dumps(
        {"errorType": "InvalidMediaError", "errorMessage": "broken.mp4 is corrupt", "stackTrace": []}
    )
    result, failed = invoke(
        runtime,
        "RecordFailure",
        {"state": {"source": source, "error": {"Error": "InvalidMediaError", "Cause": cause}}},
    )
    assert not failed and result == {
        "error": "InvalidMediaError",
        "message": "broken.mp4 is corrupt",
        "recorded": True,
        "discarded": 0,
    }
    item = catalog(runtime).course_items(COURSE)[0]
    assert item["status"] == "FAILED"
    assert item["error"] == {"name": "InvalidMediaError", "message": "broken.mp4 is corrupt"}
    # The source is never deleted.
    assert runtime.client("s3").head_object(Bucket=runtime.ingest_bucket, Key=source["key"])


def test_handler_errors_are_reported_like_the_lambda_runtime(runtime: LocalRuntime) -> None:
    source = put(runtime, "notes.rtf", b"{\\rtf1 notes}")
    payload, failed = invoke(runtime, "Classify", {"source": source})
    assert failed
    assert payload["errorType"] == "UnsupportedMediaError"
    assert "notes.rtf" in payload["errorMessage"]


def _video_tasks(runtime: LocalRuntime, source: dict[str, Any]) -> dict[str, Any]:
    """Run a video version up to (not including) PackageHls; return the state PackageHls would get."""
    asset, _ = invoke(runtime, "Classify", {"source": source, "executionArn": "arn:z"})
    probe, _ = invoke(runtime, "ProbeMedia", {"source": source, "asset": asset})
    plan, _ = invoke(runtime, "PlanEncode", {"source": source, "asset": asset, "probe": probe})
    for chunk in plan["chunks"]:
        invoke(runtime, "EncodeChunk", {"source": source, "asset": asset, "job": plan["job"], "chunk": chunk})
    invoke(runtime, "EncodeAudio", {"source": source, "asset": asset, "job": plan["job"], "track": 0})
    invoke(runtime, "MakeThumbnails", {"source": source, "asset": asset, "probe": probe, "job": plan["job"]})
    return {"source": source, "asset": asset, "probe": probe, "plan": plan}


def test_an_older_version_packaging_late_cannot_unpublish_the_newer_one(
    runtime: LocalRuntime, clip: Path
) -> None:
    first = put(runtime, "media/race.mp4", clip.read_bytes())
    state_a = _video_tasks(runtime, first)
    # A re-upload arrives (ingest records it) while version A is still running.
    second = {**put(runtime, "media/race.mp4", clip.read_bytes() + b"\0"), "sequencer": "0B"}
    ingest_asset = state_a["asset"]
    assert catalog(runtime).record_uploaded(
        COURSE, ingest_asset["assetId"], "media/race.mp4", SourceRef.from_dict(second), "exec-b"
    )
    state_b = _video_tasks(runtime, second)
    done_a, failed = invoke(runtime, "PackageHls", state_a)
    assert not failed and done_a["details"]["hls"]["superseded"] and done_a["outputs"] == []
    done_b, failed = invoke(runtime, "PackageHls", state_b)
    assert not failed and done_b["outputs"]
    s3 = runtime.client("s3")
    prefix = f"courses/{COURSE}/media/{ingest_asset['assetId']}/hls/"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=runtime.publish_bucket, Prefix=prefix)["Contents"]}
    generation_b = state_b["plan"]["job"]["generation"]
    segments = {k for k in keys if k.endswith(".ts")}
    assert segments and all(f"seg-{generation_b}-" in k for k in segments)  # only B's, all of them
    playlist = (
        s3.get_object(Bucket=runtime.publish_bucket, Key=prefix + "360p/index.m3u8")["Body"].read().decode()
    )
    referenced = {prefix + "360p/" + line for line in playlist.splitlines() if line.endswith(".ts")}
    assert referenced <= keys


def test_a_failure_after_packaging_keeps_the_published_version(runtime: LocalRuntime, clip: Path) -> None:
    source = put(runtime, "media/kept.mp4", clip.read_bytes())
    state = _video_tasks(runtime, source)
    package, failed = invoke(runtime, "PackageHls", state)
    assert not failed
    state |= {"package": package, "error": {"Error": "States.Timeout", "Cause": ""}}
    failure, failed = invoke(runtime, "RecordFailure", {"state": state})
    assert not failed and failure["discarded"] == 0
    s3 = runtime.client("s3")
    prefix = f"courses/{COURSE}/media/{state['asset']['assetId']}/hls/"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=runtime.publish_bucket, Prefix=prefix)["Contents"]]
    assert sum(k.endswith(".ts") for k in keys) == 3
