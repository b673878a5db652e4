"""Captions as HLS publishes them (RFC 8216 §3.1.4, §4.3.4.1): segmented WebVTT aligned with the video's
segments, its media playlist, and the master's ``EXT-X-MEDIA TYPE=SUBTITLES`` line.

Each WebVTT segment covers the same span as the video segment of
the same number and repeats every cue that overlaps it (a player that joins mid-cue shows it), and
carries ``X-TIMESTAMP-MAP`` so players line cue times up with the MPEG-TS timestamps: ``MPEGTS`` is the
presentation time (90 kHz) at which the video's first segment starts, which the caller reads from the
encoded segments (ffmpeg's MPEG-TS muxer does not start at 0).
"""

from __future__ import annotations

import dataclasses
import math
import re
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


def uniform_durations(segment_s: float, duration_s: float) -> list[float]:
    """Segments of ``segment_s`` over ``duration_s``, the last one shorter (how the encoder cuts)."""
    if segment_s <= 0 or duration_s <= 0:
        raise ValueError("segment_s and duration_s must be positive")
    count = max(1, math.ceil(duration_s / segment_s - 1e-9))
    return [min(segment_s, duration_s - n * segment_s) for n in range(count)]


def segment_captions(cues: list[Cue], *, durations: list[float], mpegts_start: int) -> SubtitleRendition:
    """WebVTT segments spanning the video's segments (``durations``, in order), each with the timestamp
    map; cues past the last segment are left out (the caption file was longer than the video)."""
    if not durations or any(d <= 0 for d in durations):
        raise ValueError("durations must be positive and not empty")
    header = f"X-TIMESTAMP-MAP=MPEGTS:{mpegts_start},LOCAL:00:00:00.000"
    segments: dict[str, str] = {}
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{max(math.floor(d + 0.5) for d in durations) or 1}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
    ]
    elapsed = 0.0
    for number, seconds in enumerate(durations):
        start_ms = round(elapsed * 1000)
        elapsed += seconds
        end_ms = round(elapsed * 1000)
        inside = [c for c in cues if c.start_ms < end_ms and c.end_ms > start_ms]
        body = to_webvtt(inside).removeprefix("WEBVTT")
        segments[segment_name(number)] = f"WEBVTT\n{header}{body}" if inside else f"WEBVTT\n{header}\n"
        lines += [f"#EXTINF:{seconds:.6f},", segment_name(number)]
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
    """One ``EXT-X-MEDIA`` line. AUTOSELECT is YES for every rendition (RFC 8216 §4.3.4.1: YES whenever
    DEFAULT is), forced ones included: a player picks a FORCED rendition automatically by the viewer's
    language, as packagers write it (Shaka Packager: FORCED=YES with AUTOSELECT=YES). Quotes in names
    are not allowed."""
    for value in (group, language, name, uri):
        if '"' in value or "\n" in value:
            raise ValueError(f"{value!r} cannot be a quoted-string attribute")
    attrs = [
        "TYPE=SUBTITLES",
        f'GROUP-ID="{group}"',
        f'LANGUAGE="{language}"',
        f'NAME="{name}"',
        f"DEFAULT={'YES' if default else 'NO'}",
        "AUTOSELECT=YES",
        f"FORCED={'YES' if forced else 'NO'}",
    ]
    if characteristics:
        attrs.append(f'CHARACTERISTICS="{characteristics}"')
    attrs.append(f'URI="{uri}"')
    return "#EXT-X-MEDIA:" + ",".join(attrs)


SUBTITLE_GROUP = "subs"
SUBS_DIR = "subs"
# Apple's characteristics for captions (SDH): the dialogue transcribed, and music and sounds described.
CAPTION_CHARACTERISTICS = (
    "public.accessibility.transcribes-spoken-dialog,public.accessibility.describes-music-and-sound"
)
_ATTR = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')
_MEDIA = "#EXT-X-MEDIA:"
_STREAM = "#EXT-X-STREAM-INF:"


