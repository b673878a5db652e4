"""One table of kinds (issue 12): whatever reads a kind from a name (the sniffer's error for a file whose
content matches nothing, a lesson's links, the cleanup of a file deleted before Classify, the local upload
order) agrees with ``pipeline.kinds``, for every extension in it. ``lecture.ts`` was video to the sniffer
and a plain file link to the lessons."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from pipeline.errors import CaptionError, InvalidMediaError, LessonError
from pipeline.keys import asset_id_for
from pipeline.kinds import KINDS, MEDIA_KINDS, REFUSED, SUPPORTED, kind_by_name
from pipeline.local.run import upload_wave
from pipeline.media.captions import parse_captions
from pipeline.media.sniff import sniff_kind
from pipeline.usecases.delete import kind_of
from pipeline.usecases.text import CourseState, make_resolver

if TYPE_CHECKING:
    from pathlib import Path

ROWS = [(spec, ext) for spec in KINDS for ext in sorted(spec.extensions)]
LINK_KIND = {
    "video": "video",
    "audio": "audio",
    "image": "image",
    "lesson": "page",
    "caption": "file",
    "attachment": "attachment",
}


@pytest.mark.parametrize(("spec", "ext"), ROWS, ids=[f"{s.kind}-{e}" for s, e in ROWS])
def test_every_reader_of_a_name_agrees_with_the_table(spec: object, ext: str, tmp_path: Path) -> None:
    from pipeline.kinds import KindSpec

    assert isinstance(spec, KindSpec)
    for name in (f"media/clip one.{ext}", f"media/CLIP.{ext.upper()}"):
        assert kind_by_name(name) == spec.kind
        assert kind_of(name, None) == spec.kind
        state = CourseState(prefix="courses/c1/", record=None, assets={}, files={name})
        target = make_resolver("lesson.md", state)(name.replace(" ", "%20"))
        assert target is not None and target.kind == LINK_KIND[spec.kind], name
        assert upload_wave(f"courses/c1/{name}") == (0 if spec.kind in ("image", "attachment") else 1)
    # The "supported types" message lists it (jpeg as jpg).
    assert ext in re.findall(r"[a-z0-9]+", SUPPORTED.lower()) or ext == "jpeg"
    # Bytes that are no format at all: the error names what the extension promised.
    junk = tmp_path / f"x.{ext}"
    junk.write_bytes(bytes(range(256)) * 8)
    if spec.kind == "caption":
        # Caption tools write UTF-16 and cp1252 too: the name routes it, RenderCaptions reads it or
        # says which line it could not read.
        assert sniff_kind(junk, junk.name) == "caption"
        with pytest.raises(CaptionError, match="UTF-8"):
            parse_captions(junk.read_bytes(), junk.name)
        return
    if spec.kind == "attachment":  # checked as the format its extension names
        with pytest.raises(InvalidMediaError, match=f"x.{ext} is not an? "):
            sniff_kind(junk, junk.name)
        return
    expected = InvalidMediaError if spec.kind in MEDIA_KINDS else LessonError
    with pytest.raises(expected) as raised:
        sniff_kind(junk, junk.name)
    if spec.kind in MEDIA_KINDS:
        assert spec.what in str(raised.value)


def test_a_lesson_link_to_an_mpeg_ts_recording_is_a_player() -> None:
    aid = asset_id_for("media/lecture.ts")
    state = CourseState(prefix="courses/c1/", record=None, assets={}, files={"media/lecture.ts"})
    target = make_resolver("lesson.md", state)("media/lecture.ts")
    assert target is not None and target.kind == "video"
    assert target.href == f"../media/{aid}/hls/master.m3u8"
    assert target.thumbnails == f"../media/{aid}/thumbs/sprite.vtt"


def test_manifests_and_unknown_names() -> None:
    assert kind_by_name("courses/c1/course.yaml") == kind_of("Course.YML", None) == "manifest"
    assert upload_wave("courses/c1/course.yml") == 0
    assert kind_by_name("notes.exe") is None and kind_of("notes.exe", None) == "unknown"
    assert kind_of("media/a.mp4", "image") == "image"  # what Classify recorded wins over the name


def test_no_name_is_in_two_kinds_or_both_accepted_and_refused() -> None:
    # The video/audio lists and the handout/program lists grew on separate branches (issue 14): a name in
    # two rows would be sniffed one way and linked, cleaned up or refused another.
    seen: dict[str, str] = {}
    for spec in KINDS:
        for ext in spec.extensions:
            assert ext not in seen, f".{ext} is both {seen[ext]} and {spec.kind}"
            seen[ext] = spec.kind
    assert not set(seen) & set(REFUSED), "accepted and refused"
