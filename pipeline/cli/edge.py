"""The edge command of ``coursepipe``: ``serve`` plays the CloudFront distribution over an export folder.

Contract: ``serve [DIR] [--port 8081] [--keys DIR] [--template PATH] [--cors-origin ORIGIN]... [--json]
[--verbose]`` serves DIR (default ``./coursepipe-out/site``, what ``process`` and ``demo`` export) on
127.0.0.1 through the local edge (``pipeline.local.edge``): the template's cache behaviours, signed-cookie
checks with the key pair in ``--keys`` (default ``./coursepipe-keys``, generated there when missing),
gzip and response headers. It prints the URL, the key id and commands that mint cookies and play a video
with ffprobe or, with ``--json``, exactly one JSON line on stdout once ready (``url``, ``port``, ``keyId``,
``keysDir``, ``dir``, ``template``). Ctrl-C or SIGTERM stops it with exit 0; exit 2 on usage errors (no
such DIR, port in use, an unreadable key pair or template).
"""

from __future__ import annotations

import errno
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.cli.console import write_json
from pipeline.cli.defaults import DEFAULT_EDGE_PORT, DEFAULT_KEY_DIR, DEFAULT_OUT
from pipeline.cli.registry import Command, Registry
from pipeline.cli.status import ExitStatus, UsageError

if TYPE_CHECKING:
    import argparse

CORS_PARAMETER = "CorsAllowedOrigins"


class EdgeUsageError(UsageError):
    """Bad input to ``serve``: exit code 2."""


def register(registry: Registry) -> None:
    registry.add(
        Command(
            "serve",
            "serve an exported site through a local CloudFront edge that checks signed cookies",
            _options,
            _serve,
            description="Serve DIR (publish keys as files, e.g. coursepipe-out/site) on 127.0.0.1 with "
            "the MediaDistribution behaviours of template.yaml: course content needs CloudFront signed "
            "cookies (mint them with `coursepipe cookies`), playlists and pages are gzipped, errors are "
            "CloudFront's.",
        )
    )


def _options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument(
        "dir", nargs="?", default=f"{DEFAULT_OUT}/site", metavar="DIR", help=f"default ./{DEFAULT_OUT}/site"
    )
    serve.add_argument(
        "--port", type=int, default=DEFAULT_EDGE_PORT, metavar="P", help=f"default {DEFAULT_EDGE_PORT}"
    )
    serve.add_argument(
        "--keys",
        default=DEFAULT_KEY_DIR,
        metavar="DIR",
        help=f"key pair whose public key the edge trusts (default ./{DEFAULT_KEY_DIR}; generated if missing)",
    )
    serve.add_argument("--template", metavar="PATH", help="template.yaml (default: this checkout's)")
    serve.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help=f"an origin allowed credentialed CORS (the {CORS_PARAMETER} template parameter); repeatable",
    )
    serve.add_argument("--json", action="store_true", help="print one JSON line when ready")
    serve.add_argument("--verbose", action="store_true", help="log every request and edge decision on stderr")


def load_or_create_keys(directory: Path) -> tuple[str, str, bool]:
    """(key id, public key PEM, created): the pair in ``directory``, generated there if it has none."""
    from pipeline.access.keypair import ensure_key_pair

    try:
        files, created = ensure_key_pair(directory)
    except (OSError, ValueError) as exc:
        raise EdgeUsageError(f"{directory}: cannot read the key pair: {exc}") from exc
    return files.key_id, files.public_key_pem, created


def _masters(root: Path, limit: int = 20) -> list[str]:
    """URL paths of a few master playlists under ``root`` (for the examples printed at start-up)."""
    found: list[str] = []
    for path in sorted(root.glob("courses/*/media/*/hls/master.m3u8"))[:limit]:
        found.append("/" + path.relative_to(root).as_posix())
    return found


def _serve(args: argparse.Namespace) -> int:
    from pipeline.access.keypair import PRIVATE_KEY_FILE
    from pipeline.local.edge import Edge
    from pipeline.local.edge_config import EdgeConfig
    from pipeline.local.front import HttpFront
    from pipeline.local.origins import directory_origin
    from pipeline.local.template import TemplateError

    root = Path(args.dir)
    if not root.is_dir():
        raise EdgeUsageError(
            f"{root}: no such folder (export a course first: `coursepipe demo` or `coursepipe process`)"
        )
    if args.template:
        template = Path(args.template)
    else:
        from pipeline.local.runtime import default_template

        try:
            template = default_template()
        except FileNotFoundError as exc:
            raise EdgeUsageError(str(exc)) from exc
    parameters = {CORS_PARAMETER: ",".join(args.cors_origin)} if args.cors_origin else {}
    try:
        config = EdgeConfig.from_template(template, parameters=parameters)
    except (OSError, TemplateError) as exc:
        raise EdgeUsageError(f"{template}: {exc}") from exc
    keys_dir = Path(args.keys)
    key_id, public_pem, created = load_or_create_keys(keys_dir)

    def err(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    edge = Edge(
        config,
        bucket=directory_origin(root),
        key_group={key_id: public_pem},
        log=err if args.verbose else None,
    )
    try:
        front = HttpFront("127.0.0.1", args.port, routes=edge.routes())
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise EdgeUsageError(
                f"port {args.port} on 127.0.0.1 is in use: pass --port with a free one"
            ) from exc
        raise EdgeUsageError(f"cannot listen on 127.0.0.1:{args.port}: {exc}") from exc

    stopping = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
    try:
        with front:
            info = {
                "url": front.url,
                "port": front.port,
                "keyId": key_id,
                "keysDir": str(keys_dir),
                "dir": str(root),
                "template": str(template),
            }
            if args.json:
                write_json(info, flush=True)
            else:
                _announce(info, root, keys_dir, created, PRIVATE_KEY_FILE)
            for note in config.notes:
                err(f"coursepipe serve: note: {note}")
            while not stopping.wait(0.2):
                pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    err("coursepipe serve: stopped")
    return ExitStatus.OK


def _announce(info: dict[str, Any], root: Path, keys_dir: Path, created: bool, key_file: str) -> None:
    url, port = info["url"], info["port"]
    print(f"coursepipe serve: {url} serves {root} through the local edge (Ctrl-C stops)")
    made = " (generated now)" if created else ""
    print(f"trusted key id: {info['keyId']}{made}, key pair in {keys_dir}/")
    private = shlex.quote(str(keys_dir / key_file))
    masters = _masters(root)
    courses = sorted(p.name for p in (root / "courses").glob("*") if p.is_dir())
    for course in courses:
        print(f"  course {course}: {url}/courses/{course}/index.html")
    course = courses[0] if courses else "COURSE_ID"
    master = next((m for m in masters if m.startswith(f"/courses/{course}/")), None)
    master = master or f"/courses/{course}/media/ASSET/hls/master.m3u8"
    mint = f"coursepipe cookies {course} --domain 127.0.0.1:{port} --key {private} --json"
    print("\nMint cookies for a course:")
    print(f"  {mint}")
    print("Play a video with ffprobe through the edge:")
    pick = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"cookieHeader\"])'"
    print(f"  COOKIE=$({mint} | {pick})")
    print(f"  ffprobe -headers \"Cookie: $COOKIE\"$'\\r\\n' -show_streams {url}{master}")
    print(f"Without cookies the edge answers 403 MissingKey:\n  curl -i {url}{master}")
    sys.stdout.flush()
