from __future__ import annotations

import json

import pytest

from pipeline.errors import ManifestError
from pipeline.text.manifest import MAX_MANIFEST_BYTES, CourseManifest, LessonRef, parse_manifest

VALID = """\
id: hls-101
title: HLS 101
lang: pt-BR
description: Streaming basics.
sections:
  - title: Basics
    lessons:
      - id: intro
        file: lessons/intro.md
        title: Introduction
        video: media/intro.mp4
      - id: ladder
        file: lessons/ladder.md
  - title: Publishing
    lessons:
      - id: cdn
        file: lessons/cdn.md
"""


def manifest(text: str) -> bytes:
    return text.encode("utf-8")


def test_valid_manifest_keeps_order_and_fields() -> None:
    course = parse_manifest(manifest(VALID), expected_course_id="hls-101")

    assert course.id == "hls-101"
    assert course.lang == "pt-BR"
    assert course.description == "Streaming basics."
    assert course.lesson_ids() == ["intro", "ladder", "cdn"]
    assert [s.title for s in course.sections] == ["Basics", "Publishing"]
    assert course.sections[0].lessons[0] == LessonRef(
        id="intro", file="lessons/intro.md", title="Introduction", video="media/intro.mp4"
    )


def test_to_dict_is_json_and_dynamodb_friendly() -> None:
    data = parse_manifest(manifest(VALID)).to_dict()

    def walk(value: object) -> None:
        assert not isinstance(value, float | tuple | set)
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(data)
    assert json.loads(json.dumps(data)) == data
    assert data["sections"] == [
        {
            "title": "Basics",
            "lessons": [
                {
                    "id": "intro",
                    "file": "lessons/intro.md",
                    "title": "Introduction",
                    "video": "media/intro.mp4",
                },
                {"id": "ladder", "file": "lessons/ladder.md"},
            ],
        },
        {"title": "Publishing", "lessons": [{"id": "cdn", "file": "lessons/cdn.md"}]},
    ]


def test_lang_defaults_to_english_and_bom_is_accepted() -> None:
    text = "\ufeffid: c\ntitle: T\nsections:\n  - title: S\n    lessons:\n      - {id: a, file: a.md}\n"
    course = parse_manifest(text.encode("utf-8"))
    assert isinstance(course, CourseManifest)
    assert course.lang == "en"


def test_course_id_must_match_upload_folder() -> None:
    with pytest.raises(ManifestError) as info:
        parse_manifest(manifest(VALID), expected_course_id="other-course")
    message = str(info.value)
    assert "'hls-101'" in message and "'other-course'" in message
    assert "line 1" in message


@pytest.mark.parametrize("bad_id", ["HLS", "-lead", "a_b", "x" * 64, ""])
def test_bad_course_id(bad_id: str) -> None:
    with pytest.raises(ManifestError, match="course `id`"):
        parse_manifest(manifest(VALID.replace("id: hls-101", f"id: '{bad_id}'")))


def test_numeric_id_asks_for_quotes() -> None:
    with pytest.raises(ManifestError, match="quotes"):
        parse_manifest(manifest(VALID.replace("id: hls-101", "id: 2024")))


def test_yaml_syntax_error_reports_line_and_column() -> None:
    broken = VALID.replace("  - title: Publishing", "  - title: [Publishing")
    with pytest.raises(ManifestError, match=r"line \d+, column \d+") as info:
        parse_manifest(manifest(broken))
    assert "not valid YAML" in str(info.value)
    assert isinstance(info.value.__cause__, Exception)


def test_unknown_top_level_key_is_an_error_with_a_suggestion() -> None:
    typo = VALID.replace("sections:", "sectons:")
    with pytest.raises(ManifestError) as info:
        parse_manifest(manifest(typo))
    message = str(info.value)
    assert "`sectons`" in message
    assert "line 5" in message
    assert "id, title, lang, description, cover, sections" in message
    assert "Did you mean `sections`?" in message


def test_unknown_lesson_key_is_an_error() -> None:
    with pytest.raises(ManifestError, match="line 11: unknown key `vidoe` in lesson 1 of section 'Basics'"):
        parse_manifest(manifest(VALID.replace("        video:", "        vidoe:")))


def test_duplicate_lesson_id_is_named() -> None:
    dup = VALID.replace("id: cdn", "id: intro")
    with pytest.raises(ManifestError, match=r"line 16: the lesson id 'intro' is used twice"):
        parse_manifest(manifest(dup))


