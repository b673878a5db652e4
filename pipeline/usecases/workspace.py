"""Scratch space for one task: the source downloaded into a temporary folder that is always removed
(a warm Lambda container keeps /tmp between invocations, so leftovers would accumulate)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

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
        # The local name keeps only the extension: author file names may hold anything.
        suffix = PurePosixPath(source.key).suffix.lower()[:10]
        local = services.store.download(
            source.bucket, source.key, root / f"source{suffix}", source.version_id
        )
        yield Workspace(root=root, source=local)
