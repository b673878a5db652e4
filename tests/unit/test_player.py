"""The player's markup for captions and the transcript: what the page carries before any script runs."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from pipeline.text.links import CaptionTrack, Target, TranscriptCue
from pipeline.text.player import caption_tracks_html, clock_label, player_html, seconds_attr

HOSTILE = '"><script>alert(1)</script>'
EN = CaptionTrack("en", "English", "../captions/talk.en.vtt", "captions", default=True)
FR = CaptionTrack("fr-CA", "Français (Canada)", "../captions/talk.fr-CA.vtt")
CUES = (
    TranscriptCue(500, 2_500, "Hello & welcome."),
    TranscriptCue(3_000, 5_250, "Segments last\nsix seconds."),
    TranscriptCue(3_723_004, 3_725_000, "An hour later."),
)


def video(**fields: object) -> Target:
    values: dict[str, object] = {
        "kind": "video",
        "path": "media/talk.mp4",
        "href": "../media/talk/master.m3u8",
        "thumbnails": "../media/talk/thumbs.vtt",
        "captions": (EN, FR),
        "transcript": CUES,
        "transcript_language": "en",
    }
    values.update(fields)
    return Target(**values)  # type: ignore[arg-type]


class _Elements(HTMLParser):
    """Every start tag with its attributes, as a browser's parser sees them (entities decoded)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def test_one_track_per_caption_after_the_thumbnails_track() -> None:
    html = player_html(video(), title="Talk")
    tracks = _Elements(html).all("track")
    assert tracks == [
        {"kind": "metadata", "label": "thumbnails", "src": "../media/talk/thumbs.vtt"},
        {
            "kind": "captions",
            "srclang": "en",
            "label": "English",
            "src": "../captions/talk.en.vtt",
            "default": None,
        },
        {
            "kind": "subtitles",
            "srclang": "fr-CA",
            "label": "Français (Canada)",
            "src": "../captions/talk.fr-CA.vtt",
        },
    ]
    # The <track>s sit inside the <video>, before its fallback; the figure ends before the transcript.
    assert html.index("<video") < html.index('<track kind="captions"') < html.index("<p>Your browser")
    assert html.index("</figure>") < html.index('<details class="cp-transcript">')
    assert "data-cp-hls-subtitles" not in html


def test_the_master_with_subtitle_renditions_is_marked() -> None:
    video_tag = _Elements(player_html(video(hls_subtitles=True), title="T")).all("video")[0]
    assert video_tag["data-cp-hls-subtitles"] == "yes"
    # The <track>s stay: they are what plays without script, or where native HLS lists no renditions.
    assert len(_Elements(player_html(video(hls_subtitles=True), title="T")).all("track")) == 3


def test_only_the_first_default_is_default() -> None:
    both = (EN, CaptionTrack("de", "Deutsch", "de.vtt", default=True))
    html = caption_tracks_html(both)
    assert html.count(" default") == 1 and html.index(" default") < html.index('srclang="de"')


def test_hostile_labels_languages_and_urls_are_escaped_or_dropped() -> None:
    captions = (
        CaptionTrack(HOSTILE, HOSTILE, f"a{HOSTILE}.vtt", "captions", default=True),
        CaptionTrack("de", "Deutsch", "javascript:alert(1)"),
        CaptionTrack("es", "Español", "//evil.example/es.vtt"),
        CaptionTrack("it", "Italiano", "data:text/vtt,WEBVTT"),
        CaptionTrack("pt", "Português", " \tjavascript:alert(1)"),
        CaptionTrack("nl", "Nederlands", ""),
        CaptionTrack("ja", "", "ja.vtt", "scripts"),  # type: ignore[arg-type]
    )
    html = player_html(video(captions=captions, transcript_language=HOSTILE), title=HOSTILE)
    assert "<script" not in html and "javascript:" not in html and "evil.example" not in html
    assert "data:" not in html
    tracks = _Elements(html).all("track")[1:]
    assert tracks == [
        # The language is not a tag: no srclang at all (escaping it would still put junk in the page).
        {"kind": "captions", "label": HOSTILE, "src": f"a{HOSTILE}.vtt", "default": None},
        # An empty label falls back to the language; an unknown kind to subtitles.
        {"kind": "subtitles", "srclang": "ja", "label": "ja", "src": "ja.vtt"},
    ]
    assert 'label="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert 'lang="' not in html.split("cp-transcript", 1)[1]  # nor a lang on the transcript list


