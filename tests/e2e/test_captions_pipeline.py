"""Captions through the real state machine on moto: a caption uploaded before its video and one after it
both end up as subtitle renditions of the video's master, the later one without re-encoding anything;
deleting one takes its rendition down; ffmpeg, as an HLS client, reads the subtitles in cue time."""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING, Any

import m3u8
import pytest

from pipeline.catalog.dynamo import DynamoCatalog
from pipeline.keys import asset_id_for
from pipeline.local.runtime import LocalRuntime
from pipeline.local.samples import make_lecture_clip
from tests.e2e.test_video_pipeline import REPO, download, published

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = [pytest.mark.slow, pytest.mark.ffmpeg]
COURSE = "captions-e2e"
VIDEO = f"courses/{COURSE}/media/lecture.mp4"

FRENCH_SRT = (
    "\ufeff1\r\n00:00:01,000 --> 00:00:03,000\r\nBonjour à tous\r\n\r\n"
    "2\r\n00:00:07,500 --> 00:00:09,000\r\n<font color=red>Deuxième</font> phrase\r\n\r\n"
).encode()
ENGLISH_VTT = (
    b"WEBVTT\n\n00:00.500 --> 00:02.000\nHello everyone\n\n00:06.000 --> 00:08.000\n<b>Second</b> line\n"
)


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime(REPO / "template.yaml", parameters={"LogLevel": "ERROR"}) as rt:
        yield rt


def settle(runtime: LocalRuntime) -> list[dict[str, Any]]:
    runtime.pump()
    sfn = runtime.client("stepfunctions")
    arns = [
        str(e["executionArn"])
        for e in sfn.list_executions(stateMachineArn=runtime.state_machine_arn)["executions"]
    ]
    done = runtime.wait_for(arns, timeout_s=180)
    return sorted(done.values(), key=lambda d: d["startDate"])


def entered(runtime: LocalRuntime, execution: dict[str, Any]) -> list[str]:
    history = runtime.history(str(execution["executionArn"]))
    return [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]


def master(runtime: LocalRuntime) -> str:
    key = f"courses/{COURSE}/media/{asset_id_for('media/lecture.mp4')}/hls/master.m3u8"
    body: bytes = runtime.client("s3").get_object(Bucket=runtime.publish_bucket, Key=key)["Body"].read()
    return body.decode()


def items(runtime: LocalRuntime) -> dict[str, dict[str, Any]]:
    catalog = DynamoCatalog(runtime.client("dynamodb"), runtime.catalog_table)
    return {str(i.get("path")): i for i in catalog.course_items(COURSE) if i.get("path")}


def lesson_page(runtime: LocalRuntime) -> str:
    key = f"courses/{COURSE}/lessons/{asset_id_for('lessons/intro.md')}.html"
    body: bytes = runtime.client("s3").get_object(Bucket=runtime.publish_bucket, Key=key)["Body"].read()
    return body.decode()


