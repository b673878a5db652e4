"""Read what an audio/video upload really contains before spending minutes encoding it.

The probe is the gate: everything the encoder, the poster and the catalog need to know (display size after
rotation, whether there is a picture or a soundtrack at all, how long it is) comes from here, and an upload
that is broken or over a limit is rejected here with a message its author can act on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

import ffmpeg

from pipeline.config import MediaLimits
from pipeline.errors import InvalidMediaError, MediaTooLargeError, UnsupportedMediaError
from pipeline.media.captions import stream_language
from pipeline.media.ffmpeg_tools import as_float, as_int, input_url, parse_rate, stderr_excerpt
from pipeline.media.timeline import Timeline, demux_timeline

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

# The demuxers ffprobe may open an upload with: the containers authors' tools write (``pipeline.kinds``
# lists their names). An allow-list, not a deny-list: of ffmpeg's ~350 demuxers, some open other files or
# URLs a playlist names (hls, dash, concat, ...; the protocol whitelist keeps them off the network, not
# off local files) and many parse formats no author uploads, which is attack surface for nothing. Every
# later step reads the same bytes, which ffmpeg's format probe maps to the same demuxer, so admitting the
# file here admits it everywhere. Names match any alias of a demuxer ("mov" is mov,mp4,m4a,3gp,3g2,mj2;
# "matroska" is matroska,webm).
DEMUXERS = (
    # video containers (most also hold audio-only files: m4a, mka/weba, 3gp voice memos, wma)
    "mov", "matroska", "avi", "mpegts", "mpeg", "mxf", "asf", "flv", "live_flv", "ogg",
    # audio-only containers and streams
    "wav", "aiff", "flac", "mp3", "aac", "caf",
    # single pictures: opened only so a still renamed .mp4 gets "is a still image", not "is corrupt"
    "png_pipe", "jpeg_pipe", "gif", "webp_pipe",
)  # fmt: skip
_FORMAT_WHITELIST = ",".join(DEMUXERS)
# Demuxers that only reference media elsewhere (SSRF risk) rather than contain it: not on the allow-list;
# named here so a future entry on it cannot bring one back unnoticed.
_PLAYLIST_FORMATS = frozenset({"hls", "dash", "concat", "ffconcat"})
# Demuxers ffprobe uses for single pictures: a still is not a lecture even though it "has a video stream".
_STILL_FORMATS = frozenset({"image2", "gif", "apng", "webp", "tty"})
# A picture that starts later than this after the sound is a recording that started so, not a timestamp
# offset to align (and the plan only aligns it within a frame anyway).
_MAX_VIDEO_START_S = 3600.0
# ffprobe's field_order for interlaced coding (top/bottom field first, and the swapped-order variants).
_INTERLACED_ORDERS = frozenset({"tt", "bb", "tb", "bt"})
_HDR_TRANSFERS = frozenset({"smpte2084", "arib-std-b67"})
_STILL_CODECS = frozenset({"png", "mjpeg", "gif", "webp", "bmp", "tiff", "jpegls", "jpeg2000", "apng"})
# Subtitle codecs ffmpeg can turn into WebVTT text; the others (DVD, Blu-ray PGS, DVB) are pictures.
TEXT_SUBTITLE_CODECS = frozenset({"mov_text", "subrip", "srt", "ass", "ssa", "webvtt", "text"})


@dataclass(frozen=True)
class AudioTrack:
    """One soundtrack of the source. ``index`` counts audio streams only, as ffmpeg's ``0:a:<index>``
    does (streams skipped here still count: the index is what ffmpeg will select)."""

    index: int
    codec: str
    channels: int
    language: str | None  # BCP-47 ("en", "pt-BR"); None when the container says "und" or nothing usable
    title: str | None
    default: bool  # the container's default disposition

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AudioTrack:
        return cls(
            index=int(data["index"]),
            codec=str(data["codec"]),
            channels=int(data["channels"]),
            language=data.get("language"),
            title=data.get("title"),
            default=bool(data.get("default", False)),
        )


@dataclass(frozen=True)
class SubtitleTrack:
    """One subtitle stream (``0:s:<index>``). ``text`` says whether ffmpeg can convert it to WebVTT; bitmap
    subtitles (``dvd_subtitle``, ``hdmv_pgs_subtitle``) would need OCR."""

    index: int
    codec: str
    language: str | None
    title: str | None
    default: bool
    forced: bool
    text: bool

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SubtitleTrack:
        return cls(
            index=int(data["index"]),
            codec=str(data["codec"]),
            language=data.get("language"),
            title=data.get("title"),
            default=bool(data.get("default", False)),
            forced=bool(data.get("forced", False)),
            text=bool(data.get("text", False)),
        )


@dataclass(frozen=True)
class ProbeResult:
    """What the pipeline knows about a source.

    ``width``/``height`` are the display size (SAR applied to the width, swapped for a 90/270 rotation):
    what a viewer sees and what the encoder must produce. ``coded_width``/``coded_height`` are the stored
    frame size. ``rotation`` is the display-matrix angle as ffprobe reports it (counter-clockwise degrees),
    normalised to 0/90/180/270.

    ``audio_tracks`` lists every real soundtrack; ``audio_codec``/``audio_channels``/``audio_sample_rate``/
    ``audio_language`` describe the primary one (the default track, else the first), the one an audio-only
    lecture plays first.
    """

    format_name: str
    duration_s: float
    size_bytes: int
    bit_rate: int | None
    has_video: bool
    has_audio: bool
    width: int | None
    height: int | None
    coded_width: int | None
    coded_height: int | None
    rotation: int
    fps: float | None
    video_codec: str | None
    pix_fmt: str | None
    audio_codec: str | None
    audio_channels: int | None
    audio_sample_rate: int | None
    interlaced: bool = False
    variable_frame_rate: bool = False
    audio_language: str | None = None
    video_duration_s: float | None = None
    color_transfer: str | None = None
    audio_tracks: tuple[AudioTrack, ...] = ()
    subtitle_tracks: tuple[SubtitleTrack, ...] = ()
    video_start_s: float = 0.0
    """When the first picture shows, from the start of the file (time zero of every later step): H.264
    in Matroska or FLV starts a B-frame delay late, and Opus's pre-skip starts the sound ~7 ms early."""

    @property
    def hdr(self) -> bool:
        """PQ (HDR10, Dolby Vision base) or HLG (iPhone's default recording): needs tone mapping for the
        8-bit SDR H.264 ladder, or it plays washed out and mislabeled."""
        return self.color_transfer in _HDR_TRANSFERS

    def to_dict(self) -> dict[str, object]:
        summary: dict[str, object] = asdict(self)
        summary["duration_s"] = round(self.duration_s, 3)
        if self.fps is not None:
            summary["fps"] = round(self.fps, 3)
        if self.video_duration_s is not None:
            summary["video_duration_s"] = round(self.video_duration_s, 3)
        # Lists, not tuples: the summary goes to JSON and to DynamoDB, whose serializer refuses tuples.
        summary["audio_tracks"] = [asdict(t) for t in self.audio_tracks]
        summary["subtitle_tracks"] = [asdict(t) for t in self.subtitle_tracks]
        return summary

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProbeResult:
        """Rebuild the result ProbeMedia passed along in the state, so later steps skip a second ffprobe.
        A result written before the track lists existed has none (``make_plan`` then plans one track)."""
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        audio, subtitles = data.get("audio_tracks") or (), data.get("subtitle_tracks") or ()
        values["audio_tracks"] = tuple(AudioTrack.from_dict(t) for t in audio)
        values["subtitle_tracks"] = tuple(SubtitleTrack.from_dict(t) for t in subtitles)
        return cls(**values)