def test_unsafe_poster_and_thumbnails_are_left_out_but_the_captions_stay() -> None:
    html = player_html(video(poster="javascript:x", thumbnails="vbscript:y"), title="T")
    assert "poster" not in html and 'kind="metadata"' not in html
    assert html.count("<track") == 2


def test_transcript_rows_seek_to_each_cue() -> None:
    html = player_html(video(), title="T")
    transcript = html[html.index('<details class="cp-transcript">') :]
    assert transcript.startswith(
        '<details class="cp-transcript"><summary>Transcript '
        '<span class="cp-transcript-language">(English)</span></summary><ol class="cp-cues" lang="en">'
    )
    assert "<details open" not in transcript  # closed by default
    parsed = _Elements(transcript)
    buttons = parsed.all("button")
    assert [b["data-cp-seek"] for b in buttons] == ["0.5", "3", "3723.004"]
    assert all(b["type"] == "button" for b in buttons)
    assert [b["aria-label"] for b in buttons] == ["Play from 0:00", "Play from 0:03", "Play from 1:02:03"]
    assert [row["data-cp-end"] for row in parsed.all("li")] == ["2.5", "5.25", "3725"]
    assert re.findall(r"<button[^>]*>([^<]*)</button>", transcript) == ["0:00", "0:03", "1:02:03"]
    # The words are in the page (the browser's find, search engines), escaped, line breaks kept for CSS.
    assert '<span class="cp-cue-text">Hello &amp; welcome.</span>' in transcript
    assert '<span class="cp-cue-text">Segments last\nsix seconds.</span>' in transcript


def test_hostile_cue_text_stays_text() -> None:
    cues = (TranscriptCue(0, 1_000, HOSTILE), TranscriptCue(1_000, 2_000, "<b onclick=x>bold</b>"))
    html = player_html(video(transcript=cues), title="T")
    parsed = _Elements(html)
    assert [t for t, _ in parsed.tags if t in {"script", "b"}] == []
    assert HOSTILE in "".join(parsed.text) and "<b onclick=x>bold</b>" in "".join(parsed.text)


def test_no_transcript_without_cues_and_blank_cues_are_skipped() -> None:
    assert "cp-transcript" not in player_html(video(transcript=()), title="T")
    blank = (TranscriptCue(0, 1_000, "  \n "),)
    assert "cp-transcript" not in player_html(video(transcript=blank), title="T")
    mixed = (*blank, TranscriptCue(1_000, 2_000, "Said."))
    assert player_html(video(transcript=mixed), title="T").count("<li") == 1


def test_transcript_language_without_a_caption_of_it_shows_the_tag() -> None:
    html = player_html(video(captions=(), transcript_language="de"), title="T")
    assert '<span class="cp-transcript-language">(de)</span>' in html and 'lang="de"' in html
    untagged = player_html(video(transcript_language=None), title="T")
    assert "<summary>Transcript</summary>" in untagged and "cp-transcript-language" not in untagged


def test_audio_gets_the_transcript_but_no_caption_tracks() -> None:
    audio = video(kind="audio", path="media/pod.m4a", href="../media/pod/master.m3u8", hls_subtitles=True)
    html = player_html(audio, title="Pod")
    assert "<track" not in html and "data-cp-hls-subtitles" not in html
    assert html.startswith('<figure class="cp-player"><audio ') and "cp-transcript" in html


def test_no_inline_script_or_style() -> None:
    html = player_html(video(hls_subtitles=True), title="T")
    assert "<script" not in html and "style=" not in html and not re.search(r"\son[a-z]+=", html)


@pytest.mark.parametrize(
    ("ms", "seconds", "clock"),
    [
        (0, "0", "0:00"),
        (999, "0.999", "0:00"),
        (61_010, "61.01", "1:01"),
        (3_600_000, "3600", "1:00:00"),
        (-5, "0", "0:00"),
    ],
)
def test_times(ms: int, seconds: str, clock: str) -> None:
    assert seconds_attr(ms) == seconds and clock_label(ms) == clock


def test_a_cue_ending_before_it_starts_ends_where_it_starts() -> None:
    html = player_html(video(transcript=(TranscriptCue(2_000, 1_000, "x"),)), title="T")
    assert 'data-cp-end="2"' in html and 'data-cp-seek="2"' in html
