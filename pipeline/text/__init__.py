"""Text courses: ``course.yaml`` manifests and Markdown lessons rendered to sanitized, self-contained HTML.

Pure functions over bytes and strings; the handlers do the S3 and catalog work around them.
"""

from __future__ import annotations

from pipeline.text.lesson import RenderedLesson, render_lesson
from pipeline.text.manifest import CourseManifest, LessonRef, Section, parse_manifest
from pipeline.text.page import render_course_index, render_page

__all__ = [
    "CourseManifest",
    "LessonRef",
    "RenderedLesson",
    "Section",
    "parse_manifest",
    "render_course_index",
    "render_lesson",
    "render_page",
]
