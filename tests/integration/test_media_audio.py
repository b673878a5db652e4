"""Every soundtrack as its own HLS audio rendition, normalised to EBU R128 loudness, checked as a player and
a loudness meter would: the m3u8 parser reads the master, ffprobe and ffmpeg read it as HLS clients, and
ffmpeg's ebur128 filter measures what was published (the pipeline meters the source with it too, but the
published figure is read back from the AAC segments, after loudnorm and the encoder)."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

import ffmpeg
import m3u8
import pytest
from media_fixtures import integrated_loudness, make_soundtracks

from pipeline.config import EncodeSettings
from pipeline.media.hls import HlsResult, encode_hls
from pipeline.media.loudness import TRUE_PEAK_DBTP, measure_loudness
from pipeline.media.plan import audio_renditions
from pipeline.media.probe import probe
from tests.hls_checks import ffprobe_json, rfc_peak, sized_segments

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.ffmpeg  # every test here runs ffmpeg or ffprobe

TARGET = -16.0  # AUDIO_LOUDNESS_LUFS unset
# A 440 Hz tone 13 dB under lavfi's default level measures about -35 LUFS; 880 Hz 13 dB over, about -8.
QUIET = "sine=frequency=440:sample_rate=48000,volume=-13dB"
LOUD = "sine=frequency=880:sample_rate=48000,volume=13dB"
SILENCE = "anullsrc=r=48000:cl=stereo"
# Pink noise whose level drifts like a voice's (a crest factor near speech's, ~12 dB), at amplitude {a}.
SPEECH = (
    "anoisesrc=color=pink:r=48000:a={a}:seed=1,volume='0.25+0.75*abs(sin(2*PI*t*0.7))':eval=frame,"
    "aformat=channel_layouts=stereo"
)
HLS_CLIENT = ("-protocol_whitelist", "file,crypto,data")


@pytest.fixture(scope="module")
def bilingual(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, HlsResult]:
    """A lecture with an English soundtrack (quiet) and a French one (loud), French marked default."""
    d = tmp_path_factory.mktemp("bilingual")
    source = make_soundtracks(
        d / "lecture.mp4",
        [QUIET, LOUD],
        stream_args=("-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fre",
                     "-disposition:a:0", "0", "-disposition:a:1", "default"),
    )  # fmt: skip
    out = d / "hls"
    return out, encode_hls(source, out, probe(source))


def loudness_of(result: HlsResult, out: Path, position: int) -> float:
    return float(integrated_loudness(out / result.package.audio[position].playlist))


def true_peak(path: Path) -> float:
    """The true peak (dBTP, 4x oversampled) of ``path``'s first audio stream, as ebur128 measures it."""
    result = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", *HLS_CLIENT, "-i", str(path), "-map", "0:a:0",
         "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    summary = result.stderr.rsplit("Summary:", 1)[1]
    return float(summary.split("Peak:", 1)[1].split("dBFS", 1)[0])


def test_probe_lists_both_soundtracks_with_bcp47_languages(tmp_path: Path) -> None:
    source = make_soundtracks(
        tmp_path / "lecture.mkv",
        [QUIET, "anullsrc=r=48000:cl=5.1"],
        duration=1,
        stream_args=("-metadata:s:a:0", "language=fre", "-metadata:s:a:1", "language=und",
                     "-metadata:s:a:1", "title=Director's commentary", "-disposition:a:1", "default"),
    )  # fmt: skip
    info = probe(source)
    assert [(t.index, t.codec, t.channels, t.language, t.title, t.default) for t in info.audio_tracks] == [
        (0, "aac", 1, "fr", None, False),
        (1, "aac", 6, None, "Director's commentary", True),
    ]
    # The single-track fields describe the default track, the one an audio-only lecture starts with.
    assert (info.audio_channels, info.audio_language, info.has_audio) == (6, None, True)


