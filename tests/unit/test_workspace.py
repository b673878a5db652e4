from __future__ import annotations

import pytest

from pipeline.usecases.workspace import local_name


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("courses/c/week 1/Lecture 1 (final).mp4", "Lecture 1 (final).mp4"),
        ("courses/c/-rf.mp4", "-rf.mp4"),  # harmless: ffmpeg only ever sees file:/tmp/.../-rf.mp4
        ("courses/c/vidéo+ü.MOV", "vidéo+ü.MOV"),
        ("courses/c/bad\nname.mp4", "source.mp4"),
        ("courses/c/" + "x" * 300 + ".MKV", "source.mkv"),
    ],
)
def test_local_name_keeps_the_authors_file_name_when_safe(key: str, expected: str) -> None:
    assert local_name(key) == expected
