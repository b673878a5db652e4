"""Text courses: ``course.yaml`` → course record, index page and navigation; Markdown → lesson pages.

The site is a function of three things: the manifest (order, titles, videos), the lesson sources, and
what is published (image widths, posters). Uploads arrive in any order, so both entry points converge:
a lesson rendered after the manifest gets its navigation at once and refreshes the index; a manifest
re-renders every lesson already uploaded (their navigation changed) and rebuilds the index. Lesson pages
are named by their source file's asset id, so a URL survives re-ordering and re-titling in the manifest.
"""

from __future__ import annotations

import functools
import posixpath
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from pipeline import layout
from pipeline.catalog.caption_bindings import listed_captions
from pipeline.catalog.details import CourseDetails, Details, LessonDetails
from pipeline.errors import LessonError, ManifestError, PipelineError
from pipeline.keys import AssetKey, asset_id_for, parse_key
from pipeline.kinds import kind_by_name
from pipeline.publish import IMMUTABLE, SHORT
from pipeline.steps import CourseBuilt, Outputs
from pipeline.text.lesson import RenderedLesson, render_lesson
from pipeline.text.links import Resolver, Target, TargetKind
from pipeline.text.manifest import MAX_MANIFEST_BYTES, parse_manifest
from pipeline.text.page import (
    CourseView,
    LessonLink,
    SectionView,
    hls_js_asset,
    mermaid_js_asset,
    render_course_index,
    render_page,
    site_assets,
)
from pipeline.usecases.attachment_links import attachment_target, course_downloads, handouts_shown
from pipeline.usecases.caption_tracks import video_captions
from pipeline.usecases.downloads import download_links, downloads_to_apply
from pipeline.usecases.search import publish_lesson_fragment, publish_search_list
from pipeline.usecases.subtitle_renditions import attach_captions

if TYPE_CHECKING:
    from pipeline.catalog.model import SourceRef
    from pipeline.services import Services

LESSON_DIR = posixpath.dirname(layout.lesson_page("x"))
_READ_THREADS = 8


@dataclass(frozen=True)
class LessonMeta:
    title: str
    duration_s: int | None = None
    description: str | None = None


@dataclass
class CourseState:
    """What the catalog and the ingest bucket say about a course right now."""

    prefix: str  # courses/{courseId}/ (the same in the ingest and the publish bucket)
    record: dict[str, Any] | None
    assets: dict[str, dict[str, Any]]  # source path -> catalog asset item
    files: set[str]  # source paths uploaded to the course
    read_published: Callable[[str], bytes | None] | None = None
    """Reads a course-relative published file (a caption's WebVTT for the transcript); None: no reads."""

    def course_relative(self, key: str) -> str:
        return key[len(self.prefix) :] if key.startswith(self.prefix) else key

    def lesson_refs(self) -> list[dict[str, Any]]:
        if not self.record:
            return []
        return [lesson for s in self.record.get("sections", []) for lesson in s.get("lessons", [])]

    def meta(self) -> dict[str, LessonMeta]:
        found: dict[str, LessonMeta] = {}
        for path, item in self.assets.items():
            lesson = (item.get("details") or {}).get("lesson")
            # A deleted lesson the manifest still lists keeps its last title in the navigation.
            if item.get("kind") == "lesson" and isinstance(lesson, dict) and lesson.get("title"):
                duration = lesson.get("durationS")
                found[path] = LessonMeta(
                    title=str(lesson["title"]),
                    duration_s=int(duration) if duration else None,
                    description=lesson.get("description"),
                )
        return found


def load_course(asset: AssetKey, services: Services) -> CourseState:
    items = services.catalog.course_items(asset.course_id)
    record = next((i for i in items if i.get("SK") == "COURSE"), None)
    if record is not None and record.get("status") == "DELETED":
        record = None  # course.yaml was deleted: lessons render on their own until a new one arrives
    assets = {str(i["path"]): i for i in items if str(i.get("SK", "")).startswith("ASSET#") and i.get("path")}
    prefix = asset.publish_prefix
    files = {
        unicodedata.normalize("NFC", key[len(prefix) :])
        for key in services.store.list_keys(services.settings.ingest_bucket, prefix)
    }
    bucket = services.settings.publish_bucket

    @functools.cache
    def read_published(relative: str) -> bytes | None:
        found = services.store.read_object(bucket, prefix + relative)
        return found[0] if found else None

    return CourseState(prefix, record, assets, files, read_published=read_published)


