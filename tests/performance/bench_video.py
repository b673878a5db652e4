"""Benchmark: the video encode path against raw ffmpeg doing the same ladder, measured in the same run.

    python tests/performance/bench_video.py [--seconds 60] [--runs 1] [--chunk-seconds 12] [--json]

On one clip generated at run time (1080p30 test pattern with a moving "demo window" and light sensor
grain, so x264 has real work; sine tone), it measures wall and CPU time of:

* raw ffmpeg: one process, the plan's exact rungs and x264 settings (``pipeline/media/encode.py``), every
  video rung plus an AAC audio rendition straight into HLS — what one would run without the pipeline;
* the pipeline's encode in-process (``encode_hls``): one chunk, then ``--chunk-seconds`` chunks on
  ``--workers`` threads, and the audio encode alone (to split audio from chunk CPU);
* the whole local pipeline through Step Functions on moto (probe, plan, chunk Map, audio, thumbnails,
  package, catalog);
* posters and sprite sheets of a 1-minute and a 10-minute 720p clip (their cost must not grow with length).

CPU is user + sys of the ffmpeg/ffprobe child processes (``RUSAGE_CHILDREN``) plus this Python process
(``RUSAGE_SELF``: TS indexing, packaging, and for the Step Functions row moto itself). It then feeds the
measured chunk CPU per media second into the cost model (``pipeline/media/cost.py``) for a 1-hour 1080p
lecture. Not a test (pytest collects only ``test_*.py``): figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from pipeline.config import EncodeSettings  # noqa: E402
from pipeline.keys import execution_name  # noqa: E402
from pipeline.local.runtime import LocalRuntime  # noqa: E402
from pipeline.media.cost import (  # noqa: E402
    ARCHITECTURES,
    REFERENCE_PIXEL_RATE,
    PricingInputs,
    estimate_for_duration,
    pixel_rate,
)
from pipeline.media.encode import _CRF, encode_audio  # noqa: E402
from pipeline.media.ffmpeg_tools import GLOBAL_ARGS  # noqa: E402
from pipeline.media.hls import HlsResult, encode_hls  # noqa: E402
from pipeline.media.package import MEDIA_PLAYLIST  # noqa: E402
from pipeline.media.plan import EncodePlan, make_plan  # noqa: E402
from pipeline.media.poster import make_poster  # noqa: E402
from pipeline.media.probe import probe  # noqa: E402
from pipeline.media.sprites import make_sprites  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")
# Light temporal grain (a webcam's sensor noise) and a Game of Life "demo window": enough change per frame
# that x264 works as on a real recording, while the source stays ~13 Mbit/s (quick to generate and upload).
_BENCH_FILTER = (
    "[2:v]scale=640:360:flags=neighbor[win];[0:v][win]overlay=W-w-48:H-h-48,noise=alls=2:allf=t:all_seed=1[v]"
)
_LIFE = "life=size=320x180:rate={fps}:mold=10:ratio=0.5:seed=1:death_color=#202020:life_color=#e0c080"
THUMBNAIL_CLIPS = ((60.0, "1 min"), (600.0, "10 min"))
ESTIMATE_MEDIA_S = 3600.0
ESTIMATE_CONCURRENCY = (EncodeSettings().max_concurrency, 30)


# ------------------------------------------------------------------------------------------ measuring
@dataclass(frozen=True)
class Sample:
    wall_s: float
    child_cpu_s: float  # ffmpeg/ffprobe processes that ended during the measurement
    self_cpu_s: float  # this Python process, all threads

    @property
    def cpu_s(self) -> float:
        return self.child_cpu_s + self.self_cpu_s


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def measure(fn: Callable[[], T]) -> tuple[T, Sample]:
    """Run ``fn`` and time it. Children count once waited for, which every ffmpeg call here does."""
    children, own, start = _cpu(resource.RUSAGE_CHILDREN), _cpu(resource.RUSAGE_SELF), time.perf_counter()
    result = fn()
    wall = time.perf_counter() - start
    return result, Sample(wall, _cpu(resource.RUSAGE_CHILDREN) - children, _cpu(resource.RUSAGE_SELF) - own)


def busy_fraction(seconds: float = 1.0) -> float | None:
    """Share of all CPUs busy over ``seconds``, from /proc/stat (None where there is none). Taken while the
    benchmark itself is idle, it shows other load; the load average would count x264's own threads."""

    def snapshot() -> tuple[int, int] | None:
        try:
            first = Path("/proc/stat").read_text(encoding="ascii").split("\n", 1)[0].split()
        except OSError:
            return None
        # user nice system idle iowait irq softirq steal: steal is CPU the hypervisor gave someone else.
        values = [int(v) for v in first[1:9]]
        return sum(values) - values[3] - values[4], sum(values)

    before = snapshot()
    time.sleep(seconds)
    after = snapshot()
    if before is None or after is None or after[1] == before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def median_sample(samples: list[Sample]) -> Sample:
    """The run with the median wall time (its CPU figures stay those of one real run)."""
    ordered = sorted(samples, key=lambda s: s.wall_s)
    return ordered[(len(ordered) - 1) // 2]


@dataclass(frozen=True)
class Row:
    name: str
    media_s: float
    sample: Sample

    def to_dict(self, raw_wall_s: float) -> dict[str, Any]:
        return {
            "name": self.name,
            "mediaSeconds": self.media_s,
            "wallSeconds": round(self.sample.wall_s, 3),
            "cpuSeconds": round(self.sample.cpu_s, 3),
            "childCpuSeconds": round(self.sample.child_cpu_s, 3),
            "pythonCpuSeconds": round(self.sample.self_cpu_s, 3),
            "cpuSecondsPerMediaSecond": round(self.sample.cpu_s / self.media_s, 4),
            "ratioVsRawWall": round(self.sample.wall_s / raw_wall_s, 3),
        }


# ------------------------------------------------------------------------------------------ clips
def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", *GLOBAL_ARGS, "-y", *args], check=True)


def make_bench_clip(path: Path, seconds: float, width: int = 1920, height: int = 1080, fps: int = 30) -> Path:
    """The encode benchmark's source: H.264 (ultrafast, high rate, x264's default GOP) + AAC in MP4."""
    _ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
        "-f", "lavfi", "-i", _LIFE.format(fps=fps),
        "-filter_complex", _BENCH_FILTER, "-map", "[v]", "-map", "1:a",
        "-c:v", "libx264", "-preset", "ultrafast", "-crf", "20", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", "-t", str(seconds), str(path),
    )  # fmt: skip
    return path


