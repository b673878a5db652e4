"""Every video and audio format issue 14 lists, and browser-style live recordings, made at test time.

``FORMATS`` is one short clip per container and name authors upload (what the phone, camera, editor or
browser writes, as far as ffmpeg's own encoders can make it); ``make_format`` encodes one. The live
helpers make what MediaRecorder writes: ffmpeg muxing to a pipe gives Matroska with no Duration, no
Cues and no SeekHead, and ``live_clusters`` also gives every Cluster an unknown size, as Chrome does.
``frame_ids`` reads back which source frame each output frame shows, from a source whose frames are
numbered by their brightness (``numbered_source``), so chunk seams can be checked frame by frame.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

from media_fixtures import FAST_H264, ffmpeg_run

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

H264_AAC = (*FAST_H264, "-c:a", "aac")
VP9_OPUS = ("-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "1M", "-c:a", "libopus")
VP8_OPUS = ("-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "1M", "-c:a", "libopus")


@dataclass(frozen=True)
class Format:
    name: str
    kind: str  # what the name says (``pipeline.kinds``)
    video: bool
    args: tuple[str, ...]  # codecs and muxer

    @property
    def stem_kind(self) -> str:
        """What the bytes alone say, with no name to help: Matroska/WebM holds either, so it is routed as
        video and the probe finds no picture."""
        return "video" if self.video or self.name.endswith((".mka", ".weba")) else "audio"


FORMATS: tuple[Format, ...] = (
    Format("lecture.mp4", "video", True, H264_AAC),
    Format("lecture.m4v", "video", True, (*H264_AAC, "-f", "mp4")),
    Format("lecture.mov", "video", True, H264_AAC),
    Format("lecture.qt", "video", True, (*H264_AAC, "-f", "mov")),
    Format("lecture.mkv", "video", True, H264_AAC),
    Format("lecture.webm", "video", True, VP9_OPUS),
    Format("lecture.avi", "video", True, ("-c:v", "mpeg4", "-c:a", "libmp3lame")),
    Format("lecture.ts", "video", True, H264_AAC),
    Format("lecture.mts", "video", True, (*H264_AAC, "-f", "mpegts", "-mpegts_m2ts_mode", "1")),
    Format("lecture.m2ts", "video", True, (*H264_AAC, "-f", "mpegts", "-mpegts_m2ts_mode", "1")),
    Format("lecture.mxf", "video", True, ("-c:v", "mpeg2video", "-c:a", "pcm_s16le")),
    Format("lecture.3gp", "video", True, H264_AAC),
    Format("lecture.3g2", "video", True, H264_AAC),
    Format("lecture.wmv", "video", True, ("-c:v", "wmv2", "-c:a", "wmav2")),
    Format("lecture.asf", "video", True, ("-c:v", "wmv2", "-c:a", "wmav2")),
    Format("lecture.flv", "video", True, H264_AAC),
    Format("lecture.f4v", "video", True, H264_AAC),
    Format("lecture.ogv", "video", True, ("-c:v", "libtheora", "-c:a", "libvorbis")),
    Format("lecture.mpg", "video", True, ("-c:v", "mpeg1video", "-c:a", "mp2")),
    Format("lecture.mpeg", "video", True, ("-c:v", "mpeg2video", "-c:a", "mp2", "-f", "vob")),
    Format("talk.mp3", "audio", False, ("-c:a", "libmp3lame")),
    Format("talk.m4a", "audio", False, ("-c:a", "aac")),
    Format("talk.m4b", "audio", False, ("-c:a", "aac", "-f", "ipod")),
    Format("talk.aac", "audio", False, ("-c:a", "aac", "-f", "adts")),
    Format("talk.wav", "audio", False, ("-c:a", "pcm_s16le")),
    Format("talk.flac", "audio", False, ("-c:a", "flac")),
    Format("talk.aif", "audio", False, ("-c:a", "pcm_s16be", "-f", "aiff")),
    Format("talk.aiff", "audio", False, ("-c:a", "pcm_s24be")),
    Format("talk.aifc", "audio", False, ("-c:a", "pcm_s16le", "-f", "aiff")),  # AIFC 'sowt', as Logic
    Format("talk.ogg", "audio", False, ("-c:a", "libvorbis")),
    Format("talk.oga", "audio", False, ("-c:a", "flac", "-f", "oga")),
    Format("memo.opus", "audio", False, ("-c:a", "libopus")),  # WhatsApp/Telegram voice notes
    Format("talk.wma", "audio", False, ("-c:a", "wmav2", "-f", "asf")),
    Format("talk.mka", "audio", False, ("-c:a", "libopus", "-f", "matroska")),
    Format("talk.weba", "audio", False, ("-c:a", "libopus", "-f", "webm")),  # Chrome, audio only
    Format("talk.caf", "audio", False, ("-c:a", "alac", "-f", "caf")),
)


def make_format(out: Path, fmt: Format, *, duration: float = 2.0) -> Path:
    """``fmt`` as a ``duration``-second clip (320x180 at 25 fps, mono 48 kHz tone) at ``out``."""
    args: list[str] = []
    if fmt.video:
        args += ["-f", "lavfi", "-i", f"testsrc2=s=320x180:r=25:d={duration}"]
    args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={duration}"]
    if fmt.video:
        args += ["-pix_fmt", "yuv420p"]
    ffmpeg_run(*args, *fmt.args, str(out))
    return out


def numbered_source(fps: str, seconds: float, first: int = 0) -> str:
    """A lavfi picture whose frame N has luma 28 + 3 x ((first + N) mod 64): after any lossy encode and
    decode, its mean brightness still says which frame it is."""
    return f"color=c=gray:s=320x180:r={fps}:d={seconds},geq=lum='mod(N+{first}\\,64)*3+28':cb=128:cr=128"


def frame_ids(path: Path) -> list[int]:
    """For each frame of ``path``'s first picture (a file or an HLS playlist), which frame of a
    ``numbered_source`` it shows (mod 64)."""
    out = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-protocol_whitelist", "file,crypto,data", "-i", str(path),
         "-map", "0:v:0", "-vf", "signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-",
         "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [round((float(line.split("=")[1]) - 28) / 3) % 64 for line in out.splitlines() if "YAVG=" in line]


def skipped_or_repeated(ids: Sequence[int]) -> list[int]:
    """Positions where the next frame of the numbered source does not follow its predecessor."""
    return [i for i in range(1, len(ids)) if (ids[i] - ids[i - 1]) % 64 != 1]


def live_recording(
    out: Path,
    codecs: Sequence[str],
    *,
    seconds: float = 20.0,
    pictures: Sequence[str] | None = None,
    muxer: str = "webm",
    video_filter: str = "format=yuv420p",
    extra: Sequence[str] = (),
) -> Path:
    """A recording muxed to a pipe, as a browser writes it (``muxer`` webm or matroska): Clusters, but no
    Duration, Cues or SeekHead, and every Cluster of unknown size (``live_clusters``). ``pictures`` are
    lavfi sources played one after another (default: a 30 fps ``numbered_source``); ``video_filter``
    runs on them (e.g. a jittered ``setpts`` for a capture clock)."""
    sources = list(pictures or [numbered_source("30", seconds)])
    args: list[str] = []
    for source in sources:
        args += ["-f", "lavfi", "-i", source]
    args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    chain = "".join(f"[{i}:v]" for i in range(len(sources))) + f"concat=n={len(sources)}:v=1:a=0,"
    args += ["-filter_complex", f"{chain}{video_filter}[v]", "-map", "[v]", "-map", f"{len(sources)}:a"]
    piped = out.with_suffix(".piped")
    with piped.open("wb") as fh:
        subprocess.run(
            ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", *args, "-fps_mode", "vfr",
             *codecs, *extra, "-f", muxer, "pipe:1"],
            stdout=fh, check=True,
        )  # fmt: skip
    live_clusters(piped, out)
    piped.unlink()
    return out


_SEGMENT = bytes.fromhex("18538067")
_CLUSTER = bytes.fromhex("1f43b675")
_DROPPED = (bytes.fromhex("1c53bb6b"), bytes.fromhex("114d9b74"))  # Cues, SeekHead
_UNKNOWN_SIZE = bytes.fromhex("01ffffffffffffff")


def live_clusters(src: Path, out: Path) -> Path:
    """Rewrite a Matroska file as Chrome's MediaRecorder writes one: the Segment and every Cluster of
    unknown size, no Cues, no SeekHead (libwebm's live mode)."""
    data = src.read_bytes()
    pos = _element_end(data, 0)  # the EBML header
    segment, body = _element(data, pos)
    assert segment == _SEGMENT, "not a Matroska file"
    written = bytearray(data[:pos]) + _SEGMENT + _UNKNOWN_SIZE
    pos = body
    while pos < len(data):
        element, start = _element(data, pos)
        end = _element_end(data, pos)
        if element == _CLUSTER:
            written += _CLUSTER + _UNKNOWN_SIZE + data[start:end]
        elif element not in _DROPPED:
            written += data[pos:end]
        pos = end
    out.write_bytes(bytes(written))
    return out


def _vint_length(first: int) -> int:
    return 9 - first.bit_length()


def _element(data: bytes, pos: int) -> tuple[bytes, int]:
    """An element's ID and where its body starts."""
    id_length = _vint_length(data[pos])
    size_length = _vint_length(data[pos + id_length])
    return data[pos : pos + id_length], pos + id_length + size_length


def _element_end(data: bytes, pos: int) -> int:
    id_length = _vint_length(data[pos])
    size_at = pos + id_length
    size_length = _vint_length(data[size_at])
    size = data[size_at] & (0xFF >> size_length)
    for byte in data[size_at + 1 : size_at + size_length]:
        size = size << 8 | byte
    if size == (1 << (7 * size_length)) - 1:  # unknown size: to the end
        return len(data)
    return size_at + size_length + size
