"""Downloadable copies of a published lecture: one progressive MP4 and the soundtrack as M4A, remuxed from
the HLS segments PackageHls published (``-c copy``: nothing is encoded again).

Built from the published stream rather than from the source because that is what the learner watched:
the same picture (one rung of the ladder), the same loudness-normalised soundtrack, and a remux costs
seconds of I/O instead of minutes of CPU. ``+faststart`` puts the index (``moov``) before the media
(``mdat``), so a browser or a phone starts playing a download before it has all of it.

Timestamps: the segments sit on the encoder's timeline (``TIMELINE_OFFSET_S`` plus the MPEG-TS mux delay),
and the AAC rendition starts one encoder frame (its priming samples) before the picture. ffmpeg would shift
each input to zero on its own, which moves the sound late by that frame; instead both keep their
timestamps (``-copyts``) and are shifted by the same amount, the picture's start, so the priming samples
land before zero and the MP4 muxer hides them with an edit list (as an encoder writing MP4 directly does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ffmpeg

from pipeline.media.encode import EncoderOutputError
from pipeline.media.ffmpeg_tools import GLOBAL_ARGS, as_float, as_int, input_url, stderr_excerpt

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

TARGET_SHORT_SIDE = 720
"""The download's picture: the 720p rung, or the nearest one to it (see ``pick_rung``)."""
AAC_PRIMING_SAMPLES = 1024
"""ffmpeg's AAC encoder starts every stream with one frame of encoder delay (its ``initial_padding``)."""
# What our own media playlists name: plain file names in the playlist's folder (seg-<generation>-00000.ts).
_SEGMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


@dataclass(frozen=True)
class RungSize:
    width: int | None
    height: int | None

    @property
    def short_side(self) -> int:
        sides = [s for s in (self.width, self.height) if s]
        return min(sides) if sides else 0


def pick_rung(rungs: Sequence[RungSize], target: int = TARGET_SHORT_SIDE) -> int | None:
    """Index of the rung to offer: the one whose short side is ``target`` (portrait videos keep their
    orientation, so "720p" is the short side), else the largest below it, else the smallest above it (a
    ladder configured without small rungs): the download is never much larger than a 720p file. None
    when there is no video rung."""
    sized = [(r.short_side, i) for i, r in enumerate(rungs) if r.short_side > 0]
    if not sized:
        return None
    below = [s for s in sized if s[0] <= target]
    if below:
        return max(below)[1]
    return min(sized)[1]


def playlist_segments(text: str, name: str = "playlist") -> list[str]:
    """The segment names of a media playlist we wrote (every non-tag line), checked to be plain file
    names: the playlist's folder is the only place they are looked for."""
    segments = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not segments:
        raise EncoderOutputError(f"{name} lists no segments")
    for segment in segments:
        if not _SEGMENT_NAME.fullmatch(segment) or ".." in segment:
            raise EncoderOutputError(f"{name} names {segment!r}, which is not a segment of its own folder")
    return segments


def timeline_start(video_segment: Path | None, audio_segment: Path | None) -> float:
    """The instant the lecture starts on the segments' timeline: the picture's first frame, or for an
    audio lecture the soundtrack's first sample after the encoder's priming."""
    if video_segment is not None:
        start, _ = _first_stream(video_segment, "v:0")
        return start
    if audio_segment is None:
        raise EncoderOutputError("a download needs a picture or a soundtrack")
    start, rate = _first_stream(audio_segment, "a:0")
    return start + AAC_PRIMING_SAMPLES / (rate or 48_000)


def remux_video(video: Path, audio: Path | None, out: Path, *, start_s: float) -> Path:
    """``out`` (MP4): the picture of the ``video`` media playlist with the soundtrack of ``audio``'s, if
    any, both copied as they are."""
    picture = ffmpeg.input(input_url(video), protocol_whitelist="file")["v:0"]
    streams: list[Any] = [picture]
    args: dict[str, Any] = {}
    if audio is not None:
        streams.append(ffmpeg.input(input_url(audio), protocol_whitelist="file")["a:0"])
        args["bsf:a"] = "aac_adtstoasc"  # ADTS headers (MPEG-TS) -> the AudioSpecificConfig MP4 keeps
    _run(ffmpeg.output(*streams, str(out), f="mp4", **args, **_copy(start_s)), out, video)
    return out


def remux_audio(audio: Path, out: Path, *, start_s: float) -> Path:
    """``out`` (M4A): the soundtrack of the ``audio`` media playlist, copied as it is."""
    sound = ffmpeg.input(input_url(audio), protocol_whitelist="file")["a:0"]
    _run(ffmpeg.output(sound, str(out), f="ipod", **{"bsf:a": "aac_adtstoasc"}, **_copy(start_s)), out, audio)
    return out


def _copy(start_s: float) -> dict[str, Any]:
    return {
        "c": "copy",
        "map_metadata": -1,
        "movflags": "+faststart",
        "output_ts_offset": f"{-start_s:.6f}",
    }


def _run(stream: Any, out: Path, playlist: Path) -> None:
    graph = stream.global_args(*GLOBAL_ARGS, "-copyts").overwrite_output()
    try:
        ffmpeg.run(graph, capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as exc:
        # Our own segments: a failure here is the pipeline's, not the author's file.
        raise EncoderOutputError(
            f"{out.name} could not be remuxed from the published stream: "
            f"{stderr_excerpt(exc.stderr, playlist, out)}"
        ) from exc


def _first_stream(segment: Path, selector: str) -> tuple[float, int | None]:
    try:
        info: dict[str, Any] = ffmpeg.probe(
            input_url(segment), v="error", select_streams=selector, protocol_whitelist="file"
        )
    except ffmpeg.Error as exc:
        raise EncoderOutputError(f"{segment.name}: {stderr_excerpt(exc.stderr, segment)}") from exc
    streams = info.get("streams") or []
    start = as_float(streams[0].get("start_time")) if streams else None
    if start is None:
        raise EncoderOutputError(f"{segment.name} has no {selector} stream with a start time")
    return start, as_int(streams[0].get("sample_rate"))
