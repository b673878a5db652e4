"""Command-line paths to ingest keys: what ``process`` runs in-process and ``upload`` sends to a stack,
so both key a course's files the same way."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.cli.status import UsageError
from pipeline.keys import COURSE_ID_RE, INGEST_PREFIX

if TYPE_CHECKING:
    from collections.abc import Sequence


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
