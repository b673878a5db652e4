"""A lesson's YAML front matter: where it ends, how it is loaded (safely, boundedly), what its keys mean.

``yaml.safe_load`` builds no Python objects, but still expands aliases exponentially, recurses on nesting
and reads ``12:30`` as a number: the loader here refuses the first two and keeps the third as text.
The values come back JSON-friendly, since they travel in Step Functions payloads and catalog items.
"""

from __future__ import annotations

import datetime as dt
import math
import re

import yaml

from pipeline.errors import LessonError
from pipeline.text.lesson.limits import MAX_FRONT_MATTER_CHARS, MAX_FRONT_MATTER_DEPTH
from pipeline.text.links import Chapter

MAX_DURATION_S = 24 * 3600

_FRONT_MATTER_END = ("---", "...")


class _FrontMatterLoader(yaml.SafeLoader):
    """``yaml.safe_load`` minus what surprises authors or costs too much.

    YAML 1.1 reads ``12:30`` as the base-60 number 750: here it stays text (``duration`` parses it).
    Aliases (``*name``) can expand exponentially ("billion laughs"), and deep nesting recurses: refused.
    """

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not supported", self.get_mark()
            )
        self._depth += 1
        try:
            if self._depth > MAX_FRONT_MATTER_DEPTH:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"nested more than {MAX_FRONT_MATTER_DEPTH} levels",
                    self.get_mark(),
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_INT_TAG, _FLOAT_TAG = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_INT_TAG, _FLOAT_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_FrontMatterLoader.add_implicit_resolver(
    _INT_TAG, re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789")
)
_FrontMatterLoader.add_implicit_resolver(
    _FLOAT_TAG,
    re.compile(
        r"^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]+(?:[eE][-+]?[0-9]+)?$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"
    ),
    list("-+0123456789."),
)


def split_front_matter(text: str, *, name: str) -> tuple[dict[str, object], str, int]:
    """(front matter, body, line number of the body's first line)."""
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        return {}, text, 1
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in _FRONT_MATTER_END), None)
    if end is None:
        raise LessonError(
            f"{name}, line 1: the front matter that starts with '---' is never closed; "
            "add a line containing only '---' after it."
        )
    raw = "\n".join(lines[1:end])
    if len(raw) > MAX_FRONT_MATTER_CHARS:
        raise LessonError(
            f"{name}: the front matter is {len(raw):,} characters long (limit {MAX_FRONT_MATTER_CHARS:,}); "
            "keep it to a few `key: value` lines."
        )
    try:
        data = yaml.load(raw, Loader=_FrontMatterLoader)  # a SafeLoader: no Python objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = "" if mark is None else f", line {mark.line + 2}"  # +1 for 1-based, +1 for the '---' line
        raise LessonError(
            f"{name}{where}: the front matter is not valid YAML ({exc.problem or exc.context}); "
            "fix the lines between the two '---' lines."
        ) from exc
    except yaml.YAMLError as exc:
        raise LessonError(f"{name}: the front matter is not valid YAML ({exc}).") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise LessonError(
            f"{name}, line 2: the front matter must be `key: value` lines (e.g. `title: Encoding`), "
            f"not a {type(data).__name__}."
        )
    front_matter = {str(key): _plain(value) for key, value in data.items()}
    title = front_matter.get("title")
    if "title" in front_matter and (not isinstance(title, str) or not title.strip()):
        raise LessonError(f"{name}: `title` in the front matter must be non-empty text; quote it.")
    return front_matter, "\n".join(lines[end + 1 :]), end + 2


