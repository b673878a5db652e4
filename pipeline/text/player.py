"""The HLS player a lesson embeds for a course video or audio file, with its captions and transcript.

Markup only, no script: the page adds one bootstrap script that plays ``data-hls-src`` natively where the
browser can (``canPlayType('application/vnd.apple.mpegurl')``) and with hls.js elsewhere, builds the caption
menu from the media's text tracks and makes the transcript follow the playback. Without that script the
page still works: the ``<source>`` plays where HLS is native, the ``<track>`` children give the browser's
own caption button its languages, the transcript is readable text, and the fallback links to the stream.

The markup is inserted into a lesson after sanitizing (``<video>`` is not on the sanitizer's allow-list),
so every value here is checked and escaped on its own: URLs come from a resolver, titles, caption labels
and cue text from authors.
"""

from __future__ import annotations

import base64
import re
from html import escape
from typing import TYPE_CHECKING

from pipeline.text.urls import safe_url

if TYPE_CHECKING:
    from pipeline.text.links import CaptionTrack, Target, TranscriptCue

PLAYABLE_KINDS = frozenset({"video", "audio"})
HLS_TYPE = "application/vnd.apple.mpegurl"
CAPTION_KINDS = frozenset({"captions", "subtitles"})
_LAST_CHAPTER_END_MS = 24 * 3_600_000  # past the end of any lecture
# BCP-47's shape (primary subtag, then subtags): what srclang/lang may carry. The resolver hands over tags
# pipeline/media/captions.py already checked; anything else is dropped rather than escaped into the page.
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")


def is_playable(target: Target) -> bool:
    return target.kind in PLAYABLE_KINDS


def player_html(target: Target, *, title: str) -> str:
    """``<figure class="cp-player">`` with a ``<video>`` (or ``<audio>``) playing ``target``'s HLS stream,
    followed by ``<details class="cp-transcript">`` when the target has transcript cues.

    Raises ValueError if ``target`` is not a video or audio, or its ``href`` is not a safe URL (a resolver
    bug, not an author error: the caller checks both first). An unsafe poster, thumbnails or caption URL
    is left out (a caption with an unsafe URL gets no ``<track>``; its transcript, plain text, stays).
    """
    if not is_playable(target):
        raise ValueError(f"{target.path} is a {target.kind}, not a video or audio")
    master = safe_url(target.href)
    if master is None:
        raise ValueError(f"{target.path}: unsafe player URL {target.href!r}")
    src = escape(master, quote=True)
    caption = escape(title.strip() or target.path, quote=False)
    fallback = (
        f"<p>Your browser cannot play this {target.kind}. "
        f'<a href="{src}" rel="noopener noreferrer">Open the stream</a>.</p>'
    )
    source = f'<source src="{src}" type="{HLS_TYPE}">'
    if target.kind == "audio":
        # No <track> on <audio>: browsers render no captions for it; the transcript is its text.
        media = f'<audio controls preload="metadata" data-hls-src="{src}">{source}{fallback}</audio>'
    else:
        attrs = ' controls playsinline preload="metadata"'
        poster = safe_url(target.poster) if target.poster else None
        if poster is not None:
            attrs += f' poster="{escape(poster, quote=True)}"'
        attrs += f' data-hls-src="{src}"'
        if target.hls_subtitles:
            attrs += ' data-cp-hls-subtitles="yes"'
        tracks = ""
        thumbnails = safe_url(target.thumbnails) if target.thumbnails else None
        if thumbnails is not None:
            tracks = f'<track kind="metadata" label="thumbnails" src="{escape(thumbnails, quote=True)}">'
        tracks += caption_tracks_html(target.captions) + chapters_track_html(target)
        media = f"<video{attrs}>{source}{tracks}{fallback}</video>"
    figure = f'<figure class="cp-player">{media}<figcaption>{caption}</figcaption></figure>'
    return figure + chapters_html(target) + transcript_html(target) + downloads_html(target)


def chapters_track_html(target: Target) -> str:
    """``<track kind="chapters">``: the published ``lecture.chapters.vtt``, or for front matter chapters a
    ``data:`` WebVTT written here from the titles (the page CSP's media-src allows data:)."""
    if not target.chapters:
        return ""
    url = safe_url(target.chapters_src) if target.chapters_src else None
    if url is None:
        url = "data:text/vtt;charset=utf-8;base64," + base64.b64encode(chapters_vtt(target).encode()).decode()
    return f'<track kind="chapters" label="Chapters" src="{escape(url, quote=True)}" default>'


def chapters_vtt(target: Target) -> str:
    """The chapters as WebVTT cues, each ending where the next starts (the last one runs to the end)."""
    parts = ["WEBVTT", ""]
    starts = [c.start_ms for c in target.chapters]
    for i, chapter in enumerate(target.chapters):
        end = starts[i + 1] if i + 1 < len(starts) else max(chapter.start_ms, _LAST_CHAPTER_END_MS)
        title = escape(" ".join(chapter.title.split()), quote=False)
        parts += [f"{_vtt_stamp(chapter.start_ms)} --> {_vtt_stamp(end)}", title, ""]
    return "\n".join(parts)