def probe(path: Path, *, limits: MediaLimits | None = None) -> ProbeResult:
    """Probe ``path`` and enforce ``limits`` (defaults: ``MediaLimits()``)."""
    limits = limits or MediaLimits()
    name = path.name
    size = path.stat().st_size
    if size == 0:
        raise InvalidMediaError(f"{name}: the file is empty (0 bytes). Upload it again.")
    if size > limits.max_bytes:
        raise MediaTooLargeError(
            f"{name} is {_human_bytes(size)}; the limit is {_human_bytes(limits.max_bytes)}. "
            "Export it at a lower bitrate or split it into shorter parts."
        )
    with path.open("rb") as fh:
        head = fh.read(1024).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"#EXTM3U", b"ffconcat")) or b"<MPD" in head:
        raise _playlist_error(name)

    info = _ffprobe(path)
    fmt: dict[str, Any] = info.get("format") or {}
    format_name = str(fmt.get("format_name", ""))
    if set(format_name.split(",")) & _PLAYLIST_FORMATS:
        raise _playlist_error(name)

    streams: list[dict[str, Any]] = info.get("streams") or []
    # Cover art in mp3/m4a shows up as a one-frame video stream; it does not make a lecture a video.
    videos = [
        s
        for s in streams
        if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]
    audio_tracks = _audio_tracks(streams)
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    primary = _primary(audio_tracks)
    video = videos[0] if videos else None
    audio = audios[primary.index] if primary is not None else None

    if video is not None and audio is None and _is_still(format_name, video):
        raise UnsupportedMediaError(
            f"{name} is a still image, not a video. Upload it as an image (jpg, png, webp, gif, heic, avif, "
            "tiff or svg)."
        )
    if video is None and audio is None:
        raise InvalidMediaError(
            f"{name} contains no audio or video track. Re-export it with its picture and sound "
            "and upload it again."
        )

    duration, measured = _duration(path, fmt, video, audio, primary)
    if duration <= 0:
        raise InvalidMediaError(
            f"{name} has no readable duration, so it is probably truncated or still being written. "
            "Re-export it and upload it again."
        )
    if duration > limits.max_duration_s:
        raise MediaTooLargeError(
            f"{name} is {_human_duration(duration)} long; the limit is "
            f"{_human_duration(limits.max_duration_s)}. Split it into shorter parts and upload them "
            "separately."
        )

    width = height = coded_width = coded_height = None
    rotation = 0
    if video is not None:
        coded_width, coded_height = as_int(video.get("width")), as_int(video.get("height"))
        if not coded_width or not coded_height:
            raise InvalidMediaError(
                f"{name}: the video track has no picture size, so it cannot be decoded. "
                "Re-export it and upload it again."
            )
        rotation = _rotation(video)
        width = max(2, round(coded_width * _sar(video)))
        height = coded_height
        if rotation in (90, 270):
            width, height = height, width
        _check_resolution(name, width, height, limits)

    return ProbeResult(
        format_name=format_name,
        duration_s=duration,
        size_bytes=size,
        bit_rate=as_int(fmt.get("bit_rate")),
        has_video=video is not None,
        has_audio=audio is not None,
        width=width,
        height=height,
        coded_width=coded_width,
        coded_height=coded_height,
        rotation=rotation,
        fps=(_fps(video) or (measured.fps if measured else None)) if video is not None else None,
        video_codec=video.get("codec_name") if video is not None else None,
        pix_fmt=video.get("pix_fmt") if video is not None else None,
        audio_codec=audio.get("codec_name") if audio is not None else None,
        audio_channels=as_int(audio.get("channels")) if audio is not None else None,
        audio_sample_rate=as_int(audio.get("sample_rate")) if audio is not None else None,
        interlaced=video is not None and str(video.get("field_order", "")) in _INTERLACED_ORDERS,
        variable_frame_rate=video is not None and (_is_vfr(video) or bool(measured and measured.variable)),
        audio_language=primary.language if primary is not None else None,
        video_duration_s=_video_duration(video, duration, measured) if video is not None else None,
        color_transfer=str(video.get("color_transfer"))
        if video is not None and video.get("color_transfer")
        else None,
        audio_tracks=audio_tracks,
        subtitle_tracks=_subtitle_tracks(streams),
        video_start_s=_video_start(video, fmt) if video is not None else 0.0,
    )


