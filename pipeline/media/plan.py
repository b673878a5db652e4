"""PlanEncode: cut a video's timeline into chunks that separate Lambda invocations encode in parallel.

Everything is counted in output frames at a constant rate, never in float seconds: a GOP is
``gop_frames``, a segment a whole number of GOPs, a chunk a whole number of segments. So chunk seams fall
exactly on segment boundaries, every chunk's keyframes sit where a single-process encode would put them,
and a 1-chunk and an N-chunk encode cut identical segments (29.97 fps included, where 6 s is not a whole
number of frames).

The plan travels in the Step Functions state, so it is compact: the per-chunk list is ``[index,
start_frame, frames]`` triples (about 20 bytes each; a 4-hour lecture in 2-minute chunks is 120 of them).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from pipeline.media.captions import language_name, stream_language
from pipeline.media.ladder import Rung, output_fps, parse_ladder, rungs_for
from pipeline.media.probe import AudioTrack

if TYPE_CHECKING:
    from pipeline.config import EncodeSettings
    from pipeline.media.probe import ProbeResult

# Every output timestamp is shifted by this much: with B-frames the first decode timestamp is a few frames
# before zero, and the TS muxer would shift the first chunk (only) to make it positive — a seam of two
# frames. Starting the whole timeline at 10 s keeps every chunk's timestamps positive and unshifted.
TIMELINE_OFFSET_S = 10
# Containers without a seek index: ffmpeg's input seek lands on the first keyframe *after* the target
# there, and the chunk would start with a frozen frame. Chunks of these read a copy remuxed to Matroska.
_UNINDEXED_FORMATS = frozenset({"mpegts", "mpeg", "mpegvideo", "h264", "hevc"})


@dataclass(frozen=True)
class Chunk:
    index: int
    start_frame: int
    frames: int | None  # None: to the end of the source

    def to_list(self) -> list[int | None]:
        return [self.index, self.start_frame, self.frames]

    @classmethod
    def from_list(cls, data: list[Any]) -> Chunk:
        index, start, frames = data
        return cls(int(index), int(start), int(frames) if frames is not None else None)


@dataclass(frozen=True)
class AudioRendition:
    """One audio track to publish as an ``EXT-X-MEDIA:TYPE=AUDIO`` rendition, in ``audio/<position>/``.

    ``index`` is the source's ``0:a:<index>``; ``channels`` the source's count (every rendition is
    encoded stereo); ``name`` is unique within the group, as RFC 8216 §4.3.4.1.1 requires."""

    index: int
    language: str | None
    name: str
    default: bool
    channels: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "language": self.language,
            "name": self.name,
            "default": self.default,
            "channels": self.channels,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AudioRendition:
        language = data.get("language")
        return cls(
            index=int(data["index"]),
            language=str(language) if language else None,
            name=str(data["name"]),
            default=bool(data["default"]),
            channels=int(data["channels"]),
        )


@dataclass(frozen=True)
class EncodeJob:
    """What every chunk (and the audio encoder and the packager) must agree on."""

    generation: str
    work_prefix: str
    duration_s: float
    has_video: bool
    has_audio: bool
    fps: Fraction = Fraction(30)
    gop_frames: int = 60
    segment_frames: int = 180
    rungs: list[Rung] = field(default_factory=list)
    deinterlace: bool = False
    preset: str = "veryfast"
    segment_s: int = 6
    audio_bitrate_k: int = 128
    audio_language: str = "en"
    seekable: bool = True
    tonemap: bool = False
    audio_tracks: list[AudioRendition] = field(default_factory=list)
    # EBU R128 integrated target in LUFS; None: the soundtracks keep their level.
    loudness_lufs: float | None = None
    # How far past the nearest slot of the output grid the source's first frame sits (-1/2 to 1/2 of a
    # frame): every chunk moves the picture back by as much, so frames land on slots rather than near
    # their edges, where a capture clock's jitter would make two share one (one dropped, one repeated).
    frame_phase_s: float = 0.0

    @property
    def segment_seconds(self) -> float:
        return float(self.segment_frames / self.fps)

    def start_seconds(self, chunk: Chunk) -> Fraction:
        return chunk.start_frame / self.fps

    def segment_name(self, number: int) -> str:
        """Segment names carry the source version's generation: a re-upload never overwrites a segment a
        player (or a CDN that caches segments as immutable) may still hold under the same name."""
        return f"seg-{self.generation}-{number:05d}.ts"

    def segment_pattern(self) -> str:
        return f"seg-{self.generation}-%05d.ts"

    def to_dict(self) -> dict[str, Any]:
        return {
            "generation": self.generation,
            "workPrefix": self.work_prefix,
            "durationS": round(self.duration_s, 3),
            "hasVideo": self.has_video,
            "hasAudio": self.has_audio,
            "fps": f"{self.fps.numerator}/{self.fps.denominator}",
            "gopFrames": self.gop_frames,
            "segmentFrames": self.segment_frames,
            "rungs": [r.to_list() for r in self.rungs],
            "deinterlace": self.deinterlace,
            "preset": self.preset,
            "segmentSeconds": self.segment_s,
            "audioBitrateK": self.audio_bitrate_k,
            "audioLanguage": self.audio_language,
            "seekable": self.seekable,
            "tonemap": self.tonemap,
            "audioTracks": [t.to_dict() for t in self.audio_tracks],
            "loudnessLufs": self.loudness_lufs,
            "framePhaseS": self.frame_phase_s,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EncodeJob:
        return cls(
            generation=str(data["generation"]),
            work_prefix=str(data["workPrefix"]),
            duration_s=float(data["durationS"]),
            has_video=bool(data["hasVideo"]),
            has_audio=bool(data["hasAudio"]),
            fps=Fraction(str(data["fps"])),
            gop_frames=int(data["gopFrames"]),
            segment_frames=int(data["segmentFrames"]),
            rungs=[Rung.from_list(r) for r in data["rungs"]],
            deinterlace=bool(data["deinterlace"]),
            preset=str(data["preset"]),
            segment_s=int(data["segmentSeconds"]),
            audio_bitrate_k=int(data["audioBitrateK"]),
            audio_language=str(data["audioLanguage"]),
            seekable=bool(data.get("seekable", True)),
            tonemap=bool(data.get("tonemap", False)),
            audio_tracks=_audio_tracks_of(data),
            loudness_lufs=float(data["loudnessLufs"]) if data.get("loudnessLufs") is not None else None,
            frame_phase_s=float(data.get("framePhaseS", 0.0)),
        )


def _audio_tracks_of(data: dict[str, Any]) -> list[AudioRendition]:
    """A plan made before the track list existed (an execution in flight across a deploy) encoded the
    first soundtrack only: the same single rendition, named as that version named it."""
    if "audioTracks" in data:
        return [AudioRendition.from_dict(t) for t in data["audioTracks"]]
    if not data["hasAudio"]:
        return []
    language = str(data["audioLanguage"])
    return [AudioRendition(0, language, language_name(language) or language, True, 2)]


@dataclass(frozen=True)
class EncodePlan:
    job: EncodeJob
    chunks: list[Chunk]
    max_concurrency: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.job.to_dict(),
            "chunks": [c.to_list() for c in self.chunks],
            "chunkCount": len(self.chunks),
            "maxConcurrency": self.max_concurrency,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EncodePlan:
        return cls(
            job=EncodeJob.from_dict(data["job"]),
            chunks=[Chunk.from_list(c) for c in data["chunks"]],
            max_concurrency=int(data["maxConcurrency"]),
        )


def generation_for(key: str, version: str | None) -> str:
    """Eight hex characters that change with every new version of the source object."""
    return hashlib.sha256(f"{key}\0{version or ''}".encode()).hexdigest()[:8]


def make_plan(
    probe: ProbeResult,
    settings: EncodeSettings,
    *,
    generation: str,
    work_prefix: str,
    chunk_s: int | None = None,
) -> EncodePlan:
    """The ladder and the chunks for ``probe``; ``chunk_s`` overrides the configured chunk length."""
    tracks = audio_renditions(probe, settings)
    primary = next((t for t in tracks if t.default), None)
    language = (primary.language if primary else None) or settings.audio_language
    job = EncodeJob(
        generation=generation,
        work_prefix=work_prefix,
        duration_s=probe.duration_s,
        has_video=probe.has_video,
        has_audio=probe.has_audio,
        segment_s=settings.segment_s,
        audio_bitrate_k=settings.audio_bitrate_k,
        audio_language=language,
        preset=settings.preset,
        audio_tracks=tracks,
        loudness_lufs=settings.loudness_lufs,
    )
    if not probe.has_video:
        return EncodePlan(job, [], settings.max_concurrency)
    fps = output_fps(probe)
    gop_frames = max(1, round(fps * settings.gop_s))
    segment_frames = gop_frames * (settings.segment_s // settings.gop_s)
    chunk_frames = segment_frames * max(1, (chunk_s or settings.chunk_s) // settings.segment_s)
    job = replace(
        job,
        fps=fps,
        gop_frames=gop_frames,
        segment_frames=segment_frames,
        rungs=rungs_for(probe, parse_ladder(settings.ladder)),
        deinterlace=probe.interlaced,
        seekable=not set(probe.format_name.split(",")) & _UNINDEXED_FORMATS,
        tonemap=probe.hdr,
        frame_phase_s=frame_phase(probe.video_start_s, fps),
    )
    total_frames = max(1, math.ceil((probe.video_duration_s or probe.duration_s) * fps))
    count = max(1, math.ceil(total_frames / chunk_frames))
    # A tail shorter than one segment is not worth its own invocation (and its own start-up cost).
    if count > 1 and total_frames - (count - 1) * chunk_frames < segment_frames:
        count -= 1
    chunks = [Chunk(i, i * chunk_frames, chunk_frames if i < count - 1 else None) for i in range(count)]
    return EncodePlan(job, chunks, settings.max_concurrency)


def frame_phase(start_s: float, fps: Fraction) -> float:
    """``start_s`` less the output slot nearest to it (``EncodeJob.frame_phase_s``): 0 for a picture that
    starts on the grid (MP4's edit lists make most do), so those are encoded exactly as before."""
    start = Fraction(start_s).limit_denominator(1_000_000)
    return round(float(start - round(start * fps) / fps), 6)


def audio_renditions(probe: ProbeResult, settings: EncodeSettings) -> list[AudioRendition]:
    """Every soundtrack as a rendition: NAME from the stream's title, else its language's name, else
    "Track N", made unique ("English", "English 2"); exactly one DEFAULT, the default-disposition track or
    else the first. An only track with no language tag gets ``AUDIO_LANGUAGE`` (a lecture's language is
    usually known); among several, an untagged one gets no LANGUAGE rather than a guess."""
    tracks = list(probe.audio_tracks)
    if not tracks and probe.has_audio:
        # A probe from before the track lists (or a synthetic one): its primary track, as 0:a:0.
        tracks = [
            AudioTrack(
                0, probe.audio_codec or "", probe.audio_channels or 2, stream_language(probe.audio_language),
                None, True,
            )
        ]  # fmt: skip
    default = next((i for i, t in enumerate(tracks) if t.default), 0)
    used: set[str] = set()
    renditions = []
    for position, track in enumerate(tracks):
        language = track.language or ((settings.audio_language or None) if len(tracks) == 1 else None)
        # A quoted-string attribute may hold neither a double quote nor a line break (RFC 8216 §4.2).
        title = " ".join((track.title or "").replace('"', "'").split())
        base = title or language_name(language) or f"Track {position + 1}"
        name, n = base, 1
        while name.casefold() in used:
            n += 1
            name = f"{base} {n}"
        used.add(name.casefold())
        renditions.append(AudioRendition(track.index, language, name, position == default, track.channels))
    return renditions
