"""The course manifest (``course.yaml``): which lessons a course has, in which order.

Authors write this file by hand, so every check answers "what is wrong on which line, and how do I fix
it". Paths in it become S3 keys under ``courses/{courseId}/``; they are checked here as strictly as the
ingest key itself, so a manifest can never point outside its own course folder.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from pipeline.errors import CaptionError, ManifestError
from pipeline.kinds import KINDS, kind_by_name
from pipeline.media.captions import caption_name, language_tag

if TYPE_CHECKING:
    from collections.abc import Sequence

MAX_MANIFEST_BYTES = 256 * 1024
MAX_PATH_BYTES = 512
DEFAULT_LANG = "en"

ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
LANG_PATTERN = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")

_TOP_KEYS = ("id", "title", "lang", "description", "cover", "sections", "downloads")
IMAGE_FORMATS = next(spec.shown for spec in KINDS if spec.kind == "image")
_SECTION_KEYS = ("title", "lessons")
_LESSON_KEYS = ("id", "file", "title", "video", "downloads", "captions")
_CAPTION_KEYS = ("file", "language", "label", "kind")
_CAPTION_KINDS = ("captions", "subtitles")
_CAPTION_SUFFIXES = (".srt", ".vtt")
MAX_LABEL_CHARS = 64

_Path = tuple[str | int, ...]


@dataclass(frozen=True)
class CaptionRef:
    """One entry of a lesson's ``captions:``: a caption file of the lesson's video, whatever its name.

    The manifest's word wins over the file's name: a file listed here attaches to this video only, in
    this language, under this label (None: the language's own name), as this kind (None: captions when
    it is the soundtrack's language, else subtitles, as for a file named ``lecture.en.srt``)."""

    file: str
    language: str
    label: str | None = None
    kind: str | None = None

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"file": self.file, "language": self.language}
        if self.label is not None:
            out["label"] = self.label
        if self.kind is not None:
            out["kind"] = self.kind
        return out


@dataclass(frozen=True)
class LessonRef:
    id: str
    file: str
    title: str | None = None
    video: str | None = None
    downloads: bool | None = None
    """The lesson's own ``downloads:``; None: the course's setting applies."""
    captions: tuple[CaptionRef, ...] = ()

    def to_dict(self) -> dict[str, object]:
        # Absent optional fields are left out rather than stored as null: DynamoDB and JSON consumers
        # then see the same shape the author wrote.
        out: dict[str, object] = {"id": self.id, "file": self.file}
        if self.title is not None:
            out["title"] = self.title
        if self.video is not None:
            out["video"] = self.video
        if self.downloads is not None:
            out["downloads"] = self.downloads
        if self.captions:
            out["captions"] = [caption.to_dict() for caption in self.captions]
        return out


@dataclass(frozen=True)
class Section:
    title: str
    lessons: tuple[LessonRef, ...]

    def to_dict(self) -> dict[str, object]:
        return {"title": self.title, "lessons": [lesson.to_dict() for lesson in self.lessons]}


@dataclass(frozen=True)
class CourseManifest:
    id: str
    title: str
    lang: str
    sections: tuple[Section, ...]
    description: str | None = None
    cover: str | None = None
    downloads: bool = False
    """Whether learners may download the course's videos (MP4) and soundtracks (M4A); off by default."""

    def to_dict(self) -> dict[str, object]:
        """Lists, strings, booleans and dicts only, so it goes unchanged into a Step Functions payload or
        DynamoDB."""
        out: dict[str, object] = {
            "id": self.id,
            "title": self.title,
            "lang": self.lang,
            "downloads": self.downloads,
            "sections": [section.to_dict() for section in self.sections],
        }
        if self.description is not None:
            out["description"] = self.description
        if self.cover is not None:
            out["cover"] = self.cover
        return out

    def downloads_for(self, lesson: LessonRef) -> bool:
        """The lesson's ``downloads:`` when it has one, else the course's."""
        return self.downloads if lesson.downloads is None else lesson.downloads

    def referenced_files(self) -> list[str]:
        """Every course file the manifest names (lessons, their videos, the cover), in course order."""
        files: list[str] = [self.cover] if self.cover else []
        for lesson in self.lessons():
            files += [lesson.file] + ([lesson.video] if lesson.video else [])
            files += [caption.file for caption in lesson.captions]
        return files

    def lessons(self) -> list[LessonRef]:
        return [lesson for section in self.sections for lesson in section.lessons]

    def lesson_ids(self) -> list[str]:
        """Course order, which is list order in the file (sections first, then lessons)."""
        return [lesson.id for lesson in self.lessons()]


