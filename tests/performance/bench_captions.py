"""Benchmark: what a caption file costs the pipeline, against ffmpeg doing the comparable job.

    python tests/performance/bench_captions.py [--cues 1200] [--minutes 60] [--runs 5] [--json]

On a one-hour SRT generated at run time (1,200 two-line cues, one every 3 s, written as Windows tools
write it: CRLF, a comma before the milliseconds, ``<font>`` and ASS ``{\\an8}`` markup now and then, a few
cues overlapping the next, two out of order), it measures in the same run:

* (a) ``parse_captions`` + ``to_webvtt`` (``pipeline/media/captions.py``): decode, parse, sanitize,
  repair, and write the whole-file WebVTT for ``<track>`` and the transcript;
  against ffmpeg converting the same file (``ffmpeg -i subs.srt subs.vtt``: parse and write, no repairs);
* (b) ``segment_captions`` (``pipeline/media/subtitles.py``): the HLS WebVTT rendition aligned to a
  one-hour video's 6 s segments (600 segments, each with ``X-TIMESTAMP-MAP`` and every cue overlapping
  it), in memory and then also written to disk as ffmpeg writes its files;
  against ffmpeg's segment muxer (``-c:s webvtt -f segment -segment_time 6 -segment_list_type m3u8``),
  the closest ffmpeg has: it cuts where the cues fall (not on the video's grid), repeats no cue across
  a cut and writes no timestamp map. ffmpeg's ``hls`` muxer refuses a subtitle-only input ("No streams
  to mux"): it carries WebVTT only next to a video it is encoding, which would dominate the figure.

Each ffmpeg figure includes starting the ffmpeg process (tens of ms; ``ffmpeg -version`` is timed too,
to show how much); ours run in this Python process, as they do in the Lambda. CPU is user + sys (this
process for ours, ``RUSAGE_CHILDREN`` for ffmpeg). Medians of ``--runs``; the ratio is ours / ffmpeg on
wall time. Not a test (pytest collects only ``test_*.py``): figures depend on the machine and its load.
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
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from pipeline.media.captions import parse_captions, to_webvtt  # noqa: E402
from pipeline.media.ffmpeg_tools import GLOBAL_ARGS  # noqa: E402
from pipeline.media.plan import TIMELINE_OFFSET_S  # noqa: E402
from pipeline.media.subtitles import MPEGTS_HZ, segment_captions, uniform_durations  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable

    from pipeline.media.captions import Cue

SEGMENT_S = 6.0
_LINES = (
    "So the encoder reads one chunk of the source at a time",
    "and every rung of the ladder comes from that one decode.",
    'Here <font color="#ffff00">the keyframes</font> line up across rungs,',
    "{\\an8}which is what lets the player switch between them,",
    "and the audio, encoded once, keeps its priming at the start.",
)


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


def srt_stamp(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d},{millis:03d}"


def make_srt(cues: int, seconds: float) -> bytes:
    """``cues`` evenly over ``seconds``, each shown for 85% of its slot; every 40th overlaps the next by
    300 ms (an editor's rounding, trimmed with a warning), cues 500 and 501 swapped (sorted, a warning)."""
    slot = int(seconds * 1000 / cues)
    blocks: list[tuple[int, int, str]] = []
    for n in range(cues):
        start = n * slot + 100
        end = start + int(slot * 0.85) + (int(slot * 0.15) + 200 if n % 40 == 39 else 0)
        text = f"{_LINES[n % len(_LINES)]}\r\n{_LINES[(n + 2) % len(_LINES)]}"
        blocks.append((start, end, text))
    if cues > 501:
        blocks[500], blocks[501] = blocks[501], blocks[500]
    srt = "\r\n".join(
        f"{n + 1}\r\n{srt_stamp(start)} --> {srt_stamp(end)}\r\n{text}\r\n"
        for n, (start, end, text) in enumerate(blocks)
    )
    return srt.encode("utf-8")


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", *GLOBAL_ARGS, "-y", *args], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cues", type=int, default=1200, help="cues in the caption file")
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the video and the captions")
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (medians are shown)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    args = parser.parse_args()
    if args.runs < 1 or args.cues < 1 or not args.minutes > 0:
        parser.error("--runs and --cues must be at least 1, --minutes positive")

    started = time.perf_counter()
    seconds = args.minutes * 60
    data = make_srt(args.cues, seconds)
    durations = uniform_durations(SEGMENT_S, seconds)
    mpegts = TIMELINE_OFFSET_S * MPEGTS_HZ
    facts: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-captions-") as tmp_name:
        tmp = Path(tmp_name)
        srt = tmp / "subs.srt"
        srt.write_bytes(data)
        parsed: list[Cue] = parse_captions(data, srt.name, duration_s=seconds).cues

        def ours_convert() -> None:
            captions = parse_captions(data, srt.name, duration_s=seconds)
            facts["cues"], facts["warnings"] = len(captions.cues), len(captions.warnings)
            (tmp / "ours.vtt").write_text(to_webvtt(captions.cues), encoding="utf-8")

        def ours_segment() -> None:
            facts["segments"] = len(
                segment_captions(parsed, durations=durations, mpegts_start=mpegts).segments
            )

        def ours_segment_written() -> None:
            rendition = segment_captions(parsed, durations=durations, mpegts_start=mpegts)
            out = tmp / "ours-hls"
            out.mkdir(exist_ok=True)
            for name, text in rendition.segments.items():
                (out / name).write_text(text, encoding="utf-8")
            (out / "index.m3u8").write_text(rendition.playlist, encoding="utf-8")

        def ffmpeg_convert() -> None:
            ffmpeg("-i", str(srt), str(tmp / "ffmpeg.vtt"))

        def ffmpeg_segment() -> None:
            out = tmp / "ffmpeg-seg"
            out.mkdir(exist_ok=True)
            ffmpeg("-i", str(srt), "-c:s", "webvtt", "-f", "segment", "-segment_time", f"{SEGMENT_S:g}",
                   "-segment_list_type", "m3u8", "-segment_list", str(out / "index.m3u8"),
                   "-segment_format", "webvtt", str(out / "sub-%05d.vtt"))  # fmt: skip
            facts["ffmpegSegments"] = len(list(out.glob("sub-*.vtt")))

        def ffmpeg_start() -> None:
            subprocess.run(["ffmpeg", "-version"], capture_output=True, check=True)

        cases: list[tuple[str, Callable[[], None]]] = [
            ("(a) ours: parse + repair + to_webvtt", ours_convert),
            ("(a) ffmpeg: srt -> vtt", ffmpeg_convert),
            ("(b) ours: segment_captions", ours_segment),
            ("(b) ours: segment_captions + write", ours_segment_written),
            ("(b) ffmpeg: segment muxer", ffmpeg_segment),
            ("   ffmpeg process start (-version)", ffmpeg_start),
        ]
        samples: dict[str, list[Sample]] = {name: [] for name, _ in cases}
        for run in range(args.runs):
            # Interleaved, so a load change during the benchmark hits every case alike.
            for name, fn in cases:
                print(f"run {run + 1}/{args.runs}: {name}", file=sys.stderr)
                samples[name].append(measure(fn))
    med = {name: median(s) for name, s in samples.items()}
    against = {
        "(a) ours: parse + repair + to_webvtt": "(a) ffmpeg: srt -> vtt",
        "(b) ours: segment_captions": "(b) ffmpeg: segment muxer",
        "(b) ours: segment_captions + write": "(b) ffmpeg: segment muxer",
    }
    rows: list[dict[str, Any]] = [
        {
            "case": name,
            "wallSeconds": round(s.wall_s, 4),
            "cpuSeconds": round(s.cpu_s, 4),
            "ratioToFfmpeg": round(s.wall_s / med[against[name]].wall_s, 2) if name in against else None,
        }
        for name, s in med.items()
    ]
    machine = {
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "ffmpeg": subprocess.run(
            ["ffmpeg", "-version"], capture_output=True, text=True, check=True
        ).stdout.split("\n", 1)[0],
    }
    document = {
        "machine": machine,
        "runs": args.runs,
        "mediaSeconds": seconds,
        "srtBytes": len(data),
        "videoSegments": len(durations),
        **facts,
        "rows": rows,
    }
    if args.json:
        print(json.dumps(document, indent=2))
        return
    print(
        f"{args.cues} cues over {args.minutes:g} min ({len(data) / 1024:.0f} KiB SRT, {facts['warnings']} "
        f"warnings), {len(durations)} video segments of {SEGMENT_S:g} s; median of {args.runs} run(s); "
        f"{machine['cpus']} CPUs, Python {machine['python']}, {machine['ffmpeg']}"
    )
    print(f"{'':40} {'wall s':>8} {'CPU s':>8} {'ours/ffmpeg':>12}")
    for row in rows:
        ratio = f"{row['ratioToFfmpeg']:12.2f}" if row["ratioToFfmpeg"] is not None else ""
        print(f"{row['case']:40} {row['wallSeconds']:8.4f} {row['cpuSeconds']:8.4f} {ratio}")
    print(
        f"segments: ours {facts['segments']} (the video's grid), ffmpeg {facts['ffmpegSegments']} (cut where "
        "the cues fall). ffmpeg figures include starting its process."
    )
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
