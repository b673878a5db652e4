"""Soundtracks and subtitle streams from the probe to the master playlist, without running ffmpeg: how
streams are read from ffprobe's JSON, named and defaulted, carried through the step contract, measured
(which ebur128 summary is whose) and listed in the master."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import ffmpeg
import pytest

from pipeline import steps
from pipeline.config import EncodeSettings
from pipeline.errors import StepContractError
from pipeline.media import probe as probe_module
from pipeline.media.captions import language_name, stream_language
from pipeline.media.encode import (
    AudioManifest,
    EncoderOutputError,
    dump_audio_manifests,
    load_audio_manifests,
)
from pipeline.media.loudness import (
    LIMITER,
    SILENCE_LUFS,
    LoudnessMeasurement,
    LoudnessMeterError,
    _filter_owners,
    _measurement,
    loudness_plan,
    measurement_graph,
    stereo,
)
from pipeline.media.package import package
from pipeline.media.plan import AudioRendition, EncodeJob, EncodePlan, audio_renditions, make_plan
from pipeline.media.probe import AudioTrack, ProbeResult, SubtitleTrack
from tests.fakes.media import HD

SETTINGS = EncodeSettings()


def track(
    index: int, language: str | None = None, title: str | None = None, default: bool = False
) -> AudioTrack:
    return AudioTrack(index, "aac", 2, language, title, default)


def names(*tracks: AudioTrack, settings: EncodeSettings = SETTINGS) -> list[tuple[str | None, str, bool]]:
    return [
        (r.language, r.name, r.default) for r in audio_renditions(replace(HD, audio_tracks=tracks), settings)
    ]


# ---------------------------------------------------------------- languages
@pytest.mark.parametrize(
    ("tag", "expected"),
    [("eng", "en"), ("fre", "fr"), ("fra", "fr"), ("ger", "de"), ("chi", "zh"), ("EN", "en"),
     ("pt-BR", "pt-BR"), ("por_br", "pt-BR"), ("yue", "yue"), ("und", None), ("zxx", None), ("", None),
     (None, None), ("english", None), ("xx", None)],
)  # fmt: skip
def test_container_language_tags_become_bcp47_or_nothing(tag: str | None, expected: str | None) -> None:
    assert stream_language(tag) == expected


def test_language_names_are_in_their_own_language() -> None:
    assert (language_name("fr"), language_name("pt-BR"), language_name(None), language_name("tlh")) == (
        "Français",
        "Português",
        None,
        None,
    )


# ---------------------------------------------------------------- ffprobe's streams
def stream(kind: str, codec: str, **extra: object) -> dict[str, object]:
    return {"codec_type": kind, "codec_name": codec, **extra}


def test_audio_streams_without_sound_are_not_tracks_but_keep_ffmpegs_numbering() -> None:
    streams = [
        stream("video", "h264"),
        stream("audio", "aac", channels=0, tags={"language": "eng"}),  # a placeholder: nothing to decode
        {"codec_type": "audio", "channels": 2, "codec_tag_string": "[0][0][0][0]"},  # a codec ffmpeg lacks
        stream("audio", "ac3", channels=6, tags={"language": "fre", "title": " Dolby "},
               disposition={"default": 1}),
    ]  # fmt: skip
    assert probe_module._audio_tracks(streams) == (AudioTrack(2, "ac3", 6, "fr", "Dolby", True),)


def test_subtitle_streams_say_which_can_become_webvtt() -> None:
    streams = [
        stream("audio", "aac", channels=2),
        stream("subtitle", "mov_text", tags={"language": "eng"}, disposition={"default": 1}),
        stream("subtitle", "hdmv_pgs_subtitle", tags={"language": "ger"}, disposition={"forced": 1}),
        stream("subtitle", "ass", tags={"language": "und", "title": "Karaoke"}),
        stream("subtitle", "dvd_subtitle"),
    ]
    assert probe_module._subtitle_tracks(streams) == (
        SubtitleTrack(0, "mov_text", "en", None, default=True, forced=False, text=True),
        SubtitleTrack(1, "hdmv_pgs_subtitle", "de", None, default=False, forced=True, text=False),
        SubtitleTrack(2, "ass", None, "Karaoke", default=False, forced=False, text=True),
        SubtitleTrack(3, "dvd_subtitle", None, None, default=False, forced=False, text=False),
    )


def test_the_probe_result_round_trips_through_the_state_as_lists() -> None:
    probed = replace(
        HD,
        audio_tracks=(track(0, "en"), track(1, "fr", "Version française", default=True)),
        subtitle_tracks=(SubtitleTrack(0, "subrip", "fr", None, False, True, True),),
    )
    data = json.loads(json.dumps(probed.to_dict()))
    assert isinstance(probed.to_dict()["audio_tracks"], list)  # DynamoDB's serializer refuses tuples
    assert data["audio_tracks"][1] == {
        "index": 1, "codec": "aac", "channels": 2, "language": "fr", "title": "Version française",
        "default": True,
    }  # fmt: skip
    assert ProbeResult.from_dict(data) == probed
    state = steps.parse(steps.PlanInput, {"source": {"bucket": "b", "key": "k"}, "asset": steps.to_json(
        steps.AssetInfo("c", "a", "p", "n", "video", 1)), "probe": data})  # fmt: skip
    assert state.probe == probed
    # A result from before the track lists: no tracks, and the plan still has the one soundtrack.
    old = {k: v for k, v in data.items() if k not in ("audio_tracks", "subtitle_tracks")}
    assert ProbeResult.from_dict(old).audio_tracks == ()
    assert names(*ProbeResult.from_dict(old).audio_tracks) == [("en", "English", True)]


# ---------------------------------------------------------------- names and defaults
def test_names_come_from_titles_then_languages_then_numbers_and_are_unique() -> None:
    assert names(track(0, "en"), track(1, "en"), track(2, "en", "Commentary"), track(3, "de"), track(4)) == [
        ("en", "English", True),
        ("en", "English 2", False),  # the same language twice (a commentary track) is fine
        ("en", "Commentary", False),
        ("de", "Deutsch", False),
        (None, "Track 5", False),  # several tracks: an untagged one gets no guessed language
    ]
    assert [n for _, n, _ in names(track(0, None, "English 2"), track(1, "en"), track(2, "en"))] == [
        "English 2",
        "English",
        "English 3",
    ]
    assert names(track(0, None, 'Say "hi"\nnow')) == [("en", "Say 'hi' now", True)]  # RFC 8216 quoted-string


def test_exactly_one_default_the_flagged_one_or_the_first() -> None:
    assert [
        d for _, _, d in names(track(0, "en"), track(1, "fr", default=True), track(2, "de", default=True))
    ] == [
        False,
        True,
        False,
    ]
    assert [d for _, _, d in names(track(0, "en"), track(1, "fr"))] == [True, False]


def test_an_only_untagged_track_gets_the_configured_language() -> None:
    assert names(track(0)) == [("en", "English", True)]
    assert names(track(0), settings=EncodeSettings(audio_language="")) == [(None, "Track 1", True)]


def test_the_job_carries_tracks_and_target_through_the_state() -> None:
    probed = replace(HD, audio_tracks=(track(0, "en"), track(3, "fr", default=True)))
    plan = make_plan(probed, SETTINGS, generation="g", work_prefix="w/")
    job = plan.job
    assert job.audio_tracks == [
        AudioRendition(0, "en", "English", False, 2),
        AudioRendition(3, "fr", "Français", True, 2),
    ]
    assert (job.loudness_lufs, job.audio_language) == (-16.0, "fr")
    assert EncodePlan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan
    off = make_plan(probed, EncodeSettings(loudness_lufs=None), generation="g", work_prefix="w/").job
    assert EncodeJob.from_dict(json.loads(json.dumps(off.to_dict()))).loudness_lufs is None


# ---------------------------------------------------------------- settings
@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, -16.0), ({"AUDIO_LOUDNESS_LUFS": ""}, None), ({"AUDIO_LOUDNESS_LUFS": " "}, None),
     ({"AUDIO_LOUDNESS_LUFS": "-23"}, -23.0)],
)  # fmt: skip
def test_loudness_target_setting(env: dict[str, str], expected: float | None) -> None:
    assert EncodeSettings.from_env(env).loudness_lufs == expected


@pytest.mark.parametrize("value", ["loud", "-3", "-80", "nan"])
def test_a_loudness_target_ffmpeg_would_refuse_fails_at_cold_start(value: str) -> None:
    with pytest.raises(ValueError, match="AUDIO_LOUDNESS_LUFS"):
        EncodeSettings.from_env({"AUDIO_LOUDNESS_LUFS": value})


# ---------------------------------------------------------------- loudness passes
def test_each_ebur128_summary_is_traced_to_its_stream() -> None:
    """ffmpeg names a parsed filter by its place in -filter_complex; whatever order ffmpeg-python writes the
    chains in, the labels lead each meter back to its 0:a:N."""
    source = ffmpeg.input("file:x.mp4")
    outputs = [
        stereo(source[f"a:{n}"]).filter("ebur128", peak="true").output("-", f="null") for n in (4, 0, 2)
    ]
    args = ffmpeg.merge_outputs(*outputs).compile()
    chains = args[args.index("-filter_complex") + 1].split(";")
    owners = _filter_owners(args, "ebur128")
    assert sorted(owners.values()) == [0, 2, 4]
    for position, stream_index in owners.items():
        assert chains[position].startswith("[s") and "ebur128" in chains[position]
        feeding = chains[position][1 : chains[position].index("]")]
        (source_chain,) = [c for c in chains if c.endswith(f"[{feeding}]")]
        assert source_chain.startswith(f"[0:a:{stream_index}]")


def test_every_track_is_measured_from_one_decode_of_the_source() -> None:
    tracks = [AudioRendition(n, None, f"Track {n}", n == 0, 2) for n in (0, 1, 2)]
    args = measurement_graph(Path("lecture.mkv"), tracks).compile()
    assert args.count("-i") == 1  # one input: ffmpeg demuxes and decodes it once for every meter
    assert sorted(_filter_owners(args, "ebur128").values()) == [0, 1, 2]
    assert args.count("null") == 3
    # The frame lines (ten a second: ~150,000 for a 4-hour track) stay below the printed level.
    assert args[args.index("-filter_complex") + 1].count("ebur128=framelog=verbose:peak=true") == 3


# What ffmpeg 5.1 prints when a meter is torn down (the figures of a -34.8 LUFS tone; a silent track).
SUMMARY = """[Parsed_ebur128_3 @ 0x55d9bc03ad80] Summary:

  Integrated loudness:
    I:         -34.8 LUFS
    Threshold: -44.8 LUFS

  Loudness range:
    LRA:         2.5 LU
    Threshold: -54.8 LUFS
    LRA low:   -36.1 LUFS
    LRA high:  -33.6 LUFS

  True peak:
    Peak:      -34.1 dBFS
