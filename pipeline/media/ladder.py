"""The adaptive-bitrate ladder: which renditions a source gets, at what size, rate and frame rate.

Rungs follow Apple's HLS authoring table by default. A rung is named by its short side ("720p") and
applies to the short side, so a portrait phone video gets the same pixel budget as a landscape one. A
rung above the source is dropped (upscaling only costs bytes), aspect is kept and sizes are even
(yuv420p needs even dimensions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from pipeline.errors import InvalidMediaError

if TYPE_CHECKING:
    from pipeline.media.probe import ProbeResult

# Standard rates a camera or screen recorder means when its stream says 29.97-ish or 59.9-ish.
_STANDARD_RATES = tuple(
    Fraction(n, d)
    for n, d in ((24000, 1001), (24, 1), (25, 1), (30000, 1001), (30, 1), (50, 1), (60000, 1001), (60, 1))
)
_MAX_FPS = 60
_DEFAULT_FPS = Fraction(30)


@dataclass(frozen=True)
class LadderStep:
    """A configured rung before it meets a source: short side and nominal bitrate at 16:9."""

    short_side: int
    bitrate_k: int


@dataclass(frozen=True)
class Rung:
    name: str
    width: int
    height: int
    bitrate_k: int

    @property
    def maxrate_k(self) -> int:
        # Capped VBR: peaks up to 10% over the nominal rate keep BANDWIDTH close to the table's value.
        return math.ceil(self.bitrate_k * 1.1)

    @property
    def bufsize_k(self) -> int:
        # Two seconds of buffer = one GOP: the rate control may borrow within a GOP, not across segments.
        return self.bitrate_k * 2

    def to_list(self) -> list[object]:
        return [self.name, self.width, self.height, self.bitrate_k]

    @classmethod
    def from_list(cls, data: list[object]) -> Rung:
        name, width, height, bitrate = data
        return cls(str(name), int(str(width)), int(str(height)), int(str(bitrate)))


def parse_ladder(spec: str) -> list[LadderStep]:
    """``"1080:6000,720:3000"`` (short side:average kbit/s, the default is Apple's 16:9 table in
    ``EncodeSettings``) → steps, largest first. A bad spec is an operator error: fail loudly."""
    steps: list[LadderStep] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        short, sep, rate = part.partition(":")
        try:
            step = LadderStep(int(short.rstrip("p")), int(rate.rstrip("k")))
        except ValueError:
            raise ValueError(f"ladder entry {part!r} must look like 720:3000 (short side:kbit/s)") from None
        if not sep or step.short_side < 2 or step.bitrate_k < 1:
            raise ValueError(f"ladder entry {part!r} must look like 720:3000 (short side:kbit/s)")
        steps.append(step)
    if not steps:
        raise ValueError("the ladder has no rungs")
    return sorted(steps, key=lambda s: -s.short_side)


def rungs_for(probe: ProbeResult, steps: list[LadderStep]) -> list[Rung]:
    """The rungs this source gets, largest first; a source below every rung gets one at its own size."""
    if not probe.width or not probe.height:
        raise InvalidMediaError("the video has no picture size")
    short = min(probe.width, probe.height)
    usable = [s for s in steps if s.short_side <= short] or [steps[-1]]
    rungs: list[Rung] = []
    for step in usable:
        width, height = scaled_size(probe.width, probe.height, step.short_side)
        # The table's rate is for 16:9 at that short side; other shapes pay for their real pixel count.
        nominal_pixels = step.short_side * _even(step.short_side * 16 / 9)
        rate = step.bitrate_k * min(1.0, width * height / nominal_pixels)
        rung = Rung(f"{min(width, height)}p", width, height, max(1, round(rate)))
        if all(r.name != rung.name for r in rungs):
            rungs.append(rung)
    return rungs


def scaled_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """Display aspect kept, short side at most ``short_side``, never upscaled, both even."""
    scale = min(1.0, short_side / min(width, height))
    # Nearest even size (853.3 x 0.75 is 640, not 638), but never beyond the source's own even size.
    return (
        min(_nearest_even(width * scale), _even(width)),
        min(_nearest_even(height * scale), _even(height)),
    )


def output_fps(probe: ProbeResult) -> Fraction:
    """A constant output rate: the standard rate the source means, halved until it is at most 60."""
    fps = Fraction(probe.fps).limit_denominator(1001) if probe.fps else _DEFAULT_FPS
    while fps > _MAX_FPS:
        fps /= 2
    nearest = min(_STANDARD_RATES, key=lambda standard: abs(fps - standard))
    if abs(fps - nearest) / nearest < Fraction(15, 1000):
        return nearest
    return max(Fraction(1), Fraction(round(fps)))


def _nearest_even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def _even(value: float) -> int:
    # Round down: rounding up could make the output one pixel larger than the source.
    return max(2, math.floor(value / 2) * 2)
