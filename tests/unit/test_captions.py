"""Caption files as editors, transcription services and Windows tools write them (issue 13, first step)."""

from __future__ import annotations

import pytest

from pipeline.errors import CaptionError
from pipeline.media.captions import (
    Cue,
    language_tag,
    parse_captions,
    sanitize_cue_text,
    sidecar_of,
    to_webvtt,
)

SRT = (
    "1\r\n00:00:01,000 --> 00:00:03,500\r\nWelcome to the course.\r\n\r\n"
    "2\r\n00:00:04,000 --> 00:00:06,000\r\n"
    '<font color="#ffff00">Caf\u00e9</font> &amp; <i>cr\u00e8me</i>\r\n\r\n'
)


def test_a_windows_srt_with_bom_and_crlf_becomes_clean_webvtt() -> None:
    captions = parse_captions(b"\xef\xbb\xbf" + SRT.encode(), "lecture.fr.srt")
    assert captions.encoding == "utf-8"
    assert captions.warnings == [  # once per file, with the line of the first
        'lecture.fr.srt, line 7: <font color="#ffff00"> is not WebVTT cue markup; removed (its text is '
        "kept), here and in any later cue"
    ]
    assert [(c.start_ms, c.end_ms) for c in captions.cues] == [(1000, 3500), (4000, 6000)]
    assert captions.cues[1].text == "Café &amp; <i>crème</i>"  # <font> dropped, its text kept
    vtt = to_webvtt(captions.cues)
    assert vtt.startswith("WEBVTT\n\n00:00:01.000 --> 00:00:03.500\nWelcome to the course.\n")
    # What leaves parses again to the same cues (a player reads what we write).
    again = parse_captions(vtt.encode(), "lecture.fr.vtt")
    assert [(c.start_ms, c.end_ms, c.text) for c in again.cues] == [
        (c.start_ms, c.end_ms, c.text) for c in captions.cues
    ]


def test_cp1252_and_utf16_are_converted_and_said() -> None:
    cp = parse_captions(SRT.encode("cp1252"), "a.srt")
    assert cp.encoding == "cp1252" and "Windows-1252" in cp.warnings[0]
    assert cp.cues[1].text.startswith("Café")
    utf16 = parse_captions(SRT.encode("utf-16"), "a.srt")
    assert utf16.encoding == "utf-16" and utf16.cues[1].text.startswith("Café")


def test_webvtt_header_notes_identifiers_settings_and_short_timestamps() -> None:
    vtt = (
        "WEBVTT - lecture\nKind: captions\n\nNOTE written by hand\n\n"
        "intro\n00:01.000 --> 00:02.000 align:start position:10% evil:1\n<v Ana>Hello</v>\n\n"
        "01:00:00.000 --> 01:00:01.250\nAn hour in\n"
    )
    cues = parse_captions(vtt.encode(), "a.vtt").cues
    assert cues[0] == Cue(1000, 2000, "<v Ana>Hello</v>", 7, "align:start position:10%")
    assert cues[1].start_ms == 3_600_000 and cues[1].end_ms == 3_601_250


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("<script>alert(1)</script>hi", "alert(1)hi"),  # tags go, text stays (it is text in a cue)
        ('<b onclick="x">bold</b>', "<b>bold</b>"),
        ("<c.yellow.bg_blue>x</c>", "<c.yellow.bg_blue>x</c>"),
        ('<v Bob"><img src=x>>hi</v>', '<v Bob">&gt;hi</v>'),
        ("a < b", "a &lt; b"),
        ("{\\an8}top of the screen", "top of the screen"),
        ("fish & chips", "fish &amp; chips"),
        ("<00:00:01.500>karaoke", "<00:00:01.500>karaoke"),
        ("<lang en-GB>colour</lang>", "<lang en-GB>colour</lang>"),
    ],
)
def test_only_webvtt_cue_markup_survives(raw: str, clean: str) -> None:
    assert sanitize_cue_text(raw) == clean
    assert "<img" not in sanitize_cue_text(raw) and "onclick" not in sanitize_cue_text(raw)


def test_unordered_overlapping_and_late_cues_are_repaired_with_line_numbers() -> None:
    srt = (
        "1\n00:00:05,000 --> 00:00:07,000\nsecond\n\n"
        "2\n00:00:01,000 --> 00:00:05,500\nfirst, overlapping\n\n"
        "3\n00:00:09,000 --> 00:00:12,000\nruns past the end\n\n"
        "4\n00:00:20,000 --> 00:00:21,000\nafter the end\n"
    )
    captions = parse_captions(srt.encode(), "a.srt", duration_s=10.0)
    assert [(c.start_ms, c.end_ms, c.text) for c in captions.cues] == [
        (1000, 5000, "first, overlapping"),
        (5000, 7000, "second"),
        (9000, 10000, "runs past the end"),
    ]
    text = "\n".join(captions.warnings)
    assert "out of order" in text and "a.srt, line 6: the cue overlaps" in text
    assert "a.srt, line 14: 1 cue(s) start after the video ends" in text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"1\n00:00:01,000 -> 00:00:02,000\nx\n", "line 2: '00:00:01,000 -> 00:00:02,000' is not a timing"),
        (b"1\n00:00:05,000 --> 00:00:02,000\nx\n", "line 2: the cue ends before it starts"),
        (b"1\n00:00:61,000 --> 00:00:62,000\nx\n", "line 2:"),
        (b"hello\nworld\n", "line 1: expected a cue number or a timing line"),
        (b"WEBVTT\n\n", "no cues found"),
    ],
)
def test_unreadable_files_name_the_line(data: bytes, message: str) -> None:
    with pytest.raises(CaptionError, match=message.replace("(", r"\(")):
        parse_captions(data, "a.srt")


def test_sidecar_names_attach_by_stem_with_a_bcp47_language() -> None:
    assert sidecar_of("media/lecture.en.srt") == sidecar_of("media/lecture.EN.vtt")
    found = sidecar_of("media/Lecture 1.pt-br.vtt")
    assert found is not None and (found.stem, found.language) == ("media/Lecture 1", "pt-BR")
    assert language_tag("zh-hant", "x") == "zh-Hant" and language_tag("yue", "x") == "yue"
    assert sidecar_of("media/lecture.mp4") is None and sidecar_of("media/lecture.srt") is None
    with pytest.raises(CaptionError, match="'english' is not a language tag"):
        sidecar_of("media/lecture.english.srt")
    with pytest.raises(CaptionError, match="'xx' is not a language tag"):
        sidecar_of("media/lecture.xx.vtt")
