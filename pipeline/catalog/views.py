"""What a learner and what an operator may see of the catalog's items: the API's JSON documents.

Learners see only published courses and published files, and nothing of how the pipeline got there (no
error text, no execution ARNs, no S3 version ids, no file of an asset that is not PUBLISHED). Operators see
every status, errors and executions. The CLI prints the same documents, so both stay one contract.

Contract (JSON, camelCase, field names are stable API). Every published path below is the publish-bucket
key with a leading ``/``, i.e. the path on the media CDN's domain (``/courses/{courseId}/...``).

``Course`` = ``{"courseId", "title", "description", "lang", "status", "lessonCount", "cover": path | null
(the cover image once it is PUBLISHED), "index": path | null, "updatedAt"}``; one course's document adds
``"schemaVersion"``.

Learners (``learner_course``)::

    {"course": Course + {"schemaVersion"},
     "sections": [{"title", "lessons": [Lesson]}],
     "assets": [PublishedAsset]}                      (PUBLISHED assets only, sorted by path)
    Lesson = {"lessonId", "title", "status": "PUBLISHED" | "MISSING",
              "page": path | null, "durationS", "description",
              "path": str | null, "assetId": str | null,          (null unless PUBLISHED)
              "video": null | {"status": "PUBLISHED" | "MISSING", "master": path | null,
                               "posters": [path], "captions": [Caption],
                               "path": str | null, "assetId": str | null}}
    Caption = {"language": BCP-47, "label", "vtt": path (whole-file WebVTT),
               "source": "embedded" (a subtitle stream of the video) | "file" (a caption file)}
    PublishedAsset = {"assetId", "path", "kind", "status": "PUBLISHED", "entry": path | null,
                      "outputs": [path], "thumbnails", "file", "updatedAt"}
    File = null | {"name", "label", "contentType", "bytes", "pages", "previews": [path]}  (handouts)

``MISSING`` means "not available to learners": not uploaded, still processing, failed or deleted (the
operator view says which).

Operators (``operator_course``)::

    {"course": Course + {"schemaVersion"},
     "sections": [{"title", "lessons": [OperatorLesson]}],
     "assets": [Asset]}                               (sorted by path)
    OperatorLesson = {"lessonId", "title", "path", "assetId",
              "status": asset status | "MISSING" (not uploaded, or deleted),
              "page": path | null (when PUBLISHED), "durationS", "description",
              "video": null | {"path", "assetId", "status" | "MISSING",
                               "master": path | null (when PUBLISHED), "posters": [path],
                               "captions": [Caption] (when PUBLISHED)}}

``course.status`` is PUBLISHED, DELETED (its ``course.yaml`` was deleted: the list omits it, the record
and the lessons it names stay readable here) or NO_MANIFEST: files uploaded before their ``course.yaml``,
with ``title`` null and ``sections`` empty.

``Asset`` = ``{"assetId", "path", "kind" (null until classified), "status", "entry": path | null
(outputs[0]: the master playlist, lesson page, index.html or first image variant), "outputs": [path],
"thumbnails", "error": {"name", "message"} | null (FAILED only), "executionArn", "sourceVersion",
"updatedAt"}``; an asset listing adds ``"courseId"`` (``operator_asset_view``). ``thumbnails`` is
``{"posters": [path], "sprites": path of the WebVTT track | null}`` for video and audio,
``{"variants": [{"path", "width", "height"}]}`` for images, null otherwise. ``entry``, ``outputs`` and
``thumbnails`` describe the files the item lists, which stay live while a re-upload processes or after it
fails (the pipeline only replaces them on success); a DELETED asset has none. Lesson ``page`` and video
``master``/``posters`` are for players, so they are set only when PUBLISHED.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pipeline import layout
from pipeline.catalog.caption_bindings import bindings_of_video
from pipeline.catalog.model import AssetStatus
from pipeline.catalog.query import CourseEntry, CourseItems, cover_path
from pipeline.keys import INGEST_PREFIX, asset_id_for

if TYPE_CHECKING:
    from collections.abc import Mapping

NO_MANIFEST = "NO_MANIFEST"
MISSING = "MISSING"


def url_path(key: Any) -> str | None:
    """A publish-bucket key as the path clients request on the media CDN."""
    return "/" + quote(str(key), safe="/") if key else None


def _url_paths(keys: Any) -> list[str]:
    return [p for p in (url_path(k) for k in keys or []) if p]


def _publish_prefix(course_id: str) -> str:
    return f"{INGEST_PREFIX}{course_id}/"


def _asset_path(item: Mapping[str, Any]) -> str:
    """Course-relative source path; an item written before ``path`` was known falls back to its key."""
    if item.get("path"):
        return str(item["path"])
    key = str(item.get("sourceKey") or "")
    prefix = _publish_prefix(str(item.get("courseId") or ""))
    return key[len(prefix) :] if key.startswith(prefix) else str(item.get("assetId") or "")


def _thumbnails(item: Mapping[str, Any]) -> dict[str, Any] | None:
    kind = item.get("kind")
    details = item.get("details") or {}
    if kind in ("video", "audio"):
        sprites = details.get("sprites") or {}
        vtt = sprites.get("vtt") if isinstance(sprites, dict) else None
        return {"posters": _url_paths(details.get("posters")), "sprites": url_path(vtt)}
    if kind == "image":
        variants = [
            {"path": url_path(v["key"]), "width": v.get("width"), "height": v.get("height")}
            for v in details.get("variants") or []
            if isinstance(v, dict) and v.get("key")
        ]
        return {"variants": variants}
    return None


def asset_view(item: Mapping[str, Any]) -> dict[str, Any]:
    """One asset item as the API shows it."""
    status = str(item.get("status") or "")
    deleted = status == AssetStatus.DELETED
    outputs = [] if deleted else _url_paths(item.get("outputs"))
    error = item.get("error") if status == AssetStatus.FAILED else None
    return {
        "assetId": item.get("assetId"),
        "path": _asset_path(item),
        "kind": item.get("kind"),
        "status": status,
        "entry": outputs[0] if outputs else None,
        "outputs": outputs,
        "thumbnails": None if deleted else _thumbnails(item),
        "file": None if deleted else _file(item),
        # Only FAILED items carry an error: a re-upload removes it, and so does publishing.
        "error": {"name": error.get("name"), "message": error.get("message")}
        if isinstance(error, dict)
        else None,
        "executionArn": item.get("executionArn"),
        "sourceVersion": item.get("sourceVersion"),
        "updatedAt": item.get("updatedAt"),
    }


def _file(item: Mapping[str, Any]) -> dict[str, Any] | None:
    """A handout's facts (what a download card shows); None for other kinds."""
    found = (item.get("details") or {}).get("attachment")
    if item.get("kind") != "attachment" or not isinstance(found, dict):
        return None
    return {
        "name": found.get("name"),
        "label": found.get("label"),
        "contentType": found.get("contentType"),
        "bytes": found.get("bytes"),
        "pages": found.get("pages"),
        "previews": _url_paths(found.get("previews")),
    }


