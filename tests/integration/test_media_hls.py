from __future__ import annotations

import random
import re
from pathlib import Path

import ffmpeg
import m3u8
import pytest
from media_fixtures import make_clip, rotate, truncate

from pipeline.errors import InvalidMediaError
from pipeline.media.hls import HlsResult, encode_hls, output_size
from pipeline.media.probe import ProbeResult, probe

# Small and short so the whole module stays fast; segment_s=2 gives several segments from a 4 s clip.
SMALL = {"target_height": 360, "video_bitrate_k": 800, "segment_s": 2}


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("hls-src")
    lecture = make_clip(d / "lecture.mp4", duration=4)
    return {
        "lecture": lecture,
        "portrait": rotate(lecture, d / "portrait.mp4", 90),
        "small": make_clip(d / "small.mp4", size="320x240", duration=2, audio=False),
        "talk": make_clip(d / "talk.m4a", duration=3, video=False),
        "faststart": make_clip(d / "faststart.mp4", duration=4, faststart=True),
    }


@pytest.fixture(scope="module")
def lecture_hls(sources: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, HlsResult]:
    out = tmp_path_factory.mktemp("hls-out")
    return out, encode_hls(sources["lecture"], out, probe(sources["lecture"]), **SMALL)


def stream_inf(master: Path) -> dict[str, str]:
    line = next(x for x in master.read_text().splitlines() if x.startswith("#EXT-X-STREAM-INF:"))
    return dict(re.findall(r'([A-Z-]+)=("[^"]*"|[^,]*)', line.split(":", 1)[1]))


def test_master_playlist_is_written_from_the_output(lecture_hls: tuple[Path, HlsResult]) -> None:
    out, result = lecture_hls
    lines = (out / "master.m3u8").read_text().splitlines()
    assert lines[0] == "#EXTM3U"
    assert re.fullmatch(r"#EXT-X-VERSION:\d+", lines[1])
    assert "#EXT-X-INDEPENDENT-SEGMENTS" in lines
    assert lines[-1] == "360p/index.m3u8"
    attrs = stream_inf(out / "master.m3u8")
    assert attrs["RESOLUTION"] == "640x360"
    assert attrs["FRAME-RATE"] == "25.000"
    assert re.fullmatch(r'"avc1\.6400[0-9a-f]{2},mp4a\.40\.2"', attrs["CODECS"])
    (rendition,) = result.renditions
    assert (rendition.name, rendition.width, rendition.height) == ("360p", 640, 360)
    assert int(attrs["BANDWIDTH"]) == rendition.bandwidth >= rendition.average_bandwidth
    assert int(attrs["AVERAGE-BANDWIDTH"]) == rendition.average_bandwidth


def test_files_are_relative_and_the_master_comes_last(lecture_hls: tuple[Path, HlsResult]) -> None:
    out, result = lecture_hls
    assert result.files[-1] == Path("master.m3u8")
    assert result.files[-2] == Path("360p/index.m3u8")
    segments = [f for f in result.files if f.suffix == ".ts"]
    assert [f.name for f in segments] == [f"seg_{i:05d}.ts" for i in range(len(segments))]
    assert len(segments) == result.renditions[0].segment_count == 2
    assert all(not f.is_absolute() and (out / f).is_file() for f in result.files)
    assert result.duration_s == pytest.approx(4.0, abs=0.1)


def test_media_playlist_is_vod_and_complete(lecture_hls: tuple[Path, HlsResult]) -> None:
    out, _ = lecture_hls
    media = m3u8.load(str(out / "360p/index.m3u8"))
    assert media.playlist_type == "vod"
    assert media.is_endlist
    assert media.target_duration == 2


def test_bandwidth_matches_segment_sizes(lecture_hls: tuple[Path, HlsResult]) -> None:
    out, result = lecture_hls
    media = m3u8.load(str(out / "360p/index.m3u8"))
    rates = [(out / "360p" / s.uri).stat().st_size * 8 / s.duration for s in media.segments]
    total = sum((out / "360p" / s.uri).stat().st_size for s in media.segments) * 8
    average = total / sum(s.duration for s in media.segments)
    rendition = result.renditions[0]
    assert rendition.bandwidth == pytest.approx(max(rates), rel=0.1)
    assert rendition.average_bandwidth == pytest.approx(average, rel=0.1)


def test_ffprobe_reads_the_master_back(lecture_hls: tuple[Path, HlsResult]) -> None:
    out, result = lecture_hls
    info = ffmpeg.probe(str(out / "master.m3u8"))
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    assert (video["codec_name"], video["profile"], video["pix_fmt"]) == ("h264", "High", "yuv420p")
    assert (video["width"], video["height"]) == (640, 360)
    assert result.renditions[0].codecs.startswith(f"avc1.6400{video['level']:02x}")
    assert (audio["codec_name"], audio["profile"], audio["channels"], audio["sample_rate"]) == (
        "aac", "LC", 2, "48000",
    )  # fmt: skip


