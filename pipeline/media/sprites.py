"""Scrub previews: sprite sheets of small tiles, one every N seconds, and the WebVTT "thumbnails" track that
maps each stretch of the timeline to its tile with a media fragment (``sprite-1.jpg#xywh=x,y,w,h``, relative
to the track), the convention web players' seek-bar previews read.

Only for sources with a picture: an audio-only lecture has nothing to preview, so callers do not ask for
sprites there (its poster is the waveform card).

Cost must not explode on hour-long lectures, so the tiles come from ONE ffmpeg process that decodes only
keyframes: ``select`` keeps the first keyframe of each tile's time range (so a tile shows content from its
own stretch of the timeline, at most one GOP after its start) and only those few frames are scaled. A source
whose keyframes are sparser than the tile interval (screen recorders can write one keyframe per file)
would leave gaps; it is decoded in full instead, still in one pass, with the same filter.
"""

from __future__ import annotations

import math
import re
import tempfile
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

import ffmpeg
from PIL import Image

from pipeline import layout
from pipeline.errors import InvalidMediaError
from pipeline.media.ffmpeg_tools import input_url, run

if TYPE_CHECKING:
    from pipeline.media.probe import ProbeResult

VTT_NAME = layout.SPRITE_VTT
SHEET_QUALITY = 70
# A keyframe-only pass may leave a few tiles without a keyframe of their own (a GOP slightly longer than
# the interval, e.g. x264's 250 frames at 24 fps against 10 s tiles): those repeat their neighbour. More
# gaps than this, or two in a row, and the scrub preview would visibly lag: decode every frame instead.
_MAX_GAP_FRACTION = 0.1
_FRAME_PTS = re.compile(r"^frame:\S+\s+pts:(-?\d+)")


@dataclass(frozen=True)
class SpriteResult:
    """What :func:`make_sprites` wrote. Paths are relative to its ``out_dir``; ``files`` lists the sheets
    before the WebVTT track that references them (publish in that order)."""

    files: list[Path]
    vtt: Path
    sprites: list[Path]
    tile_width: int
    tile_height: int
    interval_s: float
    count: int