"""
SILENT_SUMMARY = """
  Integrated loudness:
    I:         -70.0 LUFS
    Threshold:   0.0 LUFS

  Loudness range:
    LRA:         0.0 LU
    Threshold:   0.0 LUFS
    LRA low:     0.0 LUFS
    LRA high:    0.0 LUFS

  True peak:
    Peak:       -inf dBFS
"""


def test_the_summary_figures_are_read_and_silence_is_silent() -> None:
    body = SUMMARY.split("Summary:", 1)[1]
    assert _measurement(body, 0) == LoudnessMeasurement(-34.8, -34.1, 2.5, -44.8)
    silent = _measurement(SILENT_SUMMARY, 1)
    assert silent.silent and silent.input_i == silent.input_tp == -math.inf
    with pytest.raises(LoudnessMeterError, match="audio stream 2"):
        _measurement("  Integrated loudness:\n    I: -23.0 LUFS\n", 2)


def measurement(i: float, tp: float = -10.0, lra: float = 3.0) -> LoudnessMeasurement:
    return LoudnessMeasurement(i, tp, lra, i - 10)


def test_the_second_pass_is_one_gain_from_what_the_first_measured() -> None:
    job = EncodeJob("g", "w/", 10.0, False, True, loudness_lufs=-16.0)
    rendition = AudioRendition(0, "en", "English", True, 2)
    loudness, filters = loudness_plan(job, rendition, measurement(-30.456, tp=-20.1))
    assert loudness is not None
    assert (loudness.input_i, loudness.target_i, loudness.mode, loudness.note) == (
        -30.46,
        -16.0,
        "linear",
        None,
    )
    assert filters == [("volume", {"volume": "14.46dB"})]
    # Louder than the target: the gain is negative, and no peak can pass the limit.
    _, filters = loudness_plan(job, rendition, measurement(-8.0, tp=-0.2))
    assert filters == [("volume", {"volume": "-8.00dB"})]


def test_peaks_the_gain_would_push_over_the_limit_are_limited() -> None:
    """-10 dBTP + 14 dB of gain reaches +4 dBTP: the gain stays (the lecture keeps its level and its
    dynamics), and a limiter holds the peaks 2 dB under -1.5 dBTP, what AAC's overshoot needs."""
    job = EncodeJob("g", "w/", 10.0, False, True, loudness_lufs=-16.0)
    rendition = AudioRendition(0, "en", "English", True, 2)
    peaky, filters = loudness_plan(job, rendition, measurement(-30.0, tp=-10.0))
    assert peaky is not None and (peaky.mode, peaky.note, peaky.target_i) == ("limited", None, -16.0)
    assert filters == [("volume", {"volume": "14.00dB"}), ("alimiter", LIMITER)]
    assert float(LIMITER["limit"]) == pytest.approx(10 ** (-3.5 / 20), abs=1e-4) and LIMITER["level"] == 0
    # The summary prints one decimal: a peak printed -15.6 may be -15.55, which 14 dB takes to -1.55,
    # under the limit; -15.5 may be -15.45: over it by a rounding, so limited.
    assert loudness_plan(job, rendition, measurement(-30.0, tp=-15.6))[1] == [
        ("volume", {"volume": "14.00dB"})
    ]
    assert loudness_plan(job, rendition, measurement(-30.0, tp=-15.5))[0].mode == "limited"  # type: ignore[union-attr]
    # A wide loudness range alone changes nothing: a lecture keeps its quiet questions and loud answers.
    wide, filters = loudness_plan(job, rendition, LoudnessMeasurement(-30.0, -20.0, 25.0, -40.0))
    assert wide is not None and wide.mode == "linear" and len(filters) == 1


