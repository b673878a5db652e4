"""Resolving what a lesson links to: the published URL, relative to the lesson page."""

from __future__ import annotations

from pipeline.keys import asset_id_for
from pipeline.usecases.text import CourseState, make_resolver


def state(files: set[str], assets: dict[str, dict[str, object]] | None = None) -> CourseState:
    return CourseState(prefix="courses/c1/", record=None, assets=assets or {}, files=files)


def test_image_link_points_at_the_published_variant_with_every_width() -> None:
    aid = asset_id_for("images/diagram.png")
    target = make_resolver("lessons/01.md", state({"images/diagram.png"}))("../images/diagram.png")
    assert target is not None and target.kind == "image" and not target.missing
    assert target.href == f"../images/{aid}/640.webp"
    assert target.srcset == tuple((f"../images/{aid}/{w}.webp", w) for w in (320, 640, 1280))


def test_published_image_widths_win_over_prediction() -> None:
    aid = asset_id_for("images/small.png")
    details = {"variants": [{"key": f"courses/c1/images/{aid}/320.webp", "width": 300}]}
    course = state({"images/small.png"}, {"images/small.png": {"details": details}})
    target = make_resolver("lessons/01.md", course)("../images/small.png")
    assert target is not None and target.srcset == ((f"../images/{aid}/320.webp", 300),)


def test_video_link_points_at_master_playlist_poster_and_sprites() -> None:
    aid = asset_id_for("media/welcome.mp4")
    details = {
        "posters": [
            f"courses/c1/media/{aid}/thumbs/poster-320.jpg",
            f"courses/c1/media/{aid}/thumbs/poster-640.jpg",
        ],
        "sprites": {"vtt": f"courses/c1/media/{aid}/thumbs/sprite.vtt"},
    }
    course = state({"media/welcome.mp4"}, {"media/welcome.mp4": {"details": details}})
    target = make_resolver("lesson.md", course)("media/welcome.mp4#t=10")
    assert target is not None and target.kind == "video"
    assert target.href == f"../media/{aid}/hls/master.m3u8"
    assert target.poster == f"../media/{aid}/thumbs/poster-640.jpg"
    assert target.thumbnails == f"../media/{aid}/thumbs/sprite.vtt"


def test_unpublished_video_gets_the_poster_it_will_have() -> None:
    aid = asset_id_for("media/later.mov")
    target = make_resolver("lessons/01.md", state({"media/later.mov"}))("../media/later.mov")
    assert target is not None and not target.missing
    assert target.poster == f"../media/{aid}/thumbs/poster-1280.jpg"
    assert target.thumbnails == f"../media/{aid}/thumbs/sprite.vtt"


def test_lesson_links_keep_their_fragment_and_unuploaded_files_are_missing() -> None:
    aid = asset_id_for("lessons/02 encoding.md")
    target = make_resolver("lessons/01.md", state(set()))("02%20encoding.md#ladder")
    assert target is not None and target.kind == "page" and target.missing
    assert target.href == f"{aid}.html#ladder"


def test_links_that_leave_the_course_or_are_absolute_are_not_course_files() -> None:
    resolve = make_resolver("lessons/01.md", state(set()))
    for link in ("../../etc/passwd", "https://example.com/a.png", "/abs.png", "#section", "mailto:a@b.c",
                 "javascript:alert(1)", "//evil.example/x.png"):  # fmt: skip
        assert resolve(link) is None, link
    other = resolve("notes.rtf")
    assert other is not None and other.kind == "file" and other.missing
