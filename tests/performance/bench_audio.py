"""Benchmark: what EBU R128 normalisation and a second soundtrack cost the EncodeAudio task.

    python tests/performance/bench_audio.py [--seconds 600] [--runs 3] [--json]

On lectures generated at run time (a small H.264 picture, so the demuxer reads video packets as it would
on a real lecture, and stereo 48 kHz AAC soundtracks of pink noise whose level drifts like a voice's,
about -36 LUFS with a 3 LU range: content the AAC encoder cannot shortcut), it measures in the same run:

* raw ffmpeg: the one- and two-track AAC HLS encodes alone (``ffmpeg -i ... -c:a aac -f hls``, one
  output per track, no filters): the references every ratio is taken against (same track count);
* ``encode_audio`` (``pipeline/media/encode.py``), normalisation off (``AUDIO_LOUDNESS_LUFS=""``);
* ``encode_audio`` with EBU R128 normalisation (the default): pass 1 measures with ffmpeg's ``ebur128``
  meter, pass 2 is one gain (``volume``) in the encode; linear on this content;
* the same for two tracks in one process (as ``encode_hls`` runs them locally), and one of the two
  alone, which is what each EncodeAudio of the EncodeSoundtracks Map does on Lambda (one per track);
* one "peaky" track (quiet, with loud clicks) whose peaks the gain would push over the limit: the gain,
  then ``alimiter`` (mode "limited");
* pass 1 alone (``measure_loudness``), and for comparison only, the pass 1 the pipeline used before:
  loudnorm's own measuring run (``print_format=json``), which filters at 192 kHz.

CPU is user + sys of the ffmpeg children (``RUSAGE_CHILDREN``) plus this process. From the CPU per media
second it extrapolates EncodeAudio for a 4-hour lecture on the audio function's one vCPU (ffmpeg's
filters and AAC encoder run on one thread) against Lambda's 15-minute limit. Not a test (pytest collects
only ``test_*.py``).
"""

from __future__ import annotations

import argparse
import json
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
from typing import TYPE_CHECKING, Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from pipeline.config import EncodeSettings  # noqa: E402
from pipeline.media.encode import AudioManifest, encode_audio  # noqa: E402
from pipeline.media.ffmpeg_tools import GLOBAL_ARGS  # noqa: E402
from pipeline.media.loudness import TRUE_PEAK_DBTP, measure_loudness  # noqa: E402
from pipeline.media.plan import EncodeJob, make_plan  # noqa: E402
from pipeline.media.probe import probe  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable

LAMBDA_TIMEOUT_S = 900
LONG_LECTURE_S = 4 * 3600
# A voice-like drift of level over pink noise, a different programme per track.
_SPEECH = "anoisesrc=color=pink:r=48000:a={a}:seed={seed},volume='0.25+0.75*abs(sin(2*PI*t*{f}))':eval=frame"
_PEAKY = "aevalsrc='0.03*sin(2*PI*440*t)+0.7*sin(2*PI*1000*t)*lt(mod(t,2),0.02)':s=48000"
LECTURES = {
    "one": [_SPEECH.format(a=0.1, seed=1, f=0.11)],
    "two": [_SPEECH.format(a=0.1, seed=1, f=0.11), _SPEECH.format(a=0.12, seed=2, f=0.07)],
    "peaky": [_PEAKY],
}
# (lecture, normalised, row name)
CASES = (
    ("one", False, "1 track, encode alone"),
    ("one", True, "1 track, loudness two-pass"),
    ("two", False, "2 tracks, encode alone"),
    ("two", True, "2 tracks, loudness two-pass"),
    ("two", True, "1 of 2 tracks (one EncodeAudio), two-pass"),
    ("peaky", True, "1 peaky track, two-pass"),
)
RAW = {1: "raw ffmpeg, 1 track AAC HLS", 2: "raw ffmpeg, 2 tracks AAC HLS"}


@dataclass(frozen=True)
class Sample:
    wall_s: float
    cpu_s: float


