from __future__ import annotations

import json
import random
from typing import TYPE_CHECKING

import pytest
from media_fixtures import (
    ffmpeg_run,
    make_clip,
    make_high_bit_depth,
    make_interlaced,
    make_variable_rate,
    rotate,
    truncate,
)
from PIL import Image

from pipeline.config import MediaLimits
from pipeline.errors import InvalidMediaError, MediaTooLargeError, UnsupportedMediaError
from pipeline.media.probe import probe

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.ffmpeg  # every test here runs ffmpeg or ffprobe


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("probe")
    lecture = make_clip(d / "lecture.mp4", duration=2)
    return {
        "lecture": lecture,
        "portrait": rotate(lecture, d / "portrait.mp4", 90),
        "anamorphic": make_clip(d / "anamorphic.mkv", duration=1, audio=False, sar="4/3"),
        "talk": make_clip(d / "talk.mp3", duration=2, video=False),
    }


def test_probe_reads_streams_and_duration(clips: dict[str, Path]) -> None:
    result = probe(clips["lecture"])
    assert (result.has_video, result.has_audio) == (True, True)
    assert (result.width, result.height, result.rotation) == (640, 360, 0)
    assert (result.video_codec, result.pix_fmt, result.fps) == ("h264", "yuv420p", 25.0)
    assert (result.audio_codec, result.audio_channels, result.audio_sample_rate) == ("aac", 1, 48000)
    assert result.duration_s == pytest.approx(2.0, abs=0.1)
    assert result.size_bytes == clips["lecture"].stat().st_size
    assert "mp4" in result.format_name
    summary = json.loads(json.dumps(result.to_dict()))
    assert summary["width"] == 640 and summary["has_audio"] is True


def test_rotated_video_reports_display_dimensions(clips: dict[str, Path]) -> None:
    result = probe(clips["portrait"])
    assert result.rotation == 90
    assert (result.coded_width, result.coded_height) == (640, 360)
    assert (result.width, result.height) == (360, 640)


def test_non_square_pixels_give_the_display_width(clips: dict[str, Path]) -> None:
    result = probe(clips["anamorphic"])
    assert (result.coded_width, result.coded_height) == (640, 360)
    assert (result.width, result.height) == (853, 360)  # 640 * 4/3
    assert result.has_audio is False and result.audio_codec is None


def test_audio_only(clips: dict[str, Path]) -> None:
    result = probe(clips["talk"])
    assert (result.has_video, result.has_audio, result.audio_codec) == (False, True, "mp3")
    assert result.width is None and result.fps is None


def test_cover_art_does_not_make_an_mp3_a_video(tmp_path: Path, clips: dict[str, Path]) -> None:
    cover = tmp_path / "cover.png"
    Image.new("RGB", (64, 64), "orange").save(cover)
    out = tmp_path / "with-cover.mp3"
    ffmpeg_run(
        "-i", str(clips["talk"]), "-i", str(cover), "-map", "0:a", "-map", "1:v", "-c:a", "copy",
        "-c:v", "png", "-disposition:v", "attached_pic", "-id3v2_version", "3", str(out),
    )  # fmt: skip
    result = probe(out)
    assert (result.has_video, result.has_audio) == (False, True)


def test_still_image_is_not_a_lecture(tmp_path: Path) -> None:
    still = tmp_path / "slide.mp4"
    Image.new("RGB", (64, 64), "white").save(still, "PNG")
    with pytest.raises(UnsupportedMediaError, match="still image"):
        probe(still)


def test_playlist_is_refused_before_ffprobe_can_follow_it(tmp_path: Path) -> None:
    playlist = tmp_path / "lecture.mp4"
    playlist.write_text("#EXTM3U\n#EXTINF:10,\nhttp://169.254.169.254/latest/meta-data\n#EXT-X-ENDLIST\n")
    with pytest.raises(UnsupportedMediaError, match="streaming playlist"):
        probe(playlist)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("lecture.mpd", '<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static">'
         '<Period><AdaptationSet><Representation><BaseURL>http://10.0.0.1/x.mp4</BaseURL>'
         "</Representation></AdaptationSet></Period></MPD>\n"),
        ("playlist.m3u8", "\ufeff#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nhttp://127.0.0.1:8080/admin\n"),
        ("list.mp4", "ffconcat version 1.0\nfile /etc/passwd\nfile http://169.254.169.254/\n"),
    ],
)  # fmt: skip
def test_files_that_reference_other_media_are_refused(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UnsupportedMediaError, match="references media stored elsewhere|streaming playlist"):
        probe(path)