def parse_manifest(data: bytes, *, expected_course_id: str | None = None) -> CourseManifest:
    """Validate ``course.yaml``.

    ``expected_course_id`` is the course folder the file was uploaded to: a manifest that names another
    course would otherwise overwrite that course's record.
    """
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(
            f"course.yaml is {len(data):,} bytes; the limit is {MAX_MANIFEST_BYTES:,}. "
            "A manifest only lists lessons: move long text into the lessons themselves."
        )
    text = _decode(data)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        raise ManifestError(f"course.yaml{_mark(exc)}: this is not valid YAML ({_problem(exc)}).") from exc
    except yaml.YAMLError as exc:
        raise ManifestError(f"course.yaml is not valid YAML ({exc}).") from exc

    doc = _Doc(root)
    doc.reject_duplicate_keys()
    if raw is None:
        raise ManifestError("course.yaml is empty; it needs at least `id`, `title` and `sections`.")
    top = doc.mapping(raw, (), "the top level of course.yaml", _TOP_KEYS)

    course_id = doc.identifier(top.get("id"), ("id",), "the course `id`")
    if expected_course_id is not None and course_id != expected_course_id:
        raise ManifestError(
            f"course.yaml{doc.at(('id',))}: the course id is {course_id!r} but the file was uploaded to the "
            f"course folder {expected_course_id!r} (courses/{expected_course_id}/course.yaml). "
            f"Set `id: {expected_course_id}`, or upload the file to courses/{course_id}/."
        )
    title = doc.text(top.get("title"), ("title",), "the course `title`")
    lang = _lang(doc, top.get("lang", DEFAULT_LANG))
    description = None
    if top.get("description") is not None:
        description = doc.text(top["description"], ("description",), "the course `description`")

    cover = None
    if top.get("cover") is not None:
        cover = doc.relative_path(top["cover"], ("cover",), "the course `cover`")
        if kind_by_name(cover) != "image":
            # Any format the image path reads (kinds.py), which publishes every cover as WebP.
            raise ManifestError(
                f"course.yaml{doc.at(('cover',))}: the cover {cover!r} is not an image; use one of the "
                f"{IMAGE_FORMATS} uploaded with the course (e.g. cover: images/cover.jpg)."
            )

    downloads = doc.flag(top.get("downloads"), ("downloads",), "the course's `downloads`", default=False)

    raw_sections = top.get("sections")
    if not isinstance(raw_sections, list) or not raw_sections:
        raise ManifestError(
            f"course.yaml{doc.at(('sections',))}: `sections` must be a non-empty list, e.g.\n"
            "sections:\n  - title: Getting started\n    lessons:\n"
            "      - id: welcome\n        file: lessons/01-welcome.md"
        )
    seen_ids: dict[str, str] = {}
    seen_files: dict[str, str] = {}
    sections = []
    for s_index, raw_section in enumerate(raw_sections):
        s_path: _Path = ("sections", s_index)
        where = f"section {s_index + 1}"
        section = doc.mapping(raw_section, s_path, where, _SECTION_KEYS)
        s_title = doc.text(section.get("title"), (*s_path, "title"), f"the `title` of {where}")
        raw_lessons = section.get("lessons")
        if not isinstance(raw_lessons, list) or not raw_lessons:
            raise ManifestError(
                f"course.yaml{doc.at((*s_path, 'lessons'))}: section {s_title!r} needs a non-empty "
                "`lessons` list (each item `id` and `file`); add a lesson or remove the section."
            )
        lessons = [
            _lesson(doc, raw, (*s_path, "lessons", index), s_title, index, seen_ids, seen_files)
            for index, raw in enumerate(raw_lessons)
        ]
        sections.append(Section(title=s_title, lessons=tuple(lessons)))

    return CourseManifest(
        id=course_id,
        title=title,
        lang=lang,
        sections=tuple(sections),
        description=description,
        cover=cover,
        downloads=bool(downloads),
    )