def test_captions_before_and_after_the_video(runtime: LocalRuntime, tmp_path: Path) -> None:
    clip = make_lecture_clip(tmp_path / "lecture.mp4", seconds=12, width=320, height=180)
    runtime.upload(f"courses/{COURSE}/lessons/intro.md", b"# Intro\n\n[The lecture](../media/lecture.mp4)\n")
    runtime.upload(f"courses/{COURSE}/media/lecture.fr.srt", FRENCH_SRT)
    first = settle(runtime)
    assert first[-1]["status"] == "SUCCEEDED"
    french = items(runtime)["media/lecture.fr.srt"]
    assert french["status"] == "PUBLISHED" and french["kind"] == "caption"
    assert french["details"]["caption"]["language"] == "fr"
    assert french["details"]["caption"]["attached"] == []  # no video yet
    assert french["details"]["caption"]["cues"] == 2 and french["details"]["caption"]["encoding"] == "utf-8"

    runtime.upload(VIDEO, clip)
    settle(runtime)
    playlist = m3u8.loads(master(runtime))
    subs = [m for m in playlist.media if m.type == "SUBTITLES"]
    assert [(m.language, m.name) for m in subs] == [("fr", "Français")]
    assert all(p.stream_info.subtitles == "subs" for p in playlist.playlists)
    # The lesson that plays the video was rendered again by the runs: a French track and its transcript.
    page = lesson_page(runtime)
    assert 'kind="subtitles" srclang="fr" label="Français"' in page
    assert 'data-cp-hls-subtitles="yes"' in page
    assert "Bonjour à tous" in page and "Deuxième phrase" in page and "<font" not in page

    segments_before = {
        k: runtime.client("s3").head_object(Bucket=runtime.publish_bucket, Key=k)["ETag"]
        for k in published(runtime, f"courses/{COURSE}/media/")
        if k.endswith(".ts")
    }
    runtime.upload(f"courses/{COURSE}/media/lecture.en.vtt", ENGLISH_VTT)
    late = settle(runtime)[-1]
    assert late["status"] == "SUCCEEDED"
    states = entered(runtime, late)
    assert "RenderCaptions" in states and "EncodeChunk" not in states  # no re-encode
    playlist = m3u8.loads(master(runtime))
    subs = [m for m in playlist.media if m.type == "SUBTITLES"]
    assert sorted((m.language, m.name) for m in subs) == [("en", "English"), ("fr", "Français")]
    english = next(m for m in subs if m.language == "en")
    assert "transcribes-spoken-dialog" in (english.characteristics or "")  # same language as the audio
    segments_after = {
        k: runtime.client("s3").head_object(Bucket=runtime.publish_bucket, Key=k)["ETag"]
        for k in published(runtime, f"courses/{COURSE}/media/")
        if k.endswith(".ts")
    }
    assert segments_after == segments_before
    runtime.upload(
        f"courses/{COURSE}/media/lecture.chapters.vtt",
        b"WEBVTT\n\n00:00.000 --> 00:06.000\nOpening\n\n00:06.000 --> 00:12.000\nThe ladder\n",
    )
    assert settle(runtime)[-1]["status"] == "SUCCEEDED"
    page = lesson_page(runtime)
    assert 'kind="captions" srclang="en" label="English"' in page
    chapters_id = asset_id_for("media/lecture.chapters.vtt")
    assert (
        f'<track kind="chapters" label="Chapters" src="../captions/{chapters_id}/track.vtt" default>' in page
    )
    assert 'data-cp-seek="6"' in page and "The ladder" in page
    assert (
        len([m for m in m3u8.loads(master(runtime)).media if m.type == "SUBTITLES"]) == 2
    )  # not a rendition
    assert "Hello everyone" in page  # the transcript is in the soundtrack's language now

    # ffmpeg as an HLS client reads both renditions with their languages (its HLS demuxer reads
    # subtitle renditions only with -strict experimental, and ignores X-TIMESTAMP-MAP: the cue times it
    # reports are the authored ones; the browser test checks the mapping with hls.js).
    download(runtime, published(runtime, f"courses/{COURSE}/media/"), tmp_path / "pub")
    root = tmp_path / "pub" / f"courses/{COURSE}/media/{asset_id_for('media/lecture.mp4')}/hls"
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-strict", "experimental", "-show_entries",
         "stream=index,codec_type,codec_name:stream_tags=language:packet=stream_index,pts_time",
         "-of", "json", str(root / "master.m3u8")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    report = json.loads(probe.stdout)
    text_streams = {
        s["index"]: s["tags"]["language"] for s in report["streams"] if s["codec_type"] == "subtitle"
    }
    assert sorted(text_streams.values()) == ["en", "fr"]
    assert all(s["codec_name"] == "webvtt" for s in report["streams"] if s["codec_type"] == "subtitle")
    french_times = sorted(
        float(p["pts_time"]) for p in report["packets"] if text_streams.get(p["stream_index"]) == "fr"
    )
    assert french_times == [1.0, 7.5]
    vtt = (root / "subs" / asset_id_for("media/lecture.fr.srt") / "index.m3u8").read_text()
    assert "#EXT-X-ENDLIST" in vtt
    first_segment = (root / "subs" / asset_id_for("media/lecture.fr.srt") / "sub-00000.vtt").read_text()
    assert "X-TIMESTAMP-MAP=MPEGTS:" in first_segment and "Bonjour à tous" in first_segment
    assert "<font" not in first_segment

    # Deleting the English file takes its rendition (and its files) down; French stays.
    runtime.client("s3").delete_object(
        Bucket=runtime.ingest_bucket, Key=f"courses/{COURSE}/media/lecture.en.vtt"
    )
    settle(runtime)
    subs = [m for m in m3u8.loads(master(runtime)).media if m.type == "SUBTITLES"]
    assert [m.language for m in subs] == ["fr"]
    en_id = asset_id_for("media/lecture.en.vtt")
    assert not [k for k in published(runtime, f"courses/{COURSE}/") if en_id in k]
    page = lesson_page(runtime)
    assert 'srclang="en"' not in page and 'srclang="fr"' in page