def test_keyframes_every_gop(lecture_hls: tuple[Path, HlsResult]) -> None:
    out, _ = lecture_hls
    info = ffmpeg.probe(
        str(out / "360p/index.m3u8"), select_streams="v", skip_frame="nokey", show_entries="frame=pts_time"
    )
    start = float(info["frames"][0]["pts_time"])
    keyframes = [round(float(f["pts_time"]) - start, 2) for f in info["frames"]]
    assert keyframes == [0.0, 2.0]  # forced every gop_s=2 s, nothing from scene cuts


def test_small_source_is_not_upscaled(sources: dict[str, Path], tmp_path: Path) -> None:
    result = encode_hls(sources["small"], tmp_path, probe(sources["small"]))  # default 720p target
    (rendition,) = result.renditions
    assert (rendition.name, rendition.width, rendition.height) == ("240p", 320, 240)
    video = ffmpeg.probe(str(tmp_path / "master.m3u8"))["streams"][0]
    assert (video["width"], video["height"]) == (320, 240)


def test_video_only_has_no_audio_codec(sources: dict[str, Path], tmp_path: Path) -> None:
    encode_hls(sources["small"], tmp_path, probe(sources["small"]), **SMALL)
    assert "mp4a" not in stream_inf(tmp_path / "master.m3u8")["CODECS"]
    streams = ffmpeg.probe(str(tmp_path / "master.m3u8"))["streams"]
    assert [s["codec_type"] for s in streams] == ["video"]


def test_rotated_source_gives_portrait_output(sources: dict[str, Path], tmp_path: Path) -> None:
    result = encode_hls(sources["portrait"], tmp_path, probe(sources["portrait"]), **SMALL)
    (rendition,) = result.renditions
    assert (rendition.width, rendition.height) == (360, 640)
    assert stream_inf(tmp_path / "master.m3u8")["RESOLUTION"] == "360x640"
    video = next(
        s for s in ffmpeg.probe(str(tmp_path / "master.m3u8"))["streams"] if s["codec_type"] == "video"
    )
    assert (video["width"], video["height"]) == (360, 640)


def test_audio_only(sources: dict[str, Path], tmp_path: Path) -> None:
    result = encode_hls(sources["talk"], tmp_path, probe(sources["talk"]), **SMALL)
    (rendition,) = result.renditions
    assert (rendition.name, rendition.width, rendition.height) == ("audio", None, None)
    assert rendition.codecs == "mp4a.40.2"
    assert rendition.playlist == "audio/index.m3u8"
    attrs = stream_inf(tmp_path / "master.m3u8")
    assert "RESOLUTION" not in attrs and attrs["CODECS"] == '"mp4a.40.2"'
    streams = ffmpeg.probe(str(tmp_path / "master.m3u8"))["streams"]
    assert [(s["codec_type"], s["codec_name"]) for s in streams] == [("audio", "aac")]
    assert 100_000 < rendition.average_bandwidth < 200_000  # 128k AAC plus TS overhead


@pytest.mark.parametrize(
    ("width", "height", "target", "expected"),
    [
        (1920, 1080, 720, (1280, 720)),
        (1080, 1920, 720, (720, 1280)),  # portrait: the short side is the rendition class
        (321, 241, 720, (320, 240)),  # odd source: even, and never a pixel larger
        (853, 360, 360, (852, 360)),  # anamorphic source, already in display width
        (3840, 1600, 720, (1728, 720)),
    ],
)
def test_output_size(width: int, height: int, target: int, expected: tuple[int, int]) -> None:
    source = ProbeResult(
        format_name="mp4", duration_s=1, size_bytes=1, bit_rate=None, has_video=True, has_audio=False,
        width=width, height=height, coded_width=width, coded_height=height, rotation=0, fps=25.0,
        video_codec="h264", pix_fmt="yuv420p", audio_codec=None, audio_channels=None, audio_sample_rate=None,
    )  # fmt: skip
    assert output_size(source, target) == expected


def test_random_bytes_fail_to_encode(sources: dict[str, Path], tmp_path: Path) -> None:
    junk = tmp_path / "clip.mp4"
    junk.write_bytes(random.Random(3).randbytes(64 * 1024))
    with pytest.raises(InvalidMediaError, match=r"^clip\.mp4 could not be encoded: .*re-export"):
        encode_hls(junk, tmp_path / "out", probe(sources["lecture"]), **SMALL)


def test_truncated_source_that_still_probes_is_caught_by_the_encoder(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    # With the index (moov) first, half a file probes as a complete 4 s video...
    half = truncate(sources["faststart"], tmp_path / "half.mp4")
    probed = probe(half)
    assert probed.duration_s == pytest.approx(4.0, abs=0.1)
    # ...and ffmpeg exits 0 after decoding the first half: only the missing duration gives it away.
    with pytest.raises(InvalidMediaError, match=r"only \d\.\d s could be decoded; the file looks truncated"):
        encode_hls(half, tmp_path / "out", probed, **SMALL)


def test_truncated_source_with_index_at_the_end_fails(sources: dict[str, Path], tmp_path: Path) -> None:
    half = truncate(sources["lecture"], tmp_path / "half.mp4")
    with pytest.raises(InvalidMediaError, match="could not be encoded"):
        encode_hls(half, tmp_path / "out", probe(sources["lecture"]), **SMALL)
