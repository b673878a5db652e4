"""Benchmark: Markdown lessons to sanitized HTML fragments (``pipeline/text/lesson/``).

    python tests/performance/bench_text.py [--runs 5] [--lessons 300] [--seed 1] [--json]

Generates, at run time and from a fixed seed, realistic lessons (headings, prose with emphasis, code spans,
links to other lessons and outside, images, nested lists, fenced code in several languages, tables,
admonitions, footnotes, quotes, definition lists) and renders them with a resolver that maps lesson links
to pages and images to srcset variants, as the use case does:

* one 200 KiB lesson (and, for the bounded-time target, one ~1 MB lesson);
* a 300-lesson course of 3-8 KiB lessons.

It prints ms per lesson (median of ``--runs``), throughput in KiB/s, and where the time goes: Markdown
(block and inline parsing, extensions), Pygments (highlighting, called from inside Markdown), nh3 (both
sanitizing passes and the text extraction for the word count) and the rest (structure checks, URL
rewriting, players). The split comes from timing wrappers installed by this script only. Not a test
(pytest collects only ``test_*.py``): figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import markdown  # noqa: E402
import nh3  # noqa: E402
from markdown.extensions import codehilite  # noqa: E402

from pipeline.text.lesson import RenderedLesson, render_lesson  # noqa: E402
from pipeline.text.lesson import sanitize as sanitize_module  # noqa: E402
from pipeline.text.links import Target  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

_VOCABULARY = (
    "the a segment playlist encoder bitrate rendition player keyframe chunk ladder audio video stream "
    "manifest codec frame resolution buffer latency upload course lesson student caption subtitle "
    "thumbnail poster bucket queue state machine function handler event retry timeout cost budget "
    "quality network bandwidth device browser phone window is are can will should must may often "
    "usually never always quickly slowly first then after before because while when where which"
)
WORDS = tuple(_VOCABULARY.split())
CODE = {
    "python": (
        "def ladder(height: int, fps: float = 30.0) -> list[dict[str, int]]:\n"
        '    """Rungs for a source of this height."""\n'
        "    rungs = [r for r in RUNGS if r['height'] <= height]\n"
        "    for rung in rungs:\n"
        "        rung['maxrate'] = int(rung['bitrate'] * 1.07)  # VBV headroom\n"
        "    return rungs or [RUNGS[0]]\n"
    ),
    "javascript": (
        "const video = document.querySelector('video[data-hls-src]');\n"
        "if (video.canPlayType('application/vnd.apple.mpegurl')) {\n"
        "  video.src = video.dataset.hlsSrc;\n"
        "} else if (Hls.isSupported()) {\n"
        "  const hls = new Hls({ maxBufferLength: 30 });\n"
        "  hls.loadSource(video.dataset.hlsSrc);\n"
        "  hls.attachMedia(video);\n"
        "}\n"
    ),
    "bash": (
        "#!/usr/bin/env bash\n"
        "set -euo pipefail\n"
        'for f in "$@"; do\n'
        '  ffmpeg -i "$f" -c:v libx264 -crf 21 -g 48 -hls_time 4 "${f%.*}/index.m3u8"\n'
        "done\n"
    ),
    "yaml": (
        "id: intro-to-pipelines\n"
        "title: Intro to pipelines\n"
        "sections:\n"
        "  - title: Basics\n"
        "    lessons:\n"
        "      - {id: welcome, file: lessons/01-welcome.md, video: media/welcome.mp4}\n"
    ),
    "sql": (
        "SELECT course_id, COUNT(*) AS lessons, SUM(duration_s) / 60 AS minutes\n"
        "FROM lessons WHERE status = 'PUBLISHED'\n"
        "GROUP BY course_id ORDER BY minutes DESC LIMIT 10;\n"
    ),
    "json": '{"Type": "Map", "ItemsPath": "$.chunks",\n "MaxConcurrency": 10}\n',
}


# ------------------------------------------------------------------------------------------ content
class LessonWriter:
    """Deterministic, realistic Markdown: prose-heavy, with every construct a course uses."""

    def __init__(self, rng: random.Random, lessons: int) -> None:
        self.rng = rng
        self.lessons = lessons
        self.footnote = 0

    def words(self, low: int, high: int) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(low, high)))

    def sentence(self) -> str:
        text = self.words(6, 18)
        roll = self.rng.random()
        if roll < 0.15:
            text += f" **{self.words(1, 3)}**"
        elif roll < 0.28:
            text += f" *{self.words(1, 3)}*"
        elif roll < 0.40:
            text += f" `{self.rng.choice(['master.m3u8', 'EXT-X-ENDLIST', '-crf 21', 'hls_time', 'x < y'])}`"
        elif roll < 0.48:
            other = self.rng.randint(1, self.lessons)
            text += f" [{self.words(1, 3)}]({other:03d}-lesson.md)"
        elif roll < 0.53:
            text += f" [{self.words(1, 2)}](https://example.com/{self.words(1, 1)})"
        elif roll < 0.56:
            self.footnote += 1
            text += f"[^{self.footnote}]"
        elif roll < 0.60:
            text += ' -- it\'s "quoted"'
        return text[0].upper() + text[1:] + "."

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(2, 6)))

    def block(self) -> str:
        roll = self.rng.random()
        if roll < 0.45:
            return self.paragraph()
        if roll < 0.55:
            items = [f"- {self.sentence()}" for _ in range(self.rng.randint(2, 5))]
            if self.rng.random() < 0.4:
                items.insert(1, f"    1. {self.sentence()}\n    2. {self.sentence()}")
            return "\n".join(items)
        if roll < 0.68:
            lang = self.rng.choice(list(CODE))
            return f"```{lang}\n{CODE[lang] * self.rng.randint(1, 3)}```"
        if roll < 0.74:
            rows = [f"| {self.rng.choice(WORDS)} | {self.rng.randint(1, 9000)} | {self.words(2, 5)} |"
                    for _ in range(self.rng.randint(2, 8))]  # fmt: skip
            return "| Name | Value | Notes |\n|:-----|------:|-------|\n" + "\n".join(rows)
        if roll < 0.80:
            kind = self.rng.choice(["note", "warning", "tip"])
            return f'!!! {kind} "{self.words(1, 3).capitalize()}"\n    {self.paragraph()}'
        if roll < 0.86:
            return f"![{self.words(2, 4)}](../images/diagram-{self.rng.randint(1, 40)}.png)"
        if roll < 0.90:
            return f"> {self.paragraph()}"
        if roll < 0.94:
            return f"{self.words(1, 2).capitalize()}\n:   {self.sentence()}"
        return f"{self.paragraph()} HLS and CMAF keep it simple."

    def lesson(self, size: int, number: int) -> str:
        self.footnote = 0
        parts = [
            f"---\ntitle: Lesson {number}\nduration: {self.rng.randint(3, 25)} min\n---",
            f"# Lesson {number}",
        ]
        length = sum(len(p) + 2 for p in parts)
        while length < size:
            if self.rng.random() < 0.12:
                block = f"{'#' * self.rng.randint(2, 3)} {self.words(2, 5).capitalize()}"
            else:
                block = self.block()
            if length + len(block) + 2 > size:
                break
            parts.append(block)
            length += len(block) + 2
        parts.extend(f"[^{n}]: {self.sentence()}" for n in range(1, self.footnote + 1))
        parts.append("*[HLS]: HTTP Live Streaming\n*[CMAF]: Common Media Application Format")
        return "\n\n".join(parts) + "\n"


def resolver(url: str) -> Target | None:
    """Lesson links -> pages, images -> 3 variants: what the use case's resolver returns."""
    path = url.split("#", 1)[0]
    if path.endswith(".md"):
        return Target("page", f"lessons/{path}", path[:-3] + ".html")
    if path.endswith(".png"):
        stem = path.rsplit("/", 1)[-1][:-4]
        variants = tuple((f"../images/{stem}/{w}.webp", w) for w in (320, 640, 1280))
        return Target("image", path.lstrip("./"), variants[1][0], srcset=variants)
    return None


