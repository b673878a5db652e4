"""The catalog API's HTTP layer: its routes' query strings parsed into typed arguments, and the replies.

Two audiences, two sets of routes. **Learner routes** are anonymous and cached by the CDN
(``pipeline.catalog.views`` says what they show). **Operator routes** (``/catalog/admin/...``) need a
Cognito token of the ``admins`` group (``pipeline.handlers.catalog_api`` checks it) and show every status,
errors and executions; they are never cached (``Cache-Control: private, no-store``).

``GET /catalog/courses?limit=&nextToken=`` (learners)
    PUBLISHED courses, ordered by ``courseId``: ``{"courses": [Course], "nextToken": str | null}``.

``GET /catalog/courses/{courseId}`` (learners)
    One PUBLISHED course, lessons in manifest order, and its PUBLISHED files (``views.learner_course``).
    A course that is not PUBLISHED (no ``course.yaml`` yet, or deleted) is 404, as is an unknown one; a
    malformed id is 400.

``GET /catalog/admin/courses/{courseId}?includeDeleted=true|false`` (operators)
    One course as the pipeline sees it (``views.operator_course``); DELETED assets only with
    ``includeDeleted=true``. A course without a ``course.yaml`` still answers 200. No course record and no
    asset to show (deleted ones count only with includeDeleted=true) is 404; a malformed id is 400.

``GET /catalog/admin/assets?status=&courseId=&limit=&nextToken=`` (operators)
    Assets in one status (``status`` required: UPLOADED, PROCESSING, PUBLISHED, FAILED or DELETED), newest
    ``updatedAt`` first, optionally one course: ``{"assets": [Asset + {"courseId"}], "nextToken": str |
    null}``. (``GET /catalog/assets``, its anonymous predecessor, is 404.)

Pagination: ``limit`` 1..100 (default 25); ``nextToken`` is opaque, and an empty one is the first page. A
page may be shorter than ``limit`` (and rarely empty) while ``nextToken`` is not null: clients follow it
until it is null.

Errors: ``{"error": {"code", "message"}}`` with 400 BadRequest (bad parameter or token), 401 Unauthorized
and 403 Forbidden (operator routes: no token, or not an admin), 404 NotFound (unknown course or route),
500 InternalError (details only in the log), 503 ServiceUnavailable (throttled). Caching: a 200 carries a
strong ``ETag`` (hash of the body bytes) and, on learner routes, ``Cache-Control: public, max-age=10,
s-maxage=30, stale-while-revalidate=30`` (operator routes: ``private, no-store``); ``If-None-Match`` with
that tag gives 304 with no body; errors are ``no-store``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.catalog import views
from pipeline.catalog.errors import (
    CatalogUnavailableError,
    CourseNotFoundError,
    InvalidRequestError,
    RouteNotFoundError,
)
from pipeline.catalog.model import AssetStatus
from pipeline.catalog.query import DEFAULT_LIMIT, MAX_LIMIT, CatalogQuery, check_course_id

if TYPE_CHECKING:
    from collections.abc import Mapping

CONTENT_TYPE = "application/json; charset=utf-8"
CACHE_OK = "public, max-age=10, s-maxage=30, stale-while-revalidate=30"
CACHE_PRIVATE = "private, no-store"
CACHE_ERROR = "no-store"
OPERATOR_PREFIX = "/catalog/admin"
"""Operator routes live under this path; the API requires the admins group on all of it."""

# The catalog's refusals and what each becomes on the wire (status, error code).
REFUSALS: dict[type[Exception], tuple[int, str]] = {
    InvalidRequestError: (400, "BadRequest"),
    CourseNotFoundError: (404, "NotFound"),
    RouteNotFoundError: (404, "NotFound"),
    CatalogUnavailableError: (503, "ServiceUnavailable"),
}

_LIMIT_RE = re.compile(r"[0-9]{1,3}")


# ---------------------------------------------------------------- query strings
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


def parse_status(raw: str | None) -> AssetStatus:
    allowed = ", ".join(s.value for s in AssetStatus)
    if raw is None:
        raise InvalidRequestError(f"status is required: one of {allowed}")
    try:
        return AssetStatus(raw)
    except ValueError:
        raise InvalidRequestError(f"status must be one of {allowed}, got {raw[:20]!r}") from None


def parse_token(raw: str | None) -> str | None:
    """``?nextToken=`` (empty) asks for the first page, as no ``nextToken`` does."""
    return raw or None


# ---------------------------------------------------------------- replies
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


# ---------------------------------------------------------------- routes
class CatalogApi:
    """Each route's JSON document from its path and query-string parameters (the handler adds the reply)."""

    def __init__(self, query: CatalogQuery) -> None:
        self.query = query

    def list_courses(self, params: Mapping[str, str]) -> dict[str, Any]:
        page = self.query.courses(
            limit=parse_limit(params.get("limit")), next_token=parse_token(params.get("nextToken"))
        )
        return {"courses": [views.course_entry_view(c) for c in page.items], "nextToken": page.next_token}

    def course(self, course_id: str, params: Mapping[str, str]) -> dict[str, Any]:
        """A PUBLISHED course as learners see it (operators: ``operator_course``)."""
        return views.learner_course(self.query.published_course(course_id))

    def operator_course(self, course_id: str, params: Mapping[str, str]) -> dict[str, Any]:
        check_course_id(course_id)  # a malformed id is named before a malformed flag
        include_deleted = parse_flag("includeDeleted", params.get("includeDeleted"))
        return views.operator_course(self.query.operator_course(course_id, include_deleted=include_deleted))

    def operator_assets(self, params: Mapping[str, str]) -> dict[str, Any]:
        status = parse_status(params.get("status"))
        page = self.query.assets(
            status,
            course_id=params.get("courseId"),
            limit=parse_limit(params.get("limit")),
            next_token=parse_token(params.get("nextToken")),
        )
        return {"assets": [views.operator_asset_view(a) for a in page.items], "nextToken": page.next_token}
