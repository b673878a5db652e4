"""Shared fixtures: the local runtime built from template.yaml, and media generated at test time."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.local.runtime import LocalRuntime

REPO = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        raise pytest.UsageError("ffmpeg and ffprobe must be installed (apt-get install -y ffmpeg)")


@pytest.fixture
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime(REPO / "template.yaml", parameters={"LogLevel": "ERROR"}) as rt:
        yield rt


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4 s 640x360 H.264/AAC lecture clip."""
    from pipeline.local.samples import make_lecture_clip

    return make_lecture_clip(tmp_path_factory.mktemp("media") / "clip.mp4", seconds=4, width=640, height=360)