def test_no_usable_stream(tmp_path: Path) -> None:
    subs = tmp_path / "captions.srt"
    subs.write_text("1\n00:00:00,000 --> 00:00:02,000\nHello\n", encoding="utf-8")
    only_subtitles = tmp_path / "lecture.mkv"
    ffmpeg_run("-i", str(subs), "-c:s", "srt", str(only_subtitles))
    with pytest.raises(InvalidMediaError, match="no audio or video track"):
        probe(only_subtitles)


def test_first_class_sources_are_described(tmp_path: Path) -> None:
    interlaced = probe(make_interlaced(tmp_path / "tv.mp4", duration=1))
    assert interlaced.interlaced and not interlaced.variable_frame_rate
    vfr = probe(make_variable_rate(tmp_path / "phone.mp4"))
    assert vfr.variable_frame_rate and vfr.fps == 30  # the nominal rate, not the 22.5 fps average
    deep = probe(make_high_bit_depth(tmp_path / "camera.mp4", duration=1))
    assert deep.pix_fmt == "yuv422p10le" and not deep.interlaced


def test_audio_language_tag_is_read(tmp_path: Path) -> None:
    talk = make_clip(tmp_path / "talk.m4a", duration=1, video=False)
    tagged = tmp_path / "talk-fr.m4a"
    ffmpeg_run("-i", str(talk), "-c", "copy", "-metadata:s:a:0", "language=fra", str(tagged))
    assert probe(tagged).audio_language == "fr"  # ISO 639-2 as BCP-47
    assert probe(talk).audio_language is None  # "und" is no information


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "lecture.mp4"
    empty.touch()
    with pytest.raises(InvalidMediaError, match="empty"):
        probe(empty)


def test_random_bytes(tmp_path: Path) -> None:
    junk = tmp_path / "clip.mp4"
    junk.write_bytes(random.Random(7).randbytes(64 * 1024))
    with pytest.raises(InvalidMediaError, match=r"clip\.mp4 could not be read as audio/video") as info:
        probe(junk)
    assert str(tmp_path) not in str(info.value)  # no server paths in a message for authors


def test_truncated_mp4_with_index_at_the_end(tmp_path: Path, clips: dict[str, Path]) -> None:
    half = truncate(clips["lecture"], tmp_path / "half.mp4")
    with pytest.raises(InvalidMediaError, match="truncated or corrupt"):
        probe(half)


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (MediaLimits(max_duration_s=1.0), r"0m 02s long; the limit is 0m 01s"),
        (MediaLimits(max_width=320, max_height=240), r"640x360; the largest supported picture is 320x240"),
        (MediaLimits(max_bytes=1000), r"KB; the limit is 1000 bytes"),
    ],
)
def test_limits(clips: dict[str, Path], limits: MediaLimits, message: str) -> None:
    with pytest.raises(MediaTooLargeError, match=message):
        probe(clips["lecture"], limits=limits)


def test_portrait_video_may_use_the_landscape_budget(clips: dict[str, Path]) -> None:
    result = probe(clips["portrait"], limits=MediaLimits(max_width=640, max_height=360))
    assert (result.width, result.height) == (360, 640)


def test_probe_result_survives_the_state_machine_round_trip(tmp_path: Path) -> None:
    """ProbeMedia's result travels as JSON in the execution state; later steps rebuild it from there."""
    import json

    from pipeline.local.samples import make_lecture_clip
    from pipeline.media.probe import ProbeResult

    result = probe(make_lecture_clip(tmp_path / "c.mp4", seconds=1, width=320, height=180))
    rebuilt = ProbeResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert rebuilt.to_dict() == result.to_dict()
    assert (rebuilt.width, rebuilt.height, rebuilt.has_audio) == (320, 180, True)