def make_resolver(from_path: str, course: CourseState, page_dir: str = LESSON_DIR) -> Resolver:
    """Resolve URLs written in the source at ``from_path`` to course files, relative to ``page_dir``."""

    def rel(published: str) -> str:
        return posixpath.relpath(published, page_dir or ".")

    def published_href(key: str) -> str:
        return rel(course.course_relative(key))

    def resolve(url: str) -> Target | None:
        target, sep, fragment = url.partition("#")
        target = target.split("?", 1)[0]
        first = target.split("/", 1)[0]
        if not target or target.startswith("/") or ":" in first:
            return None
        path = posixpath.normpath(posixpath.join(posixpath.dirname(from_path), unquote(target)))
        path = unicodedata.normalize("NFC", path)
        if path == ".." or path.startswith("../"):
            return None
        named = kind_by_name(path)
        aid = asset_id_for(path)
        missing = path not in course.files
        item = course.assets.get(path) or {}
        details = item.get("details") or {}
        anchor = sep + fragment if sep else ""
        if named == "lesson":
            return Target("page", path, rel(layout.lesson_page(aid)) + anchor, missing=missing)
        if named in ("video", "audio"):
            posters = [str(p) for p in details.get("posters") or [] if str(p).endswith(".jpg")]
            sprites = details.get("sprites") or {}
            # Before the video is processed, the poster it will have: every configured width is written.
            predicted = layout.poster(aid, max(layout.POSTER_WIDTHS))
            poster = rel(course.course_relative(posters[-1]) if posters else predicted)
            vtt = None
            if isinstance(sprites, dict) and sprites.get("vtt"):
                vtt = rel(course.course_relative(str(sprites["vtt"])))
            elif named == "video":
                vtt = rel(layout.sprite_vtt(aid))
            kind: TargetKind = "video" if named == "video" else "audio"
            captions = video_captions(
                path, course.files, course.assets, rel, course.read_published, course.record
            )
            return Target(
                kind,
                path,
                rel(layout.hls_master(aid)),
                poster=poster,
                thumbnails=vtt,
                missing=missing,
                captions=captions.tracks,
                transcript=captions.transcript,
                transcript_language=captions.transcript_language,
                hls_subtitles=captions.in_master,
                chapters=captions.chapters,
                chapters_src=captions.chapters_src,
                downloads=download_links(path, course.record, item, published_href),
            )
        if named == "image":
            return Target(
                "image", path, rel(layout.image_variant(aid, layout.IMAGE_DEFAULT_WIDTH)),
                srcset=image_srcset(aid, details, rel), missing=missing,
            )  # fmt: skip
        if named == "attachment":
            return attachment_target(path, item, rel, missing=missing, anchor=anchor)
        if named == "caption":
            # A link to a caption file downloads its checked WebVTT (a transcript with timings).
            return Target("file", path, rel(layout.caption_vtt(aid)) + anchor, missing=missing)
        return Target("file", path, url, missing=missing)

    return resolve


def image_srcset(aid: str, details: dict[str, Any], rel: Any) -> tuple[tuple[str, int], ...]:
    """The real widths once the image is published; before that every configured width, which
    ImageVariants always writes (capped at the source's own width, never upscaled)."""
    variants = details.get("variants") or []
    known = [
        (rel(layout.image_dir(aid) + "/" + str(v["key"]).rsplit("/", 1)[-1]), int(v["width"]))
        for v in variants
        if isinstance(v, dict) and v.get("key") and v.get("width")
    ]
    if known:
        return tuple(known)
    return tuple((rel(layout.image_variant(aid, w)), w) for w in layout.IMAGE_WIDTHS)


