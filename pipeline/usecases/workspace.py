"""Scratch space for one task: the source downloaded into a temporary folder that is always removed
(a warm Lambda container keeps /tmp between invocations, so leftovers would accumulate)."""

from __future__ import annotations

import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pipeline.catalog.model import SourceRef
    from pipeline.services import Services


@dataclass(frozen=True)
class Workspace:
    root: Path
    source: Path

    @property
    def out(self) -> Path:
        path = self.root / "out"
        path.mkdir(exist_ok=True)
        return path


@contextmanager
def workspace(source: SourceRef, services: Services) -> Iterator[Workspace]:
    with tempfile.TemporaryDirectory(prefix="coursepipe-", dir=services.settings.work_dir) as tmp:
        root = Path(tmp)
        local = services.store.download(
            source.bucket, source.key, root / "in" / local_name(source.key), source.version_id
        )
        yield Workspace(root=root, source=local)


def local_name(key: str) -> str:
    """The file's own name, so ffmpeg's and our error messages name the file the author uploaded. It is
    only ever passed to ffmpeg as a ``file:`` URL (a leading ``-`` or a ``:`` is harmless); control
    characters and over-long names fall back to ``source`` + the extension."""
    name = PurePosixPath(key).name
    if not name or not name.isprintable() or len(name.encode()) > 200 or name in (".", ".."):
        return "source" + PurePosixPath(key).suffix.lower()[:10]
    return name
