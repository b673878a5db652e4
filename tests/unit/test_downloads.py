"""Downloads, the parts without ffmpeg: the manifest's ``downloads`` flags, which files a course allows,
the rung offered, the attachment header, the catalog details' merge and the links a lesson page shows."""

from __future__ import annotations

import email.message
import email.utils
import posixpath
from typing import Any

import pytest

from pipeline.catalog.details import Details, merge
from pipeline.errors import ManifestError
from pipeline.media.downloads import RungSize, pick_rung, playlist_segments
from pipeline.media.encode import EncoderOutputError
from pipeline.publish import attachment_disposition
from pipeline.text.links import DownloadLink, Target
from pipeline.text.manifest import parse_manifest
from pipeline.text.player import downloads_html, player_html
from pipeline.usecases.downloads import download_links, downloads_wanted, size_label

COURSE = """\
id: c1
title: Course
{course_flag}sections:
  - title: One
    lessons:
      - id: intro
        file: lessons/intro.md
        video: media/intro.mp4
{lesson_flag}      - id: other
        file: lessons/other.md
"""


def manifest(course_flag: str = "", lesson_flag: str = "") -> bytes:
    return COURSE.format(course_flag=course_flag, lesson_flag=lesson_flag).encode()


# ---------------------------------------------------------------- course.yaml
def test_downloads_are_off_unless_the_manifest_turns_them_on() -> None:
    course = parse_manifest(manifest())
    assert course.downloads is False
    assert [course.downloads_for(lesson) for lesson in course.lessons()] == [False, False]
    assert course.to_dict()["downloads"] is False
    assert "downloads" not in course.to_dict()["sections"][0]["lessons"][0]  # type: ignore[index]


def test_the_lesson_setting_wins_over_the_course_setting() -> None:
    course = parse_manifest(manifest("downloads: true\n", "        downloads: false\n"))
    assert course.downloads is True
    assert [course.downloads_for(lesson) for lesson in course.lessons()] == [False, True]
    record = course.to_dict()
    assert record["downloads"] is True
    assert record["sections"][0]["lessons"][0]["downloads"] is False  # type: ignore[index]

    only_lesson = parse_manifest(manifest(lesson_flag="        downloads: true\n"))
    assert [only_lesson.downloads_for(lesson) for lesson in only_lesson.lessons()] == [True, False]


@pytest.mark.parametrize(
    ("course_flag", "lesson_flag", "line", "what"),
    [
        ('downloads: "yes"\n', "", 3, "the course's `downloads` is 'yes'"),
        ("downloads: 1\n", "", 3, "the course's `downloads` is 1"),
        ("", "        downloads: off please\n", 9, "the `downloads` of lesson 'intro' is 'off please'"),
        ("", "        downloads: [true]\n", 9, "the `downloads` of lesson 'intro' is [True]"),
    ],
)
def test_a_downloads_flag_that_is_not_a_boolean_names_its_line(
    course_flag: str, lesson_flag: str, line: int, what: str
) -> None:
    with pytest.raises(ManifestError) as caught:
        parse_manifest(manifest(course_flag, lesson_flag))
    message = str(caught.value)
    assert message.startswith(f"course.yaml, line {line}: {what}")
    assert "true or false" in message


def test_a_misspelt_downloads_key_is_suggested() -> None:
    with pytest.raises(ManifestError, match="Did you mean `downloads`"):
        parse_manifest(manifest("download: true\n"))


def record(course: bool | None = None, lesson: bool | None = None) -> dict[str, Any]:
    """A course record as BuildCourse stores it (``path``/``videoLink`` added to each lesson)."""
    intro: dict[str, Any] = {"id": "intro", "file": "lessons/intro.md", "path": "lessons/intro.md"}
    intro |= {"video": "media/intro.mp4", "videoLink": "../media/intro.mp4"}
    if lesson is not None:
        intro["downloads"] = lesson
    other = {"id": "other", "file": "lessons/other.md", "path": "lessons/other.md"}
    out: dict[str, Any] = {"sections": [{"title": "One", "lessons": [intro, other]}]}
    if course is not None:
        out["downloads"] = course
    return out


