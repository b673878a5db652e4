"""``coursepipe``: run the pipeline locally (the embedded default runtime).

Contract (other tools rely on it): ``process PATH... --course ID [--out DIR] [--json]`` prints exactly
one JSON document on stdout with ``--json``; exit 0 when every execution succeeded, 1 when any failed,
2 on usage errors. Progress goes to stderr.
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
from rich.table import Table

from pipeline.keys import COURSE_ID_RE, INGEST_PREFIX

if TYPE_CHECKING:
    from pipeline.local.run import RunReport

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
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
