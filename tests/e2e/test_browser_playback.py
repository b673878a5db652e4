"""A real browser as a student: Debian's Chromium, driven by Playwright (never a downloaded browser build),
signs in on the dev page of ``coursepipe up``, opens a video lesson and plays it through hls.js over the
signed-cookie edge; a context without cookies is refused. Also: hls.js is published as a site asset only
when it is installed (``npm ci --prefix web``)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

import pytest

from pipeline.config import HLS_JS_PATH_ENV
from pipeline.publish import SHORT
from pipeline.storage import ObjectInfo
from pipeline.text import page
from pipeline.text.page import HLS_JS_ASSET, hls_js_asset
from pipeline.usecases.text import _publish_site_assets
from tests.stack_process import start_up

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pipeline.services import Services

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
COURSE = "browser-course"
MANIFEST = """\
id: browser-course
title: Browser Playback
sections:
  - title: Watching
    lessons:
      - id: talk
        file: lessons/01-talk.md
        title: A short talk
        video: media/v.mp4
"""


# ---- hls.js as a site asset: present -> published (short cache), absent -> nothing, logged once


class _Store:
    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str | None]] = {}

    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectInfo | None:
        if key not in self.objects:
            return None
        return ObjectInfo(key, len(self.objects[key][0]), "e", None, None)

    def put_bytes(self, bucket: str, key: str, data: bytes, *, cache_control: str | None = None) -> None:
        self.objects[key] = (data, cache_control)


def _services(store: _Store) -> Services:
    return cast("Services", SimpleNamespace(store=store, settings=SimpleNamespace(publish_bucket="pub")))


def test_installed_hls_js_is_published_next_to_the_player_with_a_short_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "hls.min.js"
    source.write_bytes(b"/* hls.js v1 */")
    monkeypatch.setenv(HLS_JS_PATH_ENV, str(source))
    store = _Store()
    _publish_site_assets(_services(store), "courses/c/")
    assert store.objects["courses/c/assets/hls.min.js"] == (b"/* hls.js v1 */", SHORT)
    player = next(k for k in store.objects if k.startswith("courses/c/assets/player-"))
    assert player.rsplit("/", 1)[0] == f"courses/c/{HLS_JS_ASSET}".rsplit("/", 1)[0]
    # A new version under the same fixed name replaces the old one.
    newer = b"/* hls.js v1.1 */"
    source.write_bytes(newer)
    _publish_site_assets(_services(store), "courses/c/")
    assert store.objects["courses/c/assets/hls.min.js"] == (newer, SHORT)


def test_missing_hls_js_publishes_nothing_and_logs_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(HLS_JS_PATH_ENV, str(tmp_path / "absent.js"))
    monkeypatch.setattr(page, "_hls_js_missing_logged", set())
    store = _Store()
    with caplog.at_level("WARNING", logger=page.__name__):
        _publish_site_assets(_services(store), "courses/c/")
        _publish_site_assets(_services(store), "courses/d/")
    assert not [k for k in store.objects if k.endswith("hls.min.js")]
    assert any(k.startswith("courses/c/assets/player-") for k in store.objects)
    assert len([r for r in caplog.records if "hls.js not found" in r.getMessage()]) == 1


# ---- headless Chromium through the local edge


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    proc, info = start_up(tmp_path_factory.mktemp("keys") / "k")
    try:
        yield info
    finally:
        proc.kill()
        proc.wait(timeout=30)


def _publish_course(stack: dict[str, Any], root: Path) -> dict[str, Any]:
    from pipeline.local.samples import make_lecture_clip

    (root / "lessons").mkdir(parents=True)
    (root / "course.yaml").write_text(MANIFEST, encoding="utf-8")
    (root / "lessons" / "01-talk.md").write_text("# A short talk\n\nWatch the clip.\n", encoding="utf-8")
    make_lecture_clip(root / "media" / "v.mp4", seconds=6, width=640, height=360)
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "upload", str(root), "--course", COURSE]
        + ["--endpoint", stack["awsEndpoint"], "--json"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert {e["status"] for e in json.loads(done.stdout)["executions"]} == {"SUCCEEDED"}
    with urllib.request.urlopen(f"{stack['httpFront']}/catalog/courses/{COURSE}", timeout=30) as resp:
        doc: dict[str, Any] = json.loads(resp.read())
    return next(x for s in doc["sections"] for x in s["lessons"] if x["lessonId"] == "talk")


@pytest.mark.slow
def test_chromium_signs_in_and_plays_the_lesson_through_hls_js(stack: dict[str, Any], tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)")
    if hls_js_asset() is None:
        pytest.skip("hls.min.js is missing (npm ci --prefix web; .ci/run installs it)")
    from playwright import sync_api as playwright_api  # the dev extra; it never downloads browsers

    started = time.monotonic()
    lesson = _publish_course(stack, tmp_path / "course")
    assert lesson["status"] == "PUBLISHED" and lesson["page"] and lesson["video"]["master"]
    front = stack["httpFront"]
    master = f"{front}{lesson['video']['master']}"
    published = time.monotonic()

    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            # ---- context 1: sign in on the dev page, receive the cookies, play the lesson with hls.js
            student = browser.new_context(viewport={"width": 1280, "height": 900})
            tab = student.new_page()
            console: list[str] = []
            tab.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            tab.goto(f"{front}{stack['signIn']}" if stack["signIn"].startswith("/") else stack["signIn"])
            tab.fill("input[name=email]", stack["devUser"])
            tab.fill("input[name=password]", stack["devPassword"])
            tab.fill("input[name=course]", COURSE)
            with tab.expect_navigation():
                tab.locator("form [type=submit]").first.click()
            assert tab.url == f"{front}/courses/{COURSE}/index.html", tab.url
            assert "Browser Playback" in tab.content()
            # Secure cookies over http://127.0.0.1: Chromium treats loopback as a secure context.
            jar = {c["name"]: c for c in student.cookies()}
            assert {"CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id"} <= set(jar), jar
            assert all(jar[name]["secure"] for name in jar if name.startswith("CloudFront-")), jar

            # "?player=hls.js" makes the player use hls.js even where native HLS is reported ("maybe").
            response = tab.goto(f"{front}{lesson['page']}?player=hls.js")
            assert response is not None and response.status == 200
            video = tab.locator(".cp-player video[data-hls-src]").first
            video.wait_for(state="attached", timeout=10_000)
            tab.wait_for_function("() => window.Hls !== undefined", timeout=10_000)
            assert tab.evaluate("() => Hls.isSupported()") is True
            tab.wait_for_function(
                "() => document.querySelector('.cp-player video').dataset.cpAttached === 'hls.js'",
                timeout=10_000,
            )
            tab.evaluate("() => { const v = document.querySelector('.cp-player video'); v.muted = true; }")
            tab.evaluate("() => document.querySelector('.cp-player video').play()")
            tab.wait_for_function(
                """() => {
                    const v = document.querySelector('.cp-player video');
                    if (v.error || v.dataset.cpError) return true;
                    return v.currentTime > 1;
                }""",
                timeout=20_000,
            )
            state = tab.evaluate(
                """() => {
                    const v = document.querySelector('.cp-player video');
                    return {time: v.currentTime, error: v.error && v.error.code,
                            hlsError: v.dataset.cpError || null, attached: v.dataset.cpAttached,
                            src: v.currentSrc, width: v.videoWidth, hls: Hls.version};
                }"""
            )
            assert state["error"] is None and state["hlsError"] is None, (state, console)
            assert state["attached"] == "hls.js" and state["src"].startswith("blob:"), state
            assert state["time"] > 1 and state["width"] > 0, state
            shot = tmp_path / "lesson-playing.png"
            tab.screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000
            played = time.monotonic()

            # ---- context 2: no cookies, the master playlist is refused
            stranger = browser.new_context()
            refused = stranger.request.get(master)
            assert refused.status == 403, refused.status
            stranger.close()
            student.close()
        finally:
            browser.close()
    print(
        f"hls.js {state['hls']}: publish {published - started:.1f}s, browser {played - published:.1f}s, "
        f"screenshot {shot}",
        file=sys.stderr,
    )
