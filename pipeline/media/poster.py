"""Pick a poster frame a learner would recognise the lecture by.

The first frame of a lecture is usually black (fade-in) or a blank title card, so several candidates are
grabbed across the video and the most detailed non-blank one wins. Audio-only lectures get a card drawn
from their waveform, so every asset has a poster and pages need no special case.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import ffmpeg
from PIL import Image, ImageStat

from pipeline.errors import InvalidMediaError
from pipeline.media.ffmpeg_tools import input_url, run
from pipeline.media.probe import ProbeResult

CANDIDATE_POSITIONS = (0.1, 0.25, 0.5, 0.75)
CARD_SIZE = (1280, 720)
_CARD_BACKGROUND = (24, 26, 32)
_WAVE_COLOUR = "0x8ab4f8"
# Grayscale thresholds (0-255) below which a frame is a fade, a black screen or a flat colour.
_MIN_MEAN = 20.0
_MIN_STDDEV = 8.0


def make_poster(
    source: Path, out_dir: Path, probe: ProbeResult, *, widths: Sequence[int] = (1280,)
) -> list[Path]:
    """Write ``poster-{width}.jpg`` files into ``out_dir``; return their paths relative to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="poster-") as tmp:
        if probe.has_video:
            frame = _best_frame(source, Path(tmp), probe, max(widths))
        else:
            frame = _audio_card(source, Path(tmp))
        return _save_widths(frame, out_dir, widths)


def _best_frame(source: Path, tmp: Path, probe: ProbeResult, max_width: int) -> Image.Image:
    if not probe.width or not probe.height:
        raise InvalidMediaError(f"{source.name}: the video has no picture size.")
    # Decode only as large as the largest poster; the frame arrives autorotated, so size it as displayed.
    width = min(probe.width, max_width)
    height = max(2, round(probe.height * width / probe.width))
    # Keyframes only first (-skip_frame nokey): a poster needs no exact timestamp, and decoding a long
    # GOP up to every seek point dominates the cost. Short clips with one keyframe fall back to exact seeks.
    frames = _grab_candidates(source, tmp, probe, width, height, keyframes_only=True)
    if len(frames) < len(CANDIDATE_POSITIONS):
        frames = _grab_candidates(source, tmp, probe, width, height, keyframes_only=False)
    if not frames:
        raise InvalidMediaError(
            f"{source.name}: no picture could be decoded from the video track. Re-export it and upload again."
        )
    detailed = [f for f in frames if not _is_blank(f)]
    if detailed:
        return max(detailed, key=lambda f: f.convert("L").entropy())
    return max(frames, key=lambda f: ImageStat.Stat(f.convert("L")).stddev[0])


def _grab_candidates(
    source: Path, tmp: Path, probe: ProbeResult, width: int, height: int, *, keyframes_only: bool
) -> list[Image.Image]:
    """One ffmpeg process for all candidate positions: start-up and demuxer probing are paid once."""
    pngs = [tmp / f"candidate-{i}-{int(keyframes_only)}.png" for i in range(len(CANDIDATE_POSITIONS))]
    extra = {"skip_frame": "nokey"} if keyframes_only else {}
    outputs = [
        ffmpeg.input(
            input_url(source), ss=f"{probe.duration_s * position:.3f}", protocol_whitelist="file", **extra
        )["V:0"]
        .filter("scale", width, height)
        .filter("setsar", 1)
        .output(str(png), **{"frames:v": 1})
        for png, position in zip(pngs, CANDIDATE_POSITIONS, strict=True)
    ]
    run(ffmpeg.merge_outputs(*outputs).overwrite_output(), source, "decoded")
    frames: list[Image.Image] = []
    for png in pngs:
        if png.exists():  # ffmpeg succeeds without output when a seek lands past the last (key)frame
            with Image.open(png) as img:
                frames.append(img.convert("RGB"))
    return frames


def _is_blank(frame: Image.Image) -> bool:
    stat = ImageStat.Stat(frame.convert("L"))
    return stat.mean[0] < _MIN_MEAN or stat.stddev[0] < _MIN_STDDEV


def _audio_card(source: Path, tmp: Path) -> Image.Image:
    card = Image.new("RGB", CARD_SIZE, _CARD_BACKGROUND)
    wave_size = (CARD_SIZE[0] - 160, CARD_SIZE[1] // 2)
    png = tmp / "wave.png"
    stream = (
        ffmpeg.input(input_url(source), protocol_whitelist="file")["a:0"]
        .filter("aformat", channel_layouts="mono")
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
    # Never upscale; a frame narrower than every requested width still gets one poster, at its own width.
    targets = sorted({w for w in widths if w <= frame.width}) or [frame.width]
    written: list[Path] = []
    for width in targets:
        height = max(1, round(frame.height * width / frame.width))
        image = frame if width == frame.width else frame.resize((width, height), Image.Resampling.LANCZOS)
        name = Path(f"poster-{width}.jpg")
        image.save(out_dir / name, "JPEG", quality=82, progressive=True, optimize=True)
        written.append(name)
    return written
