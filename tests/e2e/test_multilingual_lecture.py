"""The accessible lecture, end to end: one MP4 with two soundtracks (English quiet, French loud) and a
Spanish mov_text subtitle stream, an English caption file uploaded before it and a French one after it,
through the real state machine on moto (LocalRuntime over template.yaml), then checked with real clients.

- the master (``m3u8``): both soundtracks as AUDIO renditions, the embedded and the two sidecar
  subtitles as SUBTITLES renditions on the video's segment grid, the late caption attached without
  re-encoding anything;
- ffmpeg/ffprobe as HLS clients over the downloaded tree: every rendition read, each soundtrack at
  −16 LUFS whatever its source level, and each carrying the stream its language says;
- headless Chromium with hls.js over the downloaded lesson page (served with the page CSP): two audio
  and three subtitle tracks, cues on the picture's timeline (X-TIMESTAMP-MAP), one menu entry per
  language, a transcript that seeks; a screenshot to /tmp/multilingual-shot.png;
- deleting the late caption takes its rendition and its page track down.

The tests share one pipeline run (the module fixture) and read the tree it downloaded; only the last one
changes the stack.
"""

from __future__ import annotations

import functools
import http.server
import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import m3u8
import pytest

from pipeline.catalog.dynamo import DynamoCatalog
from pipeline.keys import asset_id_for
from pipeline.local.runtime import LocalRuntime
from pipeline.text.page import HLS_JS_ASSET, hls_js_asset
from tests.e2e.test_browser_captions import MEDIA_TYPES, _page_csp
from tests.e2e.test_browser_playback import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.test_captions_pipeline import entered, settle
from tests.e2e.test_video_pipeline import REPO, download, published
from tests.integration.media_fixtures import FAST_H264, ffmpeg_run, integrated_loudness

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = [pytest.mark.slow, pytest.mark.ffmpeg]

COURSE = "multilingual-e2e"
SECONDS = 12
VIDEO = "media/lecture.mp4"
LESSON = "lessons/intro.md"
ENGLISH = "media/lecture.en.vtt"
FRENCH = "media/lecture.fr.srt"
SCREENSHOT = Path("/tmp/multilingual-shot.png")
# Two tones far apart, so a rendition's content can be told from its label (see _low_tone); the gains put
# them at about −30 and −10 LUFS (a lavfi sine is about −21.8 LUFS at 440 Hz).
ENGLISH_TONE = f"sine=frequency=330:sample_rate=48000:duration={SECONDS},volume=-8dB"
FRENCH_TONE = f"sine=frequency=1320:sample_rate=48000:duration={SECONDS},volume=10dB"
SPANISH_SRT = (
    "1\n00:00:02,000 --> 00:00:04,000\nHola a todos\n\n2\n00:00:08,000 --> 00:00:10,000\nSegunda frase\n"
)
ENGLISH_VTT = b"WEBVTT\n\n00:00.500 --> 00:02.000\nHello everyone\n\n00:06.000 --> 00:08.000\nSecond line\n"
FRENCH_SRT = (  # as Windows tools write SRT: CRLF
    "1\r\n00:00:01,000 --> 00:00:03,000\r\nBonjour à tous\r\n\r\n"
    "2\r\n00:00:07,500 --> 00:00:09,000\r\nDeuxième phrase\r\n"
).encode()
# Authored start of each cue, by language: what ffmpeg reports (it ignores X-TIMESTAMP-MAP) and what the
# browser must show on the picture's timeline.
CUE_STARTS = {"es": [2.0, 8.0], "en": [0.5, 6.0], "fr": [1.0, 7.5]}


def key(path: str) -> str:
    return f"courses/{COURSE}/{path}"


def make_source(folder: Path) -> Path:
    """~12 s H.264 + two AAC soundtracks (eng default, fre) + one mov_text stream (spa), as a screen
    recorder with a dubbed track and a subtitle track would export it."""
    srt = folder / "spanish.srt"
    srt.write_text(SPANISH_SRT, encoding="utf-8")
    out = folder / "lecture.mp4"
    ffmpeg_run(
        "-f", "lavfi", "-i", f"testsrc2=s=320x180:r=25:d={SECONDS}",
        "-f", "lavfi", "-i", ENGLISH_TONE,
        "-f", "lavfi", "-i", FRENCH_TONE,
        "-i", str(srt),
        "-map", "0:v", "-map", "1:a", "-map", "2:a", "-map", "3:s",
        *FAST_H264, "-pix_fmt", "yuv420p", "-c:a", "aac", "-ar", "48000", "-c:s", "mov_text",
        "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fre",
        "-metadata:s:s:0", "language=spa",
        "-disposition:a:0", "default", "-disposition:a:1", "0",
        "-t", str(SECONDS), str(out),
    )  # fmt: skip
    return out