def _ffprobe(path: Path) -> dict[str, Any]:
    name = path.name
    try:
        # Only local files: a container that references URLs (playlists, some mov/mkv references) must not
        # make us fetch them.
        info: dict[str, Any] = ffmpeg.probe(
            input_url(path), v="error", protocol_whitelist="file", format_whitelist=_FORMAT_WHITELIST
        )
    except ffmpeg.Error as exc:
        if b"not on whitelist" in (exc.stderr or b""):
            raise UnsupportedMediaError(
                f"{name} is in a container format the pipeline does not read (only video and audio "
                "files such as mp4, mov, mkv, webm, mp3, m4a, wav or flac are). Export it as MP4 "
                "(H.264 and AAC) and upload it again."
            ) from exc
        raise InvalidMediaError(
            f"{name} could not be read as audio/video ({stderr_excerpt(exc.stderr, path)}); it may be "
            "truncated or corrupt — re-export it and upload it again."
        ) from exc
    return info


def _duration(
    path: Path,
    fmt: dict[str, Any],
    video: dict[str, Any] | None,
    audio: dict[str, Any] | None,
    primary: AudioTrack | None,
) -> tuple[float, Timeline | None]:
    """The header's duration; with none (or no usable frame rate), the packets' (``demux_timeline``).

    A recording written live (browser MediaRecorder, Loom, OBS or ffmpeg to a pipe) has no Duration and
    no index, and its frame rate is often only the container's clock: the packets say how long it is."""
    duration = as_float(fmt.get("duration")) or max(
        (as_float(s.get("duration")) or 0.0 for s in (video, audio) if s is not None), default=0.0
    )
    if duration > 0 and (video is None or _fps(video) is not None):
        return duration, None
    measured = demux_timeline(
        path,
        video=video is not None,
        audio_index=primary.index if primary is not None else None,
        format_whitelist=_FORMAT_WHITELIST,
    )
    return (duration if duration > 0 else measured.duration_s), measured