# ------------------------------------------------------------------------------------------ timing
@dataclass
class Split:
    """Seconds in each part, accumulated by the wrappers below."""

    markdown: float = 0.0
    pygments: float = 0.0
    nh3: float = 0.0
    calls: dict[str, int] = field(default_factory=dict)

    def add(self, part: str, seconds: float) -> None:
        setattr(self, part, getattr(self, part) + seconds)
        self.calls[part] = self.calls.get(part, 0) + 1


class _TimedCleaner:
    def __init__(self, cleaner: nh3.Cleaner, split: Split) -> None:
        self.cleaner = cleaner
        self.split = split

    def clean(self, html: str) -> str:
        start = time.perf_counter()
        try:
            return self.cleaner.clean(html)
        finally:
            self.split.add("nh3", time.perf_counter() - start)


@contextmanager
def timed_parts(split: Split) -> Iterator[None]:
    """Wrap Markdown.convert, CodeHilite.hilite and the renderer's nh3 calls (this process only)."""
    convert, hilite = markdown.Markdown.convert, codehilite.CodeHilite.hilite
    make_cleaner, clean = sanitize_module._cleaner, nh3.clean

    def timed(part: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                split.add(part, time.perf_counter() - start)

        return wrapper

    markdown.Markdown.convert = timed("markdown", convert)
    codehilite.CodeHilite.hilite = timed("pygments", hilite)
    sanitize_module._cleaner = lambda *a, **k: _TimedCleaner(make_cleaner(*a, **k), split)  # type: ignore[assignment]
    nh3.clean = timed("nh3", clean)
    try:
        yield
    finally:
        markdown.Markdown.convert = convert
        codehilite.CodeHilite.hilite = hilite
        sanitize_module._cleaner = make_cleaner
        nh3.clean = clean


def render_all(sources: list[bytes]) -> tuple[float, list[float], list[RenderedLesson]]:
    times, results = [], []
    start = time.perf_counter()
    for i, source in enumerate(sources):
        t0 = time.perf_counter()
        results.append(render_lesson(source, name=f"lessons/{i + 1:03d}-lesson.md", resolve=resolver))
        times.append(time.perf_counter() - t0)
    return time.perf_counter() - start, times, results


@dataclass
class Row:
    name: str
    lessons: int
    kib: float
    wall_s: float  # median run
    per_lesson_ms: list[float]
    split: Split

    def to_dict(self) -> dict[str, Any]:
        inside = self.split.markdown - self.split.pygments
        return {
            "name": self.name,
            "lessons": self.lessons,
            "KiB": round(self.kib, 1),
            "msPerLesson": round(1000 * self.wall_s / self.lessons, 2),
            "p95msPerLesson": round(sorted(self.per_lesson_ms)[int(0.95 * (len(self.per_lesson_ms) - 1))], 2),
            "KiBPerSecond": round(self.kib / self.wall_s, 1),
            "share": {
                "markdown": round(inside / self.wall_s, 3),
                "pygments": round(self.split.pygments / self.wall_s, 3),
                "nh3": round(self.split.nh3 / self.wall_s, 3),
                "rest": round(1 - (self.split.markdown + self.split.nh3) / self.wall_s, 3),
            },
        }


def measure(name: str, sources: list[bytes], runs: int) -> tuple[Row, list[RenderedLesson]]:
    render_all(sources[:3])  # warm-up: imports, Pygments lexers, regex caches
    samples: list[tuple[float, list[float], Split]] = []
    results: list[RenderedLesson] = []
    for _ in range(runs):
        split = Split()
        with timed_parts(split):
            wall, times, results = render_all(sources)
        samples.append((wall, times, split))
    samples.sort(key=lambda s: s[0])
    wall, times, split = samples[(len(samples) - 1) // 2]
    kib = sum(len(s) for s in sources) / 1024
    return Row(name, len(sources), kib, wall, [1000 * t for t in times], split), results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (the median is shown)")
    parser.add_argument("--lessons", type=int, default=300, help="lessons in the generated course")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    args = parser.parse_args()
    if args.runs < 1 or args.lessons < 1:
        parser.error("--runs and --lessons must be at least 1")

    rng = random.Random(args.seed)
    writer = LessonWriter(rng, args.lessons)
    big = writer.lesson(200 * 1024, 1).encode()
    huge = writer.lesson(950_000, 2).encode()
    course = [writer.lesson(rng.randint(3 * 1024, 8 * 1024), n).encode() for n in range(1, args.lessons + 1)]

    rows = []
    row, results = measure("one 200 KiB lesson", [big], args.runs)
    rows.append(row)
    facts = {
        "words": results[0].word_count,
        "headings": len(results[0].headings),
        "links": len(results[0].links),
        "warnings": len(results[0].warnings),
    }
    row, _ = measure("one ~1 MB lesson", [huge], max(1, args.runs // 2))
    rows.append(row)
    row, _ = measure(f"course of {args.lessons} lessons (3-8 KiB)", course, args.runs)
    rows.append(row)

    machine = {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
               "python": platform.python_version(), "markdown": markdown.__version__}  # fmt: skip
    if args.json:
        print(
            json.dumps(
                {"machine": machine, "rows": [r.to_dict() for r in rows], "bigLesson": facts}, indent=2
            )
        )
        return
    print(
        f"machine: {machine['cpus']} CPUs, {machine['processor']}, Python {machine['python']}, "
        f"Markdown {machine['markdown']}; median of {args.runs} run(s)"
    )
    print(f"200 KiB lesson: {facts['words']:,} words, {facts['headings']} headings, {facts['links']} links\n")
    print(
        f"{'':40} {'KiB':>8} {'ms/lesson':>10} {'p95 ms':>8} {'KiB/s':>8} "
        f"{'Markdown':>9} {'Pygments':>9} {'nh3':>6} {'rest':>6}"
    )
    for row in rows:
        d = row.to_dict()
        share = d["share"]
        print(
            f"{row.name:40} {d['KiB']:8.1f} {d['msPerLesson']:10.2f} {d['p95msPerLesson']:8.2f} "
            f"{d['KiBPerSecond']:8.1f} {share['markdown']:9.0%} {share['pygments']:9.0%} "
            f"{share['nh3']:6.0%} {share['rest']:6.0%}"
        )
    print(
        "Markdown = Markdown.convert minus the Pygments calls made inside it; rest = structure checks, "
        "URL rewriting and players, front matter."
    )


if __name__ == "__main__":
    main()
