"""Small helpers shared by the ffmpeg/ffprobe callers of the media package.

They exist so every call site hands ffmpeg a path the same safe way and turns a failure into the same kind
of author-readable message.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import ffmpeg

from pipeline.errors import InvalidMediaError

if TYPE_CHECKING:
    from pathlib import Path

# ffmpeg prefixes lines with "[mov,mp4,m4a @ 0x55d...]": noise to an author, and it changes every run.
_CONTEXT_PREFIX = re.compile(r"\[[^\]]*@ 0x[0-9a-f]+\]\s*")
_MAX_EXCERPT = 300

# "-nostdin" keeps ffmpeg from swallowing or waiting on the Lambda's stdin; "-loglevel error" keeps stderr
# short enough to quote in an error message.
GLOBAL_ARGS = ("-nostdin", "-hide_banner", "-loglevel", "error")


def input_url(path: Path) -> str:
    """An explicit ``file:`` URL so a name like ``-x.mp4`` or ``a:b.mp4`` is never read as an option or a
    protocol."""
    return f"file:{path.resolve()}"


def stderr_excerpt(stderr: bytes | None, *paths: Path) -> str:
    """The last few meaningful stderr lines, without our local paths (the author knows their file by name)."""
    text = (stderr or b"").decode("utf-8", errors="replace")
    for path in paths:
        for local in (input_url(path), str(path.resolve()), str(path)):
            text = text.replace(local, path.name)
    lines = [_CONTEXT_PREFIX.sub("", line).strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    excerpt = "; ".join(lines[-3:])
    if len(excerpt) > _MAX_EXCERPT:
        excerpt = excerpt[: _MAX_EXCERPT - 1] + "…"
    return excerpt or "no details from ffmpeg"


def run(stream: Any, source: Path, what: str) -> None:
    """Run an ffmpeg-python graph; a failure is the source's fault (we only feed ffmpeg valid options), so
    it becomes ``InvalidMediaError``."""
    try:
        ffmpeg.run(stream.global_args(*GLOBAL_ARGS), capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as exc:
        raise InvalidMediaError(
            f"{source.name} could not be {what}: {stderr_excerpt(exc.stderr, source)}. "
            "The file may be truncated or corrupt — re-export it and upload it again."
        ) from exc


def parse_rate(value: object) -> float | None:
    """ffprobe rates are fractions like ``30000/1001``; ``0/0`` means unknown."""
    if not isinstance(value, str) or "/" not in value:
        return None
    try:
        rate = Fraction(value)
    except (ValueError, ZeroDivisionError):
        return None
    return float(rate) if rate > 0 else None


def as_int(value: object) -> int | None:
    if value is None or value == "N/A":
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


def as_float(value: object) -> float | None:
    if value is None or value == "N/A":
        return None
    try:
        return float(str(value))
    except ValueError:
        return None
