"""The catalog's read queries: course pages, one course's items, assets by status, with typed arguments.

Callers (the HTTP layer, the CLI, tests) pass what they mean (``limit: int``, ``status: AssetStatus``,
``include_deleted: bool``) and get items back as plain Python (DynamoDB's wire format decoded), in
dataclasses: what a learner or an operator may see of them is ``pipeline.catalog.views``' job, and query
strings, replies and caching are ``pipeline.catalog.http``'s.

Reads use only GetItem, Query, Scan and BatchGetItem (never paginators), the operations DAX also serves,
so the client may be DynamoDB's or DAX's (``pipeline.aws.catalog_read_client``). A course is read with one
Query whose key condition is bounded to the course record and asset sort keys, so what else a course
partition may hold is never read.

Pagination: a page token is opaque to callers and valid only for the query that produced it. A page may
be shorter than ``limit`` (and rarely empty) while its ``next_token`` is not None: follow it until it is.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pipeline.catalog.errors import CatalogUnavailableError, CourseNotFoundError, InvalidRequestError
from pipeline.catalog.model import (
    COURSE_LIST,
    COURSE_SK_FIRST,
    COURSE_SK_LAST,
    AssetStatus,
    asset_sk,
    course_pk,
)
from pipeline.keys import COURSE_ID_RE, asset_id_for

if TYPE_CHECKING:  # the stubs are a dev dependency; Lambda has only boto3 (DAX speaks the same API)
    from collections.abc import Iterator, Mapping

    from mypy_boto3_dynamodb import DynamoDBClient

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
# Matching items are read this many past what a page still needs: a FilterExpression is applied after
# Limit, so without slack every filtered-out item would cost a round trip of its own.
READ_AHEAD = 25
# Queries one call may spend filling a page; past it the page is returned short, with a token.
MAX_READS = 20
MAX_TOKEN_CHARS = 2048

_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+")

T = TypeVar("T")


@dataclass(frozen=True)
class Index:
    """A GSI the queries page through: its name, the hash attribute, and every attribute of its keys
    (what a LastEvaluatedKey holds, so what a page token must hold)."""

    name: str
    hash_attr: str
    key_attrs: tuple[str, ...]


COURSES = Index("Courses", "courseList", ("PK", "SK", "courseList", "courseId"))
BY_STATUS = Index("ByStatus", "status", ("PK", "SK", "status", "updatedAt"))


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a paginated query, and the token of what follows (None: nothing follows)."""

    items: list[T]
    next_token: str | None


@dataclass(frozen=True)
class CourseEntry:
    """A course record of the course list, with its cover image's asset item when the record names one
    that exists (its ``status`` says whether it is published yet)."""

    record: dict[str, Any]
    cover: dict[str, Any] | None


@dataclass(frozen=True)
class CourseItems:
    """One course as stored: its record (None while no ``course.yaml`` was processed) and asset items.

    ``assets`` are every asset of the course, except that an operator read without ``include_deleted``
    leaves DELETED ones out (a view shows a DELETED asset's lesson as missing, as it does an absent one).
    """

    course_id: str
    record: dict[str, Any] | None
    assets: list[dict[str, Any]]


def check_course_id(course_id: str) -> str:
    """The id itself, once it is one: it becomes part of a key, so a malformed one is refused up front."""
    if not COURSE_ID_RE.fullmatch(course_id):
        raise InvalidRequestError(
            f"{course_id[:70]!r} is not a course id: 1-63 lowercase letters, digits and '-', "
            "starting with a letter or digit"
        )
    return course_id


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequestError(f"limit must be a whole number from 1 to {MAX_LIMIT}, got {limit!r}")
    return limit


def cover_path(record: Mapping[str, Any]) -> str | None:
    """The course-relative path of the cover image a course record names, if any."""
    return str(record.get("coverPath") or record.get("cover") or "") or None