def test_duplicate_yaml_key_is_not_silently_dropped() -> None:
    dup = VALID + "sections:\n  - title: X\n    lessons: [{id: x, file: x.md}]\n"
    with pytest.raises(ManifestError, match="`sections` appears twice"):
        parse_manifest(manifest(dup))


@pytest.mark.parametrize(
    "path",
    [
        "../other-course/lessons/x.md",
        "lessons/../../x.md",
        "/etc/passwd.md",
        "lessons\\intro.md",
        "lessons//intro.md",
        "./lessons/intro.md",
        "http://evil.example/x.md",
        "file:///etc/x.md",
        "javascript:alert(1).md",
        "C:/lessons/x.md",
    ],
)
def test_unsafe_lesson_paths_are_rejected(path: str) -> None:
    bad = VALID.replace("file: lessons/intro.md", f"file: {json.dumps(path)}")
    with pytest.raises(ManifestError, match=r"line 9: the `file` of lesson 'intro'"):
        parse_manifest(manifest(bad))


@pytest.mark.parametrize("video", ["../media/x.mp4", "https://cdn.example/x.mp4", "media/"])
def test_unsafe_video_paths_are_rejected(video: str) -> None:
    bad = VALID.replace("video: media/intro.mp4", f"video: {json.dumps(video)}")
    with pytest.raises(ManifestError, match="`video` of lesson 'intro'"):
        parse_manifest(manifest(bad))


def test_lesson_file_must_be_markdown() -> None:
    with pytest.raises(ManifestError, match="must end in .md"):
        parse_manifest(manifest(VALID.replace("lessons/intro.md", "lessons/intro.html")))


def test_two_lessons_cannot_share_a_file() -> None:
    with pytest.raises(ManifestError, match="both use 'lessons/intro.md'"):
        parse_manifest(manifest(VALID.replace("lessons/cdn.md", "lessons/intro.md")))


def test_norwegian_lang_gets_a_quoting_hint() -> None:
    with pytest.raises(ManifestError, match='lang: "no"'):
        parse_manifest(manifest(VALID.replace("lang: pt-BR", "lang: no")))


@pytest.mark.parametrize("lang", ["english", "EN", "e", "en_US"])
def test_bad_lang(lang: str) -> None:
    with pytest.raises(ManifestError, match="language tag"):
        parse_manifest(manifest(VALID.replace("lang: pt-BR", f"lang: {lang}")))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "empty"),
        ("- a\n- b\n", "top level"),
        ("id: c\ntitle: T\n", "`sections` must be a non-empty list"),
        ("id: c\ntitle: T\nsections: []\n", "`sections` must be a non-empty list"),
        ("id: c\ntitle: ''\nsections: [{title: S, lessons: [{id: a, file: a.md}]}]\n", "course `title`"),
        ("id: c\ntitle: T\nsections: [{title: S, lessons: []}]\n", "needs a non-empty `lessons`"),
        ("id: c\ntitle: T\nsections: [{title: S, lessons: [{id: a}]}]\n", "`file` of lesson 'a'"),
        ("id: c\ntitle: T\nsections: [{title: S, lessons: [{id: A, file: a.md}]}]\n", "`id` of lesson 1"),
    ],
)
def test_structural_errors(text: str, expected: str) -> None:
    with pytest.raises(ManifestError, match=expected.replace("(", r"\(")):
        parse_manifest(manifest(text))


def test_not_utf8() -> None:
    with pytest.raises(ManifestError, match="line 2: .*not UTF-8"):
        parse_manifest(b"id: c\ntitle: caf\xe9\n")


def test_size_cap() -> None:
    with pytest.raises(ManifestError, match="limit"):
        parse_manifest(b"#" * (MAX_MANIFEST_BYTES + 1))


def test_python_tags_are_not_constructed() -> None:
    evil = "!!python/object/apply:os.system ['echo pwned']\n"
    with pytest.raises(ManifestError, match="not valid YAML"):
        parse_manifest(manifest(evil))


def test_aliases_do_not_blow_up() -> None:
    # A "billion laughs" document: nine levels of 9x aliases. Only checked as far as needed.
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for n in range(1, 9):
        prev = chr(ord("a") + n - 1)
        cur = chr(ord("a") + n)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    with pytest.raises(ManifestError, match="unknown key `a`"):
        parse_manifest(manifest("\n".join(lines) + "\n"))


