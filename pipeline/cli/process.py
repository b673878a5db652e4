"""The in-process commands of ``coursepipe``: ``process`` and ``demo`` start a local stack, run every
file through the pipeline, export the result and stop.

Contract (other tools rely on it): ``process PATH... --course ID [--out DIR] [--json]`` prints exactly
one JSON document on stdout with ``--json``; exit 0 when every execution succeeded, 1 when any failed,
2 on usage errors. Progress goes to stderr. ``demo [--out DIR] [--json]`` does the same for the bundled
sample course.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from pipeline.cli.console import stderr_console, stdout_console, write_json
from pipeline.cli.defaults import DEFAULT_OUT
from pipeline.cli.registry import Command, Registry
from pipeline.cli.status import ExitStatus
from pipeline.cli.uploads import collect_uploads

if TYPE_CHECKING:
    import argparse

    from pipeline.local.run import RunReport


def register(registry: Registry) -> None:
    registry.add(Command("demo", "run the bundled sample course end to end", _demo_options, _demo))
    registry.add(Command("process", "process files or folders as one course", _process_options, _process))


def _demo_options(demo: argparse.ArgumentParser) -> None:
    demo.add_argument("--out", default=DEFAULT_OUT, help=f"export folder (default ./{DEFAULT_OUT})")
    demo.add_argument("--json", action="store_true", help="print the run report as JSON on stdout")
    demo.add_argument("--verbose", action="store_true", help="show handler logs on stderr")


def _process_options(proc: argparse.ArgumentParser) -> None:
    proc.add_argument("paths", nargs="+", metavar="PATH", help="files or folders (folders recursively)")
    proc.add_argument("--course", required=True, metavar="ID", help="course id, e.g. intro-to-hls")
    proc.add_argument("--out", default=DEFAULT_OUT, help=f"export folder (default ./{DEFAULT_OUT})")
    proc.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")
    proc.add_argument("--verbose", action="store_true", help="show handler logs on stderr")


def _process(args: argparse.Namespace) -> int:
    uploads = collect_uploads(args.paths, args.course)
    return _run(uploads, args.course, Path(args.out), args.json, args.verbose)


def _demo(args: argparse.Namespace) -> int:
    from pipeline.local.samples import SAMPLE_COURSE_ID, materialize_sample_course

    with tempfile.TemporaryDirectory(prefix="coursepipe-demo-") as tmp:
        course_dir = materialize_sample_course(Path(tmp) / "course")
        uploads = collect_uploads([str(course_dir)], SAMPLE_COURSE_ID)
        return _run(uploads, SAMPLE_COURSE_ID, Path(args.out), args.json, args.verbose)


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

    err = stderr_console()

    def progress(key: str, state: str, elapsed: float) -> None:
        err.print(f"[dim]{elapsed:6.1f}s[/] {key.split('/', 2)[2]} [cyan]{state}[/]")

    report = run_uploads(
        uploads, course_id=course_id, out=out, progress=progress, log_level="INFO" if verbose else "ERROR"
    )
    failed = [e for e in report.executions if e["status"] != "SUCCEEDED"]
    if as_json:
        write_json(report.contract(), indent=2, ensure_ascii=False, default=str)
    else:
        console = stdout_console(piped_width=140)
        console.print(_summary_table(report))
        exp = report.export
        console.print(
            f"{len(report.executions) - len(failed)} succeeded, {len(failed)} failed in "
            f"{report.wall_ms / 1000:.1f}s. Exported {exp['objects']} objects, {exp['catalogItems']} "
            f"catalog items and {exp['executions']} execution histories to {out}/"
        )
    return ExitStatus.FAILED if failed else ExitStatus.OK
