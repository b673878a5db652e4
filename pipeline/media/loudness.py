"""EBU R128 loudness normalisation in two passes: ffmpeg's ``ebur128`` meter measures the soundtrack,
then the encode applies one gain (and, only where that gain would push peaks over the true-peak limit, a
limiter on them).

Pass one is a whole-file decode of the source that only measures; pass two is the AAC encode with one or
two more filters, nearly free. The meter is ``ebur128`` rather than loudnorm's own first pass: both are
libebur128 underneath and report the same figures (integrated loudness, its relative gate, loudness
range, true peak), but loudnorm resamples to 192 kHz and runs its whole filter there, about five times
the CPU, which on a 4-hour lecture is minutes of EncodeAudio's 15; for the same reason pass two is
``volume`` + ``alimiter`` rather than loudnorm (see ``loudness_plan``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ffmpeg

from pipeline.errors import InvalidMediaError, PipelineError
from pipeline.media.ffmpeg_tools import input_url, stderr_excerpt

if TYPE_CHECKING:
    from pathlib import Path

    from pipeline.media.plan import AudioRendition, EncodeJob

# EBU R128 / Apple's spoken-word guidance: true peak at most -1.5 dBTP leaves the AAC encoder headroom
# (its decoded peaks overshoot the input's).
TRUE_PEAK_DBTP = -1.5
# BS.1770's absolute gate: blocks below -70 LUFS are not counted, so a track measured there (or at -inf)
# holds no sound to normalise.
SILENCE_LUFS = -70.0
# The summary each ebur128 instance prints when it is torn down ("[Parsed_ebur128_3 @ 0x55d...] Summary:"
# then, one figure a line: integrated I and its gate threshold, the loudness range's LRA, threshold, low and
# high, and with peak=true the true peak, labelled dBFS but measured 4x oversampled, i.e. dBTP). ffmpeg
# prints every figure with one decimal; silence is "I: -70.0 LUFS", "Threshold: 0.0" and "Peak: -inf".
_EBUR128_SUMMARY = re.compile(r"\[Parsed_ebur128_(\d+) @ 0x[0-9a-f]+\] Summary:")
_NUMBER = r"([-+]?(?:inf|nan|\d+(?:\.\d+)?))"
_EBUR128_FIGURES = re.compile(
    rf"Integrated loudness:\s+I:\s+{_NUMBER} LUFS\s+Threshold:\s+{_NUMBER} LUFS\s+"
    rf"Loudness range:\s+LRA:\s+{_NUMBER} LU\s+.*?True peak:\s+Peak:\s+{_NUMBER} dBFS",
    re.DOTALL,
)
# Half the summary's last digit: a true peak printed as -1.6 may be -1.55, and the gain must not take it
# through the -1.5 limit.
_SUMMARY_ROUNDING = 0.05
_CHAIN = re.compile(r"^((?:\[[^\]]+\])*)([^\[]*)((?:\[[^\]]+\])*)$")
# The limiter holds sample peaks 2 dB under the true-peak limit: what AAC's quantisation adds to a hard
# limited transient (measured on clicks: up to ~1.3 dB at 128 kb/s) and the inter-sample peaks a sample
# limiter does not see. A 5 ms look-ahead catches a clap's attack; 50 ms release, no auto-gain.
LIMITER: dict[str, Any] = {
    "limit": f"{10 ** ((TRUE_PEAK_DBTP - 2.0) / 20):.4f}",
    "attack": 5,
    "release": 50,
    "level": 0,
}


class LoudnessMeterError(PipelineError):
    """ffmpeg's meter ran but printed no summary we can read (our fault or an unknown ffmpeg, not the
    author's)."""


