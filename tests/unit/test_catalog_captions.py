"""The catalog lists a published video's caption languages: its own subtitle streams and the caption
files published for it (which attach after the video's item is written), for learners' apps too."""

from __future__ import annotations

from typing import Any

from pipeline.catalog.query import CourseItems
from pipeline.catalog.views import learner_course, operator_course
from pipeline.keys import asset_id_for

VIDEO = asset_id_for("media/talk.mp4")
MASTER = f"courses/c1/media/{VIDEO}/hls/master.m3u8"


def item(path: str, kind: str, status: str, details: dict[str, Any], outputs: list[str]) -> dict[str, Any]:
    return {"assetId": asset_id_for(path), "path": path, "kind": kind, "status": status,
            "details": details, "outputs": outputs}  # fmt: skip


def course(caption_status: str) -> CourseItems:
    lesson = {"id": "talk", "file": "talk.md", "video": "media/talk.mp4"}
    record = {
        "courseId": "c1", "title": "T", "lang": "en", "status": "PUBLISHED",
        "sections": [{"title": "S", "lessons": [lesson]}],
    }  # fmt: skip
    video_details = {"hls": {"master": MASTER, "subtitles": [
        {"language": "es", "name": "Español", "kind": "subtitles", "forced": False, "folder": "embedded-0"},
    ]}}  # fmt: skip
    caption = {"caption": {"language": "fr", "label": "Français", "videos": ["media/talk.mp4"]}}
    vtt = f"courses/c1/captions/{asset_id_for('media/talk.fr.srt')}/track.vtt"
    chapters = {
        "caption": {"language": "", "label": "Chapters", "chapters": True, "videos": ["media/talk.mp4"]}
    }
    return CourseItems(
        "c1",
        record,
        [
            item("talk.md", "lesson", "PUBLISHED", {}, ["courses/c1/lessons/talk.html"]),
            item("media/talk.mp4", "video", "PUBLISHED", video_details, [MASTER]),
            item("media/talk.fr.srt", "caption", caption_status, caption, [vtt]),
            item("media/talk.chapters.vtt", "caption", "PUBLISHED", chapters, ["x.vtt"]),
        ],
    )


def test_embedded_and_file_captions_are_listed_for_learners() -> None:
    video = learner_course(course("PUBLISHED"))["sections"][0]["lessons"][0]["video"]
    assert [(c["language"], c["label"], c["source"]) for c in video["captions"]] == [
        ("es", "Español", "embedded"),
        ("fr", "Français", "file"),
    ]
    assert video["captions"][0]["vtt"] == f"/courses/c1/media/{VIDEO}/hls/subs/embedded-0/track.vtt"
    assert video["captions"][1]["vtt"].startswith("/courses/c1/captions/")


def test_a_caption_file_that_is_not_published_is_not_listed() -> None:
    video = operator_course(course("FAILED"))["sections"][0]["lessons"][0]["video"]
    assert [c["language"] for c in video["captions"]] == ["es"]