def course_view(course: CourseState, meta: dict[str, LessonMeta], page_dir: str) -> CourseView | None:
    record = course.record
    if not record:
        return None

    def rel(published: str) -> str:
        return posixpath.relpath(published, page_dir or ".")

    sections = []
    for section in record.get("sections", []):
        links = []
        for lesson in section.get("lessons", []):
            path = str(lesson.get("path") or lesson["file"])
            info = meta.get(path)
            links.append(
                LessonLink(
                    id=str(lesson["id"]),
                    title=str(lesson.get("title") or (info.title if info else lesson["id"])),
                    href=rel(layout.lesson_page(asset_id_for(path))) if path in course.files else None,
                    duration_s=info.duration_s if info else None,
                    description=info.description if info else None,
                )
            )
        sections.append(SectionView(title=str(section["title"]), lessons=tuple(links)))
    cover = None
    if record.get("cover"):
        cover_path = str(record.get("coverPath") or record["cover"])
        aid = asset_id_for(cover_path)
        details = (course.assets.get(cover_path) or {}).get("details") or {}
        cover = (rel(layout.image_variant(aid, layout.IMAGE_DEFAULT_WIDTH)), image_srcset(aid, details, rel))
    return CourseView(
        id=str(record.get("courseId") or record.get("id")),
        title=str(record["title"]),
        lang=str(record.get("lang") or "en"),
        sections=tuple(sections),
        index_href=rel(layout.course_index()),
        description=record.get("description"),
        cover=cover,
        downloads=course_downloads(course.assets, rel),
    )


def _lesson_html(
    rendered: RenderedLesson, *, lang: str, view: CourseView | None, lesson_id: str | None
) -> str:
    body = rendered.body_html
    if not any(h.get("level") == 1 for h in rendered.headings):
        body = f"<h1>{escape(rendered.title)}</h1>\n{body}"
    return render_page(
        title=rendered.title,
        body_html=body,
        lang=lang,
        root="../",
        course=view,
        current=lesson_id,
        toc=rendered.headings,
        description=rendered.description,
        player=rendered.has_player,
    )


def _publish_site_assets(services: Services, prefix: str) -> None:
    """The stylesheet, scripts and diagram frame, once per course (names are content hashes: write only if
    absent), and hls.js and mermaid when they are installed."""
    bucket = services.settings.publish_bucket
    for path, content in site_assets().items():
        if services.store.head(bucket, prefix + path) is None:
            services.store.put_bytes(bucket, prefix + path, content.encode("utf-8"), cache_control=IMMUTABLE)
    # hls.js and mermaid: fixed names (the player script and the diagram frame load them so), so a short
    # cache, and rewritten when the installed version changes size.
    for vendored in (hls_js_asset(), mermaid_js_asset()):
        if vendored is None:
            continue
        vendor_path, vendor_bytes = vendored
        existing = services.store.head(bucket, prefix + vendor_path)
        if existing is None or existing.size != len(vendor_bytes):
            services.store.put_bytes(bucket, prefix + vendor_path, vendor_bytes, cache_control=SHORT)


def _publish_index(
    services: Services, asset: AssetKey, course: CourseState, meta: dict[str, LessonMeta]
) -> str:
    view = course_view(course, meta, page_dir="")
    key = asset.publish_prefix + layout.course_index()
    if view is not None:
        publish_search_list(services, asset.publish_prefix, view)
        services.store.put_bytes(
            services.settings.publish_bucket,
            key,
            render_course_index(view).encode("utf-8"),
            cache_control=SHORT,
        )
    return key