def soundtrack(source: Path, n: int, out: Path) -> Path:
    """Audio stream ``n`` of ``source`` on its own, for ``integrated_loudness`` (which meters 0:a:0)."""
    ffmpeg_run("-i", str(source), "-map", f"0:a:{n}", "-c", "copy", str(out))
    return out


def _mean_volume(path: Path, audio_filter: str) -> float:
    result = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-protocol_whitelist", "file,crypto,data",
         "-i", str(path), "-map", "0:a:0", "-af", f"{audio_filter},volumedetect", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(result.stderr.rsplit("mean_volume:", 1)[1].split("dB", 1)[0])


def _low_tone(path: Path) -> bool:
    """Whether ``path``'s audio is the low tone (English), not the high one (French): more energy below
    the midpoint (~660 Hz) than above it."""
    return _mean_volume(path, "lowpass=f=660,lowpass=f=660") > _mean_volume(
        path, "highpass=f=660,highpass=f=660"
    )


@dataclass
class Run:
    """What the module's pipeline run left: the stack (still up), the downloaded course, timings."""

    runtime: LocalRuntime
    source: Path
    course: Path  # the published course prefix, downloaded
    late_states: list[str]
    ts_etags_before: dict[str, str]
    ts_etags_after: dict[str, str]
    english_attached_before_video: list[str]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def hls(self) -> Path:
        return self.course / "media" / asset_id_for(VIDEO) / "hls"

    def lesson_html(self) -> str:
        return (self.course / "lessons" / f"{asset_id_for(LESSON)}.html").read_text(encoding="utf-8")


def _segment_etags(runtime: LocalRuntime) -> dict[str, str]:
    s3 = runtime.client("s3")
    return {
        k: str(s3.head_object(Bucket=runtime.publish_bucket, Key=k)["ETag"])
        for k in published(runtime, key("media/"))
        if k.endswith(".ts")
    }


def _catalog_item(runtime: LocalRuntime, path: str) -> dict[str, Any]:
    catalog = DynamoCatalog(runtime.client("dynamodb"), runtime.catalog_table)
    return next(i for i in catalog.course_items(COURSE) if i.get("path") == path)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    folder = tmp_path_factory.mktemp("multilingual")
    started = time.monotonic()
    source = make_source(folder)
    timings = {"source": time.monotonic() - started}
    with LocalRuntime(REPO / "template.yaml", parameters={"LogLevel": "ERROR"}) as runtime:
        timings["stack"] = time.monotonic() - started
        # The English captions first, alone: published, attached to nothing yet.
        runtime.upload(key(ENGLISH), ENGLISH_VTT)
        assert [e["status"] for e in settle(runtime)] == ["SUCCEEDED"]
        english = _catalog_item(runtime, ENGLISH)["details"]["caption"]
        # Then the video and the lesson that links it.
        runtime.upload(key(VIDEO), source)
        runtime.upload(key(LESSON), b"# Intro\n\n[The lecture](../media/lecture.mp4)\n")
        assert {e["status"] for e in settle(runtime)} == {"SUCCEEDED"}
        timings["video published"] = time.monotonic() - started
        # The French captions after the video has published: attached to the published master.
        before = _segment_etags(runtime)
        runtime.upload(key(FRENCH), FRENCH_SRT)
        late = settle(runtime)[-1]
        assert late["status"] == "SUCCEEDED", late
        timings["late caption"] = time.monotonic() - started
        download(runtime, published(runtime, key("")), folder / "pub")
        yield Run(
            runtime=runtime,
            source=source,
            course=folder / "pub" / key("").rstrip("/"),
            late_states=entered(runtime, late),
            ts_etags_before=before,
            ts_etags_after=_segment_etags(runtime),
            english_attached_before_video=list(english["attached"]),
            timings=timings,
        )
        timings["total"] = time.monotonic() - started
        print(
            "multilingual lecture: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()), file=sys.stderr
        )


