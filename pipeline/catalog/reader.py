"""The catalog as downstream apps read it: course lists, one course with its lessons, assets by status.

Course players, storefronts and operator dashboards need the catalog without learning the single-table
layout, DynamoDB's wire format or where the pipeline publishes each kind of file. This module is that
read model and its JSON representation; ``pipeline.handlers.catalog_api`` only routes HTTP requests here.

Two audiences, two sets of routes. **Learner routes** are anonymous and cached by the CDN: they show only
published courses and published files, and nothing of how the pipeline got there (no error text, no
execution ARNs, no S3 version ids, no file of an asset that is not PUBLISHED). **Operator routes**
(``/catalog/admin/...``) need a Cognito token of the ``admins`` group and show every status, errors and
executions; they are never cached (``Cache-Control: private, no-store``).

Contract (JSON, camelCase, field names are stable API). Every published path below is the publish-bucket
key with a leading ``/``, i.e. the path on the media CDN's domain (``/courses/{courseId}/...``).

``GET /catalog/courses?limit=&nextToken=`` (learners)
    PUBLISHED courses (a ``course.yaml`` was processed and not deleted since), ordered by ``courseId``::

        {"courses": [Course], "nextToken": str | null}
        Course = {"courseId", "title", "description", "lang", "status", "lessonCount",
                  "cover": path | null (the cover image once it is PUBLISHED), "index": path | null,
                  "updatedAt"}

``GET /catalog/courses/{courseId}`` (learners)
    One PUBLISHED course, lessons in manifest order, and its PUBLISHED files::

        {"course": Course + {"schemaVersion"},
         "sections": [{"title", "lessons": [Lesson]}],
         "assets": [PublishedAsset]}                      (PUBLISHED assets only, sorted by path)
        Lesson = {"lessonId", "title", "status": "PUBLISHED" | "MISSING",
                  "page": path | null, "durationS", "description",
                  "path": str | null, "assetId": str | null,          (null unless PUBLISHED)
                  "video": null | {"status": "PUBLISHED" | "MISSING", "master": path | null,
                                   "posters": [path], "path": str | null, "assetId": str | null}}
        PublishedAsset = {"assetId", "path", "kind", "status": "PUBLISHED", "entry": path | null,
                          "outputs": [path], "thumbnails", "updatedAt"}

    ``MISSING`` means "not available to learners": not uploaded, still processing, failed or deleted (the
    operator view says which). A course that is not PUBLISHED (no ``course.yaml`` yet, or deleted) is 404,
    as is an unknown one; a malformed id is 400.

``GET /catalog/admin/courses/{courseId}?includeDeleted=true|false`` (operators)
    One course as the pipeline sees it::

        {"course": Course + {"schemaVersion"},
         "sections": [{"title", "lessons": [OperatorLesson]}],
         "assets": [Asset]}                               (sorted by path; DELETED ones only with
                                                           includeDeleted=true)
        OperatorLesson = {"lessonId", "title", "path", "assetId",
                  "status": asset status | "MISSING" (not uploaded, or deleted),
                  "page": path | null (when PUBLISHED), "durationS", "description",
                  "video": null | {"path", "assetId", "status" | "MISSING",
                                   "master": path | null (when PUBLISHED), "posters": [path]}}

    ``course.status`` is PUBLISHED, DELETED (its ``course.yaml`` was deleted: the list omits it, the
    record and the lessons it names stay readable here) or NO_MANIFEST: files uploaded before their
    ``course.yaml`` still answer 200, with ``title`` null and ``sections`` empty. No course record and no
    asset to show (deleted ones count only with includeDeleted=true) is 404; a malformed id is 400.

``GET /catalog/admin/assets?status=&courseId=&limit=&nextToken=`` (operators)
    Assets in one status (``status`` required: UPLOADED, PROCESSING, PUBLISHED, FAILED or DELETED), newest
    ``updatedAt`` first, optionally one course::

        {"assets": [Asset + {"courseId"}], "nextToken": str | null}

    (``GET /catalog/assets``, its anonymous predecessor, is 404.)

``Asset`` = ``{"assetId", "path", "kind" (null until classified), "status", "entry": path | null
(outputs[0]: the master playlist, lesson page, index.html or first image variant), "outputs": [path],
"thumbnails", "error": {"name", "message"} | null (FAILED only), "executionArn", "sourceVersion",
"updatedAt"}``. ``thumbnails`` is ``{"posters": [path], "sprites": path of the WebVTT track | null}`` for
video and audio, ``{"variants": [{"path", "width", "height"}]}`` for images, null otherwise. ``entry``,
``outputs`` and ``thumbnails`` describe the files the item lists, which stay live while a re-upload
processes or after it fails (the pipeline only replaces them on success); a DELETED asset has none.
Lesson ``page`` and video ``master``/``posters`` are for players, so they are set only when PUBLISHED.

Pagination: ``limit`` 1..100 (default 25); ``nextToken`` is opaque. A page may be shorter than ``limit``
(and rarely empty) while ``nextToken`` is not null: clients follow it until it is null.

Errors: ``{"error": {"code", "message"}}`` with 400 BadRequest (bad parameter or token), 401 Unauthorized
and 403 Forbidden (operator routes: no token, or not an admin), 404 NotFound (unknown course or route),
500 InternalError (details only in the log), 503 ServiceUnavailable (throttled). Caching: a 200 carries a
strong ``ETag`` (hash of the body bytes) and, on learner routes, ``Cache-Control: public, max-age=10,
s-maxage=30, stale-while-revalidate=30`` (operator routes: ``private, no-store``); ``If-None-Match`` with
that tag gives 304 with no body; errors are ``no-store``.

Reads use only GetItem, Query, Scan and BatchGetItem (never paginators), the operations DAX also serves,
so the client may be DynamoDB's or DAX's (``pipeline.aws.catalog_read_client``). A course is read with one
Query whose key condition is bounded to the course record and asset sort keys, so what else a course
partition may hold is never read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from pipeline import layout
from pipeline.catalog.model import (
    COURSE_LIST,
    COURSE_SK_FIRST,
    COURSE_SK_LAST,
    AssetStatus,
    asset_sk,
    course_pk,
)
from pipeline.errors import PipelineError
from pipeline.keys import COURSE_ID_RE, INGEST_PREFIX, asset_id_for

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
# Matching items are read this many past what a page still needs: a FilterExpression is applied after
# Limit, so without slack every filtered-out item would cost a round trip of its own.
READ_AHEAD = 25
# Queries one request may spend filling a page; past it the page is returned short, with a token.
MAX_READS = 20
MAX_TOKEN_CHARS = 2048
NO_MANIFEST = "NO_MANIFEST"
MISSING = "MISSING"
CONTENT_TYPE = "application/json; charset=utf-8"
CACHE_OK = "public, max-age=10, s-maxage=30, stale-while-revalidate=30"
CACHE_PRIVATE = "private, no-store"
CACHE_ERROR = "no-store"
OPERATOR_PREFIX = "/catalog/admin"
"""Operator routes live under this path; the API requires the admins group on all of it."""

_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+")
_LIMIT_RE = re.compile(r"[0-9]{1,3}")


class CatalogRequestError(PipelineError):
    """A request the catalog cannot answer as asked (the caller's mistake, not the catalog's)."""


class InvalidRequestError(CatalogRequestError):
    """A parameter is missing or malformed: the message names it and what is allowed."""


class CourseNotFoundError(CatalogRequestError):
    """The catalog has nothing for this course id (or, on a learner route, nothing published)."""


class RouteNotFoundError(CatalogRequestError):
    """No such route (404); the message says where a moved route went."""


class CatalogUnavailableError(PipelineError):
    """The table kept part of a batch read unprocessed (throttling): worth retrying shortly."""


@dataclass(frozen=True)
class _Index:
    """A GSI the API pages through: its name, the hash attribute, and every attribute of its keys
    (what a LastEvaluatedKey holds, so what a page token must hold)."""

    name: str
    hash_attr: str
    key_attrs: tuple[str, ...]


COURSES = _Index("Courses", "courseList", ("PK", "SK", "courseList", "courseId"))
BY_STATUS = _Index("ByStatus", "status", ("PK", "SK", "status", "updatedAt"))


def _deserialize(item: dict[str, Any]) -> dict[str, Any]:
    # The one wire-format decoder lives in the DynamoDB adapter, which imports boto3: import it on use so
    # this module stays importable without boto3.
    from pipeline.catalog.dynamo import deserialize

    return deserialize(item)


# ---------------------------------------------------------------- request parsing
def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not _LIMIT_RE.fullmatch(raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidRequestError(f"limit must be a whole number from 1 to {MAX_LIMIT}, got {raw[:20]!r}")
    return int(raw)


def parse_flag(name: str, raw: str | None) -> bool:
    if raw is None or raw == "false":
        return False
    if raw == "true":
        return True
    raise InvalidRequestError(f"{name} must be 'true' or 'false', got {raw[:20]!r}")


def parse_course_id(raw: str) -> str:
    if not COURSE_ID_RE.fullmatch(raw):
        raise InvalidRequestError(
            f"{raw[:70]!r} is not a course id: 1-63 lowercase letters, digits and '-', "
            "starting with a letter or digit"
        )
    return raw


def parse_status(raw: str | None) -> AssetStatus:
    allowed = ", ".join(s.value for s in AssetStatus)
    if raw is None:
        raise InvalidRequestError(f"status is required: one of {allowed}")
    try:
        return AssetStatus(raw)
    except ValueError:
        raise InvalidRequestError(f"status must be one of {allowed}, got {raw[:20]!r}") from None


def encode_token(key: Mapping[str, Any]) -> str:
    """Opaque to clients: urlsafe base64 (no padding, so no '=' to escape) of the start key's JSON."""
    data = json.dumps(key, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode_token(token: str, index: _Index, hash_value: str) -> dict[str, Any]:
    """The start key a token carries, checked to be one this very query produced.

    DynamoDB answers a malformed or foreign ExclusiveStartKey with a ValidationException (a 500 if it got
    that far); a garbled or tampered token is the caller's mistake, so it is refused here as a 400.
    """
    refused = InvalidRequestError("nextToken is not valid for this request: start again without it")
    if len(token) > MAX_TOKEN_CHARS or not _TOKEN_RE.fullmatch(token):
        raise refused
    try:
        key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        raise refused from None
    if not isinstance(key, dict) or set(key) != set(index.key_attrs):
        raise refused
    for value in key.values():
        if not isinstance(value, dict) or list(value) != ["S"] or not isinstance(value["S"], str):
            raise refused
    if key[index.hash_attr]["S"] != hash_value:
        raise refused
    return key


# ---------------------------------------------------------------- representation
@dataclass(frozen=True)
class Reply:
    """An HTTP answer, independent of the Lambda event format that carries it."""

    status: int
    headers: dict[str, str]
    body: str


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison: a CDN that compresses the body may hand clients ``W/"..."``."""
    if not if_none_match:
        return False
    wanted = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == wanted:
            return True
    return False


def json_reply(
    payload: Mapping[str, Any], if_none_match: str | None = None, *, cache_control: str = CACHE_OK
) -> Reply:
    """200 with an ETag of the exact body bytes, or 304 when the client already holds them."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    etag = '"' + hashlib.sha256(body.encode("utf-8")).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if etag_matches(if_none_match, etag):
        return Reply(304, headers, "")
    return Reply(200, {**headers, "Content-Type": CONTENT_TYPE}, body)


def error_reply(status: int, code: str, message: str) -> Reply:
    body = json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False)
    return Reply(status, {"Content-Type": CONTENT_TYPE, "Cache-Control": CACHE_ERROR}, body)


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
        # Only FAILED items carry an error: a re-upload removes it, and so does publishing.
        "error": {"name": error.get("name"), "message": error.get("message")}
        if isinstance(error, dict)
        else None,
        "executionArn": item.get("executionArn"),
        "sourceVersion": item.get("sourceVersion"),
        "updatedAt": item.get("updatedAt"),
    }