@pytest.mark.parametrize("level", [-math.inf, SILENCE_LUFS, -85.0])
def test_silence_is_not_normalised(level: float) -> None:
    job = EncodeJob("g", "w/", 10.0, False, True, loudness_lufs=-16.0)
    loudness, filters = loudness_plan(
        job, AudioRendition(1, "fr", "Français", False, 2), measurement(level, level)
    )
    assert filters == []
    assert loudness is not None and loudness.target_i is None and loudness.note is not None
    assert "'Français' is silent" in loudness.note
    assert json.dumps(loudness.to_dict())  # no -Infinity in the manifest


def test_normalisation_off_measures_nothing() -> None:
    job = EncodeJob("g", "w/", 10.0, False, True, loudness_lufs=None)
    assert loudness_plan(job, AudioRendition(0, "en", "English", True, 2), None) == (None, [])


# ---------------------------------------------------------------- the master
def audio_job(*tracks: AudioRendition) -> EncodeJob:
    return EncodeJob("g", "", 12.0, False, True, audio_tracks=list(tracks))


def manifests(count: int, sizes: tuple[int, ...] = (90_000, 100_000, 110_000)) -> list[AudioManifest]:
    return [
        AudioManifest(
            "mp4a.40.2", 2, [(f"seg-g-{n:05d}.ts", 6.0, sizes[t]) for n in range(2)], t, f"audio/{t}"
        )
        for t in range(count)
    ]