# ---- 1-3: the late caption, the master and its media playlists


def test_late_caption_attaches_without_re_encoding(run: Run) -> None:
    assert run.english_attached_before_video == []  # its run ended before the video existed
    assert "RenderCaptions" in run.late_states and "EncodeChunk" not in run.late_states
    assert run.ts_etags_before and run.ts_etags_after == run.ts_etags_before
    # The catalog measured both soundtracks at their source levels and normalised both.
    tracks = _catalog_item(run.runtime, VIDEO)["details"]["hls"]["audioTracks"]
    assert [(t["language"], t["default"]) for t in tracks] == [("en", True), ("fr", False)]
    assert abs(float(tracks[0]["loudness"]["inputI"]) + 30) < 1.5, tracks
    assert abs(float(tracks[1]["loudness"]["inputI"]) + 10) < 1.5, tracks
    assert {float(t["loudness"]["targetI"]) for t in tracks} == {-16.0}


def test_master_lists_every_soundtrack_and_subtitle_on_the_video_grid(run: Run) -> None:
    master = m3u8.load(str(run.hls / "master.m3u8"))
    audio = [m for m in master.media if m.type == "AUDIO"]
    assert [(m.language, m.default, m.uri) for m in audio] == [
        ("en", "YES", "audio/0/index.m3u8"),
        ("fr", "NO", "audio/1/index.m3u8"),
    ]
    subs = [m for m in master.media if m.type == "SUBTITLES"]
    assert [(m.language, m.uri) for m in subs] == [
        ("es", "subs/embedded-0/index.m3u8"),
        ("en", f"subs/{asset_id_for(ENGLISH)}/index.m3u8"),
        ("fr", f"subs/{asset_id_for(FRENCH)}/index.m3u8"),
    ]
    # No subtitle is shown unasked: none is forced, and an MP4's first text track is always flagged
    # default by its muxer (ffmpeg's mov muxer enables one track of each type), which says nothing about
    # what the author wants shown.
    assert [m.default for m in subs] == ["NO", "NO", "NO"]
    assert master.playlists
    for variant in master.playlists:
        assert variant.stream_info.audio == "audio" and variant.stream_info.subtitles == "subs"
    video = m3u8.load(str(run.hls / master.playlists[0].uri))
    for rendition in subs:
        playlist = m3u8.load(str(run.hls / rendition.uri))
        assert playlist.is_endlist
        assert [s.duration for s in playlist.segments] == pytest.approx([s.duration for s in video.segments])
        first = (run.hls / rendition.uri).parent / playlist.segments[0].uri
        assert "X-TIMESTAMP-MAP=MPEGTS:" in first.read_text(encoding="utf-8")
    # Each caption's whole-file WebVTT (the page's <track>s, the transcript) is published too.
    for caption in (ENGLISH, FRENCH):
        assert (
            (run.course / "captions" / asset_id_for(caption) / "track.vtt").read_text().startswith("WEBVTT")
        )
    assert (run.hls / "subs" / "embedded-0" / "track.vtt").read_text().startswith("WEBVTT")


# ---- 4: ffmpeg and ffprobe as HLS clients


