"""Chapters: front matter ``chapters:`` (or a ``lecture.chapters.vtt`` beside the video) become a WebVTT
chapters track on the lesson's player and a chapter list whose buttons seek; wrong entries are named."""

from __future__ import annotations

import base64
import re

import pytest

from pipeline.errors import LessonError
from pipeline.text.lesson import render_lesson
from pipeline.text.lesson.front_matter import parse_chapters
from pipeline.text.links import Chapter, Target
from pipeline.text.player import chapters_vtt, player_html

VIDEO = Target("video", "media/talk.mp4", "../media/talk/hls/master.m3u8")


def resolver(url: str) -> Target | None:
    return VIDEO if url.endswith("talk.mp4") else None


def test_front_matter_forms_and_times() -> None:
    chapters = parse_chapters(
        [{"time": "0:00", "title": "Intro"}, "1:30 The ladder", {"time": 3723, "title": "End"}],
        name="a.md",
        line=2,
    )
    assert chapters == (Chapter(0, "Intro"), Chapter(90_000, "The ladder"), Chapter(3_723_000, "End"))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("intro", "must be a list"),
        ([{"time": "1:30"}], "chapter 1 needs a `time`"),
        ([{"time": "soon", "title": "X"}], "is not a time"),
        ([{"time": "2:00", "title": "B"}, {"time": "1:00", "title": "A"}], "chapter 2 does not start after"),
    ],
)
def test_wrong_chapters_name_the_entry_and_line(value: object, message: str) -> None:
    with pytest.raises(LessonError, match=rf"a\.md, line 4: .*{message}"):
        parse_chapters(value, name="a.md", line=4)


def test_the_lessons_player_gets_a_chapters_track_and_list() -> None:
    lesson = render_lesson(
        b"---\nchapters:\n  - time: 0:00\n    title: Hello <there>\n  - time: 1:05\n    title: Ladder\n---\n"
        b"# Talk\n\n[The talk](../media/talk.mp4)\n",
        name="lessons/talk.md",
        resolve=resolver,
    )
    html = lesson.body_html
    assert html.index("cp-player") < html.index('class="cp-chapters"')
    assert re.search(r'data-cp-seek="65"[^>]*>1:05</button><span class="cp-cue-text">Ladder', html)
    assert "Hello &lt;there&gt;" in html and "<there>" not in html
    track = re.search(
        r'<track kind="chapters" label="Chapters" src="data:text/vtt;charset=utf-8;base64,([^"]+)"', html
    )
    assert track is not None
    vtt = base64.b64decode(track.group(1)).decode()
    assert "00:00:00.000 --> 00:01:05.000\nHello &lt;there&gt;" in vtt
    assert not lesson.warnings


def test_chapters_without_a_video_are_a_warning() -> None:
    lesson = render_lesson(b"---\nchapters: ['0:00 Intro']\n---\n# Text only\n", name="lessons/t.md")
    assert any("plays no video" in w for w in lesson.warnings)


def test_a_published_chapters_file_is_the_track() -> None:
    target = Target(
        "video",
        "media/talk.mp4",
        "m.m3u8",
        chapters=(Chapter(0, "A"),),
        chapters_src="../captions/c/track.vtt",
    )
    assert '<track kind="chapters" label="Chapters" src="../captions/c/track.vtt" default>' in player_html(
        target, title="T"
    )
    assert chapters_vtt(target).startswith("WEBVTT\n\n00:00:00.000 --> 24:00:00.000\nA")