def render_lesson_page(source: SourceRef, services: Services) -> Outputs:
    asset = parse_key(source.key)
    limit = services.settings.limits.max_lesson_bytes
    info = services.store.head(source.bucket, source.key, source.version_id)
    if info is not None and info.size > limit:
        raise LessonError(
            f"{asset.name} is {info.size:,} bytes; a lesson may be at most {limit:,} bytes. "
            "Split it into several lessons."
        )
    course = load_course(asset, services)
    course.files.add(asset.path)
    ref = next((r for r in course.lesson_refs() if (r.get("path") or r.get("file")) == asset.path), None)
    data = services.store.read_range(source.bucket, source.key, limit + 1, source.version_id)
    rendered = render_lesson(
        data,
        name=asset.name,
        resolve=make_resolver(asset.path, course),
        video=(ref or {}).get("videoLink"),
        max_bytes=limit,
    )
    meta = course.meta() | {asset.path: _meta(rendered)}
    lang = str((course.record or {}).get("lang") or "en")
    if ref:
        previous = ((course.assets.get(asset.path) or {}).get("details") or {}).get("lesson") or {}
        if previous.get("title") != rendered.title:
            # A new lesson (or a new title): every other page's sidebar and pager show it, so they are
            # rendered again, which also yields their metadata; an edit that keeps the title leaves them.
            others = [
                r for r in course.lesson_refs() if r["path"] in course.files and r["path"] != asset.path
            ]
            meta, _, _ = _rerender(services, course, others, meta, lang)
        else:
            meta |= _missing_meta(services, course, meta)
    view = course_view(course, meta, LESSON_DIR) if ref else None
    html = _lesson_html(rendered, lang=lang, view=view, lesson_id=(ref or {}).get("id"))
    _publish_site_assets(services, asset.publish_prefix)
    publish_lesson_fragment(services, asset.publish_prefix, asset.asset_id, rendered)
    key = asset.publish_prefix + layout.lesson_page(asset.asset_id)
    services.store.put_bytes(services.settings.publish_bucket, key, html.encode("utf-8"), cache_control=SHORT)
    outputs = [key]
    if ref:
        # This lesson's title or duration may have changed: the index lists them.
        outputs.append(_publish_index(services, asset, course, meta))
    return Outputs(
        outputs,
        Details(lesson=_lesson_details(rendered, (ref or {}).get("id"), course), warnings=rendered.warnings),
    )


def _missing_meta(
    services: Services, course: CourseState, known: dict[str, LessonMeta]
) -> dict[str, LessonMeta]:
    """Titles and durations of listed lessons that are uploaded but not yet in the catalog.

    Lessons uploaded together render concurrently, and each records its metadata only when its own
    execution ends; reading those few sources here keeps every index refresh complete, so the last one
    to finish always leaves a full index.
    """
    paths = [
        str(r["path"])
        for r in course.lesson_refs()
        if r.get("path") in course.files and r["path"] not in known
    ]
    if not paths:
        return {}
    with ThreadPoolExecutor(max_workers=_READ_THREADS) as pool:
        sources = list(pool.map(lambda path: _read_lesson(services, course.prefix + path), paths))
    found: dict[str, LessonMeta] = {}
    for path, body in zip(paths, sources, strict=True):
        try:
            found[path] = _meta(render_lesson(body, name=posixpath.basename(path)))
        except PipelineError:
            continue  # its own execution reports the error
    return found


def _meta(rendered: RenderedLesson) -> LessonMeta:
    return LessonMeta(rendered.title, rendered.duration_s, rendered.description)


def _lesson_details(rendered: RenderedLesson, lesson_id: str | None, course: CourseState) -> LessonDetails:
    return LessonDetails(
        title=rendered.title,
        lessonId=lesson_id,
        description=rendered.description,
        durationS=rendered.duration_s,
        words=rendered.word_count,
        headings=len(rendered.headings),
        links=rendered.links[:50],
        references=rendered.references[:200],
        handouts=handouts_shown(course.assets, rendered.references),
    )


