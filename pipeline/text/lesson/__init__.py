"""Markdown lessons rendered to sanitized HTML fragments, one room per job.

- ``render.py``: the order of a render, and the one place that turns any failure into a ``LessonError``.
- ``sanitize.py``: the security boundary (nh3 allow-lists, URL schemes, attribute filters, srcset checks);
  it imports nothing from this package, so it can be audited on its own.
- ``references.py``: relative URLs resolved to course files and written in between the two cleans; players.
- ``treeprocessors.py``: what the renderer changes in, and measures of, Markdown's element tree.
- ``limits.py``: the bounds that keep a 1 MB lesson to bounded time, and the checks that enforce them.
- ``front_matter.py``: the YAML front matter, loaded safely and boundedly.

Whatever goes wrong while rendering, ``render_lesson`` raises a ``LessonError`` (``LessonRenderError`` for
what no check foresaw): one lesson's failure is that lesson's, never its course's.
"""

from __future__ import annotations

from pipeline.text.lesson.render import RenderedLesson, render_lesson
from pipeline.text.lesson.sanitize import ALLOWED_ATTRIBUTES, ALLOWED_TAGS

__all__ = ["ALLOWED_ATTRIBUTES", "ALLOWED_TAGS", "RenderedLesson", "render_lesson"]