def _lesson(
    doc: _Doc,
    raw: object,
    path: _Path,
    section_title: str,
    index: int,
    seen_ids: dict[str, str],
    seen_files: dict[str, str],
) -> LessonRef:
    where = f"lesson {index + 1} of section {section_title!r}"
    lesson = doc.mapping(raw, path, where, _LESSON_KEYS)
    lesson_id = doc.identifier(lesson.get("id"), (*path, "id"), f"the `id` of {where}")
    if lesson_id in seen_ids:
        raise ManifestError(
            f"course.yaml{doc.at((*path, 'id'))}: the lesson id {lesson_id!r} is used twice "
            f"(first in {seen_ids[lesson_id]}); lesson ids must be unique within the course."
        )
    seen_ids[lesson_id] = where
    file = doc.relative_path(lesson.get("file"), (*path, "file"), f"the `file` of lesson {lesson_id!r}")
    if not file.lower().endswith(".md"):
        raise ManifestError(
            f"course.yaml{doc.at((*path, 'file'))}: lesson {lesson_id!r} points to {file!r}, which is not "
            "a Markdown file; `file` must end in .md (videos go in `video`)."
        )
    if file in seen_files:
        raise ManifestError(
            f"course.yaml{doc.at((*path, 'file'))}: lessons {seen_files[file]!r} and {lesson_id!r} both use "
            f"{file!r}; give each lesson its own file."
        )
    seen_files[file] = lesson_id
    title = None
    if lesson.get("title") is not None:
        title = doc.text(lesson["title"], (*path, "title"), f"the `title` of lesson {lesson_id!r}")
    video = None
    if lesson.get("video") is not None:
        video = doc.relative_path(lesson["video"], (*path, "video"), f"the `video` of lesson {lesson_id!r}")
    downloads = doc.flag(
        lesson.get("downloads"), (*path, "downloads"), f"the `downloads` of lesson {lesson_id!r}"
    )
    captions = _captions(doc, lesson.get("captions"), (*path, "captions"), lesson_id, video)
    return LessonRef(
        id=lesson_id, file=file, title=title, video=video, downloads=downloads, captions=captions
    )


def _captions(
    doc: _Doc, raw: object, path: _Path, lesson_id: str, video: str | None
) -> tuple[CaptionRef, ...]:
    """A lesson's ``captions:`` list, each entry ``file`` + ``language`` (or a file named like
    ``lecture.en.srt``, whose name says it), optional ``label`` and ``kind``."""
    if raw is None:
        return ()
    if video is None:
        raise ManifestError(
            f"course.yaml{doc.at(path)}: lesson {lesson_id!r} lists `captions` but has no `video`; "
            "captions belong to the lesson's video (add `video: media/lecture.mp4`)."
        )
    if not isinstance(raw, list) or not raw:
        raise ManifestError(
            f"course.yaml{doc.at(path)}: `captions` of lesson {lesson_id!r} must be a list, e.g.\n"
            "    captions:\n      - file: media/lecture-english.srt\n        language: en"
        )
    found: list[CaptionRef] = []
    for index, entry in enumerate(raw):
        c_path: _Path = (*path, index)
        where = f"caption {index + 1} of lesson {lesson_id!r}"
        caption = doc.mapping(entry, c_path, where, _CAPTION_KEYS)
        file = doc.relative_path(caption.get("file"), (*c_path, "file"), f"the `file` of {where}")
        if not file.lower().endswith(_CAPTION_SUFFIXES):
            raise ManifestError(
                f"course.yaml{doc.at((*c_path, 'file'))}: {where} is {file!r}; a caption file is "
                "SubRip (.srt) or WebVTT (.vtt)."
            )
        if any(c.file == file for c in found):
            raise ManifestError(
                f"course.yaml{doc.at((*c_path, 'file'))}: lesson {lesson_id!r} lists {file!r} twice; "
                "list each caption file once."
            )
        language = _caption_language(doc, caption.get("language"), (*c_path, "language"), file, where)
        label = None
        if caption.get("label") is not None:
            label = doc.text(caption["label"], (*c_path, "label"), f"the `label` of {where}")
            if len(label) > MAX_LABEL_CHARS:
                raise ManifestError(
                    f"course.yaml{doc.at((*c_path, 'label'))}: the `label` of {where} is {len(label)} "
                    f"characters; players show it in a menu: keep it under {MAX_LABEL_CHARS}."
                )
        kind = caption.get("kind")
        if kind is not None and kind not in _CAPTION_KINDS:
            raise ManifestError(
                f"course.yaml{doc.at((*c_path, 'kind'))}: the `kind` of {where} is {kind!r}; write "
                "`captions` (the dialogue and sounds, for viewers who cannot hear) or `subtitles` "
                "(a translation of the dialogue)."
            )
        found.append(CaptionRef(file=file, language=language, label=label, kind=kind))
    return tuple(found)


