"""Shared fixtures: the local runtime built from template.yaml, and media generated at test time."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pipeline.local.runtime import LocalRuntime

if TYPE_CHECKING:
    from collections.abc import Iterator

REPO = Path(__file__).resolve().parents[1]


E2E = REPO / "tests" / "e2e"


def _needs_ffmpeg(item: pytest.Item) -> bool:
    """Tests that run ffmpeg: marked ``ffmpeg``, using a generated clip, or end to end (every e2e test
    runs the pipeline on media). The rest (unit, functional, most integration) run without it."""
    return (
        item.get_closest_marker("ffmpeg") is not None
        or "clip" in getattr(item, "fixturenames", ())
        or E2E in item.path.parents
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    if _needs_ffmpeg(item) and (shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None):
        # A failure, not a skip: CI must not pass with the media tests silently left out.
        pytest.fail("ffmpeg and ffprobe must be installed for this test (apt-get install -y ffmpeg)", False)


@pytest.fixture
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime(REPO / "template.yaml", parameters={"LogLevel": "ERROR"}) as rt:
        yield rt


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4 s 640x360 H.264/AAC lecture clip."""
    from pipeline.local.samples import make_lecture_clip

    return make_lecture_clip(tmp_path_factory.mktemp("media") / "clip.mp4", seconds=4, width=640, height=360)
