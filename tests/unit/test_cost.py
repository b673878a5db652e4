"""The cost/time model: arithmetic checked against hand computations, and the directions it must move in."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from fractions import Fraction

import pytest

from pipeline.config import EncodeSettings
from pipeline.media.cost import (
    REFERENCE_PIXEL_RATE,
    Estimate,
    PricingInputs,
    TaskAllowance,
    estimate,
    estimate_for_duration,
    estimate_for_probe,
    synthetic_probe,
    vcpus_for,
)
from pipeline.media.ladder import Rung
from pipeline.media.plan import Chunk, EncodeJob, EncodePlan
from pipeline.media.probe import AudioTrack

HOUR = 3600.0


def toy_plan(*, has_audio: bool = False, max_concurrency: int = 2) -> EncodePlan:
    """100 s at 10 fps, one 1000x1000 rung (10 Mpx/s), chunks of 40 s, 40 s and the 20 s tail."""
    job = EncodeJob(
        generation="g",
        work_prefix="w/",
        duration_s=100.0,
        has_video=True,
        has_audio=has_audio,
        fps=Fraction(10),
        rungs=[Rung("1000p", 1000, 1000, 1000)],
    )
    return EncodePlan(job, [Chunk(0, 0, 400), Chunk(1, 400, 400), Chunk(2, 800, None)], max_concurrency)


def toy_pricing(**changes: object) -> PricingInputs:
    base = PricingInputs(
        lambda_gb_s_usd_x86_64=0.001,
        lambda_request_usd=0.01,
        sfn_transition_usd=0.001,
        memory_mb=2 * 1769,  # exactly 2 vCPU
        cpu_s_per_media_s=1.0,
        reference_pixel_rate=10_000_000,  # the toy plan's own rate: factor 1
        cold_start_s=1.0,
        chunk_io_s=2.0,
        thumbnail_s=0.0,
        thumbnail_s_per_media_s=0.0,
        fixed_tasks=(TaskAllowance("Fixed", 1024, 10.0),),  # 10 GB-s, 10 s of wall time
        sfn_fixed_transitions=10,
        sfn_transitions_per_chunk=2,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def all_numbers(result: Estimate) -> dict[str, float]:
    return {
        k: v for k, v in result.to_dict().items() if isinstance(v, int | float) and not isinstance(v, bool)
    }


def test_toy_plan_matches_the_hand_computation() -> None:
    # Given 3 chunks of 40/40/20 media s at 1 CPU-s per media s on 2 vCPU, 2 at a time
    # When estimated
    result = estimate(toy_plan(), toy_pricing())

    # Then CPU is 100 s, the chunks bill 1 + 2 + cpu/2 = 23, 23 and 13 s at 3538 MB
    assert result.cpu_s == pytest.approx(100.0)
    assert result.max_chunk_cpu_s == pytest.approx(40.0)
    assert result.vcpus == pytest.approx(2.0)
    assert result.longest_invocation_s == pytest.approx(23.0)
    assert result.encode_gb_s == pytest.approx(59 * 3538 / 1024)
    assert result.other_gb_s == pytest.approx(10.0)
    # 1 fixed task + 3 chunks + 1 thumbnail task (no audio)
    assert result.requests == 5
    assert result.lambda_usd == pytest.approx((59 * 3538 / 1024 + 10) * 0.001 + 5 * 0.01)
    assert result.transitions == 10 + 2 * 3
    assert result.step_functions_usd == pytest.approx(0.016)
    assert result.total_usd == pytest.approx(result.lambda_usd + 0.016)
    assert result.usd_per_media_minute == pytest.approx(result.total_usd / (100 / 60))
    # Wall: 10 s fixed + cold start 1 + 2 waves of (2 s I/O + 40/2 s encode)
    assert result.waves == 2
    assert result.wall_s == pytest.approx(10 + 1 + 2 * (2 + 20))
    assert (result.chunks, result.rungs, result.max_concurrency) == (3, 1, 2)
    assert result.fits_timeout and result.warnings == ()


def test_audio_is_billed_and_can_bound_the_wall_time() -> None:
    # Given audio slow enough (1 CPU-s per media s, one thread) to outlast the chunks
    pricing = toy_pricing(audio_cpu_s_per_media_s=1.0, audio_memory_mb=2048)
    result = estimate(toy_plan(has_audio=True), pricing)

    # Then audio runs 1 + 100 s (one vCPU at most) at 2 GB, and the wall time is fixed + audio
    assert result.other_gb_s == pytest.approx(10 + 101 * 2)
    assert result.requests == 6
    assert result.wall_s == pytest.approx(10 + 101)


def test_one_hour_lecture_with_the_defaults() -> None:
    result = estimate_for_duration(HOUR)

    # 120 s chunks, 10 at a time; the reference ladder at 1.45 CPU-s per media second
    assert (result.chunks, result.waves, result.rungs) == (30, 3, 5)
    assert result.pixel_rate == pytest.approx(REFERENCE_PIXEL_RATE)
    assert result.cpu_s == pytest.approx(1.45 * HOUR)
    assert result.max_chunk_cpu_s == pytest.approx(1.45 * 120)
    assert result.vcpus == pytest.approx(3538 / 1769)
    per_chunk_s = 1.5 + 4.0 + 1.45 * 120 / (3538 / 1769)
    assert result.encode_gb_s == pytest.approx(30 * per_chunk_s * 3538 / 1024)
    assert result.transitions == 12 + 2 * 30
    # Cents, not dollars, and minutes, not hours
    assert 0.05 < result.total_usd < 0.5
    assert 60 < result.wall_s < 15 * 60
    assert result.fits_timeout


def test_reference_pixel_rate_is_the_default_ladder_at_30_fps() -> None:
    assert REFERENCE_PIXEL_RATE == (1920 * 1080 + 1280 * 720 + 960 * 540 + 640 * 360 + 416 * 234) * 30


def test_vcpus_scale_linearly_with_memory_up_to_six() -> None:
    assert vcpus_for(1769) == pytest.approx(1.0)
    assert vcpus_for(3538) == pytest.approx(2.0)
    assert vcpus_for(128) == pytest.approx(128 / 1769)
    assert 5.7 < vcpus_for(10_240) <= 6.0


def test_cost_scales_with_the_encoded_pixel_rate() -> None:
    full = estimate_for_duration(HOUR)
    top_only = estimate_for_duration(HOUR, settings=EncodeSettings(ladder="1080:6000"))
    hd = estimate_for_duration(HOUR, width=1280, height=720)
    fps60 = estimate_for_duration(HOUR, fps=60)

    assert top_only.rungs == 1 and hd.rungs == 4
    assert top_only.cpu_s / full.cpu_s == pytest.approx(1920 * 1080 * 30 / REFERENCE_PIXEL_RATE)
    assert hd.cpu_s < full.cpu_s and hd.total_usd < full.total_usd
    assert fps60.cpu_s == pytest.approx(2 * full.cpu_s)
    assert fps60.total_usd > full.total_usd and fps60.wall_s > full.wall_s


def test_cost_scales_with_the_measured_cpu_figure() -> None:
    base = estimate_for_duration(HOUR)
    slower = estimate_for_duration(HOUR, pricing=PricingInputs(cpu_s_per_media_s=2.9))
    assert slower.cpu_s == pytest.approx(2 * base.cpu_s)
    assert slower.total_usd > base.total_usd


def test_arm64_is_cheaper_at_the_same_speed() -> None:
    x86 = estimate_for_duration(HOUR)
    arm = estimate_for_duration(HOUR, pricing=PricingInputs(architecture="arm64"))
    assert arm.architecture == "arm64"
    assert arm.lambda_usd == pytest.approx(x86.lambda_usd * 0.0000133334 / 0.0000166667, rel=0.01)
    assert arm.total_usd < x86.total_usd
    assert arm.wall_s == pytest.approx(x86.wall_s)
    # ...unless Graviton is measured to be much slower per vCPU
    slow_arm = estimate_for_duration(HOUR, pricing=PricingInputs(architecture="arm64", arm64_cpu_factor=1.5))
    assert slow_arm.total_usd > x86.total_usd and slow_arm.wall_s > x86.wall_s


def test_more_concurrency_means_less_wall_time_until_every_chunk_runs_at_once() -> None:
    walls = [
        estimate_for_duration(HOUR, settings=EncodeSettings(max_concurrency=n)).wall_s for n in (1, 5, 10, 30)
    ]
    assert walls == sorted(walls, reverse=True) and len(set(walls)) == 4
    beyond = estimate_for_duration(HOUR, settings=EncodeSettings(max_concurrency=100))
    assert beyond.wall_s == pytest.approx(walls[-1]) and beyond.waves == 1
    # Concurrency changes when, not how much, work is billed
    costs = {
        round(estimate_for_duration(HOUR, settings=EncodeSettings(max_concurrency=n)).total_usd, 9)
        for n in (1, 10)
    }
    assert len(costs) == 1


def test_more_memory_buys_time_at_about_the_same_cost() -> None:
    # Without loudness normalisation: with it, the one-thread EncodeAudio branch (~3 min for an hour)
    # becomes the longest once the encoders are this fast, and more encoder memory buys no more time.
    plain = EncodeSettings(loudness_lufs=None)
    small = estimate_for_duration(HOUR, settings=plain, pricing=PricingInputs(memory_mb=1769))
    large = estimate_for_duration(HOUR, settings=plain, pricing=PricingInputs(memory_mb=10_240))
    assert large.wall_s < small.wall_s / 3
    assert large.total_usd == pytest.approx(small.total_usd, rel=0.15)
    normalised = estimate_for_duration(HOUR, pricing=PricingInputs(memory_mb=10_240))
    assert normalised.wall_s > large.wall_s


def test_shorter_chunks_fan_out_further() -> None:
    long = estimate_for_duration(HOUR, settings=EncodeSettings(chunk_s=300, max_concurrency=100))
    short = estimate_for_duration(HOUR, settings=EncodeSettings(chunk_s=60, max_concurrency=100))
    assert (long.chunks, short.chunks) == (12, 60)
    assert short.wall_s < long.wall_s
    # Each extra invocation pays its own start-up and I/O
    assert short.total_usd > long.total_usd


def test_a_chunk_over_the_lambda_timeout_is_flagged() -> None:
    result = estimate_for_duration(
        HOUR, settings=EncodeSettings(chunk_s=1200), pricing=PricingInputs(memory_mb=1769)
    )
    assert not result.fits_timeout
    assert result.longest_invocation_s > 900
    assert "timeout" in result.warnings[0]
    assert result.to_dict()["fitsTimeout"] is False


@pytest.mark.parametrize("duration_s", [0.5, 7.0, 61.0, HOUR, 4 * HOUR])
@pytest.mark.parametrize(
    ("width", "height", "fps"), [(1920, 1080, 30.0), (320, 240, 15.0), (1080, 1920, 59.94)]
)
def test_no_negative_zero_or_missing_figures(duration_s: float, width: int, height: int, fps: float) -> None:
    result = estimate_for_duration(duration_s, width=width, height=height, fps=fps)
    numbers = all_numbers(result)
    assert all(math.isfinite(v) and v >= 0 for v in numbers.values()), numbers
    for name in ("media_s", "rungs", "chunks", "waves", "cpu_s", "gb_s", "requests", "longest_invocation_s"):
        assert getattr(result, name) > 0, name
    assert result.total_usd > 0 and result.usd_per_media_minute > 0 and result.wall_s > 0
    assert result.total_usd == pytest.approx(result.lambda_usd + result.step_functions_usd)
    assert result.waves == math.ceil(result.chunks / result.max_concurrency)
    assert result.max_chunk_cpu_s <= result.cpu_s <= result.max_chunk_cpu_s * result.chunks + 1e-9


def test_every_soundtrack_and_its_loudness_pass_are_billed() -> None:
    """Each soundtrack has its own EncodeAudio (the EncodeSoundtracks Map): a four-hour lecture in three
    languages, normalised, is billed three tracks' GB-s and requests but waits for one, and fits Lambda's
    timeout (one thread did not: ~21.6 min); only a source far longer than the duration limit would not."""
    languages = ("en", "fr", "de")
    three = replace(
        synthetic_probe(4 * HOUR),
        audio_tracks=tuple(AudioTrack(n, "aac", 2, lang, None, n == 0) for n, lang in enumerate(languages)),
    )
    two = replace(three, audio_tracks=three.audio_tracks[:2])
    one = estimate_for_probe(replace(two, audio_tracks=two.audio_tracks[:1]))[1]
    loud = estimate_for_probe(three)[1]
    loud_two = estimate_for_probe(two)[1]
    plain = estimate_for_probe(three, settings=EncodeSettings(loudness_lufs=None))[1]
    assert plain.other_gb_s < loud.other_gb_s and one.other_gb_s < loud_two.other_gb_s < loud.other_gb_s
    pricing = PricingInputs()
    per_track = pricing.audio_cpu_s_per_media_s + pricing.loudness_cpu_s_per_media_s
    audio_gb_s = pricing.audio_memory_mb / 1024 * (pricing.cold_start_s + 4 * HOUR * per_track)
    assert loud.other_gb_s - one.other_gb_s == pytest.approx(2 * audio_gb_s)  # two more tracks billed
    assert loud.requests == one.requests + 2
    assert loud.wall_s == pytest.approx(one.wall_s)  # ...side by side
    assert 4 * HOUR * 3 * per_track > pricing.timeout_s > 4 * HOUR * per_track
    assert not any(
        "EncodeAudio" in w for w in loud.warnings + plain.warnings + one.warnings + loud_two.warnings
    )
    ten_hours = estimate_for_probe(replace(three, duration_s=10 * HOUR))[1]
    assert any("EncodeAudio needs" in w and "per soundtrack" in w for w in ten_hours.warnings), ten_hours


def test_audio_only_costs_little_but_not_nothing() -> None:
    source = replace(synthetic_probe(HOUR), has_video=False, width=None, height=None, fps=None)
    plan, result = estimate_for_probe(source)
    assert plan.chunks == [] and result.chunks == result.rungs == result.waves == 0
    assert result.cpu_s == 0 and result.encode_gb_s == 0
    assert 0 < result.total_usd < estimate_for_duration(HOUR).total_usd / 10
    assert result.wall_s > 0 and result.usd_per_media_minute > 0


def test_estimate_serialises_to_json() -> None:
    doc = json.loads(json.dumps(estimate_for_duration(HOUR).to_dict()))
    assert doc["chunks"] == 30 and doc["architecture"] == "x86_64" and doc["warnings"] == []
    assert doc["gbSeconds"] == pytest.approx(doc["encodeGbSeconds"] + doc["otherGbSeconds"], abs=0.2)


@pytest.mark.parametrize(
    "changes",
    [
        {"architecture": "ppc64le"},
        {"memory_mb": 64},
        {"memory_mb": 20_000},
        {"cpu_s_per_media_s": 0},
        {"cpu_s_per_media_s": float("nan")},
        {"lambda_gb_s_usd_x86_64": -1.0},
        {"chunk_io_s": -1.0},
    ],
)
def test_nonsense_pricing_inputs_are_rejected(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        PricingInputs(**changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("duration_s", "width", "fps"), [(0.0, 1920, 30.0), (-5.0, 1920, 30.0), (60.0, 0, 30.0)]
)
def test_nonsense_durations_and_shapes_are_rejected(duration_s: float, width: int, fps: float) -> None:
    with pytest.raises(ValueError):
        estimate_for_duration(duration_s, width=width, fps=fps)