def _audio_tracks(streams: list[dict[str, Any]]) -> tuple[AudioTrack, ...]:
    """Every audio stream that carries sound: a stream with no channels (a placeholder some muxers write)
    or with a codec ffmpeg does not know (no ``codec_name``) would only make the encoder fail, and with it
    the lecture's other soundtracks."""
    tracks = []
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    for index, stream in enumerate(audios):
        channels = as_int(stream.get("channels")) or 0
        if channels <= 0 or not stream.get("codec_name"):
            continue
        tracks.append(
            AudioTrack(
                index=index,
                codec=str(stream["codec_name"]),
                channels=channels,
                language=_language(stream),
                title=_title(stream),
                default=bool((stream.get("disposition") or {}).get("default")),
            )
        )
    return tuple(tracks)


def _primary(tracks: tuple[AudioTrack, ...]) -> AudioTrack | None:
    return next((t for t in tracks if t.default), tracks[0] if tracks else None)


def _subtitle_tracks(streams: list[dict[str, Any]]) -> tuple[SubtitleTrack, ...]:
    subtitles = [s for s in streams if s.get("codec_type") == "subtitle"]
    tracks = []
    for index, stream in enumerate(subtitles):
        codec = str(stream.get("codec_name") or "unknown")
        disposition = stream.get("disposition") or {}
        tracks.append(
            SubtitleTrack(
                index=index,
                codec=codec,
                language=_language(stream),
                title=_title(stream),
                default=bool(disposition.get("default")),
                forced=bool(disposition.get("forced")),
                text=codec in TEXT_SUBTITLE_CODECS,
            )
        )
    return tuple(tracks)


def _title(stream: dict[str, Any]) -> str | None:
    title = str((stream.get("tags") or {}).get("title", "")).strip()
    return title or None