def _caption_language(doc: _Doc, value: object, path: _Path, file: str, where: str) -> str:
    """``language:`` as a canonical BCP-47 tag; absent, the one the file's name carries."""
    if value is None:
        try:
            named = caption_name(file)
        except CaptionError:
            named = None
        if named is None or named.chapters:
            raise ManifestError(
                f"course.yaml{doc.at(path[:-1])}: {where} needs a `language` (e.g. language: en or "
                "pt-BR): its file name does not say it."
            )
        return named.language
    if not isinstance(value, str):
        raise ManifestError(
            f"course.yaml{doc.at(path)}: the `language` of {where} is {value!r}; write a language tag "
            'such as en, pt-BR or zh-Hant (in quotes for "no", Norwegian).'
        )
    try:
        return language_tag(value.strip(), file)
    except CaptionError as exc:
        raise ManifestError(
            f"course.yaml{doc.at(path)}: the `language` of {where} is {value!r}, not a language tag; "
            "write one such as en, fr, pt-BR or zh-Hant."
        ) from exc


def _lang(doc: _Doc, value: object) -> str:
    if isinstance(value, bool):
        # YAML 1.1 reads the bare word `no` (Norwegian) as false, `yes`/`on` as true.
        raise ManifestError(
            f"course.yaml{doc.at(('lang',))}: YAML read `lang` as a yes/no value; "
            'put the language code in quotes, e.g. lang: "no".'
        )
    if not isinstance(value, str) or not LANG_PATTERN.fullmatch(value):
        raise ManifestError(
            f"course.yaml{doc.at(('lang',))}: `lang` is {value!r}; use a language tag such as "
            "en, de, pt-BR or zh-Hant."
        )
    return value


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ManifestError(
            f"course.yaml, line {line}: the file is not UTF-8 text (byte {exc.start}); "
            "save it as UTF-8 and upload it again."
        ) from exc


