"""Captions and transcript in a real browser: Debian's headless Chromium, driven by Playwright, opens lesson
pages rendered by ``player_html`` + ``render_page`` from a small real HLS encode (lavfi clip) and WebVTT files
written by ``to_webvtt``, served with the CSP the distribution sends for pages (read from template.yaml).

Two masters: one without subtitle renditions (the page's ``<track>`` children are the captions) and one
carrying them as ``EXT-X-MEDIA TYPE=SUBTITLES`` (``segment_captions`` + ``media_tag``), where the page marks
``data-cp-hls-subtitles="yes"`` and the script must leave each language listed once. Each runs with hls.js
(``?player=hls.js``) and on Chromium's native HLS where ``canPlayType`` reports it.
"""

from __future__ import annotations

import functools
import html
import http.server
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ffmpeg
import pytest

from pipeline.local.edge_config import EdgeConfig
from pipeline.media.captions import parse_captions, to_webvtt
from pipeline.media.hls import encode_hls
from pipeline.media.probe import probe
from pipeline.media.subtitles import MPEGTS_HZ, media_tag, segment_captions, uniform_durations
from pipeline.text.links import CaptionTrack, Target, TranscriptCue
from pipeline.text.page import hls_js_asset, render_page, site_assets
from pipeline.text.player import player_html
from tests.e2e.test_browser_playback import CHROMIUM, CHROMIUM_ARGS
from tests.integration.media_fixtures import make_clip

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pipeline.media.captions import Cue

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = Path("/tmp/player-shot.png")
CLIP_S = 8.0
ENGLISH_SRT = """\
1
00:00:00,500 --> 00:00:02,500
Hello, and welcome to <i>streaming</i>.

2
00:00:03,000 --> 00:00:05,000
Every segment lasts six seconds
& the playlist lists them.

3
00:00:05,500 --> 00:00:07,500
That is all for today.
"""
FRENCH_SRT = """\
1
00:00:00,500 --> 00:00:02,500
Bonjour et bienvenue.

2
00:00:03,000 --> 00:00:05,000
Chaque segment dure six secondes.

3
00:00:05,500 --> 00:00:07,500
C'est tout pour aujourd'hui.
"""
LANGUAGES = {"en": ("English", ENGLISH_SRT), "fr": ("Français", FRENCH_SRT)}
MEDIA_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t", ".vtt": "text/vtt"}


def _page_csp() -> str:
    behaviour = EdgeConfig.from_template(ROOT / "template.yaml").behaviour_for(
        "courses/c/lessons/x-0a1b.html"
    )
    assert behaviour.response_headers is not None
    return next(v for h, v, _ in behaviour.response_headers.headers if h == "Content-Security-Policy")


def _cues(language: str) -> list[Cue]:
    return parse_captions(LANGUAGES[language][1].encode(), f"talk.{language}.srt", duration_s=CLIP_S).cues


def _plain(cue_text: str) -> str:
    """What the resolver puts in a TranscriptCue: the cue's words, its WebVTT markup and entities gone."""
    return html.unescape(re.sub(r"<[^>]*>", "", cue_text))