def _video_duration(video: dict[str, Any], container: float, measured: Timeline | None) -> float:
    # A screen recording's picture often stops a moment before its sound; the encoder plans its chunks on
    # the picture. Absent (mkv, webm) or implausible values mean "as long as the file".
    own = as_float(video.get("duration"))
    if own is None and measured is not None:
        own = measured.video_duration_s
    if own is None or own <= 0 or own > container:
        return container
    return own


def _video_start(video: dict[str, Any], fmt: dict[str, Any]) -> float:
    own, first = as_float(video.get("start_time")), as_float(fmt.get("start_time"))
    if own is None or first is None or not 0 <= own - first <= _MAX_VIDEO_START_S:
        return 0.0
    return round(own - first, 6)


def _is_vfr(video: dict[str, Any]) -> bool:
    nominal, average = parse_rate(video.get("r_frame_rate")), parse_rate(video.get("avg_frame_rate"))
    if nominal is None or average is None:
        return False
    return abs(nominal - average) / nominal > 0.01


def _language(stream: dict[str, Any]) -> str | None:
    return stream_language((stream.get("tags") or {}).get("language"))


def _playlist_error(name: str) -> UnsupportedMediaError:
    return UnsupportedMediaError(
        f"{name} is a streaming playlist (HLS, DASH or ffconcat), which only references media stored "
        "elsewhere; the pipeline does not fetch URLs. Upload the media file itself (e.g. the .mp4)."
    )


def _is_still(format_name: str, video: dict[str, Any]) -> bool:
    formats = set(format_name.split(","))
    if formats & _STILL_FORMATS or any(f.endswith("_pipe") for f in formats):
        return True
    # Motion JPEG in an AVI/MOV is a real video; a single JPEG/PNG frame muxed without timing is not.
    frames = as_int(video.get("nb_frames"))
    return video.get("codec_name") in _STILL_CODECS and (frames is not None and frames <= 1)


def _rotation(video: dict[str, Any]) -> int:
    angle: float | None = None
    for side in video.get("side_data_list") or []:
        if "rotation" in side:
            angle = as_float(side["rotation"])
            break
    if angle is None:
        # ffprobe before 5.0 exposed the clockwise "rotate" tag instead of the display matrix.
        tag = as_float((video.get("tags") or {}).get("rotate"))
        angle = -tag if tag is not None else 0.0
    return (round(angle / 90) * 90) % 360


def _sar(video: dict[str, Any]) -> float:
    sar = str(video.get("sample_aspect_ratio", "1:1"))
    num, _, den = sar.partition(":")
    try:
        ratio = int(num) / int(den)
    except (ValueError, ZeroDivisionError):
        return 1.0
    # 0:1 means "unknown"; absurd values are corrupt headers, not anamorphic video.
    return ratio if 0.1 <= ratio <= 10 else 1.0


def _fps(video: dict[str, Any]) -> float | None:
    # Variable-rate recordings (phones, screen capture) average below their nominal rate; the nominal one
    # keeps the fast parts smooth when the encoder imposes a constant rate. A nominal rate above 120 is
    # a container time base, not a frame rate.
    nominal, average = parse_rate(video.get("r_frame_rate")), parse_rate(video.get("avg_frame_rate"))
    if _is_vfr(video) and nominal is not None and nominal <= 120:
        return nominal
    for rate in (average, nominal):
        if rate is not None and rate <= 240:
            return rate
    return None


def _check_resolution(name: str, width: int, height: int, limits: MediaLimits) -> None:
    # Limits are about decode cost, so a portrait video may use the landscape budget turned on its side.
    fits = (width <= limits.max_width and height <= limits.max_height) or (
        width <= limits.max_height and height <= limits.max_width
    )
    if not fits:
        raise MediaTooLargeError(
            f"{name} is {width}x{height}; the largest supported picture is "
            f"{limits.max_width}x{limits.max_height} (either orientation). Export it at a lower resolution."
        )


def _human_bytes(n: int) -> str:
    for scale, unit in ((1024**3, "GB"), (1024**2, "MB"), (1024, "KB")):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _human_duration(seconds: float) -> str:
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s"