def build_course(source: SourceRef, services: Services) -> CourseBuilt:
    asset = parse_key(source.key)
    info = services.store.head(source.bucket, source.key, source.version_id)
    if info is not None and info.size > MAX_MANIFEST_BYTES:
        raise ManifestError(f"course.yaml is {info.size:,} bytes; the limit is {MAX_MANIFEST_BYTES:,}.")
    data = services.store.read_range(source.bucket, source.key, MAX_MANIFEST_BYTES + 1, source.version_id)
    manifest = parse_manifest(data, expected_course_id=asset.course_id)
    base = posixpath.dirname(asset.path)

    def course_path(relative: str) -> str:
        return posixpath.normpath(posixpath.join(base, relative)) if base else relative

    record: dict[str, Any] = manifest.to_dict()
    sections: list[dict[str, Any]] = record["sections"]
    for section in sections:
        for lesson in section["lessons"]:
            lesson["path"] = course_path(str(lesson["file"]))
            if lesson.get("video"):
                # As the lesson page links it: relative to the lesson file.
                lesson["videoLink"] = posixpath.relpath(
                    course_path(str(lesson["video"])), posixpath.dirname(lesson["path"]) or "."
                )
            for caption in lesson.get("captions") or []:
                caption["path"] = course_path(str(caption["file"]))
    if manifest.cover:
        record["coverPath"] = course_path(manifest.cover)

    course = load_course(asset, services)
    # Not an error: uploads arrive in any order. The index lists such lessons as "coming soon" until
    # their own execution renders them and refreshes it.
    pending = [
        f"course.yaml names {course_path(path)}, which is not uploaded yet"
        for path in manifest.referenced_files()
        if course_path(path) not in course.files
    ]
    warnings: list[str] = []
    record["status"] = "PUBLISHED"
    record["index"] = asset.publish_prefix + layout.course_index()
    # Not stored on the record (it would go stale as files arrive): the API derives each lesson's status;
    # the manifest execution's details keep this snapshot for the author.
    written = services.catalog.put_course(asset.course_id, record, source)
    if not written:
        return CourseBuilt([], Details(course=CourseDetails(superseded=True)))
    previous, course.record = course.record, {**record, "courseId": asset.course_id}
    warnings += _attach_listed_captions(asset.course_id, previous, course.record, services)

    # Every uploaded lesson's navigation changed: render them all again.
    refs = [r for r in course.lesson_refs() if r["path"] in course.files]
    meta, pages, failures = _rerender(services, course, refs, course.meta(), manifest.lang)
    warnings += failures
    index = _publish_index(services, asset, course, meta)
    course_details = CourseDetails(
        title=manifest.title,
        lessons=len(manifest.lesson_ids()),
        pagesRendered=len(pages),
        pending=pending,
        handouts=handouts_shown(course.assets, course.assets),
    )
    # Videos published before this manifest whose downloads it turns on or off (ApplyDownloadsSetting).
    apply, apply_warnings = downloads_to_apply(course.record, course.assets.values())
    details = Details(course=course_details, warnings=warnings + apply_warnings)
    return CourseBuilt([index], details, downloads_to_apply=apply)


def _attach_listed_captions(
    course_id: str, before: dict[str, Any] | None, after: dict[str, Any], services: Services
) -> list[str]:
    """The videos whose ``captions:`` the manifest changed get the renditions it lists now (their
    published masters are edited; a video not published yet attaches when it is). A video that cannot
    take them is a warning of the course: its own run reports the video's problem."""
    old, new = set(listed_captions(before)), set(listed_captions(after))
    warnings = []
    for video in sorted({b.video for b in old ^ new}):
        try:
            attach_captions(AssetKey(course_id=course_id, path=video), services)
        except PipelineError as exc:
            warnings.append(f"captions of {video}: {exc}")
    return warnings


def _rerender(
    services: Services,
    course: CourseState,
    refs: list[dict[str, Any]],
    meta: dict[str, LessonMeta],
    lang: str,
) -> tuple[dict[str, LessonMeta], list[str], list[str]]:
    """Render and publish the pages of ``refs`` again with the current navigation.

    Returns the lessons' metadata (``meta`` updated), the page keys written and one line per lesson that
    failed to render (its own execution reports that error to its author; the course goes on). Catching
    ``PipelineError`` is enough: ``render_lesson`` turns any unexpected failure into a ``LessonRenderError``
    for that lesson."""
    with ThreadPoolExecutor(max_workers=_READ_THREADS) as pool:
        sources = list(pool.map(lambda r: _read_lesson(services, course.prefix + r["path"]), refs))
    rendered_all: dict[str, RenderedLesson] = {}
    failures: list[str] = []
    for ref, body in zip(refs, sources, strict=True):
        try:
            rendered_all[ref["path"]] = render_lesson(
                body,
                name=posixpath.basename(ref["path"]),
                resolve=make_resolver(ref["path"], course),
                video=ref.get("videoLink"),
                max_bytes=services.settings.limits.max_lesson_bytes,
            )
        except PipelineError as exc:
            failures.append(f"lesson {ref['id']}: {exc}")
    meta = meta | {path: _meta(r) for path, r in rendered_all.items()}
    view = course_view(course, meta, LESSON_DIR)
    _publish_site_assets(services, course.prefix)
    pages = []
    for ref in refs:
        rendered = rendered_all.get(ref["path"])
        if rendered is None:
            continue
        html = _lesson_html(rendered, lang=lang, view=view, lesson_id=ref["id"])
        publish_lesson_fragment(services, course.prefix, asset_id_for(ref["path"]), rendered)
        key = course.prefix + layout.lesson_page(asset_id_for(ref["path"]))
        services.store.put_bytes(
            services.settings.publish_bucket, key, html.encode("utf-8"), cache_control=SHORT
        )
        pages.append(key)
    return meta, pages, failures