def published_asset_view(item: Mapping[str, Any]) -> dict[str, Any]:
    """A PUBLISHED asset as learners see it: its published files, nothing of how it was processed."""
    view = asset_view(item)
    return {
        k: view[k]
        for k in ("assetId", "path", "kind", "status", "entry", "outputs", "thumbnails", "updatedAt")
    }


def _published(item: Mapping[str, Any] | None) -> bool:
    return item is not None and item.get("status") == AssetStatus.PUBLISHED


def _cover_path(record: Mapping[str, Any]) -> str | None:
    return str(record.get("coverPath") or record.get("cover") or "") or None


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
    }


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


# ---------------------------------------------------------------- the reader
class CatalogReader:
    """Answers the API's questions from the catalog table through a low-level DynamoDB or DAX client."""

    def __init__(
        self, client: Any, table: str, *, read_ahead: int = READ_AHEAD, max_reads: int = MAX_READS
    ) -> None:
        self._db = client
        self._table = table
        self._read_ahead = read_ahead
        self._max_reads = max_reads

    # ------------------------------------------------------------ learner routes
    def list_courses(self, query: Mapping[str, str]) -> dict[str, Any]:
        limit = parse_limit(query.get("limit"))
        items, token = self._page(
            COURSES,
            COURSE_LIST,
            limit=limit,
            token=query.get("nextToken") or None,  # "?nextToken=" is the first page
            filter_expression="#st = :published",
            names={"#st": "status"},
            values={":published": {"S": AssetStatus.PUBLISHED.value}},
            newest_first=False,
        )
        records = [_deserialize(i) for i in items]
        covers = self._cover_assets(records)
        courses = [course_summary(r, covers.get(str(r.get("courseId")))) for r in records]
        return {"courses": courses, "nextToken": token}

    def course(self, course_id: str, query: Mapping[str, str]) -> dict[str, Any]:
        """A PUBLISHED course as learners see it (operators: ``operator_course``)."""
        course_id = parse_course_id(course_id)
        record, assets = self._course_items(course_id)
        if record is None or record.get("status") != AssetStatus.PUBLISHED:
            raise CourseNotFoundError(f"the catalog has no published course {course_id!r}")
        view = self._course_view(course_id, record, assets, include_deleted=False)
        sections = [
            {"title": section["title"], "lessons": [_learner_lesson(x) for x in section["lessons"]]}
            for section in view["sections"]
        ]
        published = sorted(
            (published_asset_view(a) for a in assets if _published(a)),
            key=lambda v: (v["path"], str(v["assetId"])),
        )
        return {"course": view["course"], "sections": sections, "assets": published}

    # ------------------------------------------------------------ operator routes
    def operator_course(self, course_id: str, query: Mapping[str, str]) -> dict[str, Any]:
        """One course as the pipeline sees it: every status, errors, executions, courses without a
        manifest and deleted ones."""
        course_id = parse_course_id(course_id)
        include_deleted = parse_flag("includeDeleted", query.get("includeDeleted"))
        record, assets = self._course_items(course_id)
        return self._course_view(course_id, record, assets, include_deleted=include_deleted)

    def operator_assets(self, query: Mapping[str, str]) -> dict[str, Any]:
        status = parse_status(query.get("status"))
        limit = parse_limit(query.get("limit"))
        names = {"#entity": "entity"}
        values = {":asset": {"S": "ASSET"}}
        filter_expression = "#entity = :asset"
        if query.get("courseId") is not None:
            names["#course"] = "courseId"
            values[":course"] = {"S": parse_course_id(query["courseId"])}
            filter_expression += " AND #course = :course"
        items, token = self._page(
            BY_STATUS,
            status.value,
            limit=limit,
            token=query.get("nextToken") or None,  # "?nextToken=" is the first page
            filter_expression=filter_expression,
            names=names,
            values=values,
            newest_first=True,
        )
        views = []
        for item in map(_deserialize, items):
            views.append({"courseId": item.get("courseId"), **asset_view(item)})
        return {"assets": views, "nextToken": token}

    # ------------------------------------------------------------ views
    def _course_items(self, course_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        items = [_deserialize(i) for i in self._partition(course_id)]
        record = next((i for i in items if i.get("SK") == "COURSE"), None)
        return record, [i for i in items if str(i.get("SK", "")).startswith("ASSET#")]

    @staticmethod
    def _course_view(
        course_id: str,
        record: dict[str, Any] | None,
        assets: list[dict[str, Any]],
        *,
        include_deleted: bool,
    ) -> dict[str, Any]:
        shown = [a for a in assets if include_deleted or a.get("status") != AssetStatus.DELETED]
        if record is None and not shown:
            raise CourseNotFoundError(f"the catalog has no course {course_id!r}")
        by_id = {str(a.get("assetId")): a for a in assets}
        if record is None:
            summary = course_summary({"courseId": course_id, "status": NO_MANIFEST}, None)
            sections: list[dict[str, Any]] = []
        else:
            cover = _cover_path(record)
            summary = course_summary(record, by_id.get(asset_id_for(cover)) if cover else None)
            sections = _sections(record, by_id)
        summary["schemaVersion"] = record.get("schemaVersion") if record else None
        views = sorted((asset_view(a) for a in shown), key=lambda v: (v["path"], str(v["assetId"])))
        return {"course": summary, "sections": sections, "assets": views}

    # ------------------------------------------------------------ reads
    def _page(
        self,
        index: _Index,
        hash_value: str,
        *,
        limit: int,
        token: str | None,
        filter_expression: str,
        names: dict[str, str],
        values: dict[str, Any],
        newest_first: bool,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Up to ``limit`` matching items of one index partition, and the token of what follows.

        DynamoDB applies Limit before the filter, so one Query may return fewer matches than asked while
        more follow: keep reading. When a Query returns more matches than the page needs, the page is cut
        and the token is the key of its last item (not the LastEvaluatedKey, which would skip the rest).
        """
        start = decode_token(token, index, hash_value) if token is not None else None
        found: list[dict[str, Any]] = []
        for _ in range(self._max_reads):
            need = limit - len(found)
            params: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": index.name,
                "KeyConditionExpression": "#hash = :hash",
                "FilterExpression": filter_expression,
                "ExpressionAttributeNames": {**names, "#hash": index.hash_attr},
                "ExpressionAttributeValues": {**values, ":hash": {"S": hash_value}},
                "ScanIndexForward": not newest_first,
                "Limit": need + self._read_ahead,
            }
            if start is not None:
                params["ExclusiveStartKey"] = start
            resp = self._db.query(**params)
            items: list[dict[str, Any]] = resp.get("Items", [])
            last = resp.get("LastEvaluatedKey")
            if len(items) > need:
                found.extend(items[:need])
                return found, encode_token({a: found[-1][a] for a in index.key_attrs})
            found.extend(items)
            if not last:
                return found, None
            if len(found) == limit:
                return found, encode_token(last)
            start = last
        # Read budget spent on filtered-out items: a short page, resumable where the reading stopped.
        return found, encode_token(start) if start is not None else None

    def _partition(self, course_id: str) -> list[dict[str, Any]]:
        """The course record and the assets of one course. The key condition bounds the sort key to those
        entities (``COURSE_SK_FIRST``..``COURSE_SK_LAST``), so the Query reads nothing else of the
        partition: its cost grows with the course's files, never with anything stored beside them."""
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND SK BETWEEN :first AND :last",
            "ExpressionAttributeValues": {
                ":pk": {"S": course_pk(course_id)},
                ":first": {"S": COURSE_SK_FIRST},
                ":last": {"S": COURSE_SK_LAST},
            },
        }
        while True:
            resp = self._db.query(**params)
            items.extend(resp.get("Items", []))
            if not resp.get("LastEvaluatedKey"):
                return items
            params["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def _cover_assets(self, records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """The cover image item of each course on a page, in one BatchGetItem (a page is at most 100
        courses, BatchGetItem's limit), so the list names a cover only once it is published."""
        keys = {}
        for record in records:
            cover = _cover_path(record)
            if cover:
                cid = str(record.get("courseId"))
                keys[cid] = {"PK": {"S": course_pk(cid)}, "SK": {"S": asset_sk(asset_id_for(cover))}}
        if not keys:
            return {}
        request: dict[str, Any] = {
            self._table: {
                "Keys": list(keys.values()),
                "ProjectionExpression": "courseId, assetId, #st, outputs",
                "ExpressionAttributeNames": {"#st": "status"},
            }
        }
        found: dict[str, dict[str, Any]] = {}
        # UnprocessedKeys is part of BatchGetItem's answer, not an error: ask again for those, a few times.
        for _ in range(3):
            resp = self._db.batch_get_item(RequestItems=request)
            for item in map(_deserialize, resp.get("Responses", {}).get(self._table, [])):
                found[str(item.get("courseId"))] = item
            request = resp.get("UnprocessedKeys") or {}
            if not request.get(self._table, {}).get("Keys"):
                return found
        raise CatalogUnavailableError("the catalog table is busy (unprocessed batch reads): retry shortly")