def _plain(value: object) -> object:
    """JSON-friendly copy: the front matter travels in Step Functions payloads and catalog items."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def key_line(text: str, key: str) -> int | None:
    """Line of ``key:`` in the front matter (which starts on line 2), for error messages."""
    lines = text.split("\n", MAX_FRONT_MATTER_CHARS // 2)
    for number, line in enumerate(lines[1:], start=2):
        if line.rstrip() in _FRONT_MATTER_END:
            break
        if re.match(rf"{re.escape(key)}\s*:", line):
            return number
    return None


_CLOCK = re.compile(r"^(?:(\d+):([0-5]\d)|(\d+):([0-5]\d):([0-5]\d))$")  # m:ss or h:mm:ss
_UNITS = re.compile(
    r"^(?:(?P<h>\d+(?:\.\d+)?)\s*h(?:ours?|rs?)?\s*)?"
    r"(?:(?P<m>\d+(?:\.\d+)?)\s*m(?:in(?:ute)?s?)?\s*)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)\s*s(?:ec(?:ond)?s?)?)?$",
    re.IGNORECASE,
)


def parse_duration(value: object, *, name: str, line: int | None) -> int | None:
    """Front matter ``duration`` in seconds: ``12`` or ``12.5`` (minutes), ``"12 min"``, ``"12:30"``
    (minutes:seconds), ``"1:05:00"``, ``"1h 5m"``, ``"90s"``."""
    if value is None:
        return None
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value) * 60
    elif isinstance(value, str):
        text = value.strip()
        clock = _CLOCK.match(text)
        units = _UNITS.match(text)
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            seconds = float(text) * 60
        elif clock and clock.group(1):
            seconds = int(clock.group(1)) * 60 + int(clock.group(2))
        elif clock:
            seconds = int(clock.group(3)) * 3600 + int(clock.group(4)) * 60 + int(clock.group(5))
        elif units and any(units.groupdict().values()):
            parts = units.groupdict()
            seconds = sum(float(parts[k] or 0) * f for k, f in (("h", 3600), ("m", 60), ("s", 1)))
    where = name if line is None else f"{name}, line {line}"
    if seconds is None or math.isnan(seconds):
        raise LessonError(
            f"{where}: `duration: {value}` is not a duration; write minutes (`12`), `12 min`, `12:30` "
            "(minutes:seconds) or `1h 5m`."
        )
    if not 0 < seconds <= MAX_DURATION_S:
        raise LessonError(f"{where}: `duration: {value}` must be more than 0 and at most 24 hours.")
    return round(seconds)


MAX_CHAPTERS = 200


def parse_chapters(value: object, *, name: str, line: int | None) -> tuple[Chapter, ...]:
    """Front matter ``chapters``: a list of ``{time: "m:ss", title: ...}`` (or ``- "m:ss Title"``), in time
    order; the first chapter may start after 0:00. Errors name the entry to fix."""
    if value is None:
        return ()
    where = name if line is None else f"{name}, line {line}"
    if not isinstance(value, list) or not value:
        raise LessonError(
            f"{where}: `chapters` must be a list, one `- time: 1:30` + `title: ...` entry per chapter."
        )
    if len(value) > MAX_CHAPTERS:
        raise LessonError(f"{where}: {len(value)} chapters; a lesson may have at most {MAX_CHAPTERS}.")
    chapters: list[Chapter] = []
    for number, entry in enumerate(value, start=1):
        if isinstance(entry, str) and " " in entry.strip():
            clock, title = entry.strip().split(" ", 1)
            entry = {"time": clock, "title": title}
        if not isinstance(entry, dict) or "time" not in entry or not str(entry.get("title") or "").strip():
            raise LessonError(
                f"{where}: chapter {number} needs a `time` (1:30, 1:02:03 or seconds) and a `title`."
            )
        seconds = _chapter_seconds(entry["time"])
        if seconds is None:
            raise LessonError(
                f"{where}: chapter {number}: `time: {entry['time']}` is not a time; write 1:30 (minutes:"
                "seconds), 1:02:03 or a number of seconds."
            )
        if chapters and seconds * 1000 <= chapters[-1].start_ms:
            raise LessonError(f"{where}: chapter {number} does not start after chapter {number - 1}.")
        chapters.append(Chapter(round(seconds * 1000), str(entry["title"]).strip()[:200]))
    return tuple(chapters)


def _chapter_seconds(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if 0 <= value <= MAX_DURATION_S else None
    text = str(value).strip()
    clock = _CLOCK.match(text)
    if clock and clock.group(1):
        return int(clock.group(1)) * 60 + int(clock.group(2))
    if clock:
        return int(clock.group(3)) * 3600 + int(clock.group(4)) * 60 + int(clock.group(5))
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    return None


def parse_description(front_matter: dict[str, object], name: str) -> str | None:
    value = front_matter.get("description")
    if value is None:
        return None
    if not isinstance(value, str):
        raise LessonError(f"{name}: `description` in the front matter must be text; quote it.")
    return value.strip() or None
