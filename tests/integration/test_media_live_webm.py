"""Browser recordings (issue 14): Matroska/WebM written live, as MediaRecorder writes it (no Duration, no
Cues, Clusters of unknown size, a millisecond clock for a frame rate), is measured from its packets and
encoded like any video, frame-accurately across chunk seams; one cut short still fails as truncated.

The pictures are ``numbered_source`` frames, so every output frame says which source frame it shows."""

from __future__ import annotations

import math
import subprocess
import time
from pathlib import Path

import ffmpeg
import pytest
from av_formats import (
    H264_AAC,
    VP8_OPUS,
    VP9_OPUS,
    frame_ids,
    live_recording,
    numbered_source,
    skipped_or_repeated,
)
from media_fixtures import ffmpeg_run, make_clip, truncate

from pipeline.config import EncodeSettings
from pipeline.errors import InvalidMediaError
from pipeline.media.hls import HlsResult, encode_hls
from pipeline.media.probe import _FORMAT_WHITELIST, probe
from pipeline.media.sniff import sniff_kind
from pipeline.media.timeline import demux_timeline

pytestmark = pytest.mark.ffmpeg  # every test here runs ffmpeg or ffprobe

SECONDS = 20  # in 6 s chunks: three chunks, two seams (frames 180 and 360 at 30 fps)
SMALL = EncodeSettings(ladder="180:400")
CUES = bytes.fromhex("1c53bb6b")


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("live")
    jitter = "setpts='PTS+0.006*sin(N*1.7)/TB',format=yuv420p"  # a capture clock, +-6 ms
    return {
        # Chrome/Edge MediaRecorder ("video/webm;codecs=vp8,opus" and "vp9,opus"), Loom-style extensions.
        "vp8": live_recording(d / "recording.webm", (*VP8_OPUS, "-g", "60"), seconds=SECONDS),
        "vp9": live_recording(d / "recording-vp9.webm", (*VP9_OPUS, "-g", "60"), seconds=SECONDS),
        # Chrome's "video/x-matroska;codecs=avc1" and screen recorders that write H.264 in Matroska.
        "h264": live_recording(d / "screen.mkv", (*H264_AAC, "-g", "60"), seconds=SECONDS, muxer="matroska"),
        # MediaRecorder's VP8 may carry a single keyframe: every chunk decodes from the start.
        "one-keyframe": live_recording(d / "one-key.webm", (*VP8_OPUS, "-g", "100000"), seconds=SECONDS),
        # A screen capture: 30 fps while something moves, 15 fps after, every frame a few ms off its slot.
        "variable": live_recording(
            d / "capture.webm",
            (*VP8_OPUS, "-g", "60"),
            seconds=SECONDS,
            pictures=[numbered_source("30", 10), numbered_source("15", 10, first=300)],
            video_filter=jitter,
        ),
    }


@pytest.fixture(scope="module")
def encoded(
    recordings: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[tuple[Path, HlsResult], tuple[Path, HlsResult]]]:
    """Each recording encoded in one chunk and in three."""
    done = {}
    for name, source in recordings.items():
        info = probe(source)
        one, three = tmp_path_factory.mktemp(f"{name}-one"), tmp_path_factory.mktemp(f"{name}-three")
        done[name] = (
            (one, encode_hls(source, one, info, SMALL)),
            (three, encode_hls(source, three, info, SMALL, chunk_s=6, workers=2)),
        )
    return done


@pytest.mark.parametrize("name", ["vp8", "vp9", "h264", "one-keyframe", "variable"])
def test_a_live_recording_has_no_duration_and_no_index(recordings: dict[str, Path], name: str) -> None:
    data = recordings[name].read_bytes()
    assert CUES not in data and bytes.fromhex("01ffffffffffffff") in data
    assert "duration" not in ffmpeg.probe(str(recordings[name]))["format"]  # what the probe used to refuse


@pytest.mark.parametrize("name", ["vp8", "vp9", "h264", "one-keyframe"])
def test_the_packets_give_the_duration_and_the_rate(recordings: dict[str, Path], name: str) -> None:
    source = recordings[name]
    assert sniff_kind(source, source.name) == "video"
    info = probe(source)
    assert info.duration_s == pytest.approx(SECONDS, abs=0.05)
    assert info.video_duration_s == pytest.approx(SECONDS, abs=0.05)
    assert info.fps == pytest.approx(30, rel=0.01) and not info.variable_frame_rate
    assert (info.width, info.height, info.has_audio) == (320, 180, True)


def test_a_variable_rate_capture_is_measured_at_its_capture_rate(recordings: dict[str, Path]) -> None:
    header = ffmpeg.probe(str(recordings["variable"]), select_streams="v:0")["streams"][0]
    assert header["r_frame_rate"] == "1000/1" and header["avg_frame_rate"] == "0/0"  # no rate at all
    info = probe(recordings["variable"])
    assert info.variable_frame_rate and info.fps == pytest.approx(30, rel=0.015)
    assert info.duration_s == pytest.approx(SECONDS, abs=0.1)


