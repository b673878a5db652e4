"""Just enough MPEG-TS reading to index what the encoder wrote: frames, keyframes and their byte ranges.

The packager needs, per segment, the number of video frames (its exact duration at a constant frame rate)
and where each keyframe's bytes are (the I-frame playlist is a list of byte ranges). Reading the 188-byte
packet headers ourselves takes milliseconds per segment; an ffprobe per segment would cost more than the
encode of a short one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

PACKET = 188
_SYNC = 0x47
_PAT_PID = 0
_VIDEO_STREAM_TYPES = frozenset({0x1B, 0x24})  # H.264, HEVC
_AUDIO_STREAM_TYPES = frozenset({0x0F, 0x11, 0x03, 0x04, 0x81})  # AAC (ADTS/LATM), MP3, AC-3


@dataclass(frozen=True)
class Keyframe:
    offset: int
    length: int
    pts: float


@dataclass
class TsIndex:
    """What one segment holds. ``init_length`` is the bytes before the first media packet: the
    PAT/PMT (and SDT) a decoder needs before any keyframe, i.e. the Media Initialization Section."""

    size: int
    frames: int = 0
    keyframes: list[Keyframe] = field(default_factory=list)
    init_length: int = 0
    first_pts: float | None = None
    starts_with_keyframe: bool = False


class TsFormatError(ValueError):
    """The file is not the MPEG-TS our encoder writes (an internal fault, never the author's)."""


def index_segment(path: Path, *, stream: str = "video") -> TsIndex:
    """Index the video (or, with ``stream="audio"``, the audio) elementary stream of one TS segment."""
    return index_bytes(path.read_bytes(), path.name, stream=stream)


def first_pts(head: bytes, name: str) -> float | None:
    """The first presentation time (seconds) in the first packets of a segment: a ranged read of its
    start is enough (whole packets are kept). The video's if there is one, else the audio's."""
    data = head[: len(head) - len(head) % PACKET]
    for stream in ("video", "audio"):
        pts = index_bytes(data, name, stream=stream).first_pts
        if pts is not None:
            return pts
    return None


def index_bytes(data: bytes, name: str, *, stream: str = "video") -> TsIndex:
    """``index_segment`` of bytes already read (``name`` for messages)."""
    if len(data) % PACKET or (data and data[0] != _SYNC):
        raise TsFormatError(f"{name} is not a 188-byte-packet MPEG-TS file")
    wanted = _VIDEO_STREAM_TYPES if stream == "video" else _AUDIO_STREAM_TYPES
    pmt_pid: int | None = None
    media_pid: int | None = None
    index = TsIndex(size=len(data))
    starts: list[tuple[int, bool, float | None]] = []
    for offset in range(0, len(data), PACKET):
        packet = data[offset : offset + PACKET]
        if packet[0] != _SYNC:
            raise TsFormatError(f"{name}: lost sync at byte {offset}")
        pid = ((packet[1] & 0x1F) << 8) | packet[2]
        unit_start = bool(packet[1] & 0x40)
        payload, random_access = _payload(packet)
        if pid == _PAT_PID and unit_start and pmt_pid is None:
            pmt_pid = _pmt_pid(payload)
        elif pid == pmt_pid and unit_start and media_pid is None:
            media_pid = _media_pid(payload, wanted)
        elif pid == media_pid and unit_start:
            starts.append((offset, random_access, _pts(payload)))
    if not starts:
        return index
    index.init_length = starts[0][0]
    index.frames = len(starts)
    index.first_pts = starts[0][2]
    index.starts_with_keyframe = starts[0][1]
    for i, (offset, random_access, pts) in enumerate(starts):
        if random_access:
            end = starts[i + 1][0] if i + 1 < len(starts) else len(data)
            index.keyframes.append(Keyframe(offset, end - offset, pts if pts is not None else 0.0))
    return index


def _payload(packet: bytes) -> tuple[bytes, bool]:
    control = (packet[3] >> 4) & 0x3
    start = 4
    random_access = False
    if control & 0x2:
        length = packet[4]
        if length:
            random_access = bool(packet[5] & 0x40)
        start = 5 + length
    if not control & 0x1:
        return b"", random_access
    return packet[start:], random_access


def _section(payload: bytes) -> bytes:
    pointer = payload[0] if payload else 0
    return payload[1 + pointer :]


def _pmt_pid(payload: bytes) -> int | None:
    section = _section(payload)
    if len(section) < 12:
        return None
    length = ((section[1] & 0x0F) << 8) | section[2]
    programs = section[8 : 3 + length - 4]
    for i in range(0, len(programs) - 3, 4):
        number = (programs[i] << 8) | programs[i + 1]
        if number != 0:  # program 0 points at the network PID, not a PMT
            return ((programs[i + 2] & 0x1F) << 8) | programs[i + 3]
    return None


def _media_pid(payload: bytes, wanted: frozenset[int]) -> int | None:
    section = _section(payload)
    if len(section) < 16:
        return None
    length = ((section[1] & 0x0F) << 8) | section[2]
    info_length = ((section[10] & 0x0F) << 8) | section[11]
    pos, end = 12 + info_length, 3 + length - 4
    while pos + 5 <= end:
        stream_type = section[pos]
        pid = ((section[pos + 1] & 0x1F) << 8) | section[pos + 2]
        es_info = ((section[pos + 3] & 0x0F) << 8) | section[pos + 4]
        if stream_type in wanted:
            return pid
        pos += 5 + es_info
    return None


def _pts(payload: bytes) -> float | None:
    if len(payload) < 14 or payload[:3] != b"\x00\x00\x01" or not payload[7] & 0x80:
        return None
    p = payload[9:14]
    ticks = ((p[0] >> 1) & 0x07) << 30 | p[1] << 22 | (p[2] >> 1) << 15 | p[3] << 7 | p[4] >> 1
    return ticks / 90000


def mark_discontinuity(path: Path) -> bool:
    """Set the discontinuity indicator on the first packet of every elementary stream in ``path``.

    A chunk's first segment restarts the 4-bit continuity counters its muxer kept; without the flag a
    demuxer that concatenates segments (ffmpeg's HLS client, some set-top players) reports the seam as a
    corrupt packet. The flag is the standard's way to say "the counter restarts here" — one bit per
    stream, in place, no re-mux. Returns whether every stream's first packet could be marked (each one
    starts a PES with an adaptation field: keyframes and audio frames carry PCR or random-access flags).
    """
    data = bytearray(path.read_bytes())
    seen: set[int] = set()
    marked = True
    psi = {_PAT_PID}
    for offset in range(0, len(data), PACKET):
        pid = ((data[offset + 1] & 0x1F) << 8) | data[offset + 2]
        if pid == _PAT_PID:
            payload, _ = _payload(bytes(data[offset : offset + PACKET]))
            pmt = _pmt_pid(payload) if data[offset + 1] & 0x40 else None
            if pmt is not None:
                psi.add(pmt)
            continue
        if pid in psi or pid in seen or pid == 0x1FFF or pid < 0x20:
            continue
        seen.add(pid)
        has_adaptation = (data[offset + 3] >> 4) & 0x2
        if has_adaptation and data[offset + 4] > 0:
            data[offset + 5] |= 0x80
        else:
            marked = False
    path.write_bytes(bytes(data))
    return marked
