from __future__ import annotations

import re
import unicodedata

import pytest

from pipeline.errors import UnsafeKeyError
from pipeline.keys import asset_id_for, decode_event_key, execution_name, parse_key


def test_parse_key_splits_course_and_path() -> None:
    key = parse_key("courses/intro-1/lessons/01 welcome.md")
    assert (key.course_id, key.path, key.name) == ("intro-1", "lessons/01 welcome.md", "01 welcome.md")
    assert key.source_key == "courses/intro-1/lessons/01 welcome.md"


def test_parse_key_normalizes_unicode_to_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "courses/c/cafe\u0301.md")
    assert parse_key(decomposed).path == "caf\u00e9.md"


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("uploads/c/a.md", "courses/"),
        ("courses/c", "no file path"),
        ("courses/Bad_Course/a.md", "course id"),
        ("courses/-c/a.md", "course id"),
        ("courses/c/../other/a.md", ".."),
        ("courses/c/./a.md", ".."),
        ("courses/c/a//b.md", "empty folder"),
        ("courses/c/a/", "empty folder"),
        ("courses/c/a\\b.md", "backslash"),
        ("courses/c/a\x00.md", "control"),
        ("courses/c/" + "x" * 600, "longer than"),
    ],
)
def test_parse_key_refuses_unsafe_keys(key: str, fragment: str) -> None:
    with pytest.raises(UnsafeKeyError, match=re.escape(fragment)):
        parse_key(key)


def test_event_keys_are_decoded_once() -> None:
    assert decode_event_key("courses/c/a+b%2Bc.md") == "courses/c/a b+c.md"
    assert decode_event_key("courses/c/%25.md") == "courses/c/%.md"


def test_asset_id_is_stable_readable_and_collision_free() -> None:
    assert asset_id_for("lessons/01 welcome.md") == asset_id_for("lessons/01 welcome.md")
    assert asset_id_for("lessons/01 welcome.md").startswith("lessons-01-welcome-")
    assert asset_id_for("a b.md") != asset_id_for("a-b.md")
    assert re.fullmatch(r"[a-z0-9-]+", asset_id_for("vidéo ünïcode ✓.mp4"))


def test_execution_name_is_deterministic_and_valid() -> None:
    a = execution_name("bucket", "courses/c/Lecture 1 (final).mp4", "v1")
    assert a == execution_name("bucket", "courses/c/Lecture 1 (final).mp4", "v1")
    assert a != execution_name("bucket", "courses/c/Lecture 1 (final).mp4", "v2")
    assert a != execution_name("other", "courses/c/Lecture 1 (final).mp4", "v1")
    long = execution_name("b", "courses/c/" + "ü" * 300 + ".mp4", None)
    for name in (a, long):
        assert len(name) <= 80
        assert re.fullmatch(r"[A-Za-z0-9_-]+", name)