def chapters_html(target: Target) -> str:
    """``<details class="cp-chapters" open>``: one row per chapter, a seek button and its title; the
    script seeks and highlights the current chapter as it does the transcript's cues."""
    if not target.chapters:
        return ""
    starts = [c.start_ms for c in target.chapters]
    rows = []
    for i, chapter in enumerate(target.chapters):
        end = starts[i + 1] if i + 1 < len(starts) else _LAST_CHAPTER_END_MS
        clock = clock_label(chapter.start_ms)
        title = escape(chapter.title.strip(), quote=False)
        rows.append(
            f'<li data-cp-end="{seconds_attr(end)}">'
            f'<button type="button" data-cp-seek="{seconds_attr(chapter.start_ms)}" '
            f'aria-label="Play from {clock}">{clock}</button><span class="cp-cue-text">{title}</span></li>'
        )
    listing = f'<ol class="cp-cues">{"".join(rows)}</ol>'
    return f'<details class="cp-chapters" open><summary>Chapters</summary>{listing}</details>'


def _vtt_stamp(ms: int) -> str:
    hours, rest = divmod(max(0, ms), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def caption_tracks_html(captions: tuple[CaptionTrack, ...]) -> str:
    """One ``<track>`` per caption language with a safe URL; ``default`` on the first one marked default
    (HTML allows one default among captions and subtitles)."""
    parts = []
    default_given = False
    for track in captions:
        url = safe_url(track.src) if track.src else None
        if url is None:
            continue
        kind = track.kind if track.kind in CAPTION_KINDS else "subtitles"
        attrs = f'kind="{kind}"'
        if _LANGUAGE_TAG.match(track.language):
            attrs += f' srclang="{escape(track.language, quote=True)}"'
        attrs += f' label="{escape(_label(track), quote=True)}" src="{escape(url, quote=True)}"'
        if track.default and not default_given:
            attrs += " default"
            default_given = True
        parts.append(f"<track {attrs}>")
    return "".join(parts)


def transcript_html(target: Target) -> str:
    """``<details class="cp-transcript">`` (closed): one row per cue, a seek button and the cue's text.

    The text is in the page, so the browser's find and search engines read it; the buttons' seconds
    (``data-cp-seek``) and each row's end (``data-cp-end``) let the player script seek and highlight.
    Empty when the target has no transcript. It follows the figure directly: the script pairs them so.
    """
    rows = [_transcript_row(cue) for cue in target.transcript if cue.text.strip()]
    if not rows:
        return ""
    language = target.transcript_language or ""
    named = next((c for c in target.captions if c.language == language), None)
    label = _label(named) if named is not None else language
    summary = "Transcript" + (
        f' <span class="cp-transcript-language">({escape(label)})</span>' if label else ""
    )
    lang = f' lang="{escape(language, quote=True)}"' if _LANGUAGE_TAG.match(language) else ""
    return (
        f'<details class="cp-transcript"><summary>{summary}</summary>'
        f'<ol class="cp-cues"{lang}>{"".join(rows)}</ol></details>'
    )


def _transcript_row(cue: TranscriptCue) -> str:
    start = max(0, cue.start_ms)
    end = max(start, cue.end_ms)
    clock = clock_label(start)
    text = escape(cue.text.strip(), quote=False)
    return (
        f'<li data-cp-end="{seconds_attr(end)}">'
        f'<button type="button" data-cp-seek="{seconds_attr(start)}" aria-label="Play from {clock}">'
        f'{clock}</button><span class="cp-cue-text">{text}</span></li>'
    )


def seconds_attr(ms: int) -> str:
    """Milliseconds as the seconds ``currentTime`` takes, exactly: ``1500`` → ``1.5``, ``3000`` → ``3``."""
    whole, fraction = divmod(max(0, ms), 1000)
    return f"{whole}.{fraction:03d}".rstrip("0").rstrip(".")


def clock_label(ms: int) -> str:
    """``m:ss`` (``h:mm:ss`` from an hour on), as players show a position."""
    minutes, seconds = divmod(max(0, ms) // 1000, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def _label(track: CaptionTrack) -> str:
    return track.label.strip() or track.language or track.kind.capitalize()


def downloads_html(target: Target) -> str:
    """``<p class="cp-downloads">``: one link per file of ``target.downloads`` (MP4, M4A) with the
    ``download`` attribute, or nothing. It comes after the transcript, which the player script expects
    right after the figure. A link with an unsafe URL is left out; labels are escaped."""
    links = []
    for link in target.downloads:
        url = safe_url(link.href) if link.href else None
        if url is None:
            continue
        links.append(f'<a href="{escape(url, quote=True)}" download>{escape(link.label, quote=False)}</a>')
    if not links:
        return ""
    return f'<p class="cp-downloads">{"".join(links)}</p>'
