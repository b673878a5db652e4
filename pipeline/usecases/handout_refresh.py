"""Download cards a concurrent run left stale: rendered before the handout they show was recorded.

A lesson (or a course.yaml) and a handout it shows upload together and run at once. The lesson's render
reads the catalog before the handout's RecordAsset writes its facts; the handout's own refresh renders
again only the lessons whose items say they link it, and the lesson's item is not written yet. Each side
writes its item, then reads the other's: the page's item keeps the handouts its page showed (path →
sequencer), and its RecordAsset compares them with the catalog now, so one of the two always renders
the page with the facts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.kinds import kind_by_name
from pipeline.usecases import text
from pipeline.usecases.attachment_links import handouts_shown

if TYPE_CHECKING:
    from pipeline.keys import AssetKey
    from pipeline.services import Services


def after_lesson_publish(asset: AssetKey, services: Services) -> list[str]:
    """This lesson's page again, and the index, if a handout it shows changed while it rendered."""
    item = services.catalog.get_asset(asset.course_id, asset.asset_id) or {}
    lesson = _details(item, "lesson")
    references = [str(p) for p in lesson.get("references") or []]
    if not any(kind_by_name(path) == "attachment" for path in references):
        return []  # the common case costs one read
    course = text.load_course(asset, services)
    if handouts_shown(course.assets, references) == (lesson.get("handouts") or {}):
        return []
    return text.refresh_lessons(asset, services, [asset.path], course)


def after_manifest_publish(asset: AssetKey, services: Services) -> list[str]:
    """The index (its Downloads list) and the lessons showing a handout that changed while BuildCourse
    rendered them."""
    item = services.catalog.get_asset(asset.course_id, asset.asset_id) or {}
    seen: dict[str, Any] = _details(item, "course").get("handouts") or {}
    course = text.load_course(asset, services)
    now = handouts_shown(course.assets, course.assets)
    changed = {path for path in seen.keys() | now.keys() if seen.get(path) != now.get(path)}
    if not changed:
        return []
    stale = [
        path
        for path, found in course.assets.items()
        if found.get("kind") == "lesson"
        and found.get("status") == "PUBLISHED"
        and path in course.files
        and changed & set(_details(found, "lesson").get("references") or [])
    ]
    return text.refresh_lessons(asset, services, stale, course)


def _details(item: dict[str, Any], name: str) -> dict[str, Any]:
    found = (item.get("details") or {}).get(name)
    return found if isinstance(found, dict) else {}