@dataclass(frozen=True)
class SubtitleSpec:
    """One subtitle rendition of a master: its folder under ``subs/`` and its ``EXT-X-MEDIA`` attributes."""

    folder: str
    language: str
    name: str
    kind: str = "subtitles"  # or "captions" (same language as the soundtrack, sounds described)
    default: bool = False
    forced: bool = False

    @property
    def uri(self) -> str:
        return f"{SUBS_DIR}/{self.folder}/index.m3u8"

    def line(self) -> str:
        return media_tag(
            group=SUBTITLE_GROUP,
            language=self.language,
            name=self.name,
            uri=self.uri,
            default=self.default,
            forced=self.forced,
            characteristics=CAPTION_CHARACTERISTICS if self.kind == "captions" else None,
        )


def attributes(line: str) -> dict[str, str]:
    """An HLS attribute list (``KEY=value,KEY="quoted"``), quotes removed."""
    body = line.split(":", 1)[1] if ":" in line else line
    return {key: value.strip('"') for key, value in _ATTR.findall(body)}


def subtitle_specs(master: str) -> list[SubtitleSpec]:
    """The subtitle renditions a master already lists (ours: their URI is ``subs/<folder>/index.m3u8``)."""
    specs = []
    for line in master.splitlines():
        if not (line.startswith(_MEDIA) and "TYPE=SUBTITLES" in line):
            continue
        attrs = attributes(line)
        folder = attrs.get("URI", "").removeprefix(f"{SUBS_DIR}/").removesuffix("/index.m3u8")
        specs.append(
            SubtitleSpec(
                folder=folder,
                language=attrs.get("LANGUAGE", "und"),
                name=attrs.get("NAME", folder),
                kind="captions"
                if "transcribes-spoken-dialog" in attrs.get("CHARACTERISTICS", "")
                else "subtitles",
                default=attrs.get("DEFAULT") == "YES",
                forced=attrs.get("FORCED") == "YES",
            )
        )
    return specs


def with_subtitles(master: str, specs: list[SubtitleSpec]) -> str:
    """``master`` listing exactly ``specs`` as its subtitle renditions, every variant naming the group.

    The rest of the master is kept byte for byte: adding or removing a caption language never re-encodes
    or even re-measures the video. Names are made unique (RFC 8216 §4.3.4.1.1) and at most one rendition
    is DEFAULT."""
    lines = [ln for ln in master.splitlines() if not (ln.startswith(_MEDIA) and "TYPE=SUBTITLES" in ln)]
    tags = [spec.line() for spec in _distinct(specs)]
    out: list[str] = []
    inserted = False
    for line in lines:
        if line.startswith(_STREAM):
            if not inserted:
                out += tags
                inserted = True
            line = re.sub(r',SUBTITLES="[^"]*"', "", line)
            if tags:
                line += f',SUBTITLES="{SUBTITLE_GROUP}"'
        out.append(line)
    return "\n".join(out) + "\n"


def _distinct(specs: list[SubtitleSpec]) -> list[SubtitleSpec]:
    seen: set[str] = set()
    default_taken = False
    out = []
    for spec in specs:
        name, n = spec.name, 2
        while name in seen:
            name, n = f"{spec.name} ({n})", n + 1
        seen.add(name)
        default = spec.default and not default_taken
        default_taken = default_taken or default
        out.append(dataclasses.replace(spec, name=name, default=default))
    return out


def media_segments(playlist: str) -> list[tuple[str, float]]:
    """(uri, seconds) of every segment of a media playlist, in order."""
    entries: list[tuple[str, float]] = []
    seconds: float | None = None
    for raw in playlist.splitlines():
        line = raw.strip()
        if line.startswith("#EXTINF:"):
            seconds = float(line[len("#EXTINF:") :].split(",", 1)[0])
        elif line and not line.startswith("#") and seconds is not None:
            entries.append((line, seconds))
            seconds = None
    return entries


def first_variant(master: str) -> str | None:
    """The URI of the master's first variant (the one players start with)."""
    lines = master.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(_STREAM) and i + 1 < len(lines):
            return lines[i + 1].strip()
    return None