def make_thumbnail_clip(path: Path, seconds: float) -> Path:
    """720p test pattern + tone, ultrafast with x264's default GOP (keyframes every ~8 s, like an export)."""
    _ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=30:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", "-t", str(seconds), str(path),
    )  # fmt: skip
    return path


# ------------------------------------------------------------------------------------------ encodes
def raw_ladder_command(source: Path, out: Path, plan: EncodePlan) -> list[str]:
    """One ffmpeg process: decode once, split, every rung with ``encode_chunk``'s x264 and HLS settings, and
    the AAC rendition ``encode_audio`` would write, as a second output of the same process."""
    job = plan.job
    count = len(job.rungs)
    head = f"[0:V:0]fps={job.fps.numerator}/{job.fps.denominator}:start_time=0"
    labels = [f"[s{i}]" for i in range(count)]
    graph = [head + (f",split={count}{''.join(labels)}" if count > 1 else "[s0]")]
    graph += [
        f"[s{i}]scale={r.width}:{r.height},setsar=1,format=yuv420p[v{i}]" for i, r in enumerate(job.rungs)
    ]
    hls_time = f"{int(job.segment_seconds * 1_000_000) / 1_000_000:.6f}"
    cmd = ["ffmpeg", *GLOBAL_ARGS, "-y", "-i", str(source), "-filter_complex", ";".join(graph)]
    for i, rung in enumerate(job.rungs):
        rung_dir = out / rung.name
        rung_dir.mkdir(parents=True, exist_ok=True)
        cmd += [
            "-map", f"[v{i}]", "-an",
            "-c:v", "libx264", "-preset", job.preset, "-profile:v", "high", "-crf", str(_CRF),
            "-maxrate", f"{rung.maxrate_k}k", "-bufsize", f"{rung.bufsize_k}k",
            "-g", str(job.gop_frames), "-keyint_min", str(job.gop_frames), "-sc_threshold", "0",
            "-flags", "+cgop", "-force_key_frames", f"expr:eq(mod(n,{job.gop_frames}),0)",
            "-f", "hls", "-hls_time", hls_time, "-hls_list_size", "0", "-hls_playlist_type", "vod",
            "-hls_segment_filename", str(rung_dir / "seg-%05d.ts"), str(rung_dir / MEDIA_PLAYLIST),
        ]  # fmt: skip
    if job.has_audio:
        audio_dir = out / "audio"
        audio_dir.mkdir(parents=True, exist_ok=True)
        cmd += [
            "-map", "0:a:0", "-vn",
            "-c:a", "aac", "-b:a", f"{job.audio_bitrate_k}k", "-ac", "2", "-ar", "48000",
            "-f", "hls", "-hls_time", str(job.segment_s), "-hls_list_size", "0", "-hls_playlist_type", "vod",
            "-hls_segment_filename", str(audio_dir / "seg-%05d.ts"), str(audio_dir / MEDIA_PLAYLIST),
        ]  # fmt: skip
    return cmd