def test_captions_course_yaml_lists_under_any_name(runtime: LocalRuntime, tmp_path: Path) -> None:
    """A tool's file name (spaces, accents, no language) bound by course.yaml, all uploaded at once: the
    runs land in whatever order they settle, and the master, page and catalog say the manifest's words."""
    course = "captions-listed-e2e"
    clip = make_lecture_clip(tmp_path / "talk.mp4", seconds=8, width=320, height=180)
    caption = "media/subs/Español (auto).srt"
    manifest = f"""id: {course}
title: Listed captions
sections:
  - title: One
    lessons:
      - id: talk
        file: lessons/talk.md
        video: media/talk.mp4
        captions:
          - {{file: "{caption}", language: es-419, label: Español (automático), kind: subtitles}}
"""
    runtime.upload(f"courses/{course}/media/talk.mp4", clip)
    runtime.upload(f"courses/{course}/{caption}", FRENCH_SRT.replace("Bonjour à tous".encode(), b"Hola"))
    runtime.upload(f"courses/{course}/lessons/talk.md", b"# Talk\n\nWatch it.\n")
    runtime.upload(f"courses/{course}/course.yaml", manifest.encode())
    assert {e["status"] for e in settle(runtime)} == {"SUCCEEDED"}

    s3 = runtime.client("s3")
    video_id = asset_id_for("media/talk.mp4")
    key = f"courses/{course}/media/{video_id}/hls/master.m3u8"
    playlist = m3u8.loads(s3.get_object(Bucket=runtime.publish_bucket, Key=key)["Body"].read().decode())
    subs = [(m.language, m.name, m.characteristics) for m in playlist.media if m.type == "SUBTITLES"]
    assert subs == [("es-419", "Español (automático)", None)]
    assert all(p.stream_info.subtitles == "subs" for p in playlist.playlists)
    page_key = f"courses/{course}/lessons/{asset_id_for('lessons/talk.md')}.html"
    page = s3.get_object(Bucket=runtime.publish_bucket, Key=page_key)["Body"].read().decode()
    assert 'kind="subtitles" srclang="es-419" label="Español (automático)"' in page and "Hola" in page
    catalog = DynamoCatalog(runtime.client("dynamodb"), runtime.catalog_table)
    record = next(i for i in catalog.course_items(course) if i["SK"] == "COURSE")
    assert record["sections"][0]["lessons"][0]["captions"][0]["path"] == caption

    s3.delete_object(Bucket=runtime.ingest_bucket, Key=f"courses/{course}/{caption}")
    settle(runtime)
    playlist = m3u8.loads(s3.get_object(Bucket=runtime.publish_bucket, Key=key)["Body"].read().decode())
    assert [m for m in playlist.media if m.type == "SUBTITLES"] == []
    page = s3.get_object(Bucket=runtime.publish_bucket, Key=page_key)["Body"].read().decode()
    assert "es-419" not in page