def test_an_audio_lecture_with_several_tracks_plays_the_default_and_offers_the_others() -> None:
    job = audio_job(
        AudioRendition(0, "en", "English", False, 2),
        AudioRendition(1, "fr", "Français", True, 2),
        AudioRendition(2, None, "Track 3", False, 6),
    )
    tracks = manifests(3)
    result = package(job, [], load_audio_manifests(json.loads(json.dumps(dump_audio_manifests(tracks)))))
    lines = result.playlists["master.m3u8"].splitlines()
    assert [line for line in lines if line.startswith("#EXT-X-MEDIA")] == [
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",LANGUAGE="en",NAME="English",DEFAULT=NO,AUTOSELECT=YES,'
        'CHANNELS="2",URI="audio/0/index.m3u8"',
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",LANGUAGE="fr",NAME="Français",DEFAULT=YES,AUTOSELECT=YES,'
        'CHANNELS="2",URI="audio/1/index.m3u8"',
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Track 3",DEFAULT=NO,AUTOSELECT=YES,'
        'CHANNELS="2",URI="audio/2/index.m3u8"',
    ]
    (variant,) = result.variants
    assert variant.playlist == "audio/1/index.m3u8"  # the default track is the variant
    assert variant.bandwidth == math.ceil(110_000 * 8 / 6)  # and its figures cover the largest rendition
    assert lines[lines.index(f"{variant.playlist}") - 1].endswith(',CODECS="mp4a.40.2",AUDIO="audio"')
    assert [a.default for a in result.audio] == [False, True, False]


def test_a_group_that_breaks_rfc_8216_is_refused() -> None:
    twins = audio_job(
        AudioRendition(0, "en", "English", True, 2), AudioRendition(1, "en", "English", False, 2)
    )
    with pytest.raises(EncoderOutputError, match="not unique"):
        package(twins, [], manifests(2))
    stray = audio_job(AudioRendition(0, "en", "English", True, 2))
    with pytest.raises(EncoderOutputError, match="track 1; the plan has 1"):
        package(stray, [], manifests(2))


def test_a_state_with_an_unparseable_track_names_it() -> None:
    plan = make_plan(HD, SETTINGS, generation="g", work_prefix="w/").to_dict()
    plan["job"]["audioTracks"] = [{"index": 0}]
    with pytest.raises(StepContractError, match="plan"):
        steps.parse(steps.PackageInput, {"source": {"bucket": "b", "key": "k"},
                    "asset": steps.to_json(steps.AssetInfo("c", "a", "p", "n", "video", 1)),
                    "probe": HD.to_dict(), "plan": plan})  # fmt: skip
