"""``coursepipe``: run the pipeline locally (the embedded default runtime).

Contract (other tools rely on it): ``process PATH... --course ID [--out DIR] [--json]`` prints exactly
one JSON document on stdout with ``--json``; exit 0 when every execution succeeded, 1 when any failed,
2 on usage errors. Progress goes to stderr.

``up``, ``upload``, ``executions`` and ``catalog`` (the long-running local stack and its clients) are
documented in ``pipeline.cli_stack``.

``estimate FILE [--json]`` probes one local file (no encode, no AWS) and prints what encoding it on AWS
would cost and take (``pipeline.media.cost``); with ``--json`` exactly one JSON document on stdout. Exit 0
ok, 1 when the file fails the probe (the error's class name and message on stderr, and in the JSON), 2 on
usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipeline.keys import COURSE_ID_RE, INGEST_PREFIX

if TYPE_CHECKING:
    from pipeline.config import EncodeSettings
    from pipeline.local.run import RunReport
    from pipeline.media.cost import Estimate, PricingInputs
    from pipeline.media.plan import EncodePlan
    from pipeline.media.probe import ProbeResult

DEFAULT_OUT = "coursepipe-out"


class UsageError(Exception):
    """Bad command-line input: exit code 2."""


def collect_uploads(paths: Sequence[str], course_id: str) -> list[Any]:
    """Files keep their path relative to the folder given; a file given directly keys as its name.

    Hidden files and folders (``.DS_Store``, ``.git``) are skipped: they are never course content.
    """
    from pipeline.local.run import Upload

    if not COURSE_ID_RE.fullmatch(course_id):
        raise UsageError(f"--course {course_id!r} is not a valid course id: use 1-63 of a-z, 0-9 and '-'")
    uploads: dict[str, Upload] = {}
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise UsageError(f"{raw}: no such file or folder")
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            pairs = [(p, p.relative_to(path).as_posix()) for p in files]
        else:
            pairs = [(path, path.name)]
        for file, rel in pairs:
            key = f"{INGEST_PREFIX}{course_id}/{rel}"
            uploads[key] = Upload(key=key, path=file)
    if not uploads:
        raise UsageError("no files to process in " + ", ".join(paths))
    return list(uploads.values())


def _summary_table(report: RunReport) -> Table:
    assets = {a.get("sourceKey"): a for a in report.assets}
    table = Table(title=f"course {report.course}", show_lines=False)
    for col in ("file", "kind", "status", "time", "outputs / error"):
        table.add_column(col, overflow="fold")
    for ex in report.executions:
        asset = assets.get(ex["key"], {})
        status = ex["status"]
        style = "green" if status == "SUCCEEDED" else "red"
        if status == "SUCCEEDED":
            outputs = asset.get("outputs") or []
            detail = outputs[0].split("/", 2)[2] if outputs else ""
            detail += f" (+{len(outputs) - 1})" if len(outputs) > 1 else ""
        else:
            detail = f"{ex['error']}: {ex['cause']}"
        secs = f"{ex['durationMs'] / 1000:.1f}s" if ex["durationMs"] is not None else "-"
        table.add_row(
            ex["key"].split("/", 2)[2], str(asset.get("kind", "?")), f"[{style}]{status}[/]", secs, detail
        )
    return table


def _run(uploads: list[Any], course_id: str, out: Path, as_json: bool, verbose: bool) -> int:
    from pipeline.local.run import run_uploads

    err = Console(stderr=True, highlight=False)

    def progress(key: str, state: str, elapsed: float) -> None:
        err.print(f"[dim]{elapsed:6.1f}s[/] {key.split('/', 2)[2]} [cyan]{state}[/]")

    report = run_uploads(
        uploads, course_id=course_id, out=out, progress=progress, log_level="INFO" if verbose else "ERROR"
    )
    failed = [e for e in report.executions if e["status"] != "SUCCEEDED"]
    if as_json:
        doc = report.contract()
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n")
    else:
        console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)
        console.print(_summary_table(report))
        exp = report.export
        console.print(
            f"{len(report.executions) - len(failed)} succeeded, {len(failed)} failed in "
            f"{report.wall_ms / 1000:.1f}s. Exported {exp['objects']} objects, {exp['catalogItems']} "
            f"catalog items and {exp['executions']} execution histories to {out}/"
        )
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coursepipe",
        description="Course media pipeline. Runs the AWS Step Functions pipeline locally on moto "
        "(no AWS account needed); deploy the same template.yaml to AWS with SAM.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the bundled sample course end to end")
    demo.add_argument("--out", default=DEFAULT_OUT, help=f"export folder (default ./{DEFAULT_OUT})")
    demo.add_argument("--json", action="store_true", help="print the run report as JSON on stdout")
    demo.add_argument("--verbose", action="store_true", help="show handler logs on stderr")
    proc = sub.add_parser("process", help="process files or folders as one course")
    proc.add_argument("paths", nargs="+", metavar="PATH", help="files or folders (folders recursively)")
    proc.add_argument("--course", required=True, metavar="ID", help="course id, e.g. intro-to-hls")
    proc.add_argument("--out", default=DEFAULT_OUT, help=f"export folder (default ./{DEFAULT_OUT})")
    proc.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")
    proc.add_argument("--verbose", action="store_true", help="show handler logs on stderr")
    est = sub.add_parser(
        "estimate",
        help="estimate what encoding a video on AWS costs and how long it takes (probes locally only)",
        description="Probe FILE locally (no encode, no AWS), plan its HLS ladder and chunks as the "
        "pipeline would (HLS_LADDER, ENCODE_CHUNK_SECONDS... from the environment, then these options) "
        "and price the execution at us-east-1 list prices.",
    )
    est.add_argument("file", metavar="FILE", help="an audio or video file")
    est.add_argument(
        "--chunk-seconds",
        type=int,
        metavar="N",
        help="media seconds per EncodeChunk (default: ENCODE_CHUNK_SECONDS or 120)",
    )
    est.add_argument(
        "--max-concurrency",
        type=int,
        metavar="N",
        help="chunks encoded at once (default: ENCODE_MAX_CONCURRENCY or 10)",
    )
    est.add_argument(
        "--memory-mb",
        type=int,
        metavar="N",
        help="EncodeChunk memory; sets its vCPUs (default 3538, as in template.yaml)",
    )
    est.add_argument("--arch", choices=("x86_64", "arm64"), help="Lambda architecture (default x86_64)")
    est.add_argument(
        "--cpu-per-media-second",
        type=float,
        metavar="X",
        help="measured CPU-s per media second for the 1080p30 5-rung reference ladder (default 1.45)",
    )
    est.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")
    from pipeline.cli_access import add_parsers as add_access_parsers
    from pipeline.cli_edge import add_parsers as add_edge_parsers
    from pipeline.cli_stack import add_parsers

    add_parsers(sub)
    add_access_parsers(sub)
    add_edge_parsers(sub)
    return parser


def _estimate(args: argparse.Namespace) -> int:
    import os
    from dataclasses import replace

    from pipeline.config import EncodeSettings
    from pipeline.errors import PipelineError
    from pipeline.media.cost import PricingInputs, estimate_for_probe
    from pipeline.media.probe import probe

    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"{args.file}: no such file")
    try:
        settings = EncodeSettings.from_env(os.environ)
        if args.chunk_seconds is not None:
            if args.chunk_seconds < settings.segment_s or args.chunk_seconds % settings.segment_s:
                raise ValueError(
                    f"--chunk-seconds {args.chunk_seconds} must be a whole multiple of the "
                    f"{settings.segment_s} s segment length (HLS_SEGMENT_SECONDS)"
                )
            settings = replace(settings, chunk_s=args.chunk_seconds)
        if args.max_concurrency is not None:
            settings = replace(settings, max_concurrency=args.max_concurrency)
        settings.validate()
        overrides = {
            name: value
            for name, value in (
                ("memory_mb", args.memory_mb),
                ("architecture", args.arch),
                ("cpu_s_per_media_s", args.cpu_per_media_second),
            )
            if value is not None
        }
        pricing = PricingInputs(**overrides)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc

    try:
        source = probe(path)
        plan, result = estimate_for_probe(source, settings, pricing)
    except PipelineError as exc:
        name = type(exc).__name__
        print(f"coursepipe: {name}: {exc}", file=sys.stderr)
        if args.json:
            doc = {"file": str(path), "error": {"name": name, "message": str(exc)}}
            sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        return 1
    except ValueError as exc:  # a bad HLS_LADDER in the environment
        raise UsageError(str(exc)) from exc

    if args.json:
        doc = _estimate_doc(path, source, plan, settings, pricing, result)
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
        console.print(_estimate_table(path, source, plan, pricing, result))
        for warning in result.warnings:
            console.print(f"[yellow]warning:[/] {warning}")
        console.print(
            "[dim]us-east-1 list prices; Lambda + Step Functions only (no S3, CloudFront, data transfer, "
            "CloudWatch or free tier). Model and assumptions: pipeline/media/cost.py.[/]"
        )
    return 0


def _estimate_doc(
    path: Path,
    source: ProbeResult,
    plan: EncodePlan,
    settings: EncodeSettings,
    pricing: PricingInputs,
    result: Estimate,
) -> dict[str, Any]:
    job = plan.job
    return {
        "file": str(path),
        "source": {
            "durationS": round(source.duration_s, 3),
            "width": source.width,
            "height": source.height,
            "fps": round(source.fps, 3) if source.fps is not None else None,
            "hasVideo": source.has_video,
            "hasAudio": source.has_audio,
        },
        "plan": {
            "fps": f"{job.fps.numerator}/{job.fps.denominator}",
            "rungs": [r.to_list() for r in job.rungs],
            "segmentSeconds": settings.segment_s,
            "chunkSeconds": settings.chunk_s,
            "chunkCount": len(plan.chunks),
            "maxConcurrency": plan.max_concurrency,
        },
        "pricing": {
            "architecture": pricing.architecture,
            "memoryMb": pricing.memory_mb,
            "vcpus": round(pricing.vcpus, 3),
            "cpuSecondsPerMediaSecond": pricing.cpu_s_per_media_s,
            "referencePixelRate": round(pricing.reference_pixel_rate),
            "lambdaGbSecondUsd": pricing.gb_s_usd,
            "lambdaRequestUsd": pricing.lambda_request_usd,
            "stepFunctionsTransitionUsd": pricing.sfn_transition_usd,
        },
        "estimate": result.to_dict(),
    }


def _estimate_table(
    path: Path, source: ProbeResult, plan: EncodePlan, pricing: PricingInputs, result: Estimate
) -> Table:
    job = plan.job
    table = Table(title=f"estimate for {escape(path.name)}", show_header=False)
    table.add_column("item", style="bold")
    table.add_column("value", overflow="fold")
    picture = (
        f"{source.width}x{source.height} @ {source.fps or 0:.4g} fps" if source.has_video else "no video"
    )
    sound = "audio" if source.has_audio else "no audio"
    table.add_row("source", f"{result.media_s:,.1f} s, {picture}, {sound}")
    if job.rungs:
        ladder = ", ".join(f"{r.name} {r.width}x{r.height} {r.bitrate_k}k" for r in job.rungs)
        table.add_row("ladder", f"{ladder} @ {float(job.fps):.4g} fps")
        ratio = result.pixel_rate / pricing.reference_pixel_rate
        table.add_row(
            "chunks",
            f"{result.chunks} (max {result.max_concurrency} at once: {result.waves} "
            f"wave{'s' if result.waves != 1 else ''})",
        )
        table.add_row(
            "encode CPU",
            f"{result.cpu_s:,.0f} CPU-s ({pricing.cpu_s_per_media_s:g} CPU-s per media s x {ratio:.2f} "
            f"of the reference pixel rate); longest chunk {result.max_chunk_cpu_s:,.0f} CPU-s",
        )
    table.add_row(
        "Lambda",
        f"{pricing.architecture}, {pricing.memory_mb} MB = {pricing.vcpus:.2f} vCPU; "
        f"{result.gb_s:,.1f} GB-s, {result.requests} requests: ${result.lambda_usd:.4f}",
    )
    table.add_row("Step Functions", f"{result.transitions} transitions: ${result.step_functions_usd:.4f}")
    table.add_row(
        "total", f"[bold]${result.total_usd:.4f}[/] (${result.usd_per_media_minute:.4f} per media minute)"
    )
    timeout = "" if result.fits_timeout else " [red]over the timeout[/]"
    table.add_row(
        "wall time",
        f"~{result.wall_s:,.0f} s; longest chunk invocation {result.longest_invocation_s:,.0f} s "
        f"of {pricing.timeout_s:,.0f} s{timeout}",
    )
    return table


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from pipeline.cli_access import run as run_access_command
        from pipeline.cli_edge import run as run_edge_command
        from pipeline.cli_stack import run as run_stack_command

        done = run_stack_command(args)
        if done is None:
            done = run_access_command(args)
        if done is None:
            done = run_edge_command(args)
        if done is not None:
            return done
        if args.command == "estimate":
            return _estimate(args)
        if args.command == "process":
            uploads = collect_uploads(args.paths, args.course)
            return _run(uploads, args.course, Path(args.out), args.json, args.verbose)
        from pipeline.local.samples import SAMPLE_COURSE_ID, materialize_sample_course

        with tempfile.TemporaryDirectory(prefix="coursepipe-demo-") as tmp:
            course_dir = materialize_sample_course(Path(tmp) / "course")
            uploads = collect_uploads([str(course_dir)], SAMPLE_COURSE_ID)
            return _run(uploads, SAMPLE_COURSE_ID, Path(args.out), args.json, args.verbose)
    except UsageError as exc:
        print(f"coursepipe: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
