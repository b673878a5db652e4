"""The ladder and the chunk plan: pure arithmetic on a probe, no ffmpeg."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest

from pipeline.config import EncodeSettings
from pipeline.media.ladder import output_fps, parse_ladder, rungs_for, scaled_size
from pipeline.media.plan import EncodePlan, frame_phase, generation_for, make_plan
from pipeline.media.probe import ProbeResult

HD = ProbeResult(
    format_name="mov,mp4", duration_s=3600.0, size_bytes=1, bit_rate=None, has_video=True, has_audio=True,
    width=1920, height=1080, coded_width=1920, coded_height=1080, rotation=0, fps=30.0, video_codec="h264",
    pix_fmt="yuv420p", audio_codec="aac", audio_channels=2, audio_sample_rate=48000,
)  # fmt: skip


def sizes(probe: ProbeResult) -> list[tuple[str, int, int, int]]:
    return [
        (r.name, r.width, r.height, r.bitrate_k)
        for r in rungs_for(probe, parse_ladder(EncodeSettings().ladder))
    ]


def test_apple_ladder_for_1080p() -> None:
    assert sizes(HD) == [
        ("1080p", 1920, 1080, 6000),
        ("720p", 1280, 720, 3000),
        ("540p", 960, 540, 2000),
        ("360p", 640, 360, 730),
        ("234p", 416, 234, 145),
    ]


def test_never_upscaled_and_portrait_uses_the_short_side() -> None:
    assert [s[0] for s in sizes(replace(HD, width=1280, height=720))] == ["720p", "540p", "360p", "234p"]
    portrait = sizes(replace(HD, width=1080, height=1920))
    assert portrait[0] == ("1080p", 1080, 1920, 6000) and portrait[-1][1:3] == (234, 416)
    tiny = sizes(replace(HD, width=200, height=112))
    assert tiny == [("112p", 200, 112, 33)]  # one rung at its own size, the smallest rate scaled to it


def test_other_shapes_pay_for_their_pixels() -> None:
    four_three = dict((name, rate) for name, _, _, rate in sizes(replace(HD, width=1440, height=1080)))
    assert four_three["1080p"] == 4500  # 1440x1080 is 3/4 of 1920x1080


@pytest.mark.parametrize(
    ("w", "h", "short", "expected"),
    [(1920, 1080, 720, (1280, 720)), (853, 480, 360, (640, 360)), (641, 361, 234, (416, 234)),
     (320, 180, 720, (320, 180))],
)  # fmt: skip
def test_scaled_size_is_even_and_never_larger(w: int, h: int, short: int, expected: tuple[int, int]) -> None:
    assert scaled_size(w, h, short) == expected


@pytest.mark.parametrize(
    ("fps", "expected"),
    [(30.0, Fraction(30)), (29.97, Fraction(30000, 1001)), (29.87, Fraction(30000, 1001)),
     (25.0, Fraction(25)), (120.0, Fraction(60)), (59.94, Fraction(60000, 1001)), (12.0, Fraction(12)),
     (None, Fraction(30))],
)  # fmt: skip
def test_output_frame_rate(fps: float | None, expected: Fraction) -> None:
    assert output_fps(replace(HD, fps=fps)) == expected


def test_bad_ladder_specs_are_refused() -> None:
    for spec in ("", "720", "720:abc", "1:10"):
        with pytest.raises(ValueError, match="ladder"):
            parse_ladder(spec)


def test_settings_validation() -> None:
    with pytest.raises(ValueError, match="multiple of HLS_SEGMENT_SECONDS"):
        EncodeSettings.from_env({"ENCODE_CHUNK_SECONDS": "100"})
    with pytest.raises(ValueError, match="multiple of HLS_GOP_SECONDS"):
        EncodeSettings.from_env({"HLS_SEGMENT_SECONDS": "5"})
    assert EncodeSettings.from_env({}).chunk_s == 120


def test_chunks_fall_on_segment_boundaries() -> None:
    plan = make_plan(HD, EncodeSettings(), generation="g", work_prefix="w/")
    job = plan.job
    assert (job.fps, job.gop_frames, job.segment_frames) == (Fraction(30), 60, 180)
    assert len(plan.chunks) == 30  # 1 hour in 120 s chunks
    assert all(c.start_frame % job.segment_frames == 0 for c in plan.chunks)
    assert all(c.frames == 3600 for c in plan.chunks[:-1]) and plan.chunks[-1].frames is None
    assert [c.start_frame for c in plan.chunks] == [i * 3600 for i in range(30)]


def test_ntsc_rates_count_in_frames() -> None:
    plan = make_plan(
        replace(HD, fps=29.97, duration_s=300.0), EncodeSettings(), generation="g", work_prefix=""
    )
    job = plan.job
    assert (job.gop_frames, job.segment_frames) == (60, 180)
    assert job.segment_seconds == pytest.approx(6.006)
    assert float(job.start_seconds(plan.chunks[1])) == pytest.approx(3600 * 1001 / 30000)


def test_a_tail_shorter_than_a_segment_joins_the_last_chunk() -> None:
    plan = make_plan(replace(HD, duration_s=242.0), EncodeSettings(), generation="g", work_prefix="")
    assert [c.to_list() for c in plan.chunks] == [[0, 0, 3600], [1, 3600, None]]
    plan = make_plan(replace(HD, duration_s=250.0), EncodeSettings(), generation="g", work_prefix="")
    assert len(plan.chunks) == 3


def test_audio_only_plan_has_no_chunks() -> None:
    talk = replace(HD, has_video=False, width=None, height=None, fps=None, audio_language="deu")
    plan = make_plan(talk, EncodeSettings(), generation="g", work_prefix="")
    assert plan.chunks == [] and plan.job.rungs == [] and plan.job.audio_language == "de"


def test_plan_round_trips_through_json_and_stays_small() -> None:
    import json

    plan = make_plan(replace(HD, duration_s=4 * 3600.0), EncodeSettings(), generation="g", work_prefix="w/")
    text = json.dumps(plan.to_dict())
    assert len(text) < 6000  # 120 chunks of a 4-hour lecture, far below the 256 KB state limit
    again = EncodePlan.from_dict(json.loads(text))
    assert again == plan


def test_generation_changes_with_the_version() -> None:
    assert generation_for("k", "v1") != generation_for("k", "v2")
    assert generation_for("k", "v1") == generation_for("k", "v1") and len(generation_for("k", None)) == 8


@pytest.mark.parametrize(
    ("start_s", "fps", "phase"),
    [
        (0.0, Fraction(30), 0.0),  # MP4: the edit list puts the first frame at zero
        (0.014, Fraction(30), 0.014),  # WebM: Opus pre-skip starts the sound 7 ms early, video at +7 ms
        (0.021, Fraction(25), -0.019),  # past half a frame: the next slot is nearer
        (2.0 + 1 / 60, Fraction(30), round(1 / 60, 6)),  # exactly half a frame: to the even slot (60)
        (0.0667, Fraction(30000, 1001), round(0.0667 - 2 * 1001 / 30000, 6)),
    ],
)
def test_the_first_frame_is_moved_onto_the_nearest_slot(start_s: float, fps: Fraction, phase: float) -> None:
    assert frame_phase(start_s, fps) == pytest.approx(phase, abs=1e-6)
    assert abs(frame_phase(start_s, fps)) <= 0.5 / fps + 1e-6


def test_the_phase_travels_in_the_plan_and_a_plan_without_it_has_none() -> None:
    plan = make_plan(replace(HD, video_start_s=0.014), EncodeSettings(), generation="g", work_prefix="w/")
    assert plan.job.frame_phase_s == 0.014
    data = plan.to_dict()
    assert EncodePlan.from_dict(data).job.frame_phase_s == 0.014
    del data["job"]["framePhaseS"]  # a plan from before the field, in flight across a deploy
    assert EncodePlan.from_dict(data).job.frame_phase_s == 0.0
    assert make_plan(HD, EncodeSettings(), generation="g", work_prefix="w/").job.frame_phase_s == 0.0
