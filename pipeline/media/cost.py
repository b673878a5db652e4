"""What encoding a video costs on AWS, and how long it takes, before anything runs.

A model, not a bill: list prices (us-east-1, ARCHITECTURE §8, all in ``PricingInputs`` so they can be
changed) times the work an ``EncodePlan`` describes. The one measured input is ``cpu_s_per_media_s``, the
CPU-seconds libx264 spends per second of media for a reference ladder; a plan's encode cost scales from it
by the plan's total encoded pixel rate (sum over rungs of width * height * fps) relative to the reference
ladder's. That is linear in output pixels, which holds well for x264 at a fixed preset; the decode (once
per chunk, whatever the rung count), a deinterlace filter and very different content (a talking head vs a
static slide) move the real figure by some tens of percent.

Counted: Lambda duration (GB-s) and requests for every task of the execution, Step Functions Standard
state transitions. Not counted: S3 storage and requests, CloudFront and data transfer out, CloudWatch logs
and metrics, SQS, DynamoDB (cents per thousand videos at most), retries, and the free tier.

Pure: no AWS, no ffmpeg run; the CLI (``coursepipe estimate``) and the benchmark both call it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from pipeline.config import EncodeSettings
from pipeline.media.plan import EncodePlan, make_plan
from pipeline.media.probe import ProbeResult

ARCHITECTURES = ("x86_64", "arm64")
MIN_MEMORY_MB = 128
MAX_MEMORY_MB = 10_240
# Lambda gives a function CPU in proportion to its memory: 1,769 MB is one vCPU's worth, 10,240 MB the
# most (six vCPUs). The linear rule slightly undercounts at the top (10,240 / 1,769 = 5.79), which errs
# towards a longer, costlier estimate.
MB_PER_VCPU = 1769
MAX_VCPUS = 6.0

# The ladder ``cpu_s_per_media_s`` was measured with: the default 5 rungs (Apple's 16:9 table) at 30 fps.
REFERENCE_LADDER = ((1920, 1080), (1280, 720), (960, 540), (640, 360), (416, 234))
REFERENCE_FPS = 30
REFERENCE_PIXEL_RATE = float(sum(w * h for w, h in REFERENCE_LADDER) * REFERENCE_FPS)  # 115,240,320 px/s


@dataclass(frozen=True)
class TaskAllowance:
    """A task whose cost does not depend on the media length: memory and typical billed seconds."""

    name: str
    memory_mb: int
    seconds: float

    @property
    def gb_s(self) -> float:
        return self.memory_mb / 1024 * self.seconds


# Assumed, not measured on AWS: each is a few seconds of S3 I/O and a short ffprobe/Python step, memory as
# in template.yaml. Together they are ~6 GB-s (about $0.0001): small next to any encode, so their
# precision hardly matters. They run one after another, so their seconds add to the wall time.
FIXED_TASKS: tuple[TaskAllowance, ...] = (
    TaskAllowance("Ingest", 256, 0.3),  # SQS batch → StartExecution (one of a batch, amortised upwards)
    TaskAllowance("Classify", 256, 0.3),  # HeadObject + a 4 KB sniff
    TaskAllowance("ProbeMedia", 1024, 3.0),  # download + ffprobe (a ranged read would be quicker)
    TaskAllowance("PlanEncode", 256, 0.3),  # arithmetic on the probe result
    TaskAllowance("PackageHls", 1024, 3.0),  # read chunk manifests, write playlists and the master
    TaskAllowance("RecordAsset", 256, 0.5),  # one DynamoDB write
)


@dataclass(frozen=True)
class PricingInputs:
    """Prices and performance figures; every default is documented here and can be overridden.

    Prices are AWS list prices for us-east-1 (ARCHITECTURE §8): Lambda duration per GB-second by
    architecture, billed per ms; Lambda requests $0.20 per million; Step Functions Standard $0.025 per
    1,000 state transitions.

    ``memory_mb`` is the chunk encoder's memory, which also sets its CPU: 1,769 MB = 1 vCPU, 10,240 MB =
    6 vCPU, linear in between (see ``vcpus``). Because duration shrinks as CPU grows, GB-s per chunk is
    nearly independent of memory; more memory mostly buys wall time (and fewer chunks near the timeout).

    ``cpu_s_per_media_s`` is CPU-seconds per media second for the reference ladder (``REFERENCE_PIXEL_RATE``
    px/s: 1080p30 + 720p + 540p + 360p + 234p) with libx264 at preset veryfast, as measured on this
    project's development machine (1.45; the benchmark prints a fresh measurement to replace it).
    ``arm64_cpu_factor`` multiplies it on arm64: libx264 has NEON code, but per-vCPU speed on Graviton is
    not x86's; 1.0 until measured there.

    Per chunk invocation, ``cold_start_s`` (Python init, billed since 2025) and ``chunk_io_s`` (ranged
    download of the source, segment uploads) are billed on top of the encode itself.
    Audio is one whole-file AAC encode on one thread, per soundtrack, each in its own invocation
    (~0.0145 CPU-s per media s
    measured, as raw ffmpeg; 0.02 allowed for demuxing a large source), plus ``loudness_cpu_s_per_media_s``
    per track when loudness normalisation is on: the ebur128 measuring pass (0.0048) and the gain (and, on
    peaks it would push over the limit, the limiter) in the encode, nearly free, as
    ``tests/performance/bench_audio.py`` measures them (loudnorm's measuring pass, used before, cost
    0.024-0.026 on its own; its dynamic second pass +0.027 to +0.07).
    Thumbnails (poster + sprite sheet) are a fixed time plus a seek per sprite frame.
    ``sfn_fixed_transitions`` counts the states of one video execution outside the chunk Map
    (Classify, Route, ProbeMedia, PlanEncode, Transcode and its EncodeVideo Map, EncodeSoundtracks Map
    (with its first EncodeAudio) and MakeThumbnails branches, PackageHls, RecordAsset, Published: 11, plus
    one for slack); each chunk, and each soundtrack after the first, adds ``sfn_transitions_per_chunk``
    (its Map iteration and its task). Retries are not counted.
    """

    lambda_gb_s_usd_x86_64: float = 0.0000166667
    lambda_gb_s_usd_arm64: float = 0.0000133334
    lambda_request_usd: float = 0.0000002  # $0.20 per million
    sfn_transition_usd: float = 0.000025  # $0.025 per 1,000
    architecture: str = "x86_64"
    memory_mb: int = 3538
    cpu_s_per_media_s: float = 1.45
    reference_pixel_rate: float = REFERENCE_PIXEL_RATE
    arm64_cpu_factor: float = 1.0
    cold_start_s: float = 1.5
    chunk_io_s: float = 4.0
    audio_memory_mb: int = 1769
    audio_cpu_s_per_media_s: float = 0.02
    loudness_cpu_s_per_media_s: float = 0.01
    thumbnail_memory_mb: int = 1769
    thumbnail_s: float = 5.0
    thumbnail_s_per_media_s: float = 0.01
    fixed_tasks: tuple[TaskAllowance, ...] = field(default=FIXED_TASKS)
    sfn_fixed_transitions: int = 12
    sfn_transitions_per_chunk: int = 2
    timeout_s: float = 900.0

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ValueError(
                f"architecture must be one of {', '.join(ARCHITECTURES)}, not {self.architecture!r}"
            )
        for name in ("memory_mb", "audio_memory_mb", "thumbnail_memory_mb"):
            value = getattr(self, name)
            if not MIN_MEMORY_MB <= value <= MAX_MEMORY_MB:
                raise ValueError(
                    f"{name} must be between {MIN_MEMORY_MB} and {MAX_MEMORY_MB} MB, not {value}"
                )
        for name in ("cpu_s_per_media_s", "reference_pixel_rate", "arm64_cpu_factor", "timeout_s"):
            if not getattr(self, name) > 0:  # also rejects NaN
                raise ValueError(f"{name} must be positive, not {getattr(self, name)}")
        for name in (
            "lambda_gb_s_usd_x86_64",
            "lambda_gb_s_usd_arm64",
            "lambda_request_usd",
            "sfn_transition_usd",
            "cold_start_s",
            "chunk_io_s",
            "audio_cpu_s_per_media_s",
            "loudness_cpu_s_per_media_s",
            "thumbnail_s",
            "thumbnail_s_per_media_s",
            "sfn_fixed_transitions",
            "sfn_transitions_per_chunk",
        ):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must not be negative, not {getattr(self, name)}")

    @property
    def vcpus(self) -> float:
        """vCPU-equivalents of CPU time per second for ``memory_mb`` (Lambda scales CPU with memory)."""
        return vcpus_for(self.memory_mb)

    @property
    def gb_s_usd(self) -> float:
        return self.lambda_gb_s_usd_arm64 if self.architecture == "arm64" else self.lambda_gb_s_usd_x86_64

    @property
    def cpu_factor(self) -> float:
        return self.arm64_cpu_factor if self.architecture == "arm64" else 1.0


def vcpus_for(memory_mb: int) -> float:
    """CPU share of a function with ``memory_mb``: memory / 1,769 MB, at most 6."""
    return min(MAX_VCPUS, memory_mb / MB_PER_VCPU)


@dataclass(frozen=True)
class Estimate:
    """The cost and wall time of one video's execution. Seconds are media or wall seconds as named;
    ``*_usd`` are US dollars; nothing here is negative, and a video with a picture has at least one chunk.
    """

    media_s: float
    rungs: int
    chunks: int
    max_concurrency: int
    waves: int  # ceil(chunks / max_concurrency): rounds of parallel chunk invocations
    pixel_rate: float  # encoded pixels per second of media, all rungs
    cpu_s: float  # encode CPU-seconds, all chunks (audio and thumbnails not included)
    max_chunk_cpu_s: float
    vcpus: float
    memory_mb: int
    architecture: str
    encode_gb_s: float
    other_gb_s: float  # fixed tasks, audio, thumbnails
    requests: int
    lambda_usd: float
    transitions: int
    step_functions_usd: float
    total_usd: float
    usd_per_media_minute: float
    longest_invocation_s: float  # billed seconds of the longest chunk invocation
    wall_s: float
    warnings: tuple[str, ...] = ()

    @property
    def gb_s(self) -> float:
        return self.encode_gb_s + self.other_gb_s

    @property
    def fits_timeout(self) -> bool:
        return not self.warnings

    def to_dict(self) -> dict[str, Any]:
        return {
            "mediaSeconds": round(self.media_s, 3),
            "rungs": self.rungs,
            "chunks": self.chunks,
            "maxConcurrency": self.max_concurrency,
            "waves": self.waves,
            "pixelRate": round(self.pixel_rate),
            "cpuSeconds": round(self.cpu_s, 1),
            "maxChunkCpuSeconds": round(self.max_chunk_cpu_s, 1),
            "vcpus": round(self.vcpus, 3),
            "memoryMb": self.memory_mb,
            "architecture": self.architecture,
            "encodeGbSeconds": round(self.encode_gb_s, 1),
            "otherGbSeconds": round(self.other_gb_s, 1),
            "gbSeconds": round(self.gb_s, 1),
            "requests": self.requests,
            "lambdaUsd": round(self.lambda_usd, 6),
            "transitions": self.transitions,
            "stepFunctionsUsd": round(self.step_functions_usd, 6),
            "totalUsd": round(self.total_usd, 6),
            "usdPerMediaMinute": round(self.usd_per_media_minute, 6),
            "longestInvocationSeconds": round(self.longest_invocation_s, 1),
            "wallSeconds": round(self.wall_s, 1),
            "fitsTimeout": self.fits_timeout,
            "warnings": list(self.warnings),
        }


def pixel_rate(plan: EncodePlan) -> float:
    """Encoded pixels per media second: sum over rungs of width * height * fps (0 without video)."""
    return float(sum(r.width * r.height for r in plan.job.rungs) * plan.job.fps)


def chunk_media_seconds(plan: EncodePlan) -> list[float]:
    """Media seconds of each chunk; the last one runs to the end of the source."""
    job = plan.job
    total_frames = max(1, math.ceil(job.duration_s * job.fps))
    seconds: list[float] = []
    for chunk in plan.chunks:
        frames = chunk.frames if chunk.frames is not None else total_frames - chunk.start_frame
        seconds.append(float(max(0, frames) / job.fps))
    return seconds


def estimate(plan: EncodePlan, pricing: PricingInputs | None = None) -> Estimate:
    """Cost and wall time of executing ``plan`` on Lambda + Step Functions.

    Encode: each chunk's CPU-seconds are ``cpu_s_per_media_s * chunk media s * pixel_rate /
    reference_pixel_rate`` (times ``arm64_cpu_factor`` on arm64); its invocation is billed for ``cold_start_s
    + chunk_io_s + CPU-s / vcpus`` at ``memory_mb``. Wall time: the fixed tasks in sequence, then the
    slowest of three parallel branches — the chunks (``cold_start_s`` once, then ``waves`` rounds of the
    longest chunk's I/O + encode, as the Map runs ``max_concurrency`` at a time), the audio encode and the
    thumbnails. Account concurrency limits and throttling are not modelled.
    """
    pricing = pricing or PricingInputs()
    job = plan.job
    media_s = job.duration_s
    if not media_s > 0:
        raise ValueError(f"a plan must have a positive duration, not {media_s}")
    concurrency = max(1, plan.max_concurrency)
    gb_per_encoder = pricing.memory_mb / 1024
    rate = pixel_rate(plan)
    cpu_per_media_s = pricing.cpu_s_per_media_s * pricing.cpu_factor * rate / pricing.reference_pixel_rate

    chunk_cpu = [s * cpu_per_media_s for s in chunk_media_seconds(plan)]
    chunk_billed = [pricing.cold_start_s + pricing.chunk_io_s + cpu / pricing.vcpus for cpu in chunk_cpu]
    max_chunk_cpu = max(chunk_cpu, default=0.0)
    longest = max(chunk_billed, default=0.0)
    waves = math.ceil(len(plan.chunks) / concurrency)
    encode_wall = (
        pricing.cold_start_s + waves * (pricing.chunk_io_s + max_chunk_cpu / pricing.vcpus) if waves else 0.0
    )

    # Audio runs on one thread, so it gets at most one vCPU however much memory it has; each soundtrack
    # has its own EncodeAudio (the EncodeSoundtracks Map), which measures it and encodes it, so tracks run
    # side by side: the wall time is one track's, the bill every track's.
    per_track = pricing.audio_cpu_s_per_media_s + (
        pricing.loudness_cpu_s_per_media_s if job.loudness_lufs is not None else 0.0
    )
    tracks = max(1, len(job.audio_tracks)) if job.has_audio else 0
    audio_s = (
        pricing.cold_start_s + media_s * per_track / min(1.0, vcpus_for(pricing.audio_memory_mb))
        if job.has_audio
        else 0.0
    )
    thumbs_s = pricing.thumbnail_s + media_s * pricing.thumbnail_s_per_media_s if job.has_video else 0.0
    other_gb_s = (
        sum(t.gb_s for t in pricing.fixed_tasks)
        + tracks * audio_s * pricing.audio_memory_mb / 1024
        + thumbs_s * pricing.thumbnail_memory_mb / 1024
    )
    encode_gb_s = sum(chunk_billed) * gb_per_encoder
    requests = len(pricing.fixed_tasks) + len(plan.chunks) + tracks + int(job.has_video)
    lambda_usd = (encode_gb_s + other_gb_s) * pricing.gb_s_usd + requests * pricing.lambda_request_usd
    # The chunk Map's iteration + task per chunk; the same two per soundtrack beyond the first (which
    # the fixed count holds).
    iterations = len(plan.chunks) + max(0, tracks - 1)
    transitions = pricing.sfn_fixed_transitions + pricing.sfn_transitions_per_chunk * iterations
    sfn_usd = transitions * pricing.sfn_transition_usd
    total = lambda_usd + sfn_usd
    wall = sum(t.seconds for t in pricing.fixed_tasks) + max(encode_wall, audio_s, thumbs_s)

    warnings: list[str] = []
    if longest > pricing.timeout_s:
        warnings.append(
            f"the longest chunk needs ~{longest:,.0f} s on {pricing.vcpus:.2f} vCPU, over Lambda's "
            f"{pricing.timeout_s:,.0f} s timeout: lower the chunk length or raise the memory"
        )
    if audio_s > pricing.timeout_s:
        warnings.append(
            f"EncodeAudio needs ~{audio_s:,.0f} s per soundtrack on one thread, over Lambda's "
            f"{pricing.timeout_s:,.0f} s timeout: split the lecture or set AUDIO_LOUDNESS_LUFS empty"
        )
    return Estimate(
        media_s=media_s,
        rungs=len(job.rungs),
        chunks=len(plan.chunks),
        max_concurrency=concurrency,
        waves=waves,
        pixel_rate=rate,
        cpu_s=sum(chunk_cpu),
        max_chunk_cpu_s=max_chunk_cpu,
        vcpus=pricing.vcpus,
        memory_mb=pricing.memory_mb,
        architecture=pricing.architecture,
        encode_gb_s=encode_gb_s,
        other_gb_s=other_gb_s,
        requests=requests,
        lambda_usd=lambda_usd,
        transitions=transitions,
        step_functions_usd=sfn_usd,
        total_usd=total,
        usd_per_media_minute=total / (media_s / 60),
        longest_invocation_s=longest,
        wall_s=wall,
        warnings=tuple(warnings),
    )


def plan_for(probe: ProbeResult, settings: EncodeSettings | None = None) -> EncodePlan:
    """The plan PlanEncode would make for ``probe`` (placeholder generation and work prefix)."""
    return make_plan(probe, settings or EncodeSettings(), generation="estimate", work_prefix="estimate/")


def synthetic_probe(
    duration_s: float, *, width: int = 1920, height: int = 1080, fps: float = 30.0, has_audio: bool = True
) -> ProbeResult:
    """A probe result for a source that does not exist yet: an H.264/AAC MP4 of the given shape."""
    if not duration_s > 0:
        raise ValueError(f"duration must be positive, not {duration_s}")
    if width < 2 or height < 2 or not fps > 0:
        raise ValueError(f"a video needs a picture size and a frame rate, not {width}x{height} at {fps}")
    return ProbeResult(
        format_name="mov,mp4,m4a,3gp,3g2,mj2",
        duration_s=float(duration_s),
        size_bytes=0,
        bit_rate=None,
        has_video=True,
        has_audio=has_audio,
        width=width,
        height=height,
        coded_width=width,
        coded_height=height,
        rotation=0,
        fps=fps,
        video_codec="h264",
        pix_fmt="yuv420p",
        audio_codec="aac" if has_audio else None,
        audio_channels=2 if has_audio else None,
        audio_sample_rate=48_000 if has_audio else None,
    )


def estimate_for_probe(
    probe: ProbeResult, settings: EncodeSettings | None = None, pricing: PricingInputs | None = None
) -> tuple[EncodePlan, Estimate]:
    """Plan ``probe`` with ``settings`` and estimate it; the plan is returned too (for its ladder)."""
    plan = plan_for(probe, settings)
    return plan, estimate(plan, pricing)


def estimate_for_duration(
    duration_s: float,
    *,
    width: int = 1920,
    height: int = 1080,
    fps: float = 30.0,
    has_audio: bool = True,
    settings: EncodeSettings | None = None,
    pricing: PricingInputs | None = None,
) -> Estimate:
    """E.g. ``estimate_for_duration(3600)``: a 1-hour 1080p30 lecture with the default settings."""
    probe = synthetic_probe(duration_s, width=width, height=height, fps=fps, has_audio=has_audio)
    return estimate_for_probe(probe, settings, pricing)[1]
