"""The whole HLS encode in one process: plan → chunks → audio → package, all on local files.

The state machine runs the same steps as separate tasks (PlanEncode, a Map of EncodeChunk, EncodeAudio,
PackageHls) with S3 in between; this function chains them directly, for tests that compare a 1-chunk
with an N-chunk encode, for the benchmark, and as the reference the distributed path must match.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.config import EncodeSettings
from pipeline.errors import InvalidMediaError
from pipeline.media.encode import AudioManifest, ChunkManifest, encode_audio, encode_chunk
from pipeline.media.package import MASTER, Package, package
from pipeline.media.plan import EncodePlan, make_plan

if TYPE_CHECKING:
    from pipeline.media.probe import ProbeResult


@dataclass(frozen=True)
class HlsResult:
    plan: EncodePlan
    package: Package
    files: list[Path]


def encode_hls(
    source: Path,
    out_dir: Path,
    probe: ProbeResult,
    settings: EncodeSettings | None = None,
    *,
    chunk_s: int | None = None,
    workers: int = 1,
    generation: str = "0000",
) -> HlsResult:
    """Encode ``source`` into ``out_dir`` (``master.m3u8``, ``{rung}/``, ``audio/<n>/``, ``iframes/``)."""
    settings = settings or EncodeSettings()
    plan = make_plan(probe, settings, generation=generation, work_prefix="", chunk_s=chunk_s)
    out_dir.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        audio_future = pool.submit(encode_audio, source, out_dir, plan.job) if plan.job.has_audio else None
        chunk_futures = [pool.submit(encode_chunk, source, out_dir, plan.job, c) for c in plan.chunks]
        chunks: list[ChunkManifest] = [f.result() for f in chunk_futures]
        audio: list[AudioManifest] = audio_future.result() if audio_future else []
    result = package(plan.job, chunks, audio)
    check_complete(source, probe, result.duration_s)
    written = write_playlists(out_dir, result)
    return HlsResult(plan=plan, package=result, files=[Path(f) for f in result.segment_files] + written)


def write_playlists(out_dir: Path, result: Package) -> list[Path]:
    """Media and I-frame playlists first, the master last: a reader never finds it before its variants."""
    ordered = sorted(result.playlists, key=lambda p: p == MASTER)
    for rel in ordered:
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(result.playlists[rel], encoding="utf-8")
    return [Path(p) for p in ordered]


def check_complete(source: Path, probe: ProbeResult, encoded_s: float) -> None:
    """A file cut short after its index (mp4 with the moov atom first) probes fine and ffmpeg exits 0
    after decoding what is there: only the missing duration tells us the upload is incomplete.
    ``encoded_s`` is the picture's duration when there is one, so it is compared with the picture's."""
    expected = (probe.video_duration_s if probe.has_video else None) or probe.duration_s
    if encoded_s < expected * 0.9 and expected - encoded_s > 0.5:
        raise InvalidMediaError(
            f"{source.name} says it is {expected:.1f} s long but only {encoded_s:.1f} s could be "
            "decoded; the file looks truncated. Upload it again (check that the upload completed)."
        )