@dataclass(frozen=True)
class Loudness:
    """One track's EBU R128 figures: what the first pass measured on the source (after the stereo downmix,
    so on what learners hear) and the integrated target applied in the second. ``target_i`` None: the
    track was left at its level, ``note`` says why. Figures ffmpeg reports as -inf (silence) are None:
    JSON and DynamoDB have no infinity."""

    input_i: float | None
    input_tp: float | None
    input_lra: float | None
    target_i: float | None
    note: str | None = None
    # "linear": one gain for the whole track; "limited": the same gain, then a limiter on the peaks it
    # would have pushed over the true-peak limit.
    mode: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputI": self.input_i,
            "inputTP": self.input_tp,
            "inputLRA": self.input_lra,
            "targetI": self.target_i,
            "mode": self.mode,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Loudness:
        def number(key: str) -> float | None:
            value = data.get(key)
            return float(value) if value is not None else None

        note, mode = data.get("note"), data.get("mode")
        return cls(number("inputI"), number("inputTP"), number("inputLRA"), number("targetI"), note, mode)


@dataclass(frozen=True)
class LoudnessMeasurement:
    """ebur128's summary for one track: integrated loudness and its relative gate (LUFS), true peak (dBTP),
    loudness range (LU); I and its gate are -inf for silence (nothing passed the -70 LUFS gate), as
    loudnorm reported them."""

    input_i: float
    input_tp: float
    input_lra: float
    input_thresh: float

    @property
    def silent(self) -> bool:
        return not math.isfinite(self.input_i) or self.input_i <= SILENCE_LUFS