def test_ffmpeg_reads_every_rendition_and_the_soundtracks_are_normalised(run: Run, tmp_path: Path) -> None:
    master = str(run.hls / "master.m3u8")
    # ffmpeg 5.1's HLS demuxer opens subtitle renditions only with -strict experimental and ignores
    # X-TIMESTAMP-MAP, so the cue times it reports are the authored ones (the browser test checks the map).
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-strict", "experimental", "-show_entries",
         "stream=index,codec_type,codec_name:stream_tags=language:packet=stream_index,pts_time",
         "-of", "json", master],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    report = json.loads(probe.stdout)
    streams = report["streams"]
    assert [s["tags"]["language"] for s in streams if s["codec_type"] == "audio"] == ["en", "fr"]
    text = {s["index"]: s["tags"]["language"] for s in streams if s["codec_type"] == "subtitle"}
    assert sorted(text.values()) == ["en", "es", "fr"]
    assert {s["codec_name"] for s in streams if s["codec_type"] == "subtitle"} == {"webvtt"}
    for index, language in text.items():
        starts = sorted(float(p["pts_time"]) for p in report["packets"] if p["stream_index"] == index)
        assert starts == CUE_STARTS[language], (language, starts)
    # Decoding every audio and subtitle rendition to the end: no error (-xerror stops at the first).
    decoded = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-xerror", "-strict", "experimental",
         "-i", master, "-map", "0:a", "-map", "0:s", "-c:s", "webvtt", "-f", "null", "-"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert decoded.returncode == 0 and not decoded.stderr.strip(), decoded.stderr
    # Quiet and loud sources both end at the target, and each rendition carries the stream its label says.
    assert abs(integrated_loudness(soundtrack(run.source, 0, tmp_path / "en.m4a")) + 30) < 1.5
    assert abs(integrated_loudness(soundtrack(run.source, 1, tmp_path / "fr.m4a")) + 10) < 1.5
    for n, language in enumerate(["en", "fr"]):
        playlist = run.hls / "audio" / str(n) / "index.m3u8"
        assert abs(integrated_loudness(playlist) + 16) <= 1.0, (language, integrated_loudness(playlist))
        assert _low_tone(playlist) is (language == "en"), language


# ---- 5: the lesson page in Chromium with hls.js

# player.js keeps its Hls instance to itself; the test page records every instance made, by wrapping the
# constructor the moment hls.min.js defines window.Hls (an init script: it runs before any page script and
# is not subject to the page's CSP). Production code exposes nothing for this.
HLS_SPY = """(() => {
  let wrapped;
  window.__cpHls = [];
  Object.defineProperty(window, 'Hls', {configurable: true, get() { return wrapped; }, set(Hls) {
    wrapped = class extends Hls { constructor(...args) { super(...args); window.__cpHls.push(this); } };
  }});
})();"""
VIDEO_JS = "document.querySelector('.cp-player video')"
TEXT_TRACKS = f"Array.from({VIDEO_JS}.textTracks).filter(t => t.kind !== 'metadata')"


