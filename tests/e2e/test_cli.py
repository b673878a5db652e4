"""The CLI contract, run as a user runs it: a subprocess, real ffmpeg, the whole local runtime."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import ffmpeg
import pytest
from PIL import Image

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.slow


def coursepipe(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture
def mixed_folder(tmp_path: Path, clip: Path) -> Path:
    root = tmp_path / "course"
    (root / "lessons").mkdir(parents=True)
    (root / "images").mkdir()
    (root / "media").mkdir()
    (root / ".hidden").mkdir()
    (root / "course.yaml").write_text(
        "id: mixed-1\ntitle: Mixed bag\nlang: en\nsections:\n  - title: All\n    lessons:\n"
        "      - {id: intro, file: lessons/intro.md, video: media/lecture one.mp4}\n"
    )
    (root / "lessons" / "intro.md").write_text(
        "# Intro\n\n<img src=x onerror=alert(1)>\n\n![pic](../images/pic.png)\n\n"
        "[watch](../media/lecture one.mp4)\n"
    )
    (root / "lessons" / "ünï + code.md").write_text("# Unicode & plus\n")
    Image.new("RGB", (800, 400), (10, 120, 200)).save(root / "images" / "pic.png")
    (root / "media" / "lecture one.mp4").write_bytes(clip.read_bytes())
    (root / "media" / "broken.mp4").write_bytes(os.urandom(4096))
    (root / ".hidden" / "secret.txt").write_text("never uploaded")
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    return root


def test_process_json_contract_with_one_broken_file(mixed_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = coursepipe(
        "process", str(mixed_folder), "--course", "mixed-1", "--out", str(out), "--json", cwd=tmp_path
    )
    assert result.returncode == 1, result.stderr
    doc = json.loads(result.stdout)  # exactly one JSON document on stdout
    assert set(doc) == {"course", "out", "executions", "assets"}
    assert doc["course"] == "mixed-1" and doc["out"] == str(out)
    by_key = {e["key"]: e for e in doc["executions"]}
    assert set(by_key) == {
        "courses/mixed-1/course.yaml",
        "courses/mixed-1/lessons/intro.md",
        "courses/mixed-1/lessons/ünï + code.md",
        "courses/mixed-1/images/pic.png",
        "courses/mixed-1/media/lecture one.mp4",
        "courses/mixed-1/media/broken.mp4",
    }
    broken = by_key.pop("courses/mixed-1/media/broken.mp4")
    assert broken["status"] == "FAILED" and broken["error"] == "InvalidMediaError"
    assert "broken.mp4" in broken["cause"]
    for ex in by_key.values():
        assert ex["status"] == "SUCCEEDED", ex
        assert ex["error"] is None and isinstance(ex["durationMs"], int) and ex["name"]
    assets = {a["sourceKey"]: a for a in doc["assets"]}
    assert assets["courses/mixed-1/media/broken.mp4"]["status"] == "FAILED"
    assert assets["courses/mixed-1/media/broken.mp4"]["error"]["name"] == "InvalidMediaError"
    video = assets["courses/mixed-1/media/lecture one.mp4"]
    assert video["status"] == "PUBLISHED" and video["kind"] == "video"
    assert video["details"]["probe"]["width"] == 640

    # Export layout: site/ mirrors the publish bucket, catalog.json, one history per execution.
    site = out / "site" / "courses" / "mixed-1"
    master = site / video["outputs"][0].split("/", 2)[2]
    assert master.name == "master.m3u8"
    streams = ffmpeg.probe(str(master))["streams"]
    assert {s["codec_type"] for s in streams} == {"video", "audio"}
    lesson = (site / assets["courses/mixed-1/lessons/intro.md"]["outputs"][0].split("/", 2)[2]).read_text()
    assert "onerror" not in lesson
    image_asset = assets["courses/mixed-1/images/pic.png"]
    assert f"../images/{image_asset['assetId']}/640.webp" in lesson
    assert f"../media/{video['assetId']}/hls/master.m3u8" in lesson
    assert (site / "index.html").read_text().count("<a href=") >= 1
    catalog = json.loads((out / "catalog.json").read_text())
    assert {i["SK"] for i in catalog} >= {"COURSE", f"ASSET#{video['assetId']}"}
    histories = {p.stem for p in (out / "executions").glob("*.json")}
    assert histories == {e["name"] for e in doc["executions"]}
    events = json.loads((out / "executions" / f"{broken['name']}.json").read_text())
    assert events[0]["type"] == "ExecutionStarted" and events[-1]["type"] == "ExecutionFailed"
    # Hidden files are not course content.
    assert not any("secret" in e["key"] or "DS_Store" in e["key"] for e in doc["executions"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["process", "does-not-exist", "--course", "c1"], "no such file"),
        (["process", ".", "--course", "Bad Course"], "not a valid course id"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = coursepipe(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and result.stdout == ""


def test_demo_leaves_a_playable_course(tmp_path: Path) -> None:
    result = coursepipe("demo", "--out", "demo-out", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "succeeded, 0 failed" in result.stdout
    site = tmp_path / "demo-out" / "site" / "courses" / "intro-to-pipelines"
    masters = list(site.glob("media/*/hls/master.m3u8"))
    assert len(masters) == 1
    video = next(s for s in ffmpeg.probe(str(masters[0]))["streams"] if s["codec_type"] == "video")
    assert (video["width"], video["height"]) == (1280, 720)
    assert len(list(site.glob("lessons/*.html"))) == 3
    assert len(list(site.glob("images/*/640.webp"))) == 1
    assert (site / "index.html").is_file()
    catalog = json.loads((tmp_path / "demo-out" / "catalog.json").read_text())
    assert all(i["status"] == "PUBLISHED" for i in catalog)
    assert not any(i.get("details", {}).get("warnings") for i in catalog), catalog

    # Issue 4's bar: every link, image, stylesheet, script, poster and stream resolves inside the export.
    from tests.site_checks import broken_links, parse

    assert broken_links(site) == []
    index = (site / "index.html").read_text()
    assert index.count('class="cp-lessons"') == 2 and "3 lessons" in index and "cp-cover" in index
    welcome = next(p for p in site.glob("lessons/*welcome*.html"))
    page = parse(welcome)
    assert ("video", "data-hls-src") in {(tag, attr) for tag, attr, _ in page.urls}  # the lesson's video:
    assert 'rel="next"' in welcome.read_text() and 'aria-current="page"' in welcome.read_text()


def test_process_publishes_a_ladder_that_passes_every_check(tmp_path: Path) -> None:
    """Issue 3's bar: a generated 30 s 1280x720 clip through `coursepipe process`."""
    from tests.hls_checks import validate_ladder

    clip = tmp_path / "lecture.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=30:d=30", "-f", "lavfi",
         "-i", "sine=frequency=440:sample_rate=48000:duration=30", "-c:v", "libx264", "-preset", "ultrafast",
         "-c:a", "aac", str(clip)],
        check=True,
    )  # fmt: skip
    out = tmp_path / "out"
    result = coursepipe("process", str(clip), "--course", "ladder", "--out", str(out), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (asset,) = json.loads(result.stdout)["assets"]
    master = out / "site" / asset["outputs"][0]
    summary = validate_ladder(master, fps=30.0)
    assert summary == {"rungs": 4, "target": 6, "iframes": 4 * 15}
    assert [r["name"] for r in asset["details"]["hls"]["renditions"]] == ["720p", "540p", "360p", "234p"]