@pytest.mark.parametrize("name", ["vp8", "vp9", "h264", "one-keyframe"])
def test_chunks_of_a_live_recording_are_frame_accurate(
    encoded: dict[str, tuple[tuple[Path, HlsResult], tuple[Path, HlsResult]]], name: str
) -> None:
    (one_dir, one), (three_dir, three) = encoded[name]
    assert len(one.plan.chunks) == 1 and len(three.plan.chunks) == 3 and three.plan.job.seekable
    single, chunked = frame_ids(one_dir / "180p/index.m3u8"), frame_ids(three_dir / "180p/index.m3u8")
    assert abs(len(single) - SECONDS * 30) <= 1
    # Every source frame once, in order; H.264 starts a B-frame delay after the sound, so its first frame
    # is shown twice, exactly as long as the sound runs ahead of it.
    assert skipped_or_repeated(single) in ([], [1])
    assert chunked == single  # nothing skipped, doubled or frozen at a seam


def test_chunks_of_a_variable_rate_capture_match_one_encode(
    encoded: dict[str, tuple[tuple[Path, HlsResult], tuple[Path, HlsResult]]],
) -> None:
    (one_dir, one), (three_dir, three) = encoded["variable"]
    assert one.plan.job.fps == 30 and len(three.plan.chunks) == 3
    chunked = frame_ids(three_dir / "180p/index.m3u8")
    assert chunked == frame_ids(one_dir / "180p/index.m3u8")

    # On the constant 30 fps grid (aligned with the first frame, ``EncodeJob.frame_phase_s``) every
    # source frame shows: once in the 30 fps half despite the clock's jitter, twice in the 15 fps half.
    assert skipped_or_repeated(chunked[:300]) == []
    assert [chunked[i] for i in range(300, len(chunked), 2)] == [(300 + k) % 64 for k in range(150)][
        : len(range(300, len(chunked), 2))
    ]
    times = sorted(
        float(p["pts_time"])
        for p in ffmpeg.probe(str(three_dir / "180p/index.m3u8"), select_streams="v:0", show_packets=None)[
            "packets"
        ]
    )
    assert {round(b - a, 4) for a, b in zip(times, times[1:], strict=False)} == {round(1 / 30, 4)}


def test_a_live_recording_plays_back_with_its_sound(
    encoded: dict[str, tuple[tuple[Path, HlsResult], tuple[Path, HlsResult]]],
) -> None:
    (_, _), (three_dir, three) = encoded["vp8"]
    assert three.package.duration_s == pytest.approx(SECONDS, abs=0.05)
    decode = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-xerror", "-i", str(three_dir / "master.m3u8"),
         "-map", "0:v:0", "-map", "0:a:0", "-f", "null", "-"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert decode.returncode == 0 and not decode.stderr.strip(), decode.stderr


def test_a_live_recording_cut_short_is_truncated(recordings: dict[str, Path], tmp_path: Path) -> None:
    # Tab closed mid-recording, or the upload stopped: the last Cluster ends in the middle of a block.
    cut = truncate(recordings["vp8"], tmp_path / "recording.webm", 0.6)
    with pytest.raises(
        InvalidMediaError, match=r"recording\.webm stops in the middle of its data.*cut short"
    ):
        probe(cut)


@pytest.mark.parametrize("name", ["lecture.webm", "lecture.mkv", "lecture.mp4", "faststart.mp4"])
def test_a_recorded_file_cut_short_still_fails_as_invalid(tmp_path: Path, name: str) -> None:
    """A file that says how long it is (Duration, or an MP4 index) but stops half-way: caught by the probe
    (the index at the end is gone) or by the encode (less picture than the header promised)."""
    if name == "lecture.webm":
        whole = tmp_path / "whole.webm"
        ffmpeg_run("-f", "lavfi", "-i", numbered_source("30", 8), "-f", "lavfi", "-i", "sine=duration=8",
                   *VP9_OPUS, str(whole))  # fmt: skip
    else:
        whole = make_clip(
            tmp_path / f"whole{Path(name).suffix}", duration=8, faststart=name == "faststart.mp4"
        )
    if whole.suffix != ".mp4":  # Matroska written to a file: it has an index and says how long it is
        assert CUES in whole.read_bytes() and "duration" in ffmpeg.probe(str(whole))["format"]
    half = truncate(whole, tmp_path / name, 0.5)
    with pytest.raises(InvalidMediaError, match=r"truncated|cut short|could not be read"):
        encode_hls(half, tmp_path / "out", probe(half), SMALL)


def test_the_demux_pass_reads_once_without_decoding(recordings: dict[str, Path]) -> None:
    """What ProbeMedia spends on a live recording: one demux of every packet (no decode), measured here as
    a share of what decoding the picture once costs."""
    source = recordings["vp9"]
    started = time.perf_counter()
    timeline = demux_timeline(source, video=True, audio_index=0, format_whitelist=_FORMAT_WHITELIST)
    demuxed = time.perf_counter() - started
    started = time.perf_counter()
    ffmpeg_run("-i", str(source), "-map", "0:v:0", "-f", "null", "-")
    decoded = time.perf_counter() - started
    assert math.isclose(timeline.duration_s, SECONDS, abs_tol=0.05)
    assert demuxed < decoded