@pytest.mark.parametrize(
    ("course", "lesson", "intro", "linked"),
    [
        (None, None, False, False),
        (False, None, False, False),
        (True, None, True, True),
        (True, False, False, True),  # the lesson's video: off; a video only linked in Markdown: the course's
        (False, True, True, False),
        (None, True, True, False),
    ],
)
def test_which_files_the_course_record_allows(
    course: bool | None, lesson: bool | None, intro: bool, linked: bool
) -> None:
    assert downloads_wanted(record(course, lesson), "media/intro.mp4") is intro
    assert downloads_wanted(record(course, lesson), "media/linked.mp4") is linked
    assert downloads_wanted(None, "media/intro.mp4") is False


def test_any_lesson_that_shows_the_video_may_allow_it() -> None:
    both = record(True, False)
    second = dict(both["sections"][0]["lessons"][0], id="again", path="again.md", videoLink="media/intro.mp4")
    second.pop("downloads")
    both["sections"][0]["lessons"].append(second)  # course-level true applies to this one
    assert downloads_wanted(both, "media/intro.mp4") is True


# ---------------------------------------------------------------- the rung and the playlists
@pytest.mark.parametrize(
    ("sizes", "chosen"),
    [
        ([(1920, 1080), (1280, 720), (960, 540), (640, 360)], 1),
        ([(1920, 1080), (960, 540), (640, 360)], 1),  # the highest under 720p
        ([(720, 1280), (540, 960)], 0),  # portrait: 720p is the short side
        ([(3840, 2160), (2560, 1440), (1920, 1080)], 2),  # all larger: the nearest
        ([(416, 234)], 0),
        ([(None, None)], None),  # an audio lecture has no picture
        ([], None),
    ],
)
def test_the_offered_rung(sizes: list[tuple[int | None, int | None]], chosen: int | None) -> None:
    assert pick_rung([RungSize(w, h) for w, h in sizes]) == chosen


def test_only_plain_segment_names_of_the_playlists_folder_are_fetched() -> None:
    text = (
        "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.0,\nseg-ab12-00000.ts\n#EXTINF:2.0,\nseg-ab12-00001.ts\n"
    )
    assert playlist_segments(text) == ["seg-ab12-00000.ts", "seg-ab12-00001.ts"]
    for bad in ("../seg.ts", "a/seg.ts", "https://evil.example/seg.ts", "..ts", "/abs.ts"):
        with pytest.raises(EncoderOutputError, match="not a segment"):
            playlist_segments(f"#EXTM3U\n#EXTINF:6.0,\n{bad}\n")
    with pytest.raises(EncoderOutputError, match="no segments"):
        playlist_segments("#EXTM3U\n#EXT-X-ENDLIST\n")


# ---------------------------------------------------------------- Content-Disposition
def parsed_filename(header: str) -> str:
    """``filename*`` decoded by the stdlib's RFC 2231 parser (RFC 8187 is its HTTP profile): the name
    browsers save the file as."""
    message = email.message.Message()
    message["Content-Disposition"] = header
    params = message.get_params(header="content-disposition") or []
    (extended,) = [value for name, value in params if name == "filename" and isinstance(value, tuple)]
    return email.utils.collapse_rfc2231_value(extended)


@pytest.mark.parametrize(
    ("name", "fallback"),
    [
        ("lecture.mp4", "lecture.mp4"),
        ("Leçon 1 – intro.mp4", "Lecon 1 intro.mp4"),
        ("講義.m4a", "download.m4a"),
        ('say "hi"\\now.mp4', "say _hi__now.mp4"),
        ("100% done.mp4", "100_ done.mp4"),
        ("Ελληνικά μάθημα.mp4", "download.mp4"),
    ],
)
def test_the_attachment_header_is_ascii_with_the_real_name_in_utf8(name: str, fallback: str) -> None:
    header = attachment_disposition(name)
    assert header.isascii()
    assert header.startswith(f"attachment; filename=\"{fallback}\"; filename*=UTF-8''")
    assert parsed_filename(header) == name
    assert "\n" not in header and "\r" not in header