def test_master_lists_one_audio_rendition_per_track(bilingual: tuple[Path, HlsResult]) -> None:
    out, result = bilingual
    master = m3u8.load(str(out / "master.m3u8"))
    assert [(m.type, m.group_id, m.language, m.name, m.default, m.autoselect, m.channels, m.uri)
            for m in master.media] == [
        ("AUDIO", "audio", "en", "English", "NO", "YES", "2", "audio/0/index.m3u8"),
        ("AUDIO", "audio", "fr", "Français", "YES", "YES", "2", "audio/1/index.m3u8"),
    ]  # fmt: skip
    (variant,) = master.playlists
    assert variant.stream_info.audio == "audio"
    assert variant.stream_info.codecs.split(",")[1:] == ["mp4a.40.2"]  # CODECS names AAC once
    # RFC 8216 §4.3.4.2: the variant's figures cover its video with the largest audio rendition.
    video = sized_segments(out / variant.uri)
    target = m3u8.load(str(out / variant.uri)).target_duration
    renditions = [sized_segments(out / m.uri) for m in master.media]
    peak = rfc_peak(video, target) + max(rfc_peak(a, target) for a in renditions)
    average = (
        (sum(n for _, n in video) + max(sum(n for _, n in a) for a in renditions))
        * 8
        / sum(d for d, _ in video)
    )
    assert abs(variant.stream_info.bandwidth - peak) / peak < 0.10
    assert abs(variant.stream_info.average_bandwidth - average) / average < 0.10
    assert [a.name for a in result.package.audio] == ["English", "Français"]


def test_hls_clients_see_and_decode_every_soundtrack(bilingual: tuple[Path, HlsResult]) -> None:
    out, _ = bilingual
    master = out / "master.m3u8"
    programs = ffprobe_json(master, *HLS_CLIENT, "-show_programs")["programs"]
    audio = [s for p in programs for s in p["streams"] if s["codec_type"] == "audio"]
    assert sorted(s["tags"]["language"] for s in audio) == ["en", "fr"]
    assert {(s["codec_name"], s["channels"], s["sample_rate"]) for s in audio} == {("aac", 2, "48000")}
    decode = subprocess.run(
        ["ffmpeg", "-v", "error", "-xerror", *HLS_CLIENT, "-i", str(master), "-map", "0:a", "-map", "0:v",
         "-f", "null", "-"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert decode.returncode == 0 and not decode.stderr.strip(), decode.stderr


def test_quiet_and_loud_soundtracks_both_come_out_at_the_target(
    bilingual: tuple[Path, HlsResult], tmp_path: Path
) -> None:
    out, result = bilingual
    assert EncodeSettings().loudness_lufs == TARGET
    quiet, loud = result.package.audio
    assert quiet.loudness is not None and loud.loudness is not None
    # What the first pass measured on the sources, as the manifest (and so the catalog) records it.
    assert quiet.loudness.input_i == pytest.approx(-35, abs=1)
    assert loud.loudness.input_i == pytest.approx(-8, abs=1)
    assert quiet.loudness.target_i == loud.loudness.target_i == TARGET
    assert quiet.loudness.mode == loud.loudness.mode == "linear"  # one gain each: nothing compressed
    assert quiet.loudness.input_tp is not None and quiet.loudness.input_lra is not None
    for position in (0, 1):
        assert loudness_of(result, out, position) == pytest.approx(TARGET, abs=1)
        assert true_peak(out / result.package.audio[position].playlist) <= TRUE_PEAK_DBTP


@pytest.mark.parametrize("amplitude", [0.01, 0.2, 0.9])  # about -57, -31 and -18 LUFS
def test_speech_like_tracks_at_any_level_land_on_the_target_under_the_peak_limit(
    tmp_path: Path, amplitude: float
) -> None:
    source = make_soundtracks(tmp_path / "talk.m4a", [SPEECH.format(a=amplitude)], video=False)
    result = encode_hls(source, tmp_path / "hls", probe(source))
    (audio,) = result.package.audio
    assert audio.loudness is not None and audio.loudness.mode == "linear"
    assert audio.loudness.input_i == pytest.approx(integrated_loudness(source), abs=0.5)
    assert loudness_of(result, tmp_path / "hls", 0) == pytest.approx(TARGET, abs=1)
    assert true_peak(tmp_path / "hls" / audio.playlist) <= TRUE_PEAK_DBTP


def test_every_track_is_measured_in_one_ffmpeg_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pass one decodes the source once for all its soundtracks, and each figure is its own track's."""
    source = make_soundtracks(tmp_path / "lecture.mkv", [QUIET, LOUD, SPEECH.format(a=0.2)], duration=4)
    tracks = audio_renditions(probe(source), EncodeSettings())
    runs: list[list[str]] = []
    real_run = ffmpeg.run

    def counted(graph: object, **kwargs: object) -> object:
        runs.append(graph.compile())  # type: ignore[attr-defined]
        return real_run(graph, **kwargs)

    monkeypatch.setattr(ffmpeg, "run", counted)
    measured = measure_loudness(source, tracks)
    assert len(runs) == 1 and runs[0].count("-i") == 1
    # Each track metered on its own (after the same downmix) gives the figure the one run attributed to it.
    alone = []
    for stream in range(3):
        track = tmp_path / f"{stream}.m4a"
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source), "-map", f"0:a:{stream}",
             "-af", "aformat=channel_layouts=stereo", "-c:a", "alac", str(track)],
            check=True,
        )  # fmt: skip
        alone.append(integrated_loudness(track))
    assert [m.input_i for m in measured] == pytest.approx(alone, abs=0.15)