def measure(fn: Callable[[], object]) -> Sample:
    def cpu() -> float:
        children, own = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
        return children.ru_utime + children.ru_stime + own.ru_utime + own.ru_stime

    before, start = cpu(), time.perf_counter()
    fn()
    return Sample(time.perf_counter() - start, cpu() - before)


def median(samples: list[Sample]) -> Sample:
    return Sample(statistics.median(s.wall_s for s in samples), statistics.median(s.cpu_s for s in samples))


def make_lecture(path: Path, seconds: float, tracks: list[str]) -> Path:
    inputs = [
        arg for track in tracks for arg in ("-f", "lavfi", "-i", f"{track},aformat=channel_layouts=stereo")
    ]
    maps = [arg for n in range(len(tracks)) for arg in ("-map", f"{n + 1}:a")]
    subprocess.run(
        ["ffmpeg", *GLOBAL_ARGS, "-y", "-f", "lavfi", "-i", f"testsrc2=s=320x180:r=25:d={seconds}", *inputs,
         "-map", "0:v", *maps, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-b:a", "160k",
         "-t", str(seconds), str(path)],
        check=True,
    )  # fmt: skip
    return path


def modes(manifests: list[AudioManifest]) -> str:
    return ",".join((m.loudness.mode or "silent") if m.loudness else "-" for m in manifests)


def raw_encode(source: Path, out: Path, tracks: int, job: EncodeJob) -> None:
    """ffmpeg alone: every track to AAC HLS, one output each, no filter (what the encode costs at least)."""
    cmd = ["ffmpeg", *GLOBAL_ARGS, "-y", "-i", str(source)]
    for n in range(tracks):
        track = out / str(n)
        track.mkdir(parents=True, exist_ok=True)
        cmd += ["-map", f"0:a:{n}", "-c:a", "aac", "-b:a", f"{job.audio_bitrate_k}k", "-ac", "2", "-f", "hls",
                "-hls_time", str(job.segment_s), "-hls_list_size", "0", "-hls_playlist_type", "vod",
                "-hls_segment_filename", str(track / "seg-%d.ts"), str(track / "index.m3u8")]  # fmt: skip
    subprocess.run(cmd, check=True)