def test_cover_is_an_image_inside_the_course() -> None:
    parsed = parse_manifest(manifest(VALID.replace("sections:", "cover: images/cover.jpg\nsections:", 1)))
    assert parsed.cover == "images/cover.jpg" and parsed.to_dict()["cover"] == "images/cover.jpg"
    assert parsed.referenced_files() == [
        "images/cover.jpg",
        "lessons/intro.md",
        "media/intro.mp4",
        "lessons/ladder.md",
        "lessons/cdn.md",
    ]
    with pytest.raises(ManifestError, match=r"line 5: the cover 'lessons/intro.md' is not an image"):
        parse_manifest(manifest(VALID.replace("sections:", "cover: lessons/intro.md\nsections:", 1)))
    # Every format the image path reads is a cover (published as WebP like any image).
    for name in ("images/IMG_0001.HEIC", "images/diagram.svg", "images/scan.tiff", "images/hero.avif"):
        assert (
            parse_manifest(manifest(VALID.replace("sections:", f"cover: {name}\nsections:", 1))).cover == name
        )
    with pytest.raises(ManifestError, match=r"use one of the images \(jpg, .*heic.*\) uploaded"):
        parse_manifest(manifest(VALID.replace("sections:", "cover: handouts/cover.pdf\nsections:", 1)))
    with pytest.raises(ManifestError, match=r"'\.\.' would leave the course folder"):
        parse_manifest(manifest(VALID.replace("sections:", "cover: ../x/cover.jpg\nsections:", 1)))


CAPTIONED = """\
id: hls-101
title: HLS 101
sections:
  - title: Basics
    lessons:
      - id: intro
        file: lessons/intro.md
        video: media/intro.mp4
        captions:
{captions}
"""


def captioned(captions: str) -> CourseManifest:
    return parse_manifest(manifest(CAPTIONED.format(captions=captions)), expected_course_id="hls-101")


def test_lesson_captions_name_any_file_with_its_language_label_and_kind() -> None:
    course = captioned(
        "          - {file: media/subs/English (auto).srt, language: en-gb, label: English (UK),\n"
        "             kind: subtitles}\n"
        "          - {file: media/intro.fr.vtt}\n"
        "          - {file: media/intro.pt-BR.sdh.srt, label: Português}\n"
    )
    (lesson,) = course.lessons()
    assert [c.to_dict() for c in lesson.captions] == [
        {
            "file": "media/subs/English (auto).srt",
            "language": "en-GB",
            "label": "English (UK)",
            "kind": "subtitles",
        },
        {"file": "media/intro.fr.vtt", "language": "fr"},  # the name says the language
        {"file": "media/intro.pt-BR.sdh.srt", "language": "pt-BR", "label": "Português"},
    ]
    assert "media/subs/English (auto).srt" in course.referenced_files()
    assert json.loads(json.dumps(course.to_dict()))["sections"][0]["lessons"][0]["captions"][1] == {
        "file": "media/intro.fr.vtt",
        "language": "fr",
    }


@pytest.mark.parametrize(
    ("captions", "message"),
    [
        ("          - {file: media/english.srt}", r"line 10: caption 1 of lesson 'intro' needs a `language`"),
        ("          - {file: media/x.srt, language: english}", r"line 10: .* 'english', not a language tag"),
        ("          - {file: media/x.srt, language: en, kind: closed}", r"line 10: .*`captions` \(the dia"),
        ("          - {file: media/x.txt, language: en}", r"line 10: .*SubRip \(.srt\) or WebVTT \(.vtt\)"),
        ("          - {file: ../x.srt, language: en}", r"line 10: .*'..' would leave the course folder"),
        (
            "          - {file: media/x.srt, language: en, lable: x}",
            r"unknown key `lable`.*Did you mean `label`",
        ),
        (
            "          - {file: media/x.srt, language: en}\n          - {file: media/x.srt, language: fr}",
            r"line 11: lesson 'intro' lists 'media/x.srt' twice",
        ),
        ("          - {file: media/x.srt, language: en, label: '" + "x" * 65 + "'}", "keep it under 64"),
        ("          - {file: media/x.srt, language: no}", r"`language` of caption 1 .* is False.*quotes"),
        ("          media/x.srt", r"`captions` of lesson 'intro' must be a list"),
    ],
)
def test_bad_lesson_captions_say_what_to_fix_on_which_line(captions: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        captioned(captions)


def test_captions_need_the_lessons_video() -> None:
    text = VALID.replace(
        "        file: lessons/ladder.md\n",
        "        file: lessons/ladder.md\n        captions:\n          - {file: media/x.srt, language: en}\n",
    )
    with pytest.raises(ManifestError, match=r"line 15: lesson 'ladder' lists `captions` but has no `video`"):
        parse_manifest(manifest(text))