@pytest.mark.parametrize(("track", "level"), [(QUIET, -35), (LOUD, -8)])
def test_an_audio_lecture_is_normalised_from_either_side(tmp_path: Path, track: str, level: int) -> None:
    source = make_soundtracks(tmp_path / "talk.m4a", [track], video=False)
    assert integrated_loudness(source) == pytest.approx(level, abs=1)
    result = encode_hls(source, tmp_path / "hls", probe(source))
    assert loudness_of(result, tmp_path / "hls", 0) == pytest.approx(TARGET, abs=1)
    # One soundtrack: the variant is its playlist, and there is no group to choose from.
    master = m3u8.load(str(tmp_path / "hls/master.m3u8"))
    assert not master.media and [v.uri for v in master.playlists] == ["audio/0/index.m3u8"]


def test_a_peaky_quiet_track_is_raised_and_its_peaks_limited(tmp_path: Path) -> None:
    """A quiet tone with loud clicks: the gain to the target would push the clicks to about +7 dBTP, so
    the limiter holds them under -1.5 dBTP (after AAC, measured as a player decodes it). Here the clicks
    carry most of the loudness, so the result lands short of the target (about 5 LU): louder than the
    source, never over the peak limit. Where peaks are rare (speech with a bump), it reaches the target."""
    clicks = "aevalsrc='0.03*sin(2*PI*440*t)+0.7*sin(2*PI*1000*t)*lt(mod(t,2),0.02)':s=48000"
    source = make_soundtracks(tmp_path / "talk.m4a", [clicks], video=False)
    result = encode_hls(source, tmp_path / "hls", probe(source))
    (audio,) = result.package.audio
    assert audio.loudness is not None and audio.loudness.mode == "limited"
    level = loudness_of(result, tmp_path / "hls", 0)
    assert integrated_loudness(source) + 3 < level <= TARGET + 1
    assert true_peak(tmp_path / "hls" / audio.playlist) <= TRUE_PEAK_DBTP


def test_speech_with_a_bump_reaches_the_target_under_the_peak_limit(tmp_path: Path) -> None:
    """A quiet voice and one bumped microphone (a near full-scale thump): the gain to the target would
    push the thump far over the limit, so the limiter holds it; the voice, which is the loudness, plays
    at the target."""
    voice = "anoisesrc=color=pink:r=48000:a=0.3:seed=1,volume='0.25+0.75*abs(sin(2*PI*t*0.7))':eval=frame"
    thump = "aevalsrc='0.95*sin(2*PI*90*t)*exp(-25*(t-12))*between(t,12,12.15)':s=48000"
    graph = f"{voice}[v];{thump}[b];[v][b]amix=inputs=2:normalize=0,aformat=channel_layouts=stereo[out0]"
    source = make_soundtracks(tmp_path / "talk.m4a", [graph], video=False, duration=30)
    result = encode_hls(source, tmp_path / "hls", probe(source))
    (audio,) = result.package.audio
    assert audio.loudness is not None and audio.loudness.mode == "limited"
    assert audio.loudness.input_i is not None and audio.loudness.input_i < TARGET - 8
    assert loudness_of(result, tmp_path / "hls", 0) == pytest.approx(TARGET, abs=1)
    assert true_peak(tmp_path / "hls" / audio.playlist) <= TRUE_PEAK_DBTP