def via_step_functions(clip: Path, chunk_s: int, concurrency: int, run: int) -> tuple[Sample, float, int]:
    """(upload-to-done sample, execution seconds as Step Functions reports them, EncodeChunk tasks)."""
    params = {
        "LogLevel": "ERROR",
        "EncodeChunkSeconds": str(chunk_s),
        "EncodeMaxConcurrency": str(concurrency),
    }
    # Runtime start-up (moto, template) is outside the measurement, as it is outside an execution on AWS.
    with LocalRuntime(REPO / "template.yaml", parameters=params) as rt:
        key = f"courses/bench/lecture-{run}.mp4"

        def upload_and_wait() -> dict[str, Any]:
            version = rt.upload(key, clip)
            rt.pump()
            arn = rt.execution_arn(execution_name(rt.ingest_bucket, key, version))
            return rt.wait_for([arn], poll_s=0.05)[arn]

        desc, sample = measure(upload_and_wait)
        if desc["status"] != "SUCCEEDED":
            raise SystemExit(f"execution failed: {desc.get('error')}: {desc.get('cause')}")
        history = rt.history(str(desc["executionArn"]))
        chunks = sum(1 for e in history if e.get("stateEnteredEventDetails", {}).get("name") == "EncodeChunk")
    return sample, (desc["stopDate"] - desc["startDate"]).total_seconds(), chunks


# ------------------------------------------------------------------------------------------ checks
def extinf(text: str) -> list[float]:
    return [
        round(float(line[len("#EXTINF:") :].split(",", 1)[0]), 3)
        for line in text.splitlines()
        if line.startswith("#EXTINF:")
    ]


def media_durations(result: HlsResult) -> dict[str, list[float]]:
    """Segment durations of every media playlist (rungs and audio), by playlist path."""
    return {
        rel: extinf(text)
        for rel, text in result.package.playlists.items()
        if rel.endswith("/" + MEDIA_PLAYLIST)
    }


def raw_durations(out: Path, plan: EncodePlan) -> dict[str, list[float]]:
    names = [r.name for r in plan.job.rungs] + (["audio"] if plan.job.has_audio else [])
    return {
        f"{name}/{MEDIA_PLAYLIST}": extinf((out / name / MEDIA_PLAYLIST).read_text(encoding="utf-8"))
        for name in names
    }


# ------------------------------------------------------------------------------------------ main
def _percent(fraction: float | None) -> str:
    return "n/a" if fraction is None else f"{fraction:.0%}"


