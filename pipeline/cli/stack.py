"""The stack commands of ``coursepipe``: ``up`` serves the local stack; ``upload``, ``executions`` and
``catalog`` are its clients (and a deployed stack's, with ``--stack``).

Contracts: ``up [--aws-port 4566] [--http-port 8080]`` prints the endpoints and resource names and, with
``--json``, exactly one JSON line on stdout once ready; Ctrl-C or SIGTERM stops it with exit 0.
``upload PATH... --course ID [--endpoint URL | --stack NAME] [--no-wait] [--json]``, ``executions
[--course ID] [--json]`` and ``catalog [COURSE_ID] [--include-deleted] [--json]``: with ``--json`` exactly
one JSON document on stdout; exit 0 ok, 1 when an execution failed (``upload``) or the course is unknown
(``catalog``), 2 on usage errors or an unreachable stack. ``catalog`` is the operators' view (it reads the
table with the caller's AWS credentials, not the anonymous API): every status, errors and execution ARNs,
as ``GET /catalog/admin/courses/{courseId}`` shows them; without COURSE_ID the published courses.

``enroll COURSE_ID SUB... [--role learner|author] [--remove] [--json]`` grants (or revokes) the Cognito
users ``SUB`` signed cookies for one course; exit 0, 2 on usage errors. ``migrate-enrollments
[--keep-legacy] [--dry-run] [--json]`` moves schema 2 enrolments to their own partition (catalog
SCHEMA.md, schema 3): ``--json`` prints ``{"found", "copied", "alreadyPresent", "removed", "dryRun"}``;
exit 0.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from pipeline.cli.console import print_error, stderr_console, stdout_console, write_json
from pipeline.cli.defaults import DEFAULT_HTTP_PORT, DEFAULT_KEY_DIR
from pipeline.cli.registry import Command, Registry
from pipeline.cli.status import ExitStatus
from pipeline.cli.uploads import collect_uploads
from pipeline.keys import COURSE_ID_RE
from pipeline.local.target import DEFAULT_AWS_PORT, StackTarget, TargetError

if TYPE_CHECKING:
    import argparse

    from rich.console import Console

ENROLL_ROLES = ("learner", "author")


def register(registry: Registry) -> None:
    # Every client command resolves and probes its stack first: a stack that is not there is a usage error.
    unreachable = (TargetError,)
    for command in (
        Command(
            "up",
            "run the local stack in the foreground (AWS endpoint + catalog API + site) until Ctrl-C",
            _up_options,
            _up,
            description="Serve the local stack on 127.0.0.1: moto (S3, SQS, EventBridge, DynamoDB, Lambda, "
            "Step Functions) on --aws-port for the aws CLI and SDKs, and the catalog API (/catalog/...) and "
            "published site (/courses/...) on --http-port. Uploads by any client run the pipeline.",
        ),
        Command(
            "upload", "upload files or folders to a running stack and follow them", _upload_options, _upload
        ),
        Command(
            "executions",
            "list ProcessAsset executions: status, duration, error",
            _executions_options,
            _executions,
        ),
        Command(
            "catalog",
            "print the catalog: all courses, or one course's lessons and assets",
            _catalog_options,
            _catalog,
        ),
        Command(
            "enroll",
            "let Cognito users get the signed cookies of one course (or revoke it with --remove)",
            _enroll_options,
            _enroll,
            description="Write (or delete) enrolment items: PK=ENROLL#{courseId}, SK=USER#{sub}. SUB is "
            "the user's Cognito sub (aws cognito-idp admin-get-user ...). Admins need none: they see every "
            "course.",
        ),
        Command(
            "migrate-enrollments",
            "one-off: move schema 2 enrolments out of the course partitions (catalog schema 3)",
            _migrate_options,
            _migrate_enrollments,
            description="Schema 2 stored enrolments as PK=COURSE#{courseId}, SK=ENROLL#{sub}; schema 3 reads "
            "only PK=ENROLL#{courseId}, SK=USER#{sub}. Copies every old item (one Scan) and deletes it. Safe "
            "to run again. With --keep-legacy the old items stay: run it so before deploying schema 3 code, "
            "and again without it afterwards.",
        ),
    ):
        registry.add(replace(command, usage_errors=unreachable))


def _console() -> Console:
    return stdout_console(piped_width=160)


def _err() -> Console:
    return stderr_console()


def _target_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("which stack (default: the local one `coursepipe up` serves)")
    group.add_argument(
        "--endpoint",
        metavar="URL",
        help=f"AWS endpoint of a local stack (default COURSEPIPE_ENDPOINT_URL or http://127.0.0.1:{DEFAULT_AWS_PORT})",
    )
    group.add_argument(
        "--stack", metavar="NAME", help="a stack deployed with `sam deploy` (reads its outputs)"
    )
    group.add_argument("--profile", metavar="NAME", help="AWS profile for --stack")
    group.add_argument("--region", metavar="REGION", help="AWS region for --stack")


def _up_options(up: argparse.ArgumentParser) -> None:
    up.add_argument(
        "--aws-port", type=int, default=DEFAULT_AWS_PORT, metavar="P", help=f"default {DEFAULT_AWS_PORT}"
    )
    up.add_argument(
        "--http-port", type=int, default=DEFAULT_HTTP_PORT, metavar="Q", help=f"default {DEFAULT_HTTP_PORT}"
    )
    up.add_argument(
        "--keys",
        default=DEFAULT_KEY_DIR,
        metavar="DIR",
        help="signing key pair the edge trusts (made there if missing; `coursepipe cookies` uses it)",
    )
    up.add_argument("--json", action="store_true", help="print the endpoints as one JSON line when ready")
    up.add_argument("--verbose", action="store_true", help="show handler logs on stderr")


def _upload_options(upl: argparse.ArgumentParser) -> None:
    upl.add_argument("paths", nargs="+", metavar="PATH", help="files or folders (folders recursively)")
    upl.add_argument("--course", required=True, metavar="ID", help="course id, e.g. intro-to-hls")
    upl.add_argument("--bucket", metavar="NAME", help="ingest bucket (default: from the template or --stack)")
    upl.add_argument("--no-wait", action="store_true", help="upload and return without following executions")
    upl.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")
    _target_options(upl)


def _executions_options(exe: argparse.ArgumentParser) -> None:
    exe.add_argument("--course", metavar="ID", help="only this course's files")
    exe.add_argument("--limit", type=int, default=50, metavar="N", help="newest N (default 50)")
    exe.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")
    _target_options(exe)


def _catalog_options(cat: argparse.ArgumentParser) -> None:
    cat.add_argument("course_id", nargs="?", metavar="COURSE_ID")
    cat.add_argument("--include-deleted", action="store_true", help="also list DELETED assets")
    cat.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")
    _target_options(cat)


def _enroll_options(enr: argparse.ArgumentParser) -> None:
    enr.add_argument("course_id", metavar="COURSE_ID")
    enr.add_argument("subs", nargs="+", metavar="SUB", help="Cognito user sub(s)")
    enr.add_argument("--role", choices=ENROLL_ROLES, default="learner", help="default learner")
    enr.add_argument("--remove", action="store_true", help="revoke instead of grant")
    enr.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")
    _target_options(enr)


def _migrate_options(mig: argparse.ArgumentParser) -> None:
    mig.add_argument("--keep-legacy", action="store_true", help="copy only; leave the schema 2 items")
    mig.add_argument("--dry-run", action="store_true", help="only count the schema 2 items")
    mig.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")
    _target_options(mig)


def _target(args: argparse.Namespace, bucket: str | None = None) -> StackTarget:
    from pipeline.local.target import check_reachable, resolve_target

    target = resolve_target(
        endpoint=args.endpoint, stack=args.stack, profile=args.profile, region=args.region, bucket=bucket
    )
    check_reachable(target)
    return target


# ---------------------------------------------------------------- up
def _up(args: argparse.Namespace) -> int:
    from pipeline.local.up import LocalStack, PortInUseError, run_forever

    err = _err()

    def announce(info: dict[str, Any]) -> None:
        if args.json:
            write_json(info, flush=True)
            return
        out = _console()
        out.print("[bold green]coursepipe up[/]: local stack ready (state lives until Ctrl-C)")
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for label, key in (
            ("AWS endpoint", "awsEndpoint"),
            ("catalog API", "catalogApi"),
            ("site", "site"),
            ("sign in", "signIn"),
            ("dev user", "devUser"),
            ("dev password", "devPassword"),
            ("dev TOTP secret", "devTotpSecret"),
            ("signing key", "keyId"),
            ("region", "region"),
            ("ingest bucket", "ingestBucket"),
            ("publish bucket", "publishBucket"),
            ("catalog table", "catalogTable"),
            ("state machine", "stateMachineArn"),
        ):
            table.add_row(label, str(info[key]))
        out.print(table)
        out.print(
            "\nTry:\n"
            f"  coursepipe upload ./my-course --course my-course\n"
            f"  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test aws --endpoint-url {info['awsEndpoint']} "
            f"s3 cp lesson.md s3://{info['ingestBucket']}/courses/my-course/lessons/lesson.md\n"
            f"  curl {info['catalogApi']}\n"
            f"  open {info['signIn']} (course content under /courses/ needs the signed cookies it sets)\n"
            f"  coursepipe cookies my-course --domain {info['httpFront'].split('//', 1)[1]} "
            f"--key {info['keysDir']}/private_key.pem   # cookies for curl/ffprobe\n"
        )
        sys.stdout.flush()

    stack = LocalStack(
        aws_port=args.aws_port,
        http_port=args.http_port,
        keys_dir=Path(args.keys),
        log_level="INFO" if args.verbose else "ERROR",
        on_ingest_failure=lambda message: err.print(f"[red]{escape(message)}[/]"),
    )
    try:
        run_forever(stack, announce)
    except PortInUseError as exc:
        print_error(exc)
        return ExitStatus.USAGE
    err.print("coursepipe up: stopped")
    return ExitStatus.OK


# ---------------------------------------------------------------- upload
def _upload(args: argparse.Namespace) -> int:
    from pipeline.local.remote import upload

    uploads = collect_uploads(args.paths, args.course)
    target = _target(args, bucket=args.bucket)
    err = _err()
    err.print(f"uploading {len(uploads)} files to {escape(target.describe())}")

    def progress(key: str, state: str, elapsed: float) -> None:
        err.print(f"[dim]{elapsed:6.1f}s[/] {escape(key.split('/', 2)[2])} [cyan]{escape(state)}[/]")

    followed = upload(target, uploads, wait=not args.no_wait, progress=progress)
    failed = [f for f in followed if f.status not in ("SUCCEEDED", "PENDING")]
    if args.json:
        doc = {
            "course": args.course,
            "bucket": target.ingest_bucket,
            "executions": [f.to_dict() for f in followed],
        }
        write_json(doc, indent=2, ensure_ascii=False)
    elif not args.no_wait:
        table = Table(title=f"course {args.course}")
        for col in ("file", "status", "time", "error"):
            table.add_column(col, overflow="fold")
        for f in followed:
            style = "green" if f.status == "SUCCEEDED" else "red"
            secs = f"{f.duration_ms / 1000:.1f}s" if f.duration_ms is not None else "-"
            error = f"{f.error}: {f.cause}" if f.error else ""
            table.add_row(escape(f.key.split("/", 2)[2]), f"[{style}]{f.status}[/]", secs, escape(error))
        _console().print(table)
    return ExitStatus.FAILED if failed else ExitStatus.OK


# ---------------------------------------------------------------- executions
def _executions(args: argparse.Namespace) -> int:
    from pipeline.local.remote import list_executions

    found = list_executions(_target(args), course=args.course, limit=args.limit)
    if args.json:
        write_json({"executions": found}, indent=2, ensure_ascii=False)
        return ExitStatus.OK
    table = Table(title="ProcessAsset executions (newest first)")
    for col in ("name", "file", "status", "started", "duration", "error"):
        table.add_column(col, overflow="fold")
    for e in found:
        style = {"SUCCEEDED": "green", "RUNNING": "cyan"}.get(e["status"], "red")
        error = f"{e['error']}: {e['cause']}" if e.get("error") else ""
        table.add_row(
            e["name"],
            escape(e["key"].split("/", 2)[-1]),
            f"[{style}]{e['status']}[/]",
            e["startDate"][:19].replace("T", " "),
            f"{e['durationMs'] / 1000:.1f}s",
            escape(error[:300]),
        )
    _console().print(table)
    return ExitStatus.OK


# ---------------------------------------------------------------- catalog
def _catalog(args: argparse.Namespace) -> int:
    from pipeline.catalog import views
    from pipeline.catalog.errors import CatalogRequestError
    from pipeline.catalog.query import CatalogQuery

    target = _target(args)
    query = CatalogQuery(target.client("dynamodb"), target.catalog_table)
    try:
        if args.course_id:
            course = query.operator_course(args.course_id, include_deleted=bool(args.include_deleted))
            doc = views.operator_course(course)
        else:
            doc = {"courses": [views.course_entry_view(c) for c in query.each_course()]}
    except CatalogRequestError as exc:
        print(f"coursepipe: {type(exc).__name__}: {exc}", file=sys.stderr)
        return ExitStatus.FAILED
    if args.json:
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        return ExitStatus.OK
    out = _console()
    if not args.course_id:
        table = Table(title="courses")
        for col in ("course", "title", "lessons", "status", "index", "updated"):
            table.add_column(col, overflow="fold")
        for c in doc["courses"]:
            table.add_row(
                c["courseId"], escape(str(c.get("title"))), str(c.get("lessonCount")), c["status"],
                str(c.get("index") or "-"), str(c.get("updatedAt") or "")[:19],
            )  # fmt: skip
        out.print(table)
        return ExitStatus.OK
    course = doc["course"]
    out.print(f"[bold]{escape(str(course.get('title')))}[/] ({course['courseId']}, {course['status']})")
    lessons = Table(title="lessons (manifest order)")
    for col in ("section", "lesson", "status", "page", "video"):
        lessons.add_column(col, overflow="fold")
    for section in doc["sections"]:
        for lesson in section["lessons"]:
            video = lesson.get("video") or {}
            lessons.add_row(
                escape(section["title"]), escape(str(lesson.get("title"))), lesson["status"],
                str(lesson.get("page") or "-"),
                f"{video.get('status')} {video.get('master') or ''}".strip() if video else "-",
            )  # fmt: skip
    out.print(lessons)
    assets = Table(title="assets")
    for col in ("path", "kind", "status", "entry / error"):
        assets.add_column(col, overflow="fold")
    for a in doc["assets"]:
        error = a.get("error") or {}
        detail = f"{error.get('name')}: {error.get('message')}" if error else str(a.get("entry") or "-")
        assets.add_row(escape(a["path"]), str(a.get("kind")), a["status"], escape(detail))
    out.print(assets)
    return ExitStatus.OK


# ---------------------------------------------------------------- enrolments
def _enroll(args: argparse.Namespace) -> int:
    from pipeline.catalog.dynamo import DynamoCatalog

    if not COURSE_ID_RE.fullmatch(args.course_id):
        print_error(f"{args.course_id!r} is not a course id")
        return ExitStatus.USAGE
    subs = list(dict.fromkeys(args.subs))
    if any(not s.strip() or "#" in s for s in subs):
        print_error("a SUB is a Cognito user's sub (no spaces, no '#')")
        return ExitStatus.USAGE
    target = _target(args)
    catalog = DynamoCatalog(target.client("dynamodb"), target.catalog_table)
    if args.remove:
        for sub_id in subs:
            catalog.unenroll(args.course_id, sub_id)
    else:
        catalog.enroll_many(args.course_id, subs, role=args.role)
    action = "removed" if args.remove else "enrolled"
    if args.json:
        doc = {"courseId": args.course_id, "action": action, "role": args.role, "subs": subs}
        write_json(doc, indent=2)
    else:
        _err().print(f"{action} {len(subs)} user(s) in {args.course_id}")
    return ExitStatus.OK


def _migrate_enrollments(args: argparse.Namespace) -> int:
    from pipeline.catalog.dynamo import DynamoCatalog

    target = _target(args)
    catalog = DynamoCatalog(target.client("dynamodb"), target.catalog_table)
    result = catalog.migrate_legacy_enrollments(keep_legacy=args.keep_legacy, dry_run=args.dry_run)
    if args.json:
        write_json(result.to_dict(), indent=2)
        return ExitStatus.OK
    _err().print(
        f"schema 2 enrolments found {result.found}, copied {result.copied}, already in the schema 3 layout "
        f"{result.already_present}, removed {result.removed}"
        + (" (dry run: nothing written)" if args.dry_run else "")
    )
    return ExitStatus.OK
