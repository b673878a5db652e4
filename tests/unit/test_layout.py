from __future__ import annotations

from pipeline import layout
from pipeline.keys import asset_id_for


def test_relative_image_link_points_at_the_published_variant() -> None:
    aid = asset_id_for("images/diagram.png")
    assert layout.relative_link("lessons/01.md", "../images/diagram.png") == f"../images/{aid}/640.webp"


def test_published_map_wins_over_prediction() -> None:
    published = {"images/small.png": "images/x/320.webp"}
    assert layout.relative_link("lessons/01.md", "../images/small.png", published) == "../images/x/320.webp"


def test_video_link_points_at_master_playlist_and_keeps_fragment() -> None:
    aid = asset_id_for("media/welcome.mp4")
    got = layout.relative_link("lesson.md", "media/welcome.mp4#t=10")
    assert got == f"../media/{aid}/hls/master.m3u8#t=10"


def test_links_that_leave_the_course_or_are_absolute_are_untouched() -> None:
    for link in (
        "../../etc/passwd",
        "https://example.com/a.png",
        "/abs.png",
        "#section",
        "mailto:a@b.c",
        "notes.pdf",
    ):
        assert layout.relative_link("lessons/01.md", link) == link