def test_an_empty_setting_leaves_the_level_alone(tmp_path: Path) -> None:
    settings = EncodeSettings.from_env({"AUDIO_LOUDNESS_LUFS": ""})
    assert settings.loudness_lufs is None
    source = make_soundtracks(tmp_path / "talk.m4a", [QUIET], video=False)
    result = encode_hls(source, tmp_path / "hls", probe(source), settings)
    assert result.package.audio[0].loudness is None  # not even measured: no first pass
    assert loudness_of(result, tmp_path / "hls", 0) == pytest.approx(integrated_loudness(source), abs=0.5)


def test_surround_becomes_stereo_with_the_centre_in_both_sides(tmp_path: Path) -> None:
    # Speech in the centre channel only, as a 5.1 mix carries dialogue.
    centre = "aevalsrc=0|0|0.25*sin(2*PI*440*t)|0|0|0:c=5.1:s=48000"
    source = make_soundtracks(tmp_path / "film.mp4", [centre])
    assert probe(source).audio_tracks[0].channels == 6
    out = tmp_path / "hls"
    encode_hls(source, out, probe(source))
    (stream,) = ffprobe_json(out / "audio/0/index.m3u8", "-show_streams")["streams"]
    assert (stream["codec_name"], stream["profile"], stream["channels"]) == ("aac", "LC", 2)
    assert m3u8.load(str(out / "master.m3u8")).media[0].channels == "2"
    stats = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-i", str(out / "audio/0/index.m3u8"),
         "-af", "astats=measure_overall=none:measure_perchannel=RMS_level", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    levels = [float(line.rsplit(":", 1)[1]) for line in stats.stderr.splitlines() if "RMS level dB" in line]
    assert len(levels) == 2 and all(level > -30 for level in levels), levels
    assert abs(levels[0] - levels[1]) < 0.5  # the centre lands equally left and right


def test_a_silent_track_is_published_without_normalisation(tmp_path: Path) -> None:
    source = make_soundtracks(
        tmp_path / "lecture.mp4",
        [QUIET, SILENCE],
        stream_args=("-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=eng"),
    )
    out = tmp_path / "hls"
    result = encode_hls(source, out, probe(source))
    spoken, silent = result.package.audio
    assert (spoken.name, silent.name) == ("English", "English 2")  # NAMEs unique within the group
    assert spoken.loudness is not None and spoken.loudness.target_i == TARGET
    assert silent.loudness is not None and silent.loudness.target_i is None
    assert silent.loudness.input_i is None  # ffmpeg's -inf: JSON has no infinity
    assert silent.loudness.note is not None and "silent" in silent.loudness.note
    assert integrated_loudness(out / silent.playlist) <= -70
    assert loudness_of(result, out, 0) == pytest.approx(TARGET, abs=1)


SRT = """1
00:00:00,200 --> 00:00:00,900
Hello and welcome.

2
00:00:01,000 --> 00:00:01,800
Bonjour à tous.
"""


@pytest.mark.parametrize(
    ("name", "codec", "tags"),
    [
        ("lecture.mp4", "mov_text", ("-metadata:s:s:0", "language=eng")),
        ("lecture.mkv", "srt", ("-metadata:s:s:0", "language=fre", "-metadata:s:s:0", "title=Français (SDH)",
                                "-disposition:s:0", "forced")),
    ],
)  # fmt: skip
def test_probe_lists_text_subtitle_streams(
    tmp_path: Path, name: str, codec: str, tags: tuple[str, ...]
) -> None:
    srt = tmp_path / "captions.srt"
    srt.write_text(SRT, encoding="utf-8")
    source = tmp_path / name
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=160x90:r=25:d=2",
         "-i", str(srt), "-map", "0:v", "-map", "1:s", "-c:v", "libx264", "-preset", "ultrafast",
         "-c:s", codec, *tags, str(source)],
        check=True,
    )  # fmt: skip
    (track,) = probe(source).subtitle_tracks
    if codec == "mov_text":
        assert (track.index, track.codec, track.language, track.text) == (0, "mov_text", "en", True)
    else:
        assert (track.index, track.codec, track.language, track.title, track.forced, track.text) == (
            0, "subrip", "fr", "Français (SDH)", True, True,
        )  # fmt: skip