def published_asset_view(item: Mapping[str, Any]) -> dict[str, Any]:
    """A PUBLISHED asset as learners see it: its published files, nothing of how it was processed."""
    view = asset_view(item)
    return {
        k: view[k]
        for k in ("assetId", "path", "kind", "status", "entry", "outputs", "thumbnails", "file", "updatedAt")
    }


def _published(item: Mapping[str, Any] | None) -> bool:
    return item is not None and item.get("status") == AssetStatus.PUBLISHED


def _cover_url(course_id: str, cover_asset: Mapping[str, Any] | None) -> str | None:
    """The variant course pages use for the cover, once the image is published."""
    if cover_asset is None or not _published(cover_asset):
        return None
    outputs = [str(o) for o in cover_asset.get("outputs") or []]
    preferred = _publish_prefix(course_id) + layout.image_variant(
        str(cover_asset.get("assetId")), layout.IMAGE_DEFAULT_WIDTH
    )
    return url_path(preferred if preferred in outputs else (outputs[0] if outputs else None))


def course_summary(record: Mapping[str, Any], cover_asset: Mapping[str, Any] | None) -> dict[str, Any]:
    course_id = str(record.get("courseId") or record.get("id"))
    sections = record.get("sections") or []
    return {
        "courseId": course_id,
        "title": record.get("title"),
        "description": record.get("description"),
        "lang": record.get("lang"),
        "status": record.get("status"),
        "lessonCount": sum(len(s.get("lessons") or []) for s in sections if isinstance(s, dict)),
        "cover": _cover_url(course_id, cover_asset),
        "index": url_path(record.get("index")),
        "updatedAt": record.get("updatedAt"),
    }


