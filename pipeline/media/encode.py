"""EncodeChunk and EncodeAudio: the two ffmpeg jobs behind an HLS ladder.

A chunk decodes its part of the source once and encodes every video rung from that one decode (a
``split`` filter), straight into HLS segments with their final, global numbers and timestamps: the
packager only writes playlists. Audio is one whole-file encode of every soundtrack (one ffmpeg process,
one output per track), so AAC priming and frame padding happen once, not at every chunk seam; with
loudness normalisation on, one more whole-file pass measures every track first (EBU R128: ffmpeg's
``ebur128`` meter, then one gain in the encode; see ``pipeline.media.loudness``). Each job returns a
manifest (per segment: frames, bytes, keyframe byte ranges) that the packager turns into playlists
without opening a segment again.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ffmpeg

from pipeline.errors import InvalidMediaError, PipelineError
from pipeline.media.ffmpeg_tools import as_int, input_url, run

# Loudness is re-exported: manifests carry it, and their readers import it from here.
from pipeline.media.loudness import Loudness as Loudness
from pipeline.media.loudness import loudness_plan, measure_loudness, stereo
from pipeline.media.plan import TIMELINE_OFFSET_S, Chunk, EncodeJob
from pipeline.media.ts import TsFormatError, index_segment, mark_discontinuity

AUDIO_DIR = "audio"
AUDIO_CODECS = "mp4a.40.2"
AUDIO_CHANNELS = 2
AUDIO_SAMPLE_RATE = 48_000
# libx264 profile names -> (profile_idc, constraint flags) as they appear in an RFC 6381 avc1 string.
_AVC_PROFILES = {
    "Constrained Baseline": (0x42, 0xE0),
    "Baseline": (0x42, 0x00),
    "Main": (0x4D, 0x40),
    "High": (0x64, 0x00),
}
# How much earlier than its start a chunk begins decoding (``_chunk_input``): longer than the gaps a
# screen recording leaves between frames while the screen is still, short next to a chunk (120 s).
_SEEK_LEAD_S = 1
# Lecture content is mostly static: constant quality spends bits only where the picture changes, and
# maxrate/bufsize cap the peaks at the rung's budget (capped VBR).
_CRF = 23


class EncoderOutputError(PipelineError):
    """ffmpeg succeeded but wrote something that breaks an HLS invariant (our fault, not the author's)."""


@dataclass
class SegmentInfo:
    uri: str
    frames: int
    size: int
    init_length: int
    keyframes: list[tuple[int, int]] = field(default_factory=list)

    def to_list(self) -> list[Any]:
        return [self.uri, self.frames, self.size, self.init_length, [list(k) for k in self.keyframes]]

    @classmethod
    def from_list(cls, data: list[Any]) -> SegmentInfo:
        uri, frames, size, init_length, keyframes = data
        return cls(
            str(uri), int(frames), int(size), int(init_length), [(int(o), int(n)) for o, n in keyframes]
        )


@dataclass
class ChunkManifest:
    """What one chunk wrote, per rung: ``{rung: {"codecs": str, "segments": [SegmentInfo, ...]}}``."""

    chunk: int
    first_segment: int
    rungs: dict[str, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "chunk": self.chunk,
            "firstSegment": self.first_segment,
            "rungs": {
                name: {"codecs": r["codecs"], "segments": [s.to_list() for s in r["segments"]]}
                for name, r in self.rungs.items()
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChunkManifest:
        return cls(
            chunk=int(data["chunk"]),
            first_segment=int(data["firstSegment"]),
            rungs={
                name: {"codecs": r["codecs"], "segments": [SegmentInfo.from_list(s) for s in r["segments"]]}
                for name, r in data["rungs"].items()
            },
        )


@dataclass
class AudioManifest:
    """One audio rendition: ``(uri, seconds, bytes)`` per segment, in ``directory`` (relative to the HLS
    directory: ``audio/<track>``, ``track`` being the position in ``EncodeJob.audio_tracks``)."""

    codecs: str
    channels: int
    segments: list[tuple[str, float, int]]
    track: int = 0
    directory: str = f"{AUDIO_DIR}/0"
    loudness: Loudness | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "track": self.track,
            "directory": self.directory,
            "codecs": self.codecs,
            "channels": self.channels,
            "segments": [list(s) for s in self.segments],
            "loudness": self.loudness.to_dict() if self.loudness else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AudioManifest:
        loudness = data.get("loudness")
        return cls(
            codecs=str(data["codecs"]),
            channels=int(data["channels"]),
            segments=[(str(u), float(d), int(n)) for u, d, n in data["segments"]],
            track=int(data.get("track", 0)),
            # Written before renditions had a directory each: the one rendition lived in audio/.
            directory=str(data.get("directory", AUDIO_DIR)),
            loudness=Loudness.from_dict(loudness) if loudness else None,
        )


def dump_audio_manifests(manifests: list[AudioManifest]) -> dict[str, Any]:
    """EncodeAudio's one JSON document for PackageHls: every rendition, in track order."""
    return {"tracks": [m.to_dict() for m in manifests]}


def load_audio_manifests(data: dict[str, Any]) -> list[AudioManifest]:
    """``dump_audio_manifests``' document, or the single manifest an EncodeAudio of the previous deploy
    wrote (an execution in flight while a deploy replaces the functions)."""
    if "tracks" not in data:
        return [AudioManifest.from_dict(data)]
    return [AudioManifest.from_dict(t) for t in data["tracks"]]


def encode_chunk(source: Path, out_dir: Path, job: EncodeJob, chunk: Chunk) -> ChunkManifest:
    """Encode ``chunk`` of ``source`` into ``out_dir/{rung}/seg-{generation}-{n}.ts`` for every rung."""
    if not job.rungs:
        raise EncoderOutputError("the plan has no video rungs for a video chunk")
    start = job.start_seconds(chunk)
    with tempfile.TemporaryDirectory(prefix="coursepipe-indexed-") as tmp:
        readable = _indexed_copy(source, Path(tmp)) if start and not job.seekable else source
        return _encode_chunk(source, readable, out_dir, job, chunk)


def _encode_chunk(source: Path, readable: Path, out_dir: Path, job: EncodeJob, chunk: Chunk) -> ChunkManifest:
    """``readable`` is what ffmpeg reads (``source`` or its indexed copy); messages name ``source``."""
    start = job.start_seconds(chunk)
    video = _chunk_input(readable, job, chunk)
    if job.deinterlace:
        # One output frame per frame (not per field): keeps the frame rate, and so the GOP grid, as planned.
        video = video.filter("bwdif", mode="send_frame", parity="auto", deint="all")
    if job.tonemap:
        # HDR (PQ/HLG) to SDR BT.709: linear light, BT.709 primaries, Hable curve, back to TV-range 4:2:0.
        video = (
            video.filter("zscale", t="linear", npl=100)
            .filter("format", "gbrpf32le")
            .filter("zscale", p="bt709")
            .filter("tonemap", tonemap="hable", desat=0)
            .filter("zscale", t="bt709", m="bt709", r="tv")
        )
    # A constant rate, anchored at the chunk start: VFR sources get a fixed grid, every chunk the same one.
    video = video.filter("fps", fps=f"{job.fps.numerator}/{job.fps.denominator}", start_time=0)
    branches = video.filter_multi_output("split", len(job.rungs)) if len(job.rungs) > 1 else None
    first_segment = chunk.start_frame // job.segment_frames
    outputs = []
    for i, rung in enumerate(job.rungs):
        stream = branches[i] if branches is not None else video
        # setsar=1: players ignore SAR in HLS more often than not, so the pixels themselves must be square.
        stream = (
            stream.filter("scale", rung.width, rung.height).filter("setsar", 1).filter("format", "yuv420p")
        )
        rung_dir = out_dir / rung.name
        rung_dir.mkdir(parents=True, exist_ok=True)
        options: dict[str, Any] = {
            "c:v": "libx264",
            "preset": job.preset,
            "profile:v": "high",
            "crf": _CRF,
            "maxrate": f"{rung.maxrate_k}k",
            "bufsize": f"{rung.bufsize_k}k",
            # Closed, fixed GOPs with no scene-cut keyframes: every rung cuts at the same frames.
            "g": job.gop_frames,
            "keyint_min": job.gop_frames,
            "sc_threshold": 0,
            "flags": "+cgop",
            # Say what the pixels are (SDR BT.709); an untagged stream leaves players guessing.
            "color_primaries": "bt709",
            "color_trc": "bt709",
            "colorspace": "bt709",
            "force_key_frames": f"expr:eq(mod(n,{job.gop_frames}),0)",
            "an": None,
            "map_metadata": -1,
            "output_ts_offset": f"{float(start) + TIMELINE_OFFSET_S:.6f}",
            "f": "hls",
            # Floor to the microsecond: the cut is "first keyframe at or after k x hls_time", and the
            # keyframe that must win sits at exactly k x segment_frames / fps.
            "hls_time": f"{int(job.segment_seconds * 1_000_000) / 1_000_000:.6f}",
            "hls_list_size": 0,
            "hls_playlist_type": "vod",
            "start_number": first_segment,
            "hls_segment_filename": str(rung_dir / job.segment_pattern()),
        }
        if chunk.frames is not None:
            options["frames:v"] = chunk.frames
        outputs.append(stream.output(str(rung_dir / f"chunk-{chunk.index}.m3u8"), **options))
    run(ffmpeg.merge_outputs(*outputs).overwrite_output(), source, "encoded")

    rungs: dict[str, dict[str, Any]] = {}
    for rung in job.rungs:
        rung_dir = out_dir / rung.name
        uris = _playlist_uris(rung_dir / f"chunk-{chunk.index}.m3u8")
        (rung_dir / f"chunk-{chunk.index}.m3u8").unlink()
        # Nothing decodable left (a cut-off upload): the muxer still opens an empty segment file.
        while uris and (rung_dir / uris[-1]).stat().st_size == 0:
            (rung_dir / uris.pop()).unlink()
        if not uris:
            raise InvalidMediaError(
                f"{source.name}: no video frames could be decoded from {float(start):.1f} s on; the file may "
                "be truncated or corrupt. Re-export it and upload it again."
            )
        if chunk.index > 0 and not mark_discontinuity(rung_dir / uris[0]):
            raise EncoderOutputError(f"{uris[0]}: could not mark the chunk seam (no adaptation field)")
        segments = [_index(rung_dir / uri, job) for uri in uris]
        decoded = sum(s.frames for s in segments)
        if chunk.frames is not None and decoded < chunk.frames:
            end = float((chunk.start_frame + chunk.frames) / job.fps)
            raise InvalidMediaError(
                f"{source.name}: the picture stops at {float(start + decoded / job.fps):.1f} s although the "
                f"file says it goes on past {end:.1f} s; it looks truncated or corrupt. Upload it again "
                "(check that the upload completed)."
            )
        expected = [job.segment_name(first_segment + i) for i in range(len(segments))]
        if uris != expected:
            raise EncoderOutputError(f"rung {rung.name} wrote {uris[:3]}..., expected {expected[:3]}...")
        rungs[rung.name] = {"codecs": video_codecs(rung_dir / uris[0], source), "segments": segments}
    return ChunkManifest(chunk=chunk.index, first_segment=first_segment, rungs=rungs)


def _chunk_input(readable: Path, job: EncodeJob, chunk: Chunk) -> Any:
    """The chunk's picture, its timestamps from zero at the chunk start.

    Decoding starts ``_SEEK_LEAD_S`` early and the timestamps are moved back as much: the frame a
    single-process encode shows on the chunk's first slot can sit before the chunk start (H.264 in
    Matroska or FLV starts a B-frame delay late; a variable-rate recording may send no frame for a
    while), and the rate filter, which drops what comes before zero, still takes the last of those for
    slot 0."""
    start = job.start_seconds(chunk)
    lead = _SEEK_LEAD_S if start else 0
    shift = lead + job.frame_phase_s  # and onto the grid (``EncodeJob.frame_phase_s``)
    input_args: dict[str, Any] = {"protocol_whitelist": "file", "fflags": "+genpts"}
    if start:
        # Input seeking: demux from the keyframe before the lead, decode and drop up to it exactly.
        input_args["ss"] = f"{float(start - lead):.6f}"
    if chunk.frames is not None:
        # A second of slack: the frame-rate filter needs the frame after the chunk's last to time it.
        input_args["t"] = f"{float(lead + chunk.frames / job.fps) + 1:.6f}"
    video = ffmpeg.input(input_url(readable), **input_args)["V:0"]
    return video.filter("setpts", f"PTS{-shift:+.6f}/TB") if shift else video


def _indexed_copy(source: Path, tmp: Path) -> Path:
    """The picture of ``source`` remuxed (no re-encode) into Matroska, which has a seek index. MPEG-2 in
    a program stream stamps only some packets; ``genpts`` fills in the rest, which Matroska requires."""
    copy = tmp / source.with_suffix(".mkv").name
    stream = ffmpeg.input(input_url(source), protocol_whitelist="file", fflags="+genpts")["V:0"].output(
        str(copy), c="copy", f="matroska"
    )
    run(stream.overwrite_output(), source, "read")
    return copy


def encode_audio(source: Path, out_dir: Path, job: EncodeJob, only: int | None = None) -> list[AudioManifest]:
    """Every planned soundtrack (or the one at position ``only``) as its own AAC-LC stereo 48 kHz
    rendition in ``out_dir/audio/<n>/``, from one decode of the source (one ffmpeg process, one output
    per track). The state machine runs one EncodeAudio per track, so each has a Lambda's 15 minutes for
    a 4-hour lecture in any number of languages.

    Surround and mono become stereo through libswresample's default matrix (what ``-ac 2`` does): FL/FR
    pass through, FC and the surrounds (SL/SR or BL/BR) are added at -3 dB (0.707), LFE is dropped; mono
    goes to both sides at -3 dB. The matrix is scaled down to avoid clipping only for integer-sample
    decoders (PCM, FLAC), not for float ones (AAC, Opus, AC-3), whose downmix can exceed full scale: the
    loudness pass, which runs after the downmix, brings it back under the true-peak limit.

    With ``job.loudness_lufs`` set, each track is first measured (``measure_loudness``) and then
    normalised to it by one gain for the whole track, as EBU R128's two-pass method intends for finished
    programmes, with a limiter on the peaks that gain would push over the limit (``loudness_plan``); a
    silent track is encoded as it is.
    """
    positions = list(range(len(job.audio_tracks))) if only is None else [only]
    if not job.audio_tracks or not all(0 <= p < len(job.audio_tracks) for p in positions):
        raise EncoderOutputError(f"the plan has no audio track {positions} for an audio encode")
    tracks = [job.audio_tracks[p] for p in positions]
    target = job.loudness_lufs
    measured = measure_loudness(source, tracks) if target is not None else [None] * len(tracks)
    source_input = ffmpeg.input(input_url(source), protocol_whitelist="file")
    outputs = []
    loudness: list[Loudness | None] = []
    for position, track, measurement in zip(positions, tracks, measured, strict=True):
        stream = stereo(source_input[f"a:{track.index}"])
        track_loudness, filters = loudness_plan(job, track, measurement)
        loudness.append(track_loudness)
        for name, options in filters:
            stream = stream.filter(name, **options)
        track_dir = out_dir / AUDIO_DIR / str(position)
        track_dir.mkdir(parents=True, exist_ok=True)
        outputs.append(
            stream.output(
                str(track_dir / "chunk.m3u8"),
                **{
                    "c:a": "aac",
                    "b:a": f"{job.audio_bitrate_k}k",
                    "ac": AUDIO_CHANNELS,
                    "ar": AUDIO_SAMPLE_RATE,
                    "map_metadata": -1,
                    "output_ts_offset": f"{TIMELINE_OFFSET_S:.6f}",
                    "f": "hls",
                    "hls_time": job.segment_s,
                    "hls_list_size": 0,
                    "hls_playlist_type": "vod",
                    "hls_segment_filename": str(track_dir / job.segment_pattern()),
                },
            )
        )
    run(ffmpeg.merge_outputs(*outputs).overwrite_output(), source, "encoded")
    manifests = []
    for position, track, track_loudness in zip(positions, tracks, loudness, strict=True):
        track_dir = out_dir / AUDIO_DIR / str(position)
        entries = _playlist_entries(track_dir / "chunk.m3u8")
        (track_dir / "chunk.m3u8").unlink()
        if not entries:
            raise InvalidMediaError(
                f"{source.name}: the soundtrack '{track.name}' could not be decoded; it may be corrupt. "
                "Re-export it and upload it again."
            )
        manifests.append(
            AudioManifest(
                codecs=AUDIO_CODECS,
                channels=AUDIO_CHANNELS,
                segments=[(uri, seconds, (track_dir / uri).stat().st_size) for uri, seconds in entries],
                track=position,
                directory=f"{AUDIO_DIR}/{position}",
                loudness=track_loudness,
            )
        )
    return manifests


def video_codecs(segment: Path, source: Path) -> str:
    """The exact RFC 6381 ``avc1.PPCCLL`` string of what the encoder wrote (level differs per rung)."""
    try:
        info: dict[str, Any] = ffmpeg.probe(input_url(segment), v="error", select_streams="v:0")
    except ffmpeg.Error as exc:
        raise EncoderOutputError(f"{source.name}: the encoded output could not be read back") from exc
    for stream in info.get("streams") or []:
        profile_idc, constraints = _AVC_PROFILES.get(str(stream.get("profile")), (0x64, 0x00))
        level = as_int(stream.get("level")) or 31
        return f"avc1.{profile_idc:02x}{constraints:02x}{level:02x}"
    raise EncoderOutputError(f"{segment.name} has no video stream")


def _index(path: Path, job: EncodeJob) -> SegmentInfo:
    try:
        ts = index_segment(path)
    except TsFormatError as exc:
        raise EncoderOutputError(str(exc)) from exc
    if not ts.starts_with_keyframe:
        raise EncoderOutputError(f"{path.name} does not start with a keyframe")
    return SegmentInfo(
        uri=path.name,
        frames=ts.frames,
        size=ts.size,
        init_length=ts.init_length,
        keyframes=[(k.offset, k.length) for k in ts.keyframes],
    )


def _playlist_entries(path: Path) -> list[tuple[str, float]]:
    entries: list[tuple[str, float]] = []
    duration: float | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:") :].split(",", 1)[0])
        elif line and not line.startswith("#") and duration is not None:
            entries.append((line, duration))
            duration = None
    return entries


def _playlist_uris(path: Path) -> list[str]:
    return [uri for uri, _ in _playlist_entries(path)]
