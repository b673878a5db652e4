"""Text courses: Markdown lessons to sanitized HTML pages, ``course.yaml`` to the course record."""

from __future__ import annotations

import posixpath
from typing import Any

from pipeline import layout
from pipeline.catalog.model import SourceRef
from pipeline.errors import LessonError, ManifestError
from pipeline.keys import asset_id_for, parse_key
from pipeline.services import Services
from pipeline.text.lesson import render_lesson
from pipeline.text.manifest import MAX_MANIFEST_BYTES, parse_manifest
from pipeline.text.page import render_course_index


def _published_map(items: list[dict[str, Any]], course_prefix: str) -> dict[str, str]:
    """Source path -> published entry point (course-relative), for assets already published."""
    found: dict[str, str] = {}
    for item in items:
        outputs = item.get("outputs") or []
        if item.get("status") == "PUBLISHED" and item.get("path") and outputs:
            first = str(outputs[0])
            if first.startswith(course_prefix):
                found[str(item["path"])] = first[len(course_prefix) :]
    return found


def render_lesson_page(source: SourceRef, services: Services) -> dict[str, Any]:
    asset = parse_key(source.key)
    limit = services.settings.limits.max_lesson_bytes
    info = services.store.head(source.bucket, source.key, source.version_id)
    if info is not None and info.size > limit:
        raise LessonError(
            f"'{asset.name}' is {info.size} bytes; lessons are limited to {limit} bytes: split it"
        )
    items = services.catalog.course_items(asset.course_id)
    course = next((i for i in items if i.get("SK") == "COURSE"), {})
    published = _published_map(items, asset.publish_prefix)
    data = services.store.read_range(source.bucket, source.key, limit + 1, source.version_id)
    lesson = render_lesson(
        data,
        name=asset.name,
        course_title=course.get("title"),
        lang=str(course.get("lang") or "en"),
        rewrite_url=lambda link: layout.relative_link(asset.path, link, published),
        max_bytes=limit,
    )
    key = asset.publish_prefix + layout.lesson_page(asset.asset_id)
    services.store.put_bytes(
        services.settings.publish_bucket, key, lesson.html.encode("utf-8"), cache_control="public, max-age=60"
    )
    return {
        "outputs": [key],
        "details": {
            "lesson": {
                "title": lesson.title,
                "words": lesson.word_count,
                "headings": len(lesson.headings),
                "links": lesson.links[:50],
            }
        },
    }


def build_course(source: SourceRef, services: Services) -> dict[str, Any]:
    asset = parse_key(source.key)
    info = services.store.head(source.bucket, source.key, source.version_id)
    if info is not None and info.size > MAX_MANIFEST_BYTES:
        raise ManifestError(f"course.yaml is {info.size} bytes; the limit is {MAX_MANIFEST_BYTES}")
    data = services.store.read_range(source.bucket, source.key, MAX_MANIFEST_BYTES + 1, source.version_id)
    manifest = parse_manifest(data, expected_course_id=asset.course_id)
    manifest_dir = posixpath.dirname(asset.path)

    files = {lesson.id: lesson.file for lesson in manifest.lessons()}

    def lesson_href(lesson_id: str) -> str:
        """Lesson pages are named by the asset id of their source file (stable across re-uploads)."""
        file = files[lesson_id]
        path = posixpath.normpath(posixpath.join(manifest_dir, file)) if manifest_dir else file
        return layout.lesson_page(asset_id_for(path))

    index_html = render_course_index(manifest, lesson_href=lesson_href)
    key = asset.publish_prefix + layout.course_index()
    record = manifest.to_dict()
    record["status"] = "PUBLISHED"
    record["index"] = key
    services.catalog.put_course(asset.course_id, record, source)
    services.store.put_bytes(
        services.settings.publish_bucket, key, index_html.encode("utf-8"), cache_control="public, max-age=60"
    )
    return {
        "outputs": [key],
        "details": {"course": {"title": manifest.title, "lessons": len(manifest.lesson_ids())}},
    }