def refresh_siblings(asset: AssetKey, services: Services) -> list[str]:
    """A deleted lesson leaves every listed sibling's sidebar and pager, and the index."""
    return _refresh(asset, services, lambda course, listed, uploaded: list(listed))


def refresh_all_lessons(asset: AssetKey, services: Services) -> list[str]:
    """A deleted manifest leaves every lesson's navigation: they become standalone pages, and the videos
    it listed captions for lose those renditions (its record is kept, marked DELETED)."""
    items = services.catalog.course_items(asset.course_id)
    record = next((i for i in items if i.get("SK") == "COURSE"), None)
    if record is not None and record.get("status") == "DELETED":
        _attach_listed_captions(asset.course_id, record, {}, services)
    return _refresh(asset, services, lambda course, listed, uploaded: list(uploaded))


def refresh_embedders(asset: AssetKey, services: Services) -> list[str]:
    """A deleted image or video leaves the lessons that embed it (their references, or the manifest's
    ``video:``), which now show it as missing."""

    def embedders(course: CourseState, listed: dict[str, Any], uploaded: dict[str, Any]) -> list[str]:
        paths = [
            path
            for path, item in uploaded.items()
            if asset.path in (((item.get("details") or {}).get("lesson") or {}).get("references") or [])
        ]
        for path, ref in listed.items():
            video = ref.get("videoLink")
            if (
                video
                and posixpath.normpath(posixpath.join(posixpath.dirname(path), str(video))) == asset.path
            ):
                paths.append(path)
        return paths

    return _refresh(asset, services, embedders)


_Chooser = Callable[[CourseState, dict[str, Any], dict[str, Any]], list[str]]


def refresh_lessons(asset: AssetKey, services: Services, paths: list[str], course: CourseState) -> list[str]:
    """Render ``paths`` again from ``course`` as the caller loaded it (``asset`` still in it), then the
    index; return the keys written."""
    return _refresh(asset, services, lambda *_: paths, course)


def _refresh(
    asset: AssetKey, services: Services, choose: _Chooser, loaded: CourseState | None = None
) -> list[str]:
    """Render again the pages ``choose`` picks among the course's listed and uploaded lessons, then the
    index; return the keys written. Without ``loaded``, ``asset`` is gone: pages show it as missing."""
    course = loaded or load_course(asset, services)
    if loaded is None:
        course.files.discard(asset.path)
    lang = str((course.record or {}).get("lang") or "en")
    listed = {str(r["path"]): r for r in course.lesson_refs() if r.get("path") in course.files}
    uploaded_lessons = {
        path: item
        for path, item in course.assets.items()
        if item.get("kind") == "lesson" and item.get("status") == "PUBLISHED" and path in course.files
    }
    paths = choose(course, listed, uploaded_lessons)
    refs = [listed.get(p) or {"path": p, "id": None} for p in dict.fromkeys(paths)]
    meta, pages, _ = (
        _rerender(services, course, refs, course.meta(), lang) if refs else (course.meta(), [], [])
    )
    if course.record is not None:
        pages.append(_publish_index(services, asset, course, meta | _missing_meta(services, course, meta)))
    return pages


def _read_lesson(services: Services, key: str) -> bytes:
    limit = services.settings.limits.max_lesson_bytes
    return services.store.read_range(services.settings.ingest_bucket, key, limit + 1)