def encode_token(key: Mapping[str, Any]) -> str:
    """Opaque to clients: urlsafe base64 (no padding, so no '=' to escape) of the start key's JSON."""
    data = json.dumps(key, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode_token(token: str, index: Index, hash_value: str) -> dict[str, Any]:
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


def _deserialize(item: dict[str, Any]) -> dict[str, Any]:
    # The one wire-format decoder lives in the DynamoDB adapter, which imports boto3: import it on use so
    # this module stays importable without boto3.
    from pipeline.catalog.dynamo import deserialize

    return deserialize(item)


class CatalogQuery:
    """Answers the catalog's read questions through a low-level DynamoDB or DAX client."""

    def __init__(
        self, client: DynamoDBClient, table: str, *, read_ahead: int = READ_AHEAD, max_reads: int = MAX_READS
    ) -> None:
        self._db = client
        self._table = table
        self._read_ahead = read_ahead
        self._max_reads = max_reads

    # ------------------------------------------------------------ courses
    def courses(self, *, limit: int = DEFAULT_LIMIT, next_token: str | None = None) -> Page[CourseEntry]:
        """PUBLISHED courses (a ``course.yaml`` was processed and not deleted since), by course id."""
        items, token = self._page(
            COURSES,
            COURSE_LIST,
            limit=check_limit(limit),
            token=next_token,
            filter_expression="#st = :published",
            names={"#st": "status"},
            values={":published": {"S": AssetStatus.PUBLISHED.value}},
            newest_first=False,
        )
        records = [_deserialize(i) for i in items]
        covers = self._cover_assets(records)
        return Page([CourseEntry(r, covers.get(str(r.get("courseId")))) for r in records], token)

    def each_course(self, *, page_size: int = MAX_LIMIT) -> Iterator[CourseEntry]:
        """Every PUBLISHED course, following the pages to the end."""
        token: str | None = None
        while True:
            page = self.courses(limit=page_size, next_token=token)
            yield from page.items
            token = page.next_token
            if not token:
                return

    def published_course(self, course_id: str) -> CourseItems:
        """A course learners may see: its record is PUBLISHED (an unknown or unpublished one is not found)."""
        course = self._course_items(check_course_id(course_id))
        if course.record is None or course.record.get("status") != AssetStatus.PUBLISHED:
            raise CourseNotFoundError(f"the catalog has no published course {course_id!r}")
        return course

    def operator_course(self, course_id: str, *, include_deleted: bool = False) -> CourseItems:
        """A course as the pipeline sees it, with or without its DELETED assets: found while it has a
        record (whatever its status) or an asset to show."""
        course = self._course_items(check_course_id(course_id))
        shown = [a for a in course.assets if include_deleted or a.get("status") != AssetStatus.DELETED]
        if course.record is None and not shown:
            raise CourseNotFoundError(f"the catalog has no course {course_id!r}")
        return CourseItems(course_id, course.record, shown)

    # ------------------------------------------------------------ assets
    def assets(
        self,
        status: AssetStatus,
        *,
        course_id: str | None = None,
        limit: int = DEFAULT_LIMIT,
        next_token: str | None = None,
    ) -> Page[dict[str, Any]]:
        """Asset items in one status, newest ``updatedAt`` first, of every course or of one."""
        names = {"#entity": "entity"}
        values = {":asset": {"S": "ASSET"}}
        filter_expression = "#entity = :asset"
        if course_id is not None:
            names["#course"] = "courseId"
            values[":course"] = {"S": check_course_id(course_id)}
            filter_expression += " AND #course = :course"
        items, token = self._page(
            BY_STATUS,
            status.value,
            limit=check_limit(limit),
            token=next_token,
            filter_expression=filter_expression,
            names=names,
            values=values,
            newest_first=True,
        )
        return Page([_deserialize(i) for i in items], token)

    # ------------------------------------------------------------ reads
    def _course_items(self, course_id: str) -> CourseItems:
        items = [_deserialize(i) for i in self._partition(course_id)]
        record = next((i for i in items if i.get("SK") == "COURSE"), None)
        return CourseItems(course_id, record, [i for i in items if str(i.get("SK", "")).startswith("ASSET#")])

    def _page(
        self,
        index: Index,
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
            cover = cover_path(record)
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
            request = dict(resp.get("UnprocessedKeys") or {})
            if not (request.get(self._table) or {}).get("Keys"):
                return found
        raise CatalogUnavailableError("the catalog table is busy (unprocessed batch reads): retry shortly")