def _mark(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    return "" if mark is None else f", line {mark.line + 1}, column {mark.column + 1}"


def _problem(exc: yaml.MarkedYAMLError) -> str:
    parts = [p for p in (exc.context, exc.problem) if p]
    return "; ".join(parts) or "syntax error"


def _suggest(key: str, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    return f" Did you mean `{close[0]}`?" if close else ""


class _Doc:
    """The composed YAML tree, kept only to put line numbers into error messages.

    ``yaml.safe_load`` throws positions away; the node tree from ``yaml.compose`` still has them.
    """

    def __init__(self, root: yaml.Node | None) -> None:
        self._root = root

    def at(self, path: _Path) -> str:
        node = self._node(path)
        return "" if node is None else f", line {node.start_mark.line + 1}"

    def _node(self, path: _Path) -> yaml.Node | None:
        node = self._root
        for step in path:
            if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
                node = node.value[step]
            elif isinstance(node, yaml.MappingNode) and isinstance(step, str):
                node = next((v for k, v in node.value if getattr(k, "value", None) == step), None)
            else:
                return None
        return node

    def _key_node(self, path: _Path, key: str) -> yaml.Node | None:
        node = self._node(path)
        if isinstance(node, yaml.MappingNode):
            return next((k for k, _ in node.value if getattr(k, "value", None) == key), None)
        return None

    def reject_duplicate_keys(self) -> None:
        # safe_load keeps the last of two equal keys, so a second `sections:` would silently drop the
        # first list of lessons.
        stack = [self._root]
        visited: set[int] = set()  # aliases share nodes; never walk one twice
        while stack:
            node = stack.pop()
            if node is None or id(node) in visited:
                continue
            visited.add(id(node))
            if isinstance(node, yaml.MappingNode):
                first: dict[str, yaml.Node] = {}
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode):
                        if key.value in first:
                            raise ManifestError(
                                f"course.yaml, line {key.start_mark.line + 1}: `{key.value}` appears twice "
                                f"in the same block (first on line {first[key.value].start_mark.line + 1}); "
                                "keep only one."
                            )
                        first[key.value] = key
                    stack.append(value)
            elif isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)

    def mapping(self, value: object, path: _Path, where: str, allowed: Sequence[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ManifestError(
                f"course.yaml{self.at(path)}: {where} must be a block of `key: value` lines "
                f"(allowed keys: {', '.join(allowed)})."
            )
        for key in value:
            if key not in allowed:
                node = self._key_node(path, str(key))
                line = "" if node is None else f", line {node.start_mark.line + 1}"
                raise ManifestError(
                    f"course.yaml{line}: unknown key `{key}` in {where}; allowed keys are "
                    f"{', '.join(allowed)}.{_suggest(str(key), allowed)}"
                )
        return value

    def text(self, value: object, path: _Path, what: str) -> str:
        if not isinstance(value, str) or not value.strip():
            found = "missing" if value is None else f"{value!r}"
            raise ManifestError(
                f"course.yaml{self.at(path)}: {what} must be non-empty text (found {found}); "
                "put it in quotes if it looks like a number or a date."
            )
        return value.strip()

    def identifier(self, value: object, path: _Path, what: str) -> str:
        if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
            found = "missing" if value is None else f"{value!r}"
            hint = " (write it in quotes)" if isinstance(value, int | float) else ""
            raise ManifestError(
                f"course.yaml{self.at(path)}: {what} is {found}{hint}; an id is 1-63 characters of "
                "lowercase letters, digits and '-', starting with a letter or digit (e.g. intro-to-hls)."
            )
        return value

    def flag(self, value: object, path: _Path, what: str, *, default: bool | None = None) -> bool | None:
        """A yes/no setting: ``true`` or ``false`` (absent or null: ``default``). Quoted words and numbers
        are refused rather than guessed: ``downloads: "no"`` must not switch downloads on."""
        if value is None:
            return default
        if not isinstance(value, bool):
            raise ManifestError(
                f"course.yaml{self.at(path)}: {what} is {value!r}; write true or false without quotes "
                "(e.g. downloads: true)."
            )
        return value

    def relative_path(self, value: object, path: _Path, what: str) -> str:
        if not isinstance(value, str) or not value:
            found = "missing" if value is None else f"{value!r}"
            raise ManifestError(f"course.yaml{self.at(path)}: {what} must be a path (found {found}).")
        value = unicodedata.normalize("NFC", value)
        problem = _path_problem(value)
        if problem:
            raise ManifestError(
                f"course.yaml{self.at(path)}: {what} is {value!r}: {problem}. Paths are relative to the "
                "course folder, with '/' between folders, e.g. lessons/01-welcome.md or media/intro.mp4."
            )
        return value


def _path_problem(value: str) -> str | None:
    """Why ``value`` cannot be a key inside the course folder, or None when it can."""
    if _SCHEME.match(value):
        return "URLs are not allowed, only files uploaded with the course"
    if "\\" in value:
        return "it contains a backslash; use '/'"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "it contains a control character"
    if value.startswith("/"):
        return "it must not start with '/'"
    if len(value.encode("utf-8")) > MAX_PATH_BYTES:
        return f"it is longer than {MAX_PATH_BYTES} bytes"
    for segment in value.split("/"):
        if segment == "..":
            return "'..' would leave the course folder"
        if segment == ".":
            return "remove the './' parts"
        if segment == "":
            return "it has an empty folder name ('//' or a trailing '/')"
    return None
