"""The demo's uploads, 10 runs in a row, with both cores kept busy by CPU burners (issue 11).

A newcomer's first ``coursepipe demo`` failed when the machine was busy: concurrent executions writing one
key raced inside moto (``ValueError: I/O operation on closed file``). ``pipeline.local.serial`` serializes
what moto cannot do concurrently; this test is the proof that it holds under contention, on the path
``coursepipe demo`` takes (``run_uploads`` on a fresh ``LocalRuntime`` each run). The lecture is 2 s
instead of the demo's 10 s so that the runs fit in CI: what races is the lessons and the course index
being written at once, not the encode.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from pipeline.cli.uploads import collect_uploads
from pipeline.local.run import Upload, run_uploads
from pipeline.local.samples import SAMPLE_COURSE_ID, materialize_sample_course

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

# 10 runs, not 20: on this 2-core machine 20 took ~400 s, over a third of CI's 15-minute budget; each run
# is still ten executions writing the lessons and the index at once.
RUNS = 10
BURNERS = os.cpu_count() or 2

pytestmark = pytest.mark.slow


@pytest.fixture
def burners() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(BURNERS)]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def demo_uploads(tmp_path_factory: pytest.TempPathFactory) -> list[Upload]:
    course = materialize_sample_course(tmp_path_factory.mktemp("stress") / "course", video_seconds=2)
    uploads: list[Upload] = collect_uploads([str(course)], SAMPLE_COURSE_ID)
    return uploads


def test_the_demo_uploads_succeed_10_runs_in_a_row_on_a_busy_machine(
    demo_uploads: list[Upload], burners: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    expected = sorted(u.key for u in demo_uploads)
    # manifest, image, three lessons, the lecture and its two caption files, two handouts
    assert len(expected) == 10
    for run in range(RUNS):
        assert all(b.poll() is None for b in burners), "the CPU burners stopped"
        out = tmp_path / f"run-{run}"
        report = run_uploads(demo_uploads, course_id=SAMPLE_COURSE_ID, out=out)

        failed = [(e["key"], e["status"], e["error"], e["cause"]) for e in report.executions]
        failed = [f for f in failed if f[1] != "SUCCEEDED"]
        assert failed == [], f"run {run + 1} of {RUNS}: {failed}"
        assert sorted(e["key"] for e in report.executions) == expected
        statuses = {a["path"]: a["status"] for a in report.assets}
        assert set(statuses.values()) == {"PUBLISHED"}, f"run {run + 1}: {statuses}"
        catalog = json.loads((out / "catalog.json").read_text(encoding="utf-8"))
        assert all(item["status"] == "PUBLISHED" for item in catalog), f"run {run + 1}: {catalog}"
        warnings = [w for item in catalog for w in item.get("details", {}).get("warnings", [])]
        assert warnings == [], f"run {run + 1}: {warnings}"
        site = out / "site" / "courses" / SAMPLE_COURSE_ID
        pages = sorted(site.glob("lessons/*.html"))
        assert len(pages) == 3, f"run {run + 1}: {pages}"
        # Every lesson is in the index written last, whichever execution wrote it, and in its neighbours'
        # navigation: the writes that raced in moto are these.
        index = (site / "index.html").read_text(encoding="utf-8")
        for page in pages:
            assert page.name in index, f"run {run + 1}: {page.name} missing from the index"
        assert len(list(site.glob("media/*/hls/master.m3u8"))) == 1
