"""The length of a live-written recording from ffmpeg's packet listing (``framecrc``), without ffmpeg:
what ``demux_timeline`` makes of the lines it reads."""

from __future__ import annotations

import math

import pytest

from pipeline.media.timeline import timeline_of

HEADER = [
    "#software: Lavf59.27.100\n",
    "#tb 0: 1/1000\n",
    "#media_type 0: video\n",
    "#codec_id 0: vp8\n",
    "#tb 1: 1/48000\n",
    "#media_type 1: audio\n",
]


def packets(stream: int, times: list[int], duration: int) -> list[str]:
    return [f"{stream}, {t}, {t}, {duration}, 1234, 0x00ff00ff\n" for t in times]


def test_the_last_packet_of_either_stream_ends_the_file() -> None:
    video = packets(0, [round(k * 1000 / 30) for k in range(300)], 33)  # 10 s at 30 fps, ms clock
    audio = packets(1, [k * 960 for k in range(510)], 960)  # 20 ms Opus frames: 10.2 s
    timeline = timeline_of([*HEADER, *video, *audio], video=True)
    assert timeline.duration_s == pytest.approx(10.2)
    assert timeline.video_duration_s == pytest.approx(9.967 + 0.033)
    assert timeline.fps == pytest.approx(30, rel=0.005) and not timeline.variable


def test_a_last_frame_without_a_duration_still_shows_for_a_frame() -> None:
    video = packets(0, [k * 40 for k in range(50)], 0)  # 25 fps, no durations in the listing
    timeline = timeline_of([*HEADER, *video], video=True)
    assert timeline.video_duration_s == pytest.approx(2.0)
    assert timeline.duration_s == pytest.approx(2.0)


def test_times_count_from_the_first_packet_and_b_frames_come_out_of_order() -> None:
    # Opus pre-skip: the sound starts 7 ms before the picture; packets in decode order (I P B B ...).
    order = [0, 3, 1, 2, 6, 4, 5, 9, 7, 8]
    video = [f"0, {k * 40 - 80}, {t * 40 + 7}, 40, 99, 0x0\n" for k, t in enumerate(order)]
    audio = packets(1, [k * 960 for k in range(20)], 960)
    timeline = timeline_of([HEADER[1], HEADER[4], *video, *audio], video=True)
    assert timeline.video_duration_s == pytest.approx(0.407)
    assert timeline.duration_s == pytest.approx(0.407)
    assert timeline.fps == pytest.approx(25)


def test_a_capture_that_slows_down_is_variable_at_its_fastest_rate() -> None:
    fast = [round(k * 1000 / 30 + 6 * math.sin(k * 1.7)) for k in range(300)]  # 10 s at 30 fps, jittered
    slow = [10_000 + round(k * 1000 / 5) for k in range(50)]  # then a still screen: 5 fps
    timeline = timeline_of([*HEADER, *packets(0, fast + slow, 0)], video=True)
    assert timeline.fps == pytest.approx(30, rel=0.01)  # within the ladder's 1.5 % snap
    assert timeline.variable


def test_packets_without_a_timestamp_or_a_header_say_nothing() -> None:
    nopts = "0, -9223372036854775808, -9223372036854775808, 33, 10, 0x0\n"
    unknown = "7, 0, 99000, 0, 10, 0x0\n"  # a stream with no #tb line
    timeline = timeline_of([*HEADER, nopts, unknown, *packets(1, [0, 960], 960)], video=True)
    assert timeline.duration_s == pytest.approx(0.04)
    assert timeline.video_duration_s is None and timeline.fps is None


def test_an_empty_listing_has_no_length() -> None:
    timeline = timeline_of(HEADER, video=True)
    assert (timeline.duration_s, timeline.video_duration_s, timeline.fps) == (0.0, None, None)
