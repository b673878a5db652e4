"""Downloads remuxed from real HLS output (encoded here from lavfi sources, in chunks, so the segments
cross chunk seams): the MP4 is H.264 + AAC of the source's length with its index first (faststart) and
both streams starting together; the M4A is the soundtrack alone; audio lectures and silent videos get
what they can."""

from __future__ import annotations

import struct
import subprocess
from typing import TYPE_CHECKING, Any

import pytest
from media_fixtures import make_clip

from pipeline.config import EncodeSettings
from pipeline.media.downloads import (
    RungSize,
    pick_rung,
    playlist_segments,
    remux_audio,
    remux_video,
    timeline_start,
)
from pipeline.media.hls import HlsResult, encode_hls
from pipeline.media.probe import probe
from tests.hls_checks import ffprobe_json

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.ffmpeg
LECTURE_S = 13.0  # segments of 6, 6 and 1 s; in 6 s chunks, two seams


def top_level_boxes(path: Path) -> list[str]:
    """The MP4's top-level box types in file order (ISO/IEC 14496-12 §4.2: size, type, 64-bit size)."""
    boxes = []
    with path.open("rb") as f:
        while header := f.read(8):
            size, kind = struct.unpack(">I4s", header)
            skip = size - 8
            if size == 1:
                (large,) = struct.unpack(">Q", f.read(8))
                skip = large - 16
            elif size == 0:
                boxes.append(kind.decode("latin-1"))
                break
            boxes.append(kind.decode("latin-1"))
            f.seek(skip, 1)
    return boxes


def encode(source: Path, out: Path) -> HlsResult:
    return encode_hls(source, out, probe(source), EncodeSettings(chunk_s=6), chunk_s=6, workers=2)


def local(result: HlsResult, out: Path, playlist: str) -> tuple[Path, Path]:
    path = out / playlist
    return path, path.parent / playlist_segments(path.read_text())[0]


def streams(path: Path) -> dict[str, dict[str, Any]]:
    info = ffprobe_json(
        path, "-show_entries", "stream=codec_type,codec_name,start_time,duration,width,height"
    )
    return {s["codec_type"]: s for s in info["streams"]}


def picture_hash(path: Path) -> str:
    """MD5 of every decoded frame of the first video stream (the HLS demuxer for a playlist)."""
    out = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-protocol_whitelist", "file", "-i", f"file:{path}",
         "-map", "0:v:0", "-f", "hash", "-hash", "md5", "-"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return out.stdout.strip()


def duration(path: Path) -> float:
    return float(ffprobe_json(path, "-show_entries", "format=duration")["format"]["duration"])


@pytest.fixture(scope="module")
def lecture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, HlsResult]:
    d = tmp_path_factory.mktemp("downloads")
    source = make_clip(d / "lecture.mp4", size="1280x720", duration=LECTURE_S, fps=30)
    return source, d / "hls", encode(source, d / "hls")


def test_the_mp4_is_the_720p_picture_with_the_soundtrack_in_sync_and_faststart(
    lecture: tuple[Path, Path, HlsResult], tmp_path: Path
) -> None:
    source, out, result = lecture
    variants = result.package.variants
    chosen = pick_rung([RungSize(v.width, v.height) for v in variants])
    assert chosen is not None and variants[chosen].name == "720p"
    video, first_video = local(result, out, variants[chosen].playlist)
    audio, first_audio = local(result, out, result.package.audio[0].playlist)
    start = timeline_start(first_video, first_audio)
    assert start > 10  # the encoder's timeline offset, which the download must not keep

    mp4 = remux_video(video, audio, tmp_path / "download.mp4", start_s=start)

    found = streams(mp4)
    assert (found["video"]["codec_name"], found["audio"]["codec_name"]) == ("h264", "aac")
    assert (found["video"]["width"], found["video"]["height"]) == (1280, 720)
    assert abs(duration(mp4) - duration(source)) < 0.2
    assert abs(float(found["video"]["duration"]) - LECTURE_S) < 0.05
    # Both start at zero: the soundtrack's priming samples are hidden by an edit list, not played late.
    assert float(found["video"]["start_time"]) == pytest.approx(0, abs=0.001)
    assert float(found["audio"]["start_time"]) == pytest.approx(0, abs=0.001)
    boxes = top_level_boxes(mp4)
    assert boxes.index("moov") < boxes.index("mdat"), boxes  # faststart
    # Not re-encoded: the decoded picture is the rung's, frame for frame.
    assert picture_hash(mp4) == picture_hash(video)


def test_the_m4a_is_the_soundtrack_alone(lecture: tuple[Path, Path, HlsResult], tmp_path: Path) -> None:
    source, out, result = lecture
    audio, first_audio = local(result, out, result.package.audio[0].playlist)
    video, first_video = local(result, out, result.package.variants[0].playlist)

    m4a = remux_audio(audio, tmp_path / "download.m4a", start_s=timeline_start(first_video, first_audio))

    found = streams(m4a)
    assert set(found) == {"audio"} and found["audio"]["codec_name"] == "aac"
    assert float(found["audio"]["start_time"]) == pytest.approx(0, abs=0.001)
    assert abs(duration(m4a) - duration(source)) < 0.2
    boxes = top_level_boxes(m4a)
    assert boxes[0] == "ftyp" and boxes.index("moov") < boxes.index("mdat")
    format_name = ffprobe_json(m4a, "-show_entries", "format=format_name")["format"]["format_name"]
    assert "m4a" in format_name


def test_an_audio_lecture_gets_an_m4a_and_a_silent_video_an_mp4_without_sound(tmp_path: Path) -> None:
    talk = make_clip(tmp_path / "talk.m4a", duration=8, video=False)
    talk_result = encode(talk, tmp_path / "talk")
    assert (
        not talk_result.package.variants
        or pick_rung([RungSize(v.width, v.height) for v in talk_result.package.variants]) is None
    )
    audio, first = local(talk_result, tmp_path / "talk", talk_result.package.audio[0].playlist)
    m4a = remux_audio(audio, tmp_path / "talk.m4a.out", start_s=timeline_start(None, first))
    found = streams(m4a)
    assert found["audio"]["codec_name"] == "aac" and abs(duration(m4a) - duration(talk)) < 0.2
    # An audio lecture's timeline starts after the encoder's priming: nothing before zero is played.
    assert float(found["audio"]["start_time"]) == pytest.approx(0, abs=0.001)

    silent = make_clip(tmp_path / "silent.mp4", size="640x360", duration=4, audio=False)
    silent_result = encode(silent, tmp_path / "silent")
    assert not silent_result.package.audio
    video, first_video = local(silent_result, tmp_path / "silent", silent_result.package.variants[0].playlist)
    mp4 = remux_video(
        video, None, tmp_path / "silent-download.mp4", start_s=timeline_start(first_video, None)
    )
    assert set(streams(mp4)) == {"video"} and abs(duration(mp4) - 4.0) < 0.2