def _manifest_dir(record: Mapping[str, Any]) -> str:
    """The folder of course.yaml inside the course: manifest paths are relative to it."""
    key = str(record.get("manifestKey") or "")
    prefix = _publish_prefix(str(record.get("courseId") or ""))
    return posixpath.dirname(key[len(prefix) :]) if key.startswith(prefix) else ""


def _video_view(
    record: Mapping[str, Any], lesson: Mapping[str, Any], path: str, by_id: Mapping[str, dict[str, Any]]
) -> dict[str, Any] | None:
    if not lesson.get("video"):
        return None
    if lesson.get("videoLink"):  # as BuildCourse resolved it: relative to the lesson file
        video_path = posixpath.normpath(posixpath.join(posixpath.dirname(path), str(lesson["videoLink"])))
    else:
        video_path = posixpath.normpath(posixpath.join(_manifest_dir(record), str(lesson["video"])))
    aid = asset_id_for(video_path)
    item = by_id.get(aid)
    published = _published(item)
    details = (item or {}).get("details") or {}
    return {
        "path": video_path,
        "assetId": aid,
        "status": _lesson_status(item),
        "master": url_path((item or {}).get("outputs", [None])[0]) if published else None,
        "posters": _url_paths(details.get("posters")) if published else [],
        "captions": _captions_of(record, video_path, details, by_id) if published else [],
    }


