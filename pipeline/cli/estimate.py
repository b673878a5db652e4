"""The ``estimate`` command of ``coursepipe``: what encoding one video on AWS would cost and take.

Contract: ``estimate FILE [--json]`` probes one local file (no encode, no AWS) and prints what encoding it
on AWS would cost and take (``pipeline.media.cost``); with ``--json`` exactly one JSON document on stdout.
Exit 0 ok, 1 when the file fails the probe (the error's class name and message on stderr, and in the
JSON), 2 on usage errors.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from pipeline.cli.console import stdout_console, write_json
from pipeline.cli.registry import Command, Registry
from pipeline.cli.status import ExitStatus, UsageError

if TYPE_CHECKING:
    import argparse

    from pipeline.config import EncodeSettings
    from pipeline.media.cost import Estimate, PricingInputs
    from pipeline.media.plan import EncodePlan
    from pipeline.media.probe import ProbeResult


def register(registry: Registry) -> None:
    registry.add(
        Command(
            "estimate",
            "estimate what encoding a video on AWS costs and how long it takes (probes locally only)",
            _options,
            _estimate,
            description="Probe FILE locally (no encode, no AWS), plan its HLS ladder and chunks as the "
            "pipeline would (HLS_LADDER, ENCODE_CHUNK_SECONDS... from the environment, then these options) "
            "and price the execution at us-east-1 list prices.",
        )
    )


def _options(est: argparse.ArgumentParser) -> None:
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


def _estimate(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from pipeline.config import EncodeSettings
    from pipeline.errors import PipelineError
    from pipeline.media.cost import PricingInputs, estimate_for_probe
    from pipeline.media.probe import probe

    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"{args.file}: no such file")
    try:
        settings = EncodeSettings.from_env()
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
            write_json(doc, indent=2, ensure_ascii=False)
        return ExitStatus.FAILED
    except ValueError as exc:  # a bad HLS_LADDER in the environment
        raise UsageError(str(exc)) from exc

    if args.json:
        doc = _estimate_doc(path, source, plan, settings, pricing, result)
        write_json(doc, indent=2, ensure_ascii=False)
    else:
        console = stdout_console(piped_width=120)
        console.print(_estimate_table(path, source, plan, pricing, result))
        for warning in result.warnings:
            console.print(f"[yellow]warning:[/] {warning}")
        console.print(
            "[dim]us-east-1 list prices; Lambda + Step Functions only (no S3, CloudFront, data transfer, "
            "CloudWatch or free tier). Model and assumptions: pipeline/media/cost.py.[/]"
        )
    return ExitStatus.OK


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