def measure_loudness(source: Path, tracks: list[AudioRendition]) -> list[LoudnessMeasurement]:
    """Pass one of EBU R128 normalisation: every track measured by ffmpeg's ``ebur128`` meter (after the
    same stereo downmix the encode applies), all in one decode of the source. Returns them in track order.

    ``ebur128`` rather than loudnorm's own first pass: they share libebur128's code and report the same
    figures (I, its gate, LRA, true peak), but loudnorm resamples to 192 kHz and filters the whole signal
    there, five times the CPU; ebur128 measures at the source rate and oversamples only for the peak."""
    graph = measurement_graph(source, tracks)
    owners = _filter_owners(graph.compile(), "ebur128")
    try:
        _, err = ffmpeg.run(graph, capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as exc:
        raise InvalidMediaError(
            f"{source.name}: the soundtrack could not be read to measure its loudness "
            f"({stderr_excerpt(exc.stderr, source)}). The file may be truncated or corrupt — re-export it "
            "and upload it again."
        ) from exc
    reports: dict[int, LoudnessMeasurement] = {}
    text = err.decode("utf-8", errors="replace")
    marks = list(_EBUR128_SUMMARY.finditer(text))
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        stream = owners.get(int(mark.group(1)))
        summary = text[mark.end() : following.start() if following else len(text)]
        if stream is not None:
            reports[stream] = _measurement(summary, stream)
    missing = [t.index for t in tracks if t.index not in reports]
    if missing:
        raise LoudnessMeterError(f"ebur128 printed no summary for audio stream(s) {missing}")
    return [reports[t.index] for t in tracks]


def measurement_graph(source: Path, tracks: list[AudioRendition]) -> Any:
    """One input, one ebur128 meter and null output per track: ffmpeg demuxes and decodes the source once."""
    source_input = ffmpeg.input(input_url(source), protocol_whitelist="file")
    outputs = [
        # framelog=verbose: the ten-a-second frame lines go to a level we do not print, the summary stays.
        stereo(source_input[f"a:{track.index}"])
        .filter("ebur128", peak="true", framelog="verbose")
        .output("-", f="null")
        for track in tracks
    ]
    # ebur128 prints its summary at the "info" level; the usual "error" level would hide it.
    return ffmpeg.merge_outputs(*outputs).global_args(
        "-nostdin", "-hide_banner", "-nostats", "-loglevel", "info"
    )


def loudness_plan(
    job: EncodeJob, track: AudioRendition, measured: LoudnessMeasurement | None
) -> tuple[Loudness | None, list[tuple[str, dict[str, Any]]]]:
    """What the manifest records for ``track`` and pass two's filters (``(name, options)`` in order;
    none: the track is encoded at its level).

    One gain takes the measured integrated loudness to the target (``volume``), as loudnorm's linear
    mode does, minus its 192 kHz processing. When that gain would push the true peak over the limit, a
    look-ahead limiter (``alimiter``) then holds the peaks under it, as podcast mastering does; loudnorm's
    dynamic mode would instead compress the whole track at 192 kHz, at 3 to 7 times the encode's CPU,
    which a 4-hour lecture cannot afford in one Lambda. The lecture's dynamics are kept: nothing but the
    peaks is touched.
    """
    if job.loudness_lufs is None or measured is None:
        return None, []

    def finite(value: float) -> float | None:
        return round(value, 2) if math.isfinite(value) else None

    if measured.silent:
        note = f"'{track.name}' is silent (below {SILENCE_LUFS:g} LUFS): encoded without normalisation"
        return Loudness(finite(measured.input_i), finite(measured.input_tp), None, None, note), []
    gain = round(job.loudness_lufs - measured.input_i, 2)
    filters: list[tuple[str, dict[str, Any]]] = [("volume", {"volume": f"{gain:.2f}dB"})]
    peak_after = measured.input_tp + _SUMMARY_ROUNDING + gain
    # Not a warning for the author: a clap or a bumped microphone is normal. Where such peaks carry
    # much of a track's loudness, it plays somewhat below the target (the mode says why).
    limited = peak_after > TRUE_PEAK_DBTP
    if limited:
        filters.append(("alimiter", LIMITER))
    loudness = Loudness(
        finite(measured.input_i),
        finite(measured.input_tp),
        finite(measured.input_lra),
        job.loudness_lufs,
        mode="limited" if limited else "linear",
    )
    return loudness, filters


def _measurement(summary: str, stream: int) -> LoudnessMeasurement:
    match = _EBUR128_FIGURES.search(summary)
    if match is None:
        raise LoudnessMeterError(
            f"ebur128's summary for audio stream {stream} is not as expected: {summary!r}"
        )
    i, thresh, lra, tp = (float(value) for value in match.groups())
    if any(math.isnan(value) for value in (i, thresh, lra, tp)):
        raise LoudnessMeterError(f"ebur128 reported a figure that is not a number for audio stream {stream}")
    if i <= SILENCE_LUFS:
        # ebur128 starts I at the absolute gate and leaves it there when no block passes it; loudnorm (and
        # the catalog) call that -inf.
        i = thresh = -math.inf
    return LoudnessMeasurement(input_i=i, input_tp=tp, input_lra=lra, input_thresh=thresh)


def _filter_owners(args: list[str], name: str) -> dict[int, int]:
    """Which source audio stream (``0:a:N``) each ``Parsed_<name>_K`` of the command's filter graph
    measures. ffmpeg names a parsed filter by its position in the ``-filter_complex`` string; ffmpeg-python
    writes one filter per chain, so K is the chain's position and the labels lead back to the input."""
    graph = args[args.index("-filter_complex") + 1]
    produced: dict[str, str] = {}
    chains: list[tuple[list[str], str]] = []
    for chain in graph.split(";"):
        match = _CHAIN.match(chain)
        if match is None:
            raise LoudnessMeterError(f"unexpected filter chain {chain!r}")
        inputs = re.findall(r"\[([^\]]+)\]", match.group(1))
        for label in re.findall(r"\[([^\]]+)\]", match.group(3)):
            produced[label] = inputs[0] if inputs else ""
        chains.append((inputs, match.group(2)))
    owners: dict[int, int] = {}
    for position, (inputs, body) in enumerate(chains):
        if not (body == name or body.startswith(f"{name}=")) or not inputs:
            continue
        label = inputs[0]
        while label in produced:
            label = produced[label]
        stream = re.fullmatch(r"0:a:(\d+)", label)
        if stream is None:
            raise LoudnessMeterError(f"{name} chain {position} does not lead back to an audio stream")
        owners[position] = int(stream.group(1))
    return owners


def stereo(stream: Any) -> Any:
    """Downmix (or upmix) to stereo inside the graph, before loudness is measured or applied."""
    return stream.filter("aformat", channel_layouts="stereo")