@pytest.fixture(scope="module")
def site(run: Run) -> Iterator[str]:
    """The downloaded course served over HTTP with the CSP the distribution sends for pages."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)")
    if not (run.course / HLS_JS_ASSET).exists():  # published only where hls.js is installed
        hls_js = hls_js_asset()
        if hls_js is None:
            pytest.skip("hls.min.js is missing (npm ci --prefix web; .ci/run installs it)")
        (run.course / hls_js[0]).write_bytes(hls_js[1])
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
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(run.course))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class Lesson:
    """The lesson page in a fresh context (no remembered caption choice), its console and failures kept."""

    def __init__(self, page: Any, url: str) -> None:
        self.page = page
        self.console: list[str] = []
        self.failed: list[str] = []
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)
        response = page.goto(url)
        assert response is not None and response.status == 200

    def _request_failed(self, request: Any) -> None:
        # hls.js aborts the loads a seek or a track switch makes moot (net::ERR_ABORTED): not failures.
        if "ERR_ABORTED" not in (request.failure or ""):
            self.failed.append(f"{request.failure} {request.url}")

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            self.failed.append(f"{response.status} {response.url}")

    def js(self, expression: str, arg: object = None) -> Any:
        return self.page.evaluate(expression, arg)

    def wait(self, expression: str, arg: object = None, timeout: int = 15_000) -> None:
        try:
            self.page.wait_for_function(expression, arg=arg, timeout=timeout)
        except Exception as exc:
            raise AssertionError(f"{expression} never held: {self.state()} {self.console}") from exc

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self.js(
            f"""() => {{
                const v = {VIDEO_JS}, h = window.__cpHls[0];
                return {{attached: v.dataset.cpAttached, error: v.error && v.error.code,
                    hlsError: v.dataset.cpError || null, time: v.currentTime, paused: v.paused,
                    audio: h ? h.audioTracks.map(t => [t.lang, t.default]) : null,
                    audioTrack: h ? h.audioTrack : null,
                    subs: h ? h.subtitleTracks.map(t => t.lang) : null,
                    subtitleTrack: h ? h.subtitleTrack : null,
                    tracks: {TEXT_TRACKS}.map(t => [t.language, t.mode, t.cues ? t.cues.length : null]),
                    menu: Array.from(document.querySelectorAll('select.cp-captions option'))
                        .map(o => o.textContent)}};
            }}"""
        )
        return result

    def choose(self, label: str, language: str) -> list[dict[str, Any]]:
        """Pick ``label`` in the page's caption menu; that language's track shows alone and its cues
        (loaded by hls.js from the rendition's segments) are returned."""
        self.page.select_option("select.cp-captions", label=label)
        self.wait(
            f"""(lang) => {{
                const tracks = {TEXT_TRACKS}, chosen = tracks.find(t => t.language === lang);
                return chosen && chosen.mode === 'showing' && chosen.cues && chosen.cues.length >= 2
                    && tracks.every(t => t === chosen || t.mode === 'disabled')
                    && window.__cpHls[0].subtitleTracks[window.__cpHls[0].subtitleTrack].lang === lang;
            }}""",
            language,
        )
        cues: list[dict[str, Any]] = self.js(
            f"""(lang) => Array.from({TEXT_TRACKS}.find(t => t.language === lang).cues)
                .map(c => ({{start: c.startTime, end: c.endTime, text: c.text}}))""",
            language,
        )
        return cues


def _first_frame_time(lesson: Lesson) -> float:
    """The media time at which the first picture is shown. hls.js starts its timeline at the first
    segment's lowest DTS, so with B-frames the first frame (and every cue mapped by X-TIMESTAMP-MAP to
    the first PTS) sits a frame or two after 0."""
    value: float = lesson.js(
        f"""() => new Promise((resolve, reject) => {{
            const v = {VIDEO_JS};
            v.requestVideoFrameCallback((now, frame) => resolve(frame.mediaTime));
            setTimeout(() => reject(new Error('no frame shown after a seek to 0')), 10000);
            v.currentTime = 0;
        }})"""
    )
    return value


@pytest.mark.slow
def test_lesson_plays_every_track_in_chromium(run: Run, site: str) -> None:
    from playwright import sync_api as playwright_api  # the dev extra; it never downloads browsers

    started = time.monotonic()
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1000, "height": 900})
            context.add_init_script(HLS_SPY)
            lesson = Lesson(context.new_page(), f"{site}/lessons/{asset_id_for(LESSON)}.html?player=hls.js")
            lesson.wait(
                "() => window.__cpHls.length === 1 && window.__cpHls[0].audioTracks.length > 0"
                " && window.__cpHls[0].subtitleTracks.length > 0"
                f" && {VIDEO_JS}.dataset.cpAttached === 'hls.js'"
            )
            _check_tracks(lesson)
            _check_cue_timing(lesson)
            _check_audio_switch(lesson)
            _check_transcript_and_shoot(lesson)
            refused = [line for line in lesson.console if "Content Security Policy" in line]
            assert not refused, refused
            assert [u for u in lesson.failed if not u.endswith("/favicon.ico")] == [], lesson.failed
            context.close()
        finally:
            browser.close()
    run.timings["browser"] = time.monotonic() - started


def _check_tracks(lesson: Lesson) -> None:
    state = lesson.state()
    assert state["audio"] == [["en", True], ["fr", False]] and state["audioTrack"] == 0, state
    assert state["subs"] == ["es", "en", "fr"], state
    # hls.js made the text tracks from the renditions; the page's own <track>s went, so each language is
    # listed once, after "Off", and nothing shows until the viewer asks.
    lesson.wait("() => document.querySelectorAll('select.cp-captions option').length === 4")
    assert lesson.state()["menu"] == ["Off", "Español", "English", "Français"], lesson.state()
    own = "video track[src$='.vtt']:not([kind='metadata'])"
    assert lesson.js("(own) => document.querySelectorAll(own).length", own) == 0
    assert state["subtitleTrack"] == -1, state
    assert lesson.js("() => document.querySelector('select.cp-captions').value") == "-1"