def make_sprites(
    source: Path,
    out_dir: Path,
    probe: ProbeResult,
    *,
    interval_s: float = 10.0,
    tile_width: int = 160,
    columns: int = 10,
    rows: int = 10,
) -> SpriteResult:
    """Write ``sprite-{n}.jpg`` sheets (``columns`` x ``rows`` tiles each) and ``sprite.vtt`` to ``out_dir``.

    One tile per ``interval_s`` seconds starting at 0, so a clip shorter than the interval still gets one.
    Tiles are ``tile_width`` wide (never wider than the source) and keep the display aspect of the source
    (rotation and SAR applied), with even dimensions. ``interval_s`` is used to the millisecond.

    Only call it for sources with a video track: without one it raises ``InvalidMediaError``. Nonsensical
    arguments (a zero interval, no columns) are a caller's bug: ``ValueError``.
    """
    interval_ms = round(interval_s * 1000)
    if interval_ms < 1 or tile_width < 2 or columns < 1 or rows < 1:
        raise ValueError("interval_s must be at least 1 ms; tile_width, columns and rows must be positive")
    if not probe.has_video or not probe.width or not probe.height:
        raise InvalidMediaError(f"{source.name} has no picture to make scrub previews from.")
    width = max(2, min(tile_width, probe.width) // 2 * 2)
    height = max(2, 2 * round(probe.height * width / probe.width / 2))
    duration_ms = max(1, round(probe.duration_s * 1000))
    count = math.ceil(duration_ms / interval_ms)

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sprites-") as tmp:
        raw = Path(tmp) / "tiles.rgb"
        tiles = _grab_tiles(source, Path(tmp), raw, (width, height), interval_ms, count, keyframes_only=True)
        if not _good_enough(tiles):
            tiles = _grab_tiles(
                source, Path(tmp), raw, (width, height), interval_ms, count, keyframes_only=False
            )
        frames = _fill_gaps(tiles, source)
        sprites, cues = _write_sheets(raw, frames, out_dir, (width, height), columns, rows)

    vtt = Path(VTT_NAME)
    lines = ["WEBVTT", ""]
    for index, cue in enumerate(cues):
        start = index * interval_ms
        end = min(start + interval_ms, duration_ms)
        lines += [f"{_timestamp(start)} --> {_timestamp(end)}", cue, ""]
    (out_dir / vtt).write_text("\n".join(lines), encoding="utf-8")
    return SpriteResult(
        files=[*sprites, vtt],
        vtt=vtt,
        sprites=sprites,
        tile_width=width,
        tile_height=height,
        interval_s=interval_ms / 1000,
        count=count,
    )


def _grab_tiles(
    source: Path,
    tmp: Path,
    raw: Path,
    size: tuple[int, int],
    interval_ms: int,
    count: int,
    *,
    keyframes_only: bool,
) -> list[int | None]:
    """Decode once; return, per tile, the index of its frame in ``raw`` (RGB24 frames back to back), or
    None where the tile's time range held no decoded frame."""
    pts_log = tmp / "pts.txt"
    raw.unlink(missing_ok=True)
    pts_log.unlink(missing_ok=True)

    def tile_of(pts: str) -> str:
        return f"max(0,floor({pts}/{interval_ms}))"

    extra = {"skip_frame": "nokey"} if keyframes_only else {}
    stream = (
        ffmpeg.input(input_url(source), protocol_whitelist="file", **extra)["V:0"]
        # Millisecond timestamps: the select expression and the tile arithmetic below agree exactly.
        .filter("settb", "1/1000")
        # The first frame of each tile's time range; frames arrive autorotated (display orientation).
        .filter("select", f"isnan(prev_selected_pts)+gt({tile_of('pts')},{tile_of('prev_selected_pts')})")
        .filter("scale", size[0], size[1], flags="area")
        .filter("setsar", 1)
        # Raw frames carry no timestamps, so log each kept frame's pts (print needs a metadata entry).
        .filter("metadata", mode="add", key="tile", value="1")
        .filter("metadata", mode="print", file=str(pts_log))
        # passthrough: no frame duplicated to fill the gaps between tiles.
        .output(str(raw), format="rawvideo", pix_fmt="rgb24", fps_mode="passthrough")
        .overwrite_output()
    )
    run(stream, source, "decoded")

    frame_bytes = size[0] * size[1] * 3
    available = raw.stat().st_size // frame_bytes if raw.exists() else 0
    logged = pts_log.read_text(encoding="utf-8").splitlines() if pts_log.exists() else []
    timestamps = [int(m.group(1)) for m in map(_FRAME_PTS.match, logged) if m]
    tiles: list[int | None] = [None] * count
    for index, pts in enumerate(timestamps[:available]):
        tile = max(0, pts // interval_ms)
        # Past the probed duration (a video track longer than the container says): not on the timeline.
        if tile < count and tiles[tile] is None:
            tiles[tile] = index
    return tiles


def _good_enough(tiles: list[int | None]) -> bool:
    gaps = sum(t is None for t in tiles)
    if gaps == 0:
        return True
    if gaps > len(tiles) * _MAX_GAP_FRACTION:
        return False
    return not any(a is None and b is None for a, b in pairwise(tiles))


def _fill_gaps(tiles: list[int | None], source: Path) -> list[int]:
    """A tile without a frame of its own repeats the previous one (the next one at the very start)."""
    known = [t for t in tiles if t is not None]
    if not known:
        raise InvalidMediaError(
            f"{source.name}: no picture could be decoded from the video track. Re-export it and upload again."
        )
    filled: list[int] = []
    last = known[0]
    for tile in tiles:
        last = tile if tile is not None else last
        filled.append(last)
    return filled


def _write_sheets(
    raw: Path,
    frames: list[int],
    out_dir: Path,
    size: tuple[int, int],
    columns: int,
    rows: int,
) -> tuple[list[Path], list[str]]:
    """Sheets of ``columns`` x ``rows`` tiles, row by row; the last sheet only as large as its tiles."""
    width, height = size
    frame_bytes = width * height * 3
    per_sheet = columns * rows
    sprites: list[Path] = []
    cues: list[str] = []
    with raw.open("rb") as fh:
        for first in range(0, len(frames), per_sheet):
            batch = frames[first : first + per_sheet]
            across = min(columns, len(batch))
            name = Path(f"sprite-{len(sprites) + 1}.jpg")
            sheet = Image.new("RGB", (across * width, math.ceil(len(batch) / across) * height))
            for slot, frame in enumerate(batch):
                fh.seek(frame * frame_bytes)
                tile = Image.frombytes("RGB", size, fh.read(frame_bytes))
                x, y = (slot % across) * width, (slot // across) * height
                sheet.paste(tile, (x, y))
                cues.append(f"{name}#xywh={x},{y},{width},{height}")
            sheet.save(out_dir / name, "JPEG", quality=SHEET_QUALITY, optimize=True)
            sprites.append(name)
    return sprites, cues


def _timestamp(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"
