"""How long a recording is when its header does not say: read from its packets.

Browsers (MediaRecorder: Chrome, Firefox, Loom-style extensions) and tools recording to a pipe write
Matroska/WebM as they go: no Duration element, no Cues index, and often a frame rate that is only the
container's millisecond clock (``1000/1``). The packets still carry every timestamp; one pass over them
without decoding gives the real length of the file and of its picture, and the rate the picture was
captured at.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import ffmpeg

from pipeline.errors import InvalidMediaError
from pipeline.media.ffmpeg_tools import GLOBAL_ARGS, input_url, stderr_excerpt

if TYPE_CHECKING:
    from collections.abc import Iterable

# Long enough that a frame's timing jitter (a capture clock in milliseconds) moves the measured rate by
# well under the 1.5 % within which the ladder snaps it to a standard rate; short enough to find a burst
# of motion in a screen recording that is mostly still.
RATE_WINDOW_S = 2
# A variable-rate picture: its average rate is this far below its densest window's.
_VARIABLE_BELOW = Fraction(95, 100)
# AV_NOPTS_VALUE and the like: a packet without a real timestamp says nothing about the length.
_NO_TIMESTAMP = -(2**62)


@dataclass(frozen=True)
class Timeline:
    """What the packets say. Times count from the start of the file (ffmpeg's output time zero, the one
    every later step seeks in). ``fps`` is the rate of the densest ``RATE_WINDOW_S`` of the picture: what
    the recorder delivers while something moves (a screen recorder sends fewer frames while the screen
    is still); ``variable`` says the picture's average rate is well below it."""

    duration_s: float
    video_duration_s: float | None
    fps: float | None
    variable: bool


def demux_timeline(path: Path, *, video: bool, audio_index: int | None, format_whitelist: str) -> Timeline:
    """Read every packet of the picture (``V:0``, as the encoder selects it) and of the soundtrack
    ``a:<audio_index>`` without decoding them; the end of the last one is the duration.

    Cost: one sequential read of the file and no decoding, ~400 MB/s on one core here (a 10-minute
    3 Mbit/s recording in 0.6 s, against minutes to encode it). Cheaper than remuxing once to an indexed
    file (the same read plus a write of the whole file, and a second source for every later step to
    fetch), and not needed for seeking: ffmpeg's Matroska demuxer seeks exactly in a file without Cues,
    by walking the clusters to the keyframe before the target (the chunk encodes are checked
    frame-accurate on such files). ffmpeg lists each packet as one ``framecrc`` line of ~60 bytes, into a
    temporary file read line by line (a 4-hour lecture: ~70 MB on disk, not in memory).

    A file that ends in the middle of an element (an upload or a recording that stopped short) makes the
    demuxer complain ("File ended prematurely"): that is ``InvalidMediaError``, as for any truncated file.
    """
    source = ffmpeg.input(input_url(path), protocol_whitelist="file", format_whitelist=format_whitelist)
    streams = [source["V:0"]] if video else []
    if audio_index is not None:
        streams.append(source[f"a:{audio_index}"])
    with tempfile.TemporaryDirectory(prefix="coursepipe-demux-") as tmp:
        listing = Path(tmp) / "packets.txt"
        graph = ffmpeg.output(*streams, str(listing), c="copy", f="framecrc").overwrite_output()
        try:
            _, err = ffmpeg.run(graph.global_args(*GLOBAL_ARGS), capture_stdout=True, capture_stderr=True)
        except ffmpeg.Error as exc:
            raise InvalidMediaError(
                f"{path.name} could not be read to its end ({stderr_excerpt(exc.stderr, path)}); it may be "
                "truncated or corrupt — re-export it and upload it again."
            ) from exc
        if err.strip():
            raise InvalidMediaError(
                f"{path.name} stops in the middle of its data ({stderr_excerpt(err, path)}): it was cut "
                "short. A recording is complete only once it has been stopped and saved (or downloaded) "
                "in full; upload the complete file again."
            )
        with listing.open(encoding="utf-8") as lines:
            return timeline_of(lines, video=video)


def timeline_of(lines: Iterable[str], *, video: bool) -> Timeline:
    """Read ffmpeg's ``framecrc`` listing: ``#tb <stream>: <num>/<den>`` headers, then one ``stream, dts,
    pts, duration, size, crc`` line per packet. With ``video``, stream 0 is the picture."""
    time_bases: dict[int, Fraction] = {}
    start: Fraction | None = None
    ends: dict[int, Fraction] = {}
    frames: list[Fraction] = []
    for line in lines:
        if line.startswith("#tb "):
            number, _, base = line[4:].partition(":")
            time_bases[int(number)] = Fraction(base.strip())
            continue
        fields = line.split(",")
        if line.startswith("#") or len(fields) < 4:
            continue
        stream, pts, length = int(fields[0]), int(fields[2]), max(0, int(fields[3]))
        if pts <= _NO_TIMESTAMP or stream not in time_bases:
            continue
        at = pts * time_bases[stream]
        # A last frame listed without a duration still shows for one frame: counted once the rate is known.
        end = at + length * time_bases[stream] if length or not (video and stream == 0) else at
        start = at if start is None else min(start, at)
        ends[stream] = max(ends.get(stream, end), end)
        if video and stream == 0:
            frames.append(at)
    if start is None:
        return Timeline(0.0, None, None, False)
    frames.sort()
    fps = _densest_rate(frames)
    video_end = ends.get(0) if video else None
    if video_end is not None and fps and video_end == frames[-1]:
        video_end += 1 / Fraction(fps)
        ends[0] = video_end
    average = _average_rate(frames)
    return Timeline(
        duration_s=float(max(ends.values()) - start),
        video_duration_s=float(video_end - start) if video_end is not None else None,
        fps=fps,
        variable=bool(fps and average and average < fps * _VARIABLE_BELOW),
    )


def _densest_rate(times: list[Fraction]) -> float | None:
    """Frames per second over the ``RATE_WINDOW_S`` that holds the most frames (``times`` sorted): the
    frame count less one over the time from its first frame to its last, which jitter at either end
    moves by at most a frame's worth of a 2-second span."""
    best, rate, first = 0, None, 0
    for last, at in enumerate(times):
        while at - times[first] >= RATE_WINDOW_S:
            first += 1
        count, span = last - first + 1, at - times[first]
        if count > best and span > 0:
            best, rate = count, float((count - 1) / span)
    return rate


def _average_rate(times: list[Fraction]) -> float | None:
    if len(times) < 2 or times[-1] <= times[0]:
        return None
    return float((len(times) - 1) / (times[-1] - times[0]))