def _check_cue_timing(lesson: Lesson) -> None:
    """Cues are where the author put them on the picture: the TS timestamps start near 11.4 s and
    X-TIMESTAMP-MAP maps cue time 0 to them. hls.js's media time starts at the first DTS, so the first
    frame is at ~0.08 s here; the cues must be that far on too (to the millisecond), and within 0.1 s of
    the authored time in media time."""
    lesson.js(f"() => {{ {VIDEO_JS}.muted = true; }}")
    first_frame = _first_frame_time(lesson)
    assert 0 <= first_frame < 0.1, first_frame
    for label, language, text in (("Français", "fr", "Bonjour à tous"), ("Español", "es", "Hola a todos")):
        cues = lesson.choose(label, language)
        assert cues[0]["text"] == text, cues
        starts = [c["start"] for c in cues]
        assert starts == pytest.approx(CUE_STARTS[language], abs=0.1), (language, starts, first_frame)
        shifted = [s + first_frame for s in CUE_STARTS[language]]
        assert starts == pytest.approx(shifted, abs=0.002), (language, starts, first_frame)


def _check_audio_switch(lesson: Lesson) -> None:
    """Switching to the French soundtrack loads its rendition and playback carries on."""
    lesson.js(f"() => {VIDEO_JS}.play()")
    lesson.wait(f"() => {VIDEO_JS}.currentTime > 0.5")
    lesson.js("() => { window.__cpHls[0].audioTrack = 1; }")
    lesson.wait(
        "() => { const h = window.__cpHls[0]; const t = h.audioTracks[h.audioTrack];"
        " return h.audioTrack === 1 && t.lang === 'fr' && t.details && t.details.fragments.length > 0; }"
    )
    at = lesson.state()["time"]
    lesson.wait(f"(at) => {VIDEO_JS}.currentTime > at + 0.5", at)
    state = lesson.state()
    assert state["error"] is None and state["hlsError"] is None, (state, lesson.console)
    lesson.js(f"() => {VIDEO_JS}.pause()")


def _check_transcript_and_shoot(lesson: Lesson) -> None:
    details = lesson.page.locator("details.cp-transcript")
    assert "English" in (details.locator("summary").text_content() or "")
    details.locator("summary").click()
    rows = details.locator("button[data-cp-seek]")
    assert [rows.nth(i).get_attribute("data-cp-seek") for i in range(rows.count())] == ["0.5", "6"]
    rows.nth(1).click()  # seeks to the row's cue and plays; the row being spoken is marked
    lesson.wait(f"() => {VIDEO_JS}.currentTime >= 5.95 && !{VIDEO_JS}.paused")
    assert lesson.js(f"() => {VIDEO_JS}.currentTime") < 8
    lesson.wait("() => document.querySelectorAll('.cp-cues li')[1].getAttribute('aria-current') === 'true'")
    # The picture for the screenshot: French subtitles on, paused inside the first French cue.
    lesson.choose("Français", "fr")
    rows.nth(0).click()
    lesson.wait(f"() => {VIDEO_JS}.currentTime > 1.4")
    lesson.js(f"() => {VIDEO_JS}.pause()")
    lesson.wait(f"() => {TEXT_TRACKS}.find(t => t.mode === 'showing').activeCues.length === 1")
    active = lesson.js(f"() => {TEXT_TRACKS}.find(t => t.mode === 'showing').activeCues[0].text")
    assert active == "Bonjour à tous", active
    lesson.page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000


# ---- 6: deleting the late caption


def test_deleting_a_caption_takes_its_rendition_and_track_down(run: Run) -> None:
    runtime = run.runtime
    runtime.client("s3").delete_object(Bucket=runtime.ingest_bucket, Key=key(FRENCH))
    assert {e["status"] for e in settle(runtime)} == {"SUCCEEDED"}
    s3 = runtime.client("s3")
    master_key = key(f"media/{asset_id_for(VIDEO)}/hls/master.m3u8")
    master = m3u8.loads(s3.get_object(Bucket=runtime.publish_bucket, Key=master_key)["Body"].read().decode())
    assert [m.language for m in master.media if m.type == "SUBTITLES"] == ["es", "en"]
    assert all(p.stream_info.subtitles == "subs" for p in master.playlists)
    assert not [k for k in published(runtime, key("")) if asset_id_for(FRENCH) in k]
    page_key = key(f"lessons/{asset_id_for(LESSON)}.html")
    page = s3.get_object(Bucket=runtime.publish_bucket, Key=page_key)["Body"].read().decode()
    assert 'srclang="fr"' not in page and 'srclang="en"' in page and 'srclang="es"' in page