# ---------------------------------------------------------------- catalog details
def test_the_tasks_warnings_are_kept_side_by_side() -> None:
    hls = Details(hls={"master": "m.m3u8"}, warnings=["loudness"])
    downloads = Details(downloads={"m4a": {"key": "k.m4a", "bytes": 3}}, warnings=["too long"])
    merged = merge([hls, downloads, Details(posters=["p.jpg"])])
    assert merged["warnings"] == ["loudness", "too long"]
    assert merged["downloads"] == {"m4a": {"key": "k.m4a", "bytes": 3}} and merged["posters"] == ["p.jpg"]
    assert "warnings" not in merge([Details(posters=[])])


# ---------------------------------------------------------------- the lesson page
ITEM = {
    "status": "PUBLISHED",
    "details": {
        "downloads": {
            "mp4": {
                "key": "courses/c1/media/intro-1a2b/downloads/Leçon 1 #2.mp4",
                "bytes": 12_345_678,
                "width": 1280,
                "height": 720,
            },
            "m4a": {"key": "courses/c1/media/intro-1a2b/downloads/Leçon 1 #2.m4a", "bytes": 4_100_000},
        }
    },
}


def href(key: str) -> str:
    return posixpath.relpath(key.removeprefix("courses/c1/"), "lessons")


def test_the_page_links_both_files_with_their_format_and_size() -> None:
    links = download_links("media/intro.mp4", record(True), ITEM, href)
    assert links == (
        DownloadLink("Video (MP4, 720p, 12.3 MB)", "../media/intro-1a2b/downloads/Le%C3%A7on%201%20%232.mp4"),
        DownloadLink("Audio (M4A, 4.1 MB)", "../media/intro-1a2b/downloads/Le%C3%A7on%201%20%232.m4a"),
    )


def test_no_links_when_the_manifest_no_longer_allows_them_or_the_video_is_gone() -> None:
    assert download_links("media/intro.mp4", record(False), ITEM, href) == ()
    assert download_links("media/intro.mp4", None, ITEM, href) == ()
    assert download_links("media/intro.mp4", record(True), {**ITEM, "status": "DELETED"}, href) == ()
    assert download_links("media/intro.mp4", record(True), {"status": "PUBLISHED", "details": {}}, href) == ()


@pytest.mark.parametrize(
    ("size", "label"), [(999, "1 KB"), (99_499, "99 KB"), (4_100_000, "4.1 MB"), (2.5e9, "2.5 GB")]
)
def test_size_labels(size: float, label: str) -> None:
    assert size_label(int(size)) == label


def target(*downloads: DownloadLink) -> Target:
    return Target("video", "media/intro.mp4", "../media/intro-1a2b/hls/master.m3u8", downloads=downloads)


def test_downloads_follow_the_player_as_links_the_browser_saves() -> None:
    html = player_html(target(DownloadLink("Video (MP4, 720p, 1.0 MB)", "../d/a%20b.mp4")), title="Intro")
    figure, _, rest = html.partition("</figure>")
    assert (
        rest == '<p class="cp-downloads"><a href="../d/a%20b.mp4" download>Video (MP4, 720p, 1.0 MB)</a></p>'
    )
    assert player_html(target(), title="Intro").endswith("</figure>")


def test_download_links_are_escaped_and_unsafe_urls_dropped() -> None:
    html = downloads_html(
        target(
            DownloadLink('<img src=x onerror="alert(1)">', '../d/x.mp4" onclick="evil'),
            DownloadLink("Bad", "javascript:alert(1)"),
            DownloadLink("Other host", "//evil.example/x.mp4"),
        )
    )
    assert html == (
        '<p class="cp-downloads"><a href="../d/x.mp4&quot; onclick=&quot;evil" download>'
        '&lt;img src=x onerror="alert(1)"&gt;</a></p>'
    )
    assert downloads_html(target(DownloadLink("Bad", "javascript:alert(1)"))) == ""