def _master_with_subtitles(hls: Path, segment_s: float, duration_s: float) -> None:
    """``master-subs.m3u8``: the encoded master plus one SUBTITLES rendition per language, every variant
    pointing at the group (RFC 8216 §4.3.4.2), segments aligned with the video's and its first PTS."""
    first = sorted((hls / "180p").glob("*.ts"))[0]
    mpegts_start = round(float(ffmpeg.probe(str(first))["format"]["start_time"]) * MPEGTS_HZ)
    tags = []
    for language, (name, _) in LANGUAGES.items():
        rendition = segment_captions(
            _cues(language), durations=uniform_durations(segment_s, duration_s), mpegts_start=mpegts_start
        )
        folder = hls / "subs" / language
        folder.mkdir(parents=True)
        for segment, text in rendition.segments.items():
            (folder / segment).write_text(text, encoding="utf-8")
        (folder / "index.m3u8").write_text(rendition.playlist, encoding="utf-8")
        tags.append(
            media_tag(
                group="subs",
                language=language,
                name=name,
                uri=f"subs/{language}/index.m3u8",
                default=language == "en",
            )
        )
    master = (hls / "master.m3u8").read_text(encoding="utf-8").splitlines()
    variant = "#EXT-X-STREAM-INF:"
    at = next(i for i, line in enumerate(master) if line.startswith(variant))
    lines = master[:at] + tags
    lines += [line + ',SUBTITLES="subs"' if line.startswith(variant) else line for line in master[at:]]
    (hls / "master-subs.m3u8").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _lesson(root: Path, name: str, target: Target) -> None:
    body = f"<h1>Captions</h1>{player_html(target, title='A short talk')}<p>After the player.</p>"
    html = render_page(title="Captions", body_html=body, lang="en", root="../", player=True)
    (root / "lessons" / name).write_text(html, encoding="utf-8")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A course folder served over HTTP with the page CSP: assets, one encode, captions, two lessons."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)")
    hls_js = hls_js_asset()
    if hls_js is None:
        pytest.skip("hls.min.js is missing (npm ci --prefix web; .ci/run installs it)")
    root = tmp_path_factory.mktemp("course")
    files: dict[str, bytes] = {path: text.encode() for path, text in site_assets().items()}
    files[hls_js[0]] = hls_js[1]
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    source = make_clip(root / "talk.mp4", size="320x180", duration=CLIP_S)
    hls = root / "media" / "talk"
    result = encode_hls(source, hls, probe(source))
    _master_with_subtitles(hls, result.plan.job.segment_s, result.package.duration_s)
    (root / "captions").mkdir()
    for language in LANGUAGES:
        (root / "captions" / f"talk.{language}.vtt").write_text(to_webvtt(_cues(language)), encoding="utf-8")
    (root / "lessons").mkdir()
    captions = tuple(
        CaptionTrack(language, name, f"../captions/talk.{language}.vtt", "subtitles", language == "en")
        for language, (name, _) in LANGUAGES.items()
    )
    transcript = tuple(TranscriptCue(c.start_ms, c.end_ms, _plain(c.text)) for c in _cues("en"))
    common: dict[str, Any] = {"captions": captions, "transcript": transcript, "transcript_language": "en"}
    _lesson(root, "plain.html", Target("video", "media/talk.mp4", "../media/talk/master.m3u8", **common))
    _lesson(
        root,
        "subs.html",
        Target("video", "media/talk.mp4", "../media/talk/master-subs.m3u8", hls_subtitles=True, **common),
    )

    csp = _page_csp()

    class Handler(http.server.SimpleHTTPRequestHandler):
        extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MEDIA_TYPES}

        def end_headers(self) -> None:
            if self.path.split("?", 1)[0].endswith(".html"):
                self.send_header("Content-Security-Policy", csp)
            super().end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
            return

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser(site: str) -> Iterator[Any]:
    from playwright import sync_api as playwright_api  # the dev extra; it never downloads browsers

    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Tab:
    """One lesson page in a fresh context (so no localStorage carries over), with its console kept."""

    def __init__(self, browser: Any, url: str, *, width: int = 1000) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        response = self.page.goto(url)
        assert response is not None and response.status == 200
        self.page.wait_for_function("() => document.querySelector('.cp-player video').dataset.cpAttached")

    def js(self, expression: str, arg: object = None) -> Any:
        return self.page.evaluate(expression, arg)

    def wait(self, expression: str, arg: object = None, timeout: int = 15_000) -> None:
        try:
            self.page.wait_for_function(expression, arg=arg, timeout=timeout)
        except Exception as exc:
            raise AssertionError(f"{expression} never held: {self.state()} {self.console}") from exc

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self.js(
            """() => {
                const v = document.querySelector('.cp-player video');
                return {attached: v.dataset.cpAttached, error: v.error && v.error.code,
                        hlsError: v.dataset.cpError || null, time: v.currentTime,
                        tracks: Array.from(v.textTracks).map(t => ({kind: t.kind, language: t.language,
                            label: t.label, mode: t.mode, cues: t.cues ? t.cues.length : null})),
                        menu: Array.from(document.querySelectorAll('select.cp-captions option'))
                            .map(o => o.textContent)};
            }"""
        )
        return result

    def close(self) -> None:
        self.context.close()