def loudnorm_pass(source: Path, tracks: int, target: float) -> None:
    """The pass 1 the pipeline ran before: loudnorm measuring every track (one decode, all tracks)."""
    cmd = ["ffmpeg", *GLOBAL_ARGS, "-i", str(source)]
    for n in range(tracks):
        meter = f"loudnorm=I={target}:TP={TRUE_PEAK_DBTP}:LRA=11:print_format=json"
        cmd += ["-map", f"0:a:{n}", "-af", f"aformat=channel_layouts=stereo,{meter}", "-f", "null", "-"]
    subprocess.run(cmd, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=600.0, help="length of the lectures")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (medians are shown)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    args = parser.parse_args()
    if args.runs < 1 or not args.seconds > 0:
        parser.error("--runs must be at least 1, --seconds positive")

    started = time.perf_counter()
    target = EncodeSettings().loudness_lufs
    assert target is not None
    mode_of: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-audio-") as tmp_name:
        tmp = Path(tmp_name)
        print(f"generating {len(LECTURES)} lectures of {args.seconds:.0f} s", file=sys.stderr)
        sources = {
            name: make_lecture(tmp / f"{name}.mp4", args.seconds, tracks) for name, tracks in LECTURES.items()
        }
        probes = {name: probe(path) for name, path in sources.items()}
        media_s = probes["one"].duration_s
        jobs: dict[tuple[str, bool], EncodeJob] = {
            (name, on): make_plan(
                probes[name],
                EncodeSettings(loudness_lufs=target if on else None),
                generation="b",
                work_prefix="",
            ).job
            for name in LECTURES
            for on in (False, True)
        }

        def encode(name: str, lecture: str, on: bool) -> None:
            out = tmp / name.replace(" ", "-").replace(",", "")
            only = 1 if name.startswith("1 of 2") else None
            mode_of[name] = modes(encode_audio(sources[lecture], out, jobs[(lecture, on)], only=only))

        cases: list[tuple[str, Callable[[], object]]] = [
            (RAW[n], partial(raw_encode, sources[lecture], tmp / f"raw-{n}", n, jobs[(lecture, False)]))
            for n, lecture in ((1, "one"), (2, "two"))
        ]
        cases += [(name, partial(encode, name, lecture, on)) for lecture, on, name in CASES]
        for n, lecture in ((1, "one"), (2, "two")):
            tracks = jobs[(lecture, True)].audio_tracks
            suffix = "s" if n > 1 else ""
            cases.append(
                (
                    f"  pass 1 alone (ebur128), {n} track{suffix}",
                    partial(measure_loudness, sources[lecture], tracks),
                )
            )
            cases.append(
                (
                    f"  (before: loudnorm pass 1, {n} track{suffix})",
                    partial(loudnorm_pass, sources[lecture], n, target),
                )
            )

        samples: dict[str, list[Sample]] = {name: [] for name, _ in cases}
        for run in range(args.runs):
            # Interleaved, so a load change during the benchmark hits every case alike.
            for name, fn in cases:
                print(f"run {run + 1}/{args.runs}: {name.strip()}", file=sys.stderr)
                samples[name].append(measure(fn))
    med = {name: median(s) for name, s in samples.items()}

    def reference(name: str) -> Sample:
        """The raw ffmpeg encode of as many tracks as the row handles."""
        return med[RAW[2 if "2 tracks" in name and not name.startswith("1 of 2") else 1]]

    rows: list[dict[str, Any]] = [
        {
            "case": name,
            "wallSeconds": round(s.wall_s, 3),
            "cpuSeconds": round(s.cpu_s, 3),
            "cpuSecondsPerMediaSecond": round(s.cpu_s / media_s, 5),
            "wallRatio": round(s.wall_s / reference(name).wall_s, 2),
            "cpuRatio": round(s.cpu_s / reference(name).cpu_s, 2),
            "fourHourLectureSeconds": round(s.cpu_s / media_s * LONG_LECTURE_S),
            "loudnessMode": mode_of.get(name),
        }
        for name, s in med.items()
    ]
    machine = {
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "ffmpeg": subprocess.run(
            ["ffmpeg", "-version"], capture_output=True, text=True, check=True
        ).stdout.split("\n", 1)[0],
    }
    if args.json:
        print(
            json.dumps(
                {"machine": machine, "mediaSeconds": media_s, "runs": args.runs, "rows": rows}, indent=2
            )
        )
        return
    print(
        f"{media_s:.0f} s lectures, median of {args.runs} run(s); {machine['cpus']} CPUs, {machine['ffmpeg']}"
    )
    header = (
        f"{'wall s':>8} {'CPU s':>8} {'CPU-s/media-s':>14} {'x wall':>7} {'x CPU':>7} {'4 h lecture':>12}"
    )
    print(f"{'':40} {header}  second pass")
    for row in rows:
        flag = "  over 15 min" if row["fourHourLectureSeconds"] > LAMBDA_TIMEOUT_S else ""
        print(
            f"{row['case']:40} {row['wallSeconds']:8.2f} {row['cpuSeconds']:8.2f} "
            f"{row['cpuSecondsPerMediaSecond']:14.4f} {row['wallRatio']:7.2f} {row['cpuRatio']:7.2f} "
            f"{row['fourHourLectureSeconds']:10d} s  {row['loudnessMode'] or ''}{flag}"
        )
    print(
        "x wall / x CPU: against raw ffmpeg encoding as many tracks in the same run. 4 h lecture: CPU-s per "
        "media second x 14400, the time on one vCPU (ffmpeg's audio path is single-threaded); on Lambda each "
        "EncodeAudio handles one track (the '1 of 2' row)."
    )
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
