"""Benchmark: the local pipeline against raw ffmpeg doing the same encode, measured in the same run.

    .venv/bin/python tests/performance/bench_pipeline.py [--seconds 10] [--height 720] [--runs 3]

Prints the raw ffmpeg wall time for the equivalent HLS encode (one H.264/AAC rendition, same settings),
the pipeline's execution time for the same clip (Classify → ProbeMedia → EncodeHls ║ MakePoster →
RecordAsset, through the real event path on moto), and the ratio: what the orchestration, probe gate,
poster and catalog cost on top of the encode. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from pipeline.keys import execution_name  # noqa: E402
from pipeline.local.runtime import LocalRuntime  # noqa: E402
from pipeline.local.samples import make_lecture_clip  # noqa: E402


def raw_ffmpeg(clip: Path, out: Path, height: int) -> float:
    out.mkdir(parents=True, exist_ok=True)
    cmd = [
        "ffmpeg",
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-i",
        str(clip),
        "-map",
        "0:V:0",
        "-map",
        "0:a:0",
        "-vf",
        f"scale=-2:{height},setsar=1,format=yuv420p",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-profile:v",
        "high",
        "-b:v",
        "3000k",
        "-maxrate",
        "3210k",
        "-bufsize",
        "4500k",
        "-g",
        "60",
        "-keyint_min",
        "60",
        "-sc_threshold",
        "0",
        "-force_key_frames",
        "expr:gte(t,n_forced*2)",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        "-ac",
        "2",
        "-ar",
        "48000",
        "-f",
        "hls",
        "-hls_time",
        "6",
        "-hls_playlist_type",
        "vod",
        "-hls_flags",
        "independent_segments",
        "-hls_segment_filename",
        str(out / "seg_%05d.ts"),
        str(out / "index.m3u8"),
    ]
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - start


def pipeline_run(clip: Path, run: int) -> tuple[float, float, float]:
    """(runtime start-up s, execution s as Step Functions reports it, upload-to-done wall s)."""
    t0 = time.perf_counter()
    with LocalRuntime(REPO / "template.yaml", parameters={"LogLevel": "ERROR"}) as rt:
        startup = time.perf_counter() - t0
        key = f"courses/bench/lecture-{run}.mp4"
        t1 = time.perf_counter()
        version = rt.upload(key, clip)
        rt.pump()
        arn = rt.execution_arn(execution_name(rt.ingest_bucket, key, version))
        desc = rt.wait_for([arn], poll_s=0.02)[arn]
        wall = time.perf_counter() - t1
        if desc["status"] != "SUCCEEDED":
            raise SystemExit(f"execution failed: {desc.get('error')}: {desc.get('cause')}")
        execution = (desc["stopDate"] - desc["startDate"]).total_seconds()
    return startup, execution, wall


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        width = round(args.height * 16 / 9 / 2) * 2
        clip = make_lecture_clip(
            Path(tmp) / "clip.mp4", seconds=args.seconds, width=width, height=args.height
        )
        raw = [raw_ffmpeg(clip, Path(tmp) / f"raw{i}", args.height) for i in range(args.runs)]
        runs = [pipeline_run(clip, i) for i in range(args.runs)]
    raw_s = statistics.median(raw)
    startup_s = statistics.median(r[0] for r in runs)
    exec_s = statistics.median(r[1] for r in runs)
    wall_s = statistics.median(r[2] for r in runs)
    print(f"clip: {args.seconds:.0f} s {width}x{args.height} H.264/AAC, median of {args.runs} runs")
    print(f"raw ffmpeg HLS encode          {raw_s:7.2f} s   ({args.seconds / raw_s:5.1f}x realtime)")
    print(f"pipeline execution (SFN)       {exec_s:7.2f} s   ratio {exec_s / raw_s:4.2f}x raw ffmpeg")
    print(f"pipeline upload-to-done wall   {wall_s:7.2f} s   ratio {wall_s / raw_s:4.2f}x raw ffmpeg")
    print(f"local runtime start-up (moto)  {startup_s:7.2f} s")


if __name__ == "__main__":
    main()