def _url(site: str, lesson: str, mode: str) -> str:
    return f"{site}/lessons/{lesson}" + ("?player=hls.js" if mode == "hls.js" else "")


def _open(browser: Any, site: str, lesson: str, mode: str, **kwargs: Any) -> Tab:
    tab = Tab(browser, _url(site, lesson, mode), **kwargs)
    if mode == "native" and not tab.js(
        f"() => document.createElement('video').canPlayType('{MEDIA_TYPES['.m3u8']}')"
    ):
        tab.close()
        pytest.skip("this Chromium has no native HLS")
    attached = tab.state()["attached"]
    assert attached == mode, attached
    return tab


CAPTION_TRACKS = (
    "Array.from(document.querySelector('.cp-player video').textTracks).filter(t => t.kind !== 'metadata')"
)


def _choose(tab: Tab, label: str) -> None:
    tab.page.select_option("select.cp-captions", label=label)


def _check_menu_and_cues(tab: Tab) -> None:
    # Each language once, in the page's order, after "Off"; English (the default) shows from the start.
    tab.wait("() => document.querySelectorAll('select.cp-captions option').length === 3")
    assert tab.state()["menu"] == ["Off", "English", "Français"], tab.state()
    tab.wait(f"() => {CAPTION_TRACKS}.some(t => t.language === 'en' && t.mode === 'showing')")
    assert (
        tab.js("() => document.querySelector('select.cp-captions').selectedOptions[0].textContent")
        == "English"
    )
    # Choosing French shows it, disables English, and its cues load.
    _choose(tab, "Français")
    tab.wait(
        f"""() => {{
            const tracks = {CAPTION_TRACKS};
            const fr = tracks.find(t => t.language === 'fr');
            return fr && fr.mode === 'showing' && fr.cues && fr.cues.length > 0
                && tracks.filter(t => t !== fr).every(t => t.mode === 'disabled');
        }}"""
    )
    first = tab.js(f"() => {CAPTION_TRACKS}.find(t => t.language === 'fr').cues[0].text")
    assert "Bonjour" in first, first
    assert tab.js("() => localStorage.getItem('cp-captions')") == "fr"
    _choose(tab, "Off")
    tab.wait(f"() => {CAPTION_TRACKS}.every(t => t.mode === 'disabled')")
    assert tab.js("() => localStorage.getItem('cp-captions')") == "off"


def _check_transcript(tab: Tab) -> None:
    tab.js("() => { document.querySelector('.cp-player video').muted = true; }")
    details = tab.page.locator("details.cp-transcript")
    assert details.get_attribute("open") is None  # closed by default
    details.locator("summary").click()
    second = details.locator("button[data-cp-seek]").nth(1)
    assert second.text_content() == "0:03" and second.get_attribute("data-cp-seek") == "3"
    second.click()
    # The click seeks (to the cue's start, give or take a frame) and plays; the row being spoken is marked.
    tab.wait("() => document.querySelector('.cp-player video').currentTime >= 2.95")
    assert tab.js("() => document.querySelector('.cp-player video').currentTime") < 4.9
    tab.wait("() => !document.querySelector('.cp-player video').paused")
    tab.wait("() => document.querySelectorAll('.cp-cues li')[1].getAttribute('aria-current') === 'true'")
    assert tab.js("() => document.querySelectorAll('.cp-cues [aria-current]').length") == 1
    # Playing on into the third cue moves the mark.
    tab.wait("() => document.querySelectorAll('.cp-cues li')[2].getAttribute('aria-current') === 'true'")
    assert tab.js("() => document.querySelectorAll('.cp-cues [aria-current]').length") == 1
    state = tab.state()
    assert state["error"] is None and state["hlsError"] is None, (state, tab.console)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["hls.js", "native"])
