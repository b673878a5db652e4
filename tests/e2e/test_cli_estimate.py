"""``coursepipe estimate``, run as a user runs it: a subprocess on a clip made with ffmpeg at test time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path


def coursepipe(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def clip_1080p(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """13 s of 1080p30 H.264 + AAC (ultrafast: test media only)."""
    out = tmp_path_factory.mktemp("estimate") / "lecture 1080p.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=30:d=13",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=13",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(out)],
        check=True,
    )  # fmt: skip
    return out


def test_json_estimate_for_a_1080p_clip(clip_1080p: Path) -> None:
    # 13 s in 6 s chunks: 390 frames = two 180-frame chunks + a 30-frame tail folded into the last one
    result = coursepipe(
        "estimate", str(clip_1080p), "--chunk-seconds", "6", "--max-concurrency", "1",
        "--memory-mb", "3538", "--arch", "arm64", "--cpu-per-media-second", "2", "--json",
        cwd=clip_1080p.parent,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)  # exactly one JSON document on stdout
    assert set(doc) == {"file", "source", "plan", "pricing", "estimate"}
    assert doc["file"] == str(clip_1080p)
    source = doc["source"]
    assert (source["width"], source["height"], source["hasVideo"], source["hasAudio"]) == (
        1920,
        1080,
        True,
        True,
    )
    assert source["durationS"] == pytest.approx(13, abs=0.1)
    plan = doc["plan"]
    assert [r[0] for r in plan["rungs"]] == ["1080p", "720p", "540p", "360p", "234p"]
    assert (plan["fps"], plan["chunkSeconds"], plan["chunkCount"], plan["maxConcurrency"]) == (
        "30/1",
        6,
        2,
        1,
    )
    pricing = doc["pricing"]
    assert (pricing["architecture"], pricing["memoryMb"], pricing["vcpus"]) == ("arm64", 3538, 2.0)
    assert pricing["cpuSecondsPerMediaSecond"] == 2.0 and pricing["lambdaGbSecondUsd"] == 0.0000133334

    est = doc["estimate"]
    assert (est["rungs"], est["chunks"], est["waves"], est["architecture"]) == (5, 2, 2, "arm64")
    assert est["cpuSeconds"] == pytest.approx(2 * source["durationS"], abs=0.2)
    assert est["maxChunkCpuSeconds"] == pytest.approx(2 * 7, abs=0.2)  # 6 s + the 1 s tail
    assert est["transitions"] == 12 + 2 * 2
    assert est["totalUsd"] == pytest.approx(est["lambdaUsd"] + est["stepFunctionsUsd"], abs=1e-6)
    assert 0 < est["totalUsd"] < 0.05 and est["usdPerMediaMinute"] > 0
    assert est["wallSeconds"] > est["longestInvocationSeconds"] > 0
    assert est["fitsTimeout"] is True and est["warnings"] == []


def test_table_output_for_a_1080p_clip(clip_1080p: Path) -> None:
    result = coursepipe("estimate", str(clip_1080p), cwd=clip_1080p.parent)
    assert result.returncode == 0, result.stderr
    for text in ("estimate for lecture 1080p.mp4", "1920x1080", "x86_64", "3538 MB", "total", "wall time"):
        assert text in result.stdout, text


def test_a_file_that_fails_the_probe_exits_1_with_the_error_name(tmp_path: Path) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(os.urandom(4096))

    result = coursepipe("estimate", str(bad), cwd=tmp_path)
    assert result.returncode == 1
    assert "InvalidMediaError" in result.stderr and "broken.mp4" in result.stderr
    assert result.stdout == ""

    as_json = coursepipe("estimate", str(bad), "--json", cwd=tmp_path)
    assert as_json.returncode == 1
    doc = json.loads(as_json.stdout)
    assert doc["error"]["name"] == "InvalidMediaError" and "broken.mp4" in doc["error"]["message"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["estimate", "does-not-exist.mp4"], "no such file"),
        (["estimate", "{clip}", "--chunk-seconds", "7"], "whole multiple"),
        (["estimate", "{clip}", "--memory-mb", "64"], "memory_mb"),
        (["estimate", "{clip}", "--max-concurrency", "0"], "at least 1"),
        (["estimate", "{clip}", "--arch", "ppc64le"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(clip_1080p: Path, tmp_path: Path, args: list[str], message: str) -> None:
    result = coursepipe(*(a.replace("{clip}", str(clip_1080p)) for a in args), cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and result.stdout == ""