def _captions_of(
    record: Mapping[str, Any],
    video_path: str,
    details: Mapping[str, Any],
    by_id: Mapping[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """The caption languages a published video plays: its own subtitle streams, then the caption files
    published for it, by name or by course.yaml's ``captions:`` (those attach after the video's own
    item was written, and a manifest may bind them later still, so they are looked up)."""
    found: list[dict[str, Any]] = []
    hls = details.get("hls") or {}
    master = hls.get("master")
    for sub in hls.get("subtitles") or []:
        folder = str(sub.get("folder") or "")
        if folder.startswith("embedded-") and master:
            vtt = posixpath.join(posixpath.dirname(str(master)), "subs", folder, "track.vtt")
            found.append(_caption(sub.get("language"), sub.get("name"), url_path(vtt), "embedded"))
    captions = {str(i.get("path")): i for i in by_id.values() if i.get("kind") == "caption" and _published(i)}
    for binding in bindings_of_video(video_path, record, captions):
        entry = url_path((captions[binding.caption].get("outputs") or [None])[0])
        found.append(_caption(binding.language, binding.name(), entry, "file"))
    return found


def _caption(language: Any, label: Any, vtt: str | None, source: str) -> dict[str, Any]:
    return {"language": language, "label": label, "vtt": vtt, "source": source}


def _lesson_status(item: Mapping[str, Any] | None) -> str:
    if item is None or item.get("status") == AssetStatus.DELETED:
        return MISSING
    return str(item.get("status"))


def _sections(record: Mapping[str, Any], by_id: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    sections = []
    for section in record.get("sections") or []:
        lessons = []
        for lesson in section.get("lessons") or []:
            path = str(lesson.get("path") or lesson.get("file"))
            aid = asset_id_for(path)
            item = by_id.get(aid)
            status = _lesson_status(item)
            # Title, duration and description of the last rendered version stay true while a re-upload
            # processes; the page link is only handed out for a PUBLISHED lesson.
            shown = item if item is not None and status != MISSING else {}
            info = (shown.get("details") or {}).get("lesson") or {}
            outputs = shown.get("outputs") or []
            lessons.append(
                {
                    "lessonId": lesson.get("id"),
                    "title": lesson.get("title") or info.get("title") or lesson.get("id"),
                    "path": path,
                    "assetId": aid,
                    "status": status,
                    "page": url_path(outputs[0]) if status == AssetStatus.PUBLISHED and outputs else None,
                    "durationS": info.get("durationS"),
                    "description": info.get("description"),
                    "video": _video_view(record, lesson, path, by_id),
                }
            )
        sections.append({"title": section.get("title"), "lessons": lessons})
    return sections


def _learner_lesson(lesson: dict[str, Any]) -> dict[str, Any]:
    """An operator lesson view cut down to what a learner's app may see: published or not, and for a
    published lesson (or video) its page (or playlist) and source path; the pipeline's states, errors
    and the paths of files that are not published stay in the operator view."""
    published = lesson["status"] == AssetStatus.PUBLISHED
    video = lesson["video"]
    if video is not None:
        shown = video["status"] == AssetStatus.PUBLISHED
        video = {
            "status": AssetStatus.PUBLISHED.value if shown else MISSING,
            "master": video["master"] if shown else None,
            "posters": video["posters"] if shown else [],
            "captions": video["captions"] if shown else [],
            "path": video["path"] if shown else None,
            "assetId": video["assetId"] if shown else None,
        }
    return {
        "lessonId": lesson["lessonId"],
        "title": lesson["title"],
        "status": AssetStatus.PUBLISHED.value if published else MISSING,
        "page": lesson["page"] if published else None,
        "durationS": lesson["durationS"] if published else None,
        "description": lesson["description"] if published else None,
        "path": lesson["path"] if published else None,
        "assetId": lesson["assetId"] if published else None,
        "video": video,
    }


def operator_asset_view(item: Mapping[str, Any]) -> dict[str, Any]:
    """An asset of a listing across courses: the asset view and which course it belongs to."""
    return {"courseId": item.get("courseId"), **asset_view(item)}


def course_entry_view(entry: CourseEntry) -> dict[str, Any]:
    """A course of the course list."""
    return course_summary(entry.record, entry.cover)


def _course_and_sections(course: CourseItems) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The course summary (with ``schemaVersion``) and the operator lesson view of its sections."""
    record = course.record
    by_id = {str(a.get("assetId")): a for a in course.assets}
    if record is None:
        summary = course_summary({"courseId": course.course_id, "status": NO_MANIFEST}, None)
        sections: list[dict[str, Any]] = []
    else:
        cover = cover_path(record)
        summary = course_summary(record, by_id.get(asset_id_for(cover)) if cover else None)
        sections = _sections(record, by_id)
    summary["schemaVersion"] = record.get("schemaVersion") if record else None
    return summary, sections


def operator_course(course: CourseItems) -> dict[str, Any]:
    """One course as the pipeline sees it: every status, errors, executions, courses without a manifest
    and deleted assets (those the query kept)."""
    summary, sections = _course_and_sections(course)
    views = sorted((asset_view(a) for a in course.assets), key=lambda v: (v["path"], str(v["assetId"])))
    return {"course": summary, "sections": sections, "assets": views}


def learner_course(course: CourseItems) -> dict[str, Any]:
    """A published course as learners see it: the operator view cut down to published lessons and files.

    It takes every asset of the course, not only PUBLISHED ones: a lesson being re-rendered keeps the title
    and description of its last rendered version."""
    summary, sections = _course_and_sections(course)
    learner_sections = [
        {"title": section["title"], "lessons": [_learner_lesson(x) for x in section["lessons"]]}
        for section in sections
    ]
    published = sorted(
        (published_asset_view(a) for a in course.assets if _published(a)),
        key=lambda v: (v["path"], str(v["assetId"])),
    )
    return {"course": summary, "sections": learner_sections, "assets": published}