def test_page_tracks_menu_and_transcript(browser: Any, site: str, mode: str) -> None:
    tab = _open(browser, site, "plain.html", mode)
    try:
        _check_menu_and_cues(tab)
        _check_transcript(tab)
        assert not [line for line in tab.console if "Content Security Policy" in line], tab.console
    finally:
        tab.close()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["hls.js", "native"])
def test_hls_subtitle_renditions_replace_the_page_tracks(browser: Any, site: str, mode: str) -> None:
    tab = _open(browser, site, "subs.html", mode)
    try:
        _check_menu_and_cues(tab)
        state = tab.state()
        captions = [t for t in state["tracks"] if t["kind"] != "metadata"]
        assert sorted(t["language"] for t in captions) == ["en", "fr"], state
        own = tab.js("() => document.querySelectorAll('video track[src$=\".vtt\"]').length")
        if mode == "hls.js":
            # hls.js made them from the renditions (its <track src="data:,WEBVTT">); the page's are gone.
            assert own == 0 and tab.js("() => document.querySelector('video').src").startswith("blob:")
        else:
            # Chromium 150's native HLS lists no SUBTITLES renditions as text tracks, so the page's <track>s
            # stay; where a browser lists them (Safari), the script drops the <track>s. Either way: once each.
            assert own in (0, 2), state
        _check_transcript(tab)
        # hls.js gives its text tracks src="data:,WEBVTT" (a Chrome captions-menu workaround): the page
        # CSP's media-src allows data: for it, and nothing is refused.
        refused = [line for line in tab.console if "Content Security Policy" in line]
        assert not refused, refused
    finally:
        tab.close()


@pytest.mark.slow
def test_remembered_choice_and_a_phone_screen(browser: Any, site: str) -> None:
    tab = _open(browser, site, "subs.html", "hls.js", width=360)
    try:
        tab.js("() => localStorage.setItem('cp-captions', 'fr')")
        tab.page.reload()
        tab.wait(f"() => {CAPTION_TRACKS}.some(t => t.language === 'fr' && t.mode === 'showing')")
        assert (
            tab.js("() => document.querySelector('select.cp-captions').selectedOptions[0].textContent")
            == "Français"
        )
        tab.page.locator("details.cp-transcript summary").click()
        # Nothing wider than the phone; the transcript scrolls inside its own box.
        assert tab.js("() => document.documentElement.scrollWidth") <= 360
        box = tab.js(
            "() => { const l = document.querySelector('.cp-cues'); const s = getComputedStyle(l);"
            " return {overflowY: s.overflowY, maxHeight: s.maxHeight}; }"
        )
        assert box["overflowY"] == "auto" and box["maxHeight"] != "none", box
        # The keyboard reaches the menu and the seek buttons, in order.
        tab.page.locator("select.cp-captions").focus()
        tab.page.keyboard.press("Tab")
        assert tab.js("() => document.activeElement.tagName") == "SUMMARY"
        tab.page.keyboard.press("Tab")
        assert tab.js("() => document.activeElement.dataset.cpSeek") == "0.5"
        # Into the first cue, paused: the French caption is on the picture and its row is marked.
        tab.js("() => { document.querySelector('.cp-player video').muted = true; }")
        tab.page.locator(".cp-cues button").first.click()
        tab.wait("() => document.querySelector('.cp-player video').currentTime > 1.2")
        tab.js("() => document.querySelector('.cp-player video').pause()")
        tab.wait(f"() => {CAPTION_TRACKS}.find(t => t.mode === 'showing').activeCues.length === 1")
        assert (
            tab.js("() => document.querySelectorAll('.cp-cues li')[0].getAttribute('aria-current')") == "true"
        )
        assert tab.js("() => document.documentElement.scrollWidth") <= 360
        tab.page.screenshot(path=str(SCREENSHOT), full_page=True)
        assert SCREENSHOT.stat().st_size > 10_000
    finally:
        tab.close()