def chunk_seconds(value: str) -> int:
    seconds = int(value)
    segment = EncodeSettings().segment_s
    if seconds < segment or seconds % segment:
        raise argparse.ArgumentTypeError(f"must be a whole multiple of the {segment} s segment")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the 1080p encode clip")
    parser.add_argument("--runs", type=int, default=1, help="runs per measurement (the median is shown)")
    parser.add_argument("--chunk-seconds", type=chunk_seconds, default=12, help="chunk length, N-chunk runs")
    parser.add_argument("--workers", type=int, default=2, help="parallel chunks (in-process and Map)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    args = parser.parse_args()
    if args.runs < 1 or args.workers < 1 or not args.seconds > 0:
        parser.error("--runs and --workers must be at least 1, --seconds positive")

    def progress(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    settings = EncodeSettings()
    busy_before = busy_fraction()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-video-") as tmp_name:
        tmp = Path(tmp_name)
        progress(f"generating the {args.seconds:.0f} s 1080p30 clip and the thumbnail clips")
        clip = make_bench_clip(tmp / "lecture.mp4", args.seconds)
        thumb_clips = [
            (label, make_thumbnail_clip(tmp / f"thumbs-{int(s)}.mp4", s)) for s, label in THUMBNAIL_CLIPS
        ]
        info = probe(clip)
        media_s = info.duration_s
        # A chunk length covering the whole clip: the 1-chunk path, whatever --seconds is.
        whole_s = settings.segment_s * max(1, math.ceil(media_s / settings.segment_s))
        plan = make_plan(info, settings, generation="raw", work_prefix="")

        samples: dict[str, list[Sample]] = {}
        one: HlsResult | None = None
        many: HlsResult | None = None
        executions: list[float] = []
        sfn_chunks = 0
        for run in range(args.runs):
            progress(f"run {run + 1}/{args.runs}: raw ffmpeg ladder")
            raw_out = tmp / f"raw-{run}"
            cmd = raw_ladder_command(clip, raw_out, plan)
            _, sample = measure(partial(subprocess.run, cmd, check=True))
            samples.setdefault("raw", []).append(sample)

            progress(f"run {run + 1}/{args.runs}: pipeline, 1 chunk")
            one_out = tmp / f"one-{run}"
            one, sample = measure(partial(encode_hls, clip, one_out, info, settings, chunk_s=whole_s))
            samples.setdefault("one", []).append(sample)

            progress(f"run {run + 1}/{args.runs}: pipeline, {args.chunk_seconds} s chunks")
            many_out = tmp / f"many-{run}"
            many, sample = measure(
                partial(
                    encode_hls,
                    clip,
                    many_out,
                    info,
                    settings,
                    chunk_s=args.chunk_seconds,
                    workers=args.workers,
                )
            )
            samples.setdefault("many", []).append(sample)

            progress(f"run {run + 1}/{args.runs}: audio rendition alone")
            _, sample = measure(partial(encode_audio, clip, tmp / f"audio-{run}", plan.job))
            samples.setdefault("audio", []).append(sample)

            progress(f"run {run + 1}/{args.runs}: local pipeline through Step Functions (moto)")
            sample, execution_s, sfn_chunks = via_step_functions(clip, args.chunk_seconds, args.workers, run)
            samples.setdefault("sfn", []).append(sample)
            executions.append(execution_s)

            for label, thumb in thumb_clips:
                progress(f"run {run + 1}/{args.runs}: poster and sprites, {label}")
                thumb_probe = probe(thumb)
                _, sample = measure(partial(make_poster, thumb, tmp / f"poster-{run}-{label}", thumb_probe))
                samples.setdefault(f"poster {label}", []).append(sample)
                sprites_out = tmp / f"sprites-{run}-{label}"
                _, sample = measure(
                    partial(
                        make_sprites, thumb, sprites_out, thumb_probe, interval_s=settings.sprite_interval_s
                    )
                )
                samples.setdefault(f"sprites {label}", []).append(sample)

        assert one is not None and many is not None
        one_durations = media_durations(one)
        identical = one_durations == media_durations(many)
        raw_identical = raw_durations(tmp / f"raw-{args.runs - 1}", plan) == one_durations
        thumb_seconds = {label: probe(path).duration_s for label, path in thumb_clips}

    total_s = time.perf_counter() - started
    busy_after = busy_fraction()
    med = {name: median_sample(s) for name, s in samples.items()}
    execution_s = statistics.median(executions)
    # The execution as Step Functions timed it; CPU is that of the whole upload-to-done window.
    sfn_exec = Sample(execution_s, med["sfn"].child_cpu_s, med["sfn"].self_cpu_s)
    rows = [
        Row("raw ffmpeg ladder (1 process)", media_s, med["raw"]),
        Row("pipeline, 1 chunk", media_s, med["one"]),
        Row(f"pipeline, {len(many.plan.chunks)} chunks x {args.workers} workers", media_s, med["many"]),
        Row("  of which: audio rendition alone", media_s, med["audio"]),
        Row("pipeline via Step Functions (execution)", media_s, sfn_exec),
        Row("pipeline via Step Functions (upload-to-done)", media_s, med["sfn"]),
    ]
    for _, label in THUMBNAIL_CLIPS:
        rows.append(Row(f"poster {label}", thumb_seconds[label], med[f"poster {label}"]))
    for _, label in THUMBNAIL_CLIPS:
        rows.append(Row(f"sprites {label}", thumb_seconds[label], med[f"sprites {label}"]))

    # cost.py's figure is the EncodeChunk task's CPU per media second for the reference ladder: the 1-chunk
    # path minus its audio encode (a separate task in the model), rescaled if this plan is not the reference.
    one_cpu = med["one"].cpu_s / media_s
    chunk_cpu = (med["one"].cpu_s - med["audio"].cpu_s) / media_s
    scale = REFERENCE_PIXEL_RATE / pixel_rate(one.plan)
    model_cpu = chunk_cpu * scale
    estimates = []
    for arch in ARCHITECTURES:
        for concurrency in ESTIMATE_CONCURRENCY:
            for label, cpu in (("measured", model_cpu), ("default", PricingInputs().cpu_s_per_media_s)):
                estimate = estimate_for_duration(
                    ESTIMATE_MEDIA_S,
                    settings=EncodeSettings(max_concurrency=concurrency),
                    pricing=PricingInputs(architecture=arch, cpu_s_per_media_s=cpu),
                )
                estimates.append({"figure": label, "cpuSPerMediaS": round(cpu, 4), **estimate.to_dict()})

    machine = {
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "ffmpeg": subprocess.run(
            ["ffmpeg", "-hide_banner", "-version"], capture_output=True, text=True, check=True
        ).stdout.split("\n", 1)[0],
        "busyBefore": None if busy_before is None else round(busy_before, 3),
        "busyAfter": None if busy_after is None else round(busy_after, 3),
    }
    raw_wall = med["raw"].wall_s
    if args.json:
        doc = {
            "machine": machine,
            "clip": {
                "seconds": round(media_s, 3),
                "size": f"{info.width}x{info.height}",
                "fps": info.fps,
                "rungs": [r.to_list() for r in one.plan.job.rungs],
                "chunkSeconds": args.chunk_seconds,
                "chunks": len(many.plan.chunks),
                "workers": args.workers,
                "stepFunctionsChunks": sfn_chunks,
                "runs": args.runs,
            },
            "rows": [row.to_dict(raw_wall) for row in rows],
            "cpuSPerMediaS": {
                "onePathTotal": round(one_cpu, 4),
                "chunkOnly": round(chunk_cpu, 4),
                "referenceScale": round(scale, 4),
                "model": round(model_cpu, 4),
                "modelDefault": PricingInputs().cpu_s_per_media_s,
            },
            "identicalSegmentBoundaries": identical,
            "rawFfmpegSameSegmentDurations": raw_identical,
            "estimates": estimates,
            "totalSeconds": round(total_s, 1),
        }
        print(json.dumps(doc, indent=2))
        return

    rungs = ", ".join(r.name for r in one.plan.job.rungs)
    print(
        f"clip: {media_s:.0f} s {info.width}x{info.height} @ {info.fps:g} fps H.264/AAC; ladder {rungs}; "
        f"preset {one.plan.job.preset}; median of {args.runs} run(s)"
    )
    print(
        f"machine: {machine['cpus']} CPUs, {machine['processor']}, {machine['ffmpeg']}; "
        f"CPU busy with other work: {_percent(busy_before)} before, {_percent(busy_after)} after"
    )
    if max(busy_before or 0.0, busy_after or 0.0) > 0.15:
        print("  note: something else was using the CPU: wall times are inflated, CPU times much less so")
    print()
    print(f"{'':46} {'wall s':>8} {'CPU s':>8} {'(py)':>7} {'CPU-s/media-s':>14} {'x raw wall':>11}")
    for row in rows:
        s = row.sample
        print(
            f"{row.name:46} {s.wall_s:8.2f} {s.cpu_s:8.2f} {s.self_cpu_s:7.2f} "
            f"{s.cpu_s / row.media_s:14.3f} {s.wall_s / raw_wall:11.2f}"
        )
    print(
        f"(py) = this Python process's own CPU, included in CPU s. Step Functions ran {sfn_chunks} "
        f"EncodeChunk tasks ({args.workers} at a time) beside EncodeAudio and MakeThumbnails; its CPU is the "
        "whole upload-to-done window. Posters/sprites: ratio vs the raw encode wall, for scale only."
    )
    print()
    print(f"CPU-s per media second, pipeline 1 chunk (video + audio):  {one_cpu:.3f}")
    print(f"  minus the audio encode = EncodeChunk's figure:           {chunk_cpu:.3f}")
    print(
        f"  x reference pixel rate / this ladder's ({scale:.3f})         = {model_cpu:.3f}   "
        f"(cost.py PricingInputs.cpu_s_per_media_s, committed default {PricingInputs().cpu_s_per_media_s})"
    )
    n_chunks = len(many.plan.chunks)
    print(f"identical segment boundaries (1 chunk vs {n_chunks} chunks): {'yes' if identical else 'no'}")
    print(f"raw ffmpeg ladder cut the same segment durations: {'yes' if raw_identical else 'no'}")
    print()
    print(
        f"cost model, {ESTIMATE_MEDIA_S / 3600:.0f} h 1080p30 lecture, default ladder and "
        f"{settings.chunk_s} s chunks, {PricingInputs().memory_mb} MB encoders "
        f"({PricingInputs().vcpus:.2f} vCPU):"
    )
    print(
        f"{'arch':8} {'N':>3} {'CPU-s/media-s':>14} {'chunks':>7} {'waves':>6} {'$/media min':>12} "
        f"{'$ total':>9} {'longest inv s':>14} {'wall s':>8} {'wall min':>9}"
    )
    for est in estimates:
        flag = "" if est["fitsTimeout"] else "  over the timeout"
        figure = f"{est['cpuSPerMediaS']:.3f}" + (" (dflt)" if est["figure"] == "default" else "")
        print(
            f"{est['architecture']:8} {est['maxConcurrency']:>3} {figure:>14} {est['chunks']:>7} "
            f"{est['waves']:>6} {est['usdPerMediaMinute']:12.5f} {est['totalUsd']:9.4f} "
            f"{est['longestInvocationSeconds']:14.1f} {est['wallSeconds']:8.1f} "
            f"{est['wallSeconds'] / 60:9.1f}{flag}"
        )
    print(
        "arm64 uses arm64_cpu_factor 1.0 (not measured on Graviton): only the GB-s price differs. The CPU "
        "figure is this machine's; a Lambda vCPU may be faster or slower."
    )
    print(f"\ntotal benchmark time {total_s:.0f} s (clip generation included)")


if __name__ == "__main__":
    main()
