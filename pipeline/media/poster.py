"""Pick a poster frame a learner would recognise the lecture by, in several widths, as JPEG and WebP.

The first frame of a lecture is usually black (fade-in) or a blank title card, so several candidates are
grabbed across the video and the most detailed non-blank one wins. Audio-only lectures get a card drawn
from their waveform, so every asset has a poster and pages need no special case.

The cost must not grow with the length of the video: each candidate is an input-side seek (``-ss`` before
``-i``: a jump through the index, not a decode from the start) that decodes one keyframe. Only when the
keyframes are too sparse to give several different pictures (a short clip, a screen recording with a
single keyframe) is the start of the video decoded frame by frame, at most ``_EXACT_WINDOW_S`` of it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import ffmpeg
from PIL import Image, ImageFilter, ImageStat

from pipeline import layout
from pipeline.errors import InvalidMediaError
from pipeline.media.ffmpeg_tools import input_url, run

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pipeline.media.probe import ProbeResult

# Spread over the lecture, away from the intro and the outro, which are the likeliest to be black or blank.
CANDIDATE_POSITIONS = (0.1, 0.2, 0.35, 0.5, 0.65, 0.8)
CARD_SIZE = (1280, 720)
JPEG_QUALITY = 82
WEBP_QUALITY = 80
_CARD_BACKGROUND = (24, 26, 32)
_WAVE_COLOUR = "0x8ab4f8"
# Grayscale thresholds (0-255) below which a frame is a fade, a black screen or a flat colour.
_MIN_MEAN = 20.0
_MIN_STDDEV = 8.0
# Detail is measured on a thumbnail this wide: downscaling averages away sensor/encoder noise, which an
# edge filter would otherwise count as detail.
_DETAIL_WIDTH = 160
# How much of a source with too few keyframes is decoded frame by frame: enough to get past an intro and a
# title card, and a bounded cost whatever the length.
_EXACT_WINDOW_S = 60.0


def make_poster(
    source: Path, out_dir: Path, probe: ProbeResult, *, widths: Sequence[int] = layout.POSTER_WIDTHS
) -> list[Path]:
    """Write ``poster-{width}.jpg`` and ``poster-{width}.webp`` for each width into ``out_dir``; return their
    paths relative to ``out_dir`` (JPEG then WebP, narrowest first).

    Widths above the source's display width are skipped; a source narrower than every width gets one poster
    at its own width.
    """
    wanted = [w for w in widths if w > 0]
    if not wanted:
        raise ValueError("at least one positive poster width is needed")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="poster-") as tmp:
        if probe.has_video:
            frame = _best_frame(source, Path(tmp), probe, max(wanted))
        else:
            frame = _audio_card(source, Path(tmp))
        return _save_widths(frame, out_dir, wanted)


def _best_frame(source: Path, tmp: Path, probe: ProbeResult, max_width: int) -> Image.Image:
    if not probe.width or not probe.height:
        raise InvalidMediaError(f"{source.name}: the video has no picture size.")
    # Decode only as large as the largest poster; the frame arrives autorotated, so size it as displayed.
    width = min(probe.width, max_width)
    height = max(2, round(probe.height * width / probe.width))
    frames = _distinct(_grab_keyframes(source, tmp, probe, width, height))
    if len(frames) * 2 < len(CANDIDATE_POSITIONS):
        # Several positions fell back to the same keyframe: a short clip, or very sparse keyframes.
        frames = _distinct(frames + _grab_decoded(source, tmp, probe, width, height))
    if not frames:
        raise InvalidMediaError(
            f"{source.name}: no picture could be decoded from the video track. Re-export it and upload again."
        )
    detailed = [f for f in frames if not _is_blank(f)]
    if detailed:
        return max(detailed, key=_detail)
    return max(frames, key=lambda f: ImageStat.Stat(f.convert("L")).stddev[0])


def _grab_keyframes(
    source: Path, tmp: Path, probe: ProbeResult, width: int, height: int
) -> list[Image.Image]:
    """One ffmpeg process, one input per candidate position: start-up is paid once. Each input seeks by the
    index to the keyframe at or before its position and outputs that keyframe as is (``-noaccurate_seek``,
    ``-skip_frame nokey``): nothing else is decoded, and nothing past it is read, so the cost depends neither
    on the length of the video nor on how far apart its keyframes are."""
    pngs = [tmp / f"keyframe-{i}.png" for i in range(len(CANDIDATE_POSITIONS))]
    outputs = [
        ffmpeg.input(
            input_url(source),
            ss=f"{probe.duration_s * position:.3f}",
            noaccurate_seek=None,
            skip_frame="nokey",
            protocol_whitelist="file",
        )["V:0"]
        .filter("scale", width, height)
        .filter("setsar", 1)
        # The keyframe is timed before the seek point; passthrough keeps it (constant-rate output drops it).
        .output(str(png), fps_mode="passthrough", **{"frames:v": 1})
        for png, position in zip(pngs, CANDIDATE_POSITIONS, strict=True)
    ]
    run(ffmpeg.merge_outputs(*outputs).overwrite_output(), source, "decoded")
    return _load(pngs)


def _grab_decoded(source: Path, tmp: Path, probe: ProbeResult, width: int, height: int) -> list[Image.Image]:
    """Every frame decoded from the start, in one pass, up to the last candidate within the first
    ``_EXACT_WINDOW_S`` seconds; ``select`` keeps the first frame at or after each candidate time."""
    span = min(probe.duration_s, _EXACT_WINDOW_S)
    times = [f"{span * position:.3f}" for position in CANDIDATE_POSITIONS]
    chosen = "+".join(f"gte(t,{t})*not(gte(prev_selected_t,{t}))" for t in times)
    pattern = tmp / "decoded-%d.png"
    stream = (
        ffmpeg.input(input_url(source), t=f"{span:.3f}", protocol_whitelist="file")["V:0"]
        .filter("select", chosen)
        .filter("scale", width, height)
        .filter("setsar", 1)
        .output(str(pattern), fps_mode="passthrough", **{"frames:v": len(times)})
        .overwrite_output()
    )
    run(stream, source, "decoded")
    return _load([tmp / f"decoded-{i}.png" for i in range(1, len(times) + 1)])


def _load(pngs: Sequence[Path]) -> list[Image.Image]:
    frames: list[Image.Image] = []
    for png in pngs:
        if png.exists():  # ffmpeg succeeds without output when no frame could be decoded
            with Image.open(png) as img:
                frames.append(img.convert("RGB"))
    return frames


def _distinct(frames: list[Image.Image]) -> list[Image.Image]:
    """Drop repeats: positions that fell back to the same keyframe decode to the very same pixels."""
    seen: set[bytes] = set()
    unique: list[Image.Image] = []
    for frame in frames:
        key = frame.tobytes()
        if key not in seen:
            seen.add(key)
            unique.append(frame)
    return unique


def _is_blank(frame: Image.Image) -> bool:
    stat = ImageStat.Stat(frame.convert("L"))
    return stat.mean[0] < _MIN_MEAN or stat.stddev[0] < _MIN_STDDEV


def _detail(frame: Image.Image) -> float:
    """Mean edge strength: high for slides with text, faces, a whiteboard; low for a blurred transition, a
    smooth gradient or a plain title card (histogram entropy would rate a gradient as highly detailed)."""
    grey = frame.convert("L")
    if grey.width > _DETAIL_WIDTH:
        grey = grey.resize(
            (_DETAIL_WIDTH, max(1, round(grey.height * _DETAIL_WIDTH / grey.width))), Image.Resampling.BOX
        )
    edges = grey.filter(ImageFilter.FIND_EDGES)
    if edges.width > 2 and edges.height > 2:
        edges = edges.crop((1, 1, edges.width - 1, edges.height - 1))  # the filter leaves the border as is
    return float(ImageStat.Stat(edges).mean[0])


def _audio_card(source: Path, tmp: Path) -> Image.Image:
    card = Image.new("RGB", CARD_SIZE, _CARD_BACKGROUND)
    wave_size = (CARD_SIZE[0] - 160, CARD_SIZE[1] // 2)
    png = tmp / "wave.png"
    stream = (
        ffmpeg.input(input_url(source), protocol_whitelist="file")["a:0"]
        .filter("aformat", channel_layouts="mono", sample_rates=8000, sample_fmts="s16")
        # sqrt scale: speech peaks are far below full scale and would draw as a thin line on a linear scale.
        .filter("showwavespic", s=f"{wave_size[0]}x{wave_size[1]}", colors=_WAVE_COLOUR, scale="sqrt")
        .output(str(png), **{"frames:v": 1})
        .overwrite_output()
    )
    run(stream, source, "decoded")
    if png.exists():
        with Image.open(png) as wave:
            layer = wave.convert("RGBA")
        offset = ((CARD_SIZE[0] - wave_size[0]) // 2, (CARD_SIZE[1] - wave_size[1]) // 2)
        card.paste(layer, offset, layer)
    return card


def _save_widths(frame: Image.Image, out_dir: Path, widths: Sequence[int]) -> list[Path]:
    """``poster-{w}.jpg``/``.webp`` for every requested width, so lesson pages can name a poster before
    the video is processed; never upscaled: above the frame's own width the file keeps that width."""
    written: list[Path] = []
    for requested in sorted(set(widths)):
        width = min(requested, frame.width)
        height = max(1, round(frame.height * width / frame.width))
        image = frame if width == frame.width else frame.resize((width, height), Image.Resampling.LANCZOS)
        jpeg, webp = Path(layout.poster_name(requested)), Path(layout.poster_name(requested, "webp"))
        image.save(out_dir / jpeg, "JPEG", quality=JPEG_QUALITY, progressive=True, optimize=True)
        image.save(out_dir / webp, "WEBP", quality=WEBP_QUALITY, method=4)
        written += [jpeg, webp]
    return written
