"""Captions as HLS publishes them (RFC 8216 §3.1.4, §4.3.4.1): segmented WebVTT aligned with the video's
segments, its media playlist, and the master's ``EXT-X-MEDIA TYPE=SUBTITLES`` line.

Issue 13's second step, still unwired. Each WebVTT segment covers the same span as the video segment of
the same number and repeats every cue that overlaps it (a player that joins mid-cue shows it), and
carries ``X-TIMESTAMP-MAP`` so players line cue times up with the MPEG-TS timestamps: ``MPEGTS`` is the
presentation time (90 kHz) at which the video's first segment starts, which the caller reads from the
encoded segments (ffmpeg's MPEG-TS muxer does not start at 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.media.captions import to_webvtt

if TYPE_CHECKING:
    from pipeline.media.captions import Cue

MPEGTS_HZ = 90_000


@dataclass(frozen=True)
class SubtitleRendition:
    """The files of one language: segment name → WebVTT text, and the media playlist over them."""

    segments: dict[str, str]
    playlist: str


def segment_name(number: int) -> str:
    return f"sub-{number:05d}.vtt"


def segment_captions(
    cues: list[Cue], *, segment_s: float, duration_s: float, mpegts_start: int
) -> SubtitleRendition:
    """WebVTT segments of ``segment_s`` (the video's) over ``duration_s``, each with the timestamp map."""
    if segment_s <= 0 or duration_s <= 0:
        raise ValueError("segment_s and duration_s must be positive")
    count = max(1, math.ceil(duration_s / segment_s - 1e-9))
    header = f"X-TIMESTAMP-MAP=MPEGTS:{mpegts_start},LOCAL:00:00:00.000"
    segments: dict[str, str] = {}
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{math.ceil(segment_s)}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
    ]
    for number in range(count):
        start_ms = round(number * segment_s * 1000)
        end_ms = round(min(duration_s, (number + 1) * segment_s) * 1000)
        inside = [c for c in cues if c.start_ms < end_ms and c.end_ms > start_ms]
        body = to_webvtt(inside).removeprefix("WEBVTT")
        segments[segment_name(number)] = f"WEBVTT\n{header}{body}" if inside else f"WEBVTT\n{header}\n"
        lines += [f"#EXTINF:{(end_ms - start_ms) / 1000:.3f},", segment_name(number)]
    lines.append("#EXT-X-ENDLIST")
    return SubtitleRendition(segments, "\n".join(lines) + "\n")


def media_tag(
    *,
    group: str,
    language: str,
    name: str,
    uri: str,
    default: bool = False,
    forced: bool = False,
    characteristics: str | None = None,
) -> str:
    """One ``EXT-X-MEDIA`` line. AUTOSELECT is YES whenever DEFAULT is (RFC 8216 §4.3.4.1), and for every
    non-forced rendition, so a player picks the viewer's language; quotes in names are not allowed."""
    for value in (group, language, name, uri):
        if '"' in value or "\n" in value:
            raise ValueError(f"{value!r} cannot be a quoted-string attribute")
    attrs = [
        "TYPE=SUBTITLES",
        f'GROUP-ID="{group}"',
        f'LANGUAGE="{language}"',
        f'NAME="{name}"',
        f"DEFAULT={'YES' if default else 'NO'}",
        f"AUTOSELECT={'YES' if default or not forced else 'NO'}",
        f"FORCED={'YES' if forced else 'NO'}",
    ]
    if characteristics:
        attrs.append(f'CHARACTERISTICS="{characteristics}"')
    attrs.append(f'URI="{uri}"')
    return "#EXT-X-MEDIA:" + ",".join(attrs)
