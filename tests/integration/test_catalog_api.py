"""The catalog read API, invoked as API Gateway (HTTP API, payload v2) invokes it, on the table
template.yaml defines (moto), holding items written by the pipeline's own catalog writer."""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import boto3
import pytest
from moto import mock_aws

from pipeline import aws, config, layout
from pipeline.catalog.dynamo import DynamoCatalog
from pipeline.catalog.model import SCHEMA_VERSION, SourceRef
from pipeline.catalog.query import CatalogQuery
from pipeline.config import settings
from pipeline.handlers import catalog_api
from pipeline.keys import asset_id_for
from pipeline.local.lambdas import LocalContext
from pipeline.local.template import Stack

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from pipeline.local.runtime import LocalRuntime

REPO = Path(__file__).resolve().parents[2]
STACK = Stack.from_file(REPO / "template.yaml")
DAX_OPERATIONS = {"get_item", "query", "scan", "batch_get_item"}


# ---------------------------------------------------------------- invoking the handler
# The claims API Gateway's OperatorJwt authorizer hands the function for an admin's Cognito token: every claim
# a string, array claims in HTTP API's ``[a b]`` form.
ADMIN = {"sub": "op-1", "cognito:groups": "[authors admins]", "token_use": "id", "email": "op@example.com"}


def http_event(
    path: str,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    method: str = "GET",
    claims: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """What API Gateway sends for ``GET /catalog/{proxy+}`` (Function URLs send the same shape); with
    ``claims``, what it sends once a JWT authorizer has verified the caller's token."""
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "GET /catalog/{proxy+}",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": {
            "accept": "application/json",
            "host": "abc123.execute-api.us-east-1.amazonaws.com",
            "user-agent": "pytest",
            "x-forwarded-proto": "https",
            **{k.lower(): v for k, v in (headers or {}).items()},
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "pytest",
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "GET /catalog/{proxy+}",
            "stage": "$default",
            "time": "10/Mar/2026:12:00:00 +0000",
            "timeEpoch": 1773144000000,
        },
        "pathParameters": {"proxy": path.removeprefix("/catalog/")},
        "isBase64Encoded": False,
    }
    if query:  # API Gateway omits the key when there is no query string
        event["queryStringParameters"] = dict(query)
    if claims is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": dict(claims), "scopes": None}}
    return event


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def invoke_directly(event: dict[str, Any]) -> dict[str, Any]:
    context = LocalContext(
        "coursepipe-CatalogApi", 256, "arn:aws:lambda:us-east-1:123456789012:function:x", 10
    )
    result: dict[str, Any] = catalog_api.handler(event, context)
    return result


@dataclass
class Api:
    client: Any
    table: str
    catalog: DynamoCatalog
    ingest_bucket: str
    invoke: Callable[[dict[str, Any]], dict[str, Any]] = invoke_directly
    _seq: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def get(
        self,
        path: str,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        claims: Mapping[str, str] | None = None,
    ) -> Answer:
        return self.call(http_event(path, query, headers, claims=claims))

    def admin(
        self, path: str, query: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None
    ) -> Answer:
        """An operator route, called with an admin's verified token."""
        return self.get(path, query, headers, claims=ADMIN)

    def call(self, event: dict[str, Any]) -> Answer:
        resp = self.invoke(event)
        headers = {k.lower(): v for k, v in resp.get("headers", {}).items()}
        return Answer(resp["statusCode"], headers, resp.get("body") or "")

    def walk(
        self, path: str, query: Mapping[str, str], items: str, claims: Mapping[str, str] | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """Follow nextToken to the end: every item, and how many pages it took."""
        found: list[dict[str, Any]] = []
        token: str | None = None
        for pages in itertools.count(1):
            answer = self.get(path, {**query, **({"nextToken": token} if token else {})}, claims=claims)
            assert answer.status == 200, answer.body
            found += answer.json[items]
            token = answer.json["nextToken"]
            if token is None:
                return found, pages
            assert pages < 100, "pagination does not terminate"
        raise AssertionError("unreachable")

    # ------------------------------------------------------------ seeding through the pipeline's writer
    def source(self, course: str, path: str) -> SourceRef:
        seq = f"{next(self._seq):016X}"
        return SourceRef(self.ingest_bucket, f"courses/{course}/{path}", f"v{seq}", sequencer=seq)

    def uploaded(self, course: str, path: str) -> SourceRef:
        src = self.source(course, path)
        self.catalog.record_uploaded(course, asset_id_for(path), path, src, f"exec-{asset_id_for(path)}")
        return src

    def publish(
        self, course: str, path: str, kind: str, outputs: list[str], details: dict[str, Any]
    ) -> SourceRef:
        src = self.uploaded(course, path)
        aid = asset_id_for(path)
        self.catalog.mark_processing(course, aid, src, kind, f"arn:aws:states:::execution:sm:{aid}")
        assert self.catalog.record_published(course, aid, src, kind, outputs, details)
        return src

    def fail(self, course: str, path: str, kind: str, error: str, message: str) -> SourceRef:
        src = self.uploaded(course, path)
        aid = asset_id_for(path)
        self.catalog.mark_processing(course, aid, src, kind, f"arn:aws:states:::execution:sm:{aid}")
        assert self.catalog.record_failed(course, aid, src, error, message)
        return src

    def delete(self, course: str, path: str) -> None:
        deletion = self.source(course, path)
        assert (
            self.catalog.record_deleted(course, asset_id_for(path), path, deletion, permanent=False)
            is not None
        )

    def lesson(self, course: str, path: str, title: str, duration_s: int) -> None:
        page = f"courses/{course}/{layout.lesson_page(asset_id_for(path))}"
        details = {
            "lesson": {
                "title": title,
                "lessonId": path,
                "description": f"About {title}",
                "durationS": duration_s,
            },
            "warnings": [],
        }
        self.publish(course, path, "lesson", [page, f"courses/{course}/index.html"], details)

    def video(self, course: str, path: str) -> None:
        base = f"courses/{course}/{layout.media_dir(asset_id_for(path))}/"
        posters = [f"{base}thumbs/poster-{w}.{ext}" for w in layout.POSTER_WIDTHS for ext in ("jpg", "webp")]
        vtt, sheet = f"{base}thumbs/sprite.vtt", f"{base}thumbs/sprite-1.jpg"
        sprites = {"vtt": vtt, "sheets": [sheet], "tiles": 1}
        outputs = [f"{base}hls/master.m3u8", *posters, sheet, vtt]  # as MakeThumbnails orders them
        details = {"hls": {"master": outputs[0], "durationS": 10}, "posters": posters, "sprites": sprites}
        self.publish(course, path, "video", outputs, details)

    def image(self, course: str, path: str) -> None:
        aid = asset_id_for(path)
        keys = [f"courses/{course}/{layout.image_variant(aid, w)}" for w in layout.IMAGE_WIDTHS]
        variants = [
            {"key": k, "width": min(w, 1200), "height": min(w, 1200) * 3 // 10, "contentType": "image/webp"}
            for k, w in zip(keys, layout.IMAGE_WIDTHS, strict=True)
        ]
        self.publish(
            course, path, "image", keys, {"image": {"width": 1200, "height": 360}, "variants": variants}
        )

    def course(
        self, course: str, sections: list[tuple[str, list[dict[str, Any]]]], cover: str | None = None
    ) -> None:
        """A course record as BuildCourse writes it (manifest fields, lesson paths, publish status)."""
        record: dict[str, Any] = {
            "id": course,
            "title": f"Course {course}",
            "lang": "en",
            "description": f"All about {course}",
            "sections": [{"title": title, "lessons": lessons} for title, lessons in sections],
            "status": "PUBLISHED",
            "index": f"courses/{course}/index.html",
            "pending": [],
        }
        if cover:
            record.update(cover=cover, coverPath=cover)
        assert self.catalog.put_course(course, record, self.source(course, "course.yaml"))


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    with catalog_on_moto(monkeypatch) as ready:
        yield ready


@contextlib.contextmanager
def catalog_on_moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """The catalog table of template.yaml on moto, and the API function's environment (also used by the
    other ``test_catalog_*`` modules)."""
    stack = STACK
    env = {
        "AWS_DEFAULT_REGION": stack.region,
        "AWS_REGION": stack.region,
        "CATALOG_TABLE": stack.physical_name("CatalogTable"),
        "INGEST_BUCKET": stack.physical_name("IngestBucket"),
        "PUBLISH_BUCKET": stack.physical_name("PublishBucket"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in (config.DAX_ENDPOINT_ENV, config.ENDPOINT_ENV):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        _reset()
        try:
            client = boto3.client("dynamodb", region_name=stack.region)
            props = stack.resolve(stack.props("CatalogTable"))
            keys = ("TableName", "AttributeDefinitions", "KeySchema", "BillingMode", "GlobalSecondaryIndexes")
            client.create_table(**{k: props[k] for k in keys})
            table = env["CATALOG_TABLE"]
            yield Api(client, table, DynamoCatalog(client, table), env["INGEST_BUCKET"])
        finally:
            _reset()


def _reset() -> None:
    settings.cache_clear()
    aws.reset_clients()
    catalog_api.reader.cache_clear()


def seed_intro(api: Api) -> None:
    """The demo course, with every lesson state a reader must tell apart."""
    api.publish("intro", "course.yaml", "manifest", ["courses/intro/index.html"], {"course": {"lessons": 5}})
    api.image("intro", "images/cover.png")
    api.video("intro", "media/welcome.mp4")
    api.lesson("intro", "lessons/01-welcome.md", "Welcome to the course", 480)
    api.fail(
        "intro", "lessons/03-publishing.md", "lesson", "LessonError", "03-publishing.md is not valid UTF-8"
    )
    api.lesson("intro", "lessons/04-extras.md", "Extras", 60)
    api.delete("intro", "lessons/04-extras.md")
    api.uploaded("intro", "lessons/05-outro.md")
    api.course(
        "intro",
        [
            (
                "Getting started",
                [
                    # No title in the manifest: the lesson's own title applies.
                    {
                        "id": "welcome",
                        "file": "lessons/01-welcome.md",
                        "path": "lessons/01-welcome.md",
                        "video": "media/welcome.mp4",
                        "videoLink": "../media/welcome.mp4",
                    },
                    {
                        "id": "encoding",
                        "file": "lessons/02-encoding.md",
                        "path": "lessons/02-encoding.md",
                        "title": "Enc",
                    },
                ],
            ),
            (
                "Going further",
                [
                    {
                        "id": "publishing",
                        "file": "lessons/03-publishing.md",
                        "path": "lessons/03-publishing.md",
                    },
                    {
                        "id": "extras",
                        "file": "lessons/04-extras.md",
                        "path": "lessons/04-extras.md",
                        "title": "X",
                    },
                    {"id": "outro", "file": "lessons/05-outro.md", "path": "lessons/05-outro.md"},
                ],
            ),
        ],
        cover="images/cover.png",
    )


# ---------------------------------------------------------------- one course, as operators see it
# (what learners see of the same course: test_catalog_access.py)
def test_course_lessons_follow_the_manifest_and_say_which_are_missing(api: Api) -> None:
    seed_intro(api)
    answer = api.admin("/catalog/admin/courses/intro")
    assert answer.status == 200, answer.body
    body = answer.json
    welcome, video = asset_id_for("lessons/01-welcome.md"), asset_id_for("media/welcome.mp4")
    assert body["course"] == {
        "courseId": "intro",
        "title": "Course intro",
        "description": "All about intro",
        "lang": "en",
        "status": "PUBLISHED",
        "lessonCount": 5,
        "cover": f"/courses/intro/images/{asset_id_for('images/cover.png')}/640.webp",
        "index": "/courses/intro/index.html",
        "updatedAt": body["course"]["updatedAt"],
        "schemaVersion": SCHEMA_VERSION,
    }
    assert body["course"]["updatedAt"].endswith("Z")
    assert [s["title"] for s in body["sections"]] == ["Getting started", "Going further"]
    lessons = [lesson for s in body["sections"] for lesson in s["lessons"]]
    assert [(x["lessonId"], x["status"]) for x in lessons] == [
        ("welcome", "PUBLISHED"),
        ("encoding", "MISSING"),  # never uploaded
        ("publishing", "FAILED"),
        ("extras", "MISSING"),  # deleted
        ("outro", "UPLOADED"),
    ]
    first = lessons[0]
    assert first["title"] == "Welcome to the course" and first["durationS"] == 480
    assert first["page"] == f"/courses/intro/lessons/{welcome}.html" and first["assetId"] == welcome
    assert first["description"] == "About Welcome to the course"
    assert answer.headers["cache-control"] == "private, no-store"
    assert first["video"] == {
        "path": "media/welcome.mp4",
        "assetId": video,
        "status": "PUBLISHED",
        "master": f"/courses/intro/media/{video}/hls/master.m3u8",
        "posters": [
            f"/courses/intro/media/{video}/thumbs/poster-{w}.{e}"
            for w in (320, 640, 1280)
            for e in ("jpg", "webp")
        ],
        "captions": [],
    }
    # Only a PUBLISHED lesson gets a page link; titles fall back to the lesson id when nothing else is known.
    assert [x["page"] for x in lessons[1:]] == [None] * 4
    assert [x["title"] for x in lessons[1:]] == ["Enc", "publishing", "X", "outro"]
    assert lessons[1]["assetId"] == asset_id_for("lessons/02-encoding.md") and lessons[1]["video"] is None


def test_course_assets_are_sorted_by_path_with_entries_thumbnails_and_errors(api: Api) -> None:
    seed_intro(api)
    assets = api.admin("/catalog/admin/courses/intro").json["assets"]
    assert [a["path"] for a in assets] == [
        "course.yaml",
        "images/cover.png",
        "lessons/01-welcome.md",
        "lessons/03-publishing.md",
        "lessons/05-outro.md",
        "media/welcome.mp4",
    ]  # the DELETED lessons/04-extras.md is hidden
    by_path = {a["path"]: a for a in assets}
    manifest, image, failed, outro, video = (
        by_path[p]
        for p in (
            "course.yaml",
            "images/cover.png",
            "lessons/03-publishing.md",
            "lessons/05-outro.md",
            "media/welcome.mp4",
        )
    )
    assert manifest["entry"] == "/courses/intro/index.html" and manifest["thumbnails"] is None
    vid = asset_id_for("media/welcome.mp4")
    assert video["kind"] == "video" and video["entry"] == f"/courses/intro/media/{vid}/hls/master.m3u8"
    assert len(video["outputs"]) == 9 and all(o.startswith("/courses/intro/media/") for o in video["outputs"])
    assert video["thumbnails"]["sprites"] == f"/courses/intro/media/{vid}/thumbs/sprite.vtt"
    assert len(video["thumbnails"]["posters"]) == 6
    assert video["executionArn"].endswith(vid) and video["sourceVersion"].startswith("v")
    assert [(v["width"], v["path"].rsplit("/", 1)[1]) for v in image["thumbnails"]["variants"]] == [
        (320, "320.webp"),
        (640, "640.webp"),
        (1200, "1280.webp"),  # capped at the source's width, named by the configured one
    ]
    assert failed["status"] == "FAILED" and failed["entry"] is None and failed["outputs"] == []
    assert failed["error"] == {"name": "LessonError", "message": "03-publishing.md is not valid UTF-8"}
    assert outro["status"] == "UPLOADED" and outro["kind"] is None and outro["error"] is None
    assert all(a["error"] is None for a in assets if a is not failed)

    with_deleted = api.admin("/catalog/admin/courses/intro", {"includeDeleted": "true"}).json["assets"]
    extras = [a for a in with_deleted if a["path"] == "lessons/04-extras.md"]
    assert len(with_deleted) == len(assets) + 1
    assert extras == [extras[0] | {"status": "DELETED", "entry": None, "outputs": [], "thumbnails": None}]


def test_a_republished_asset_shows_no_stale_error_and_a_failed_reupload_keeps_its_live_files(
    api: Api,
) -> None:
    api.fail("c", "lessons/a.md", "lesson", "LessonError", "bad")
    api.lesson("c", "lessons/a.md", "A", 5)  # fixed and re-uploaded
    api.lesson("c", "lessons/b.md", "B", 5)
    api.fail("c", "lessons/b.md", "lesson", "LessonError", "broken again")  # a re-upload fails
    assets = {a["path"]: a for a in api.admin("/catalog/admin/courses/c").json["assets"]}
    assert assets["lessons/a.md"]["status"] == "PUBLISHED" and assets["lessons/a.md"]["error"] is None
    b = assets["lessons/b.md"]
    # The previous version's page is still what learners get: the asset lists it, with the new error.
    assert b["status"] == "FAILED" and b["entry"] == f"/courses/c/lessons/{asset_id_for('lessons/b.md')}.html"
    assert b["error"] == {"name": "LessonError", "message": "broken again"}


def test_files_before_their_manifest_unknown_and_invalid_courses(api: Api) -> None:
    api.lesson("early", "lessons/one.md", "One", 30)
    early = api.admin("/catalog/admin/courses/early")
    assert early.status == 200
    assert early.json["course"]["status"] == "NO_MANIFEST" and early.json["course"]["title"] is None
    assert early.json["sections"] == [] and [a["path"] for a in early.json["assets"]] == ["lessons/one.md"]

    missing = api.admin("/catalog/admin/courses/nope")
    assert missing.status == 404 and missing.json["error"]["code"] == "NotFound"
    assert "nope" in missing.json["error"]["message"]
    assert missing.headers["cache-control"] == "no-store" and "etag" not in missing.headers

    api.uploaded("gone", "a.md")
    api.delete("gone", "a.md")
    assert api.admin("/catalog/admin/courses/gone").status == 404
    assert api.admin("/catalog/admin/courses/gone", {"includeDeleted": "true"}).status == 200

    for path in ("/catalog/admin/courses/Not_A_Course", "/catalog/courses/Not_A_Course"):
        invalid = api.admin(path)
        assert invalid.status == 400 and invalid.json["error"]["code"] == "BadRequest"
        assert "course id" in invalid.json["error"]["message"]
    # Learners see published courses only: neither files without a manifest nor an unknown course.
    for course in ("early", "nope", "gone"):
        assert api.get(f"/catalog/courses/{course}").status == 404, course


# ---------------------------------------------------------------- course list
def seed_courses(api: Api, deleted: set[int]) -> list[str]:
    """Fourteen courses, some DELETED in between (a run of three among them); return the visible ids."""
    ids = [f"course-{i:02d}" for i in range(14)]
    for i, cid in enumerate(ids):
        lessons = [{"id": f"l{n}", "file": f"l{n}.md", "path": f"l{n}.md"} for n in range(i % 3 + 1)]
        api.course(cid, [("Only", lessons)], cover="cover.png" if i % 2 else None)
        if i % 4 == 1:
            api.image(cid, "cover.png")
        if i in deleted:
            assert api.catalog.mark_course_deleted(cid, api.source(cid, "course.yaml"))
    api.lesson("no-manifest-yet", "x.md", "X", 1)  # not a course until its course.yaml arrives
    return [cid for i, cid in enumerate(ids) if i not in deleted]


@pytest.mark.parametrize("limit", [1, 4])
def test_course_list_pages_hold_every_visible_course_once_in_order(api: Api, limit: int) -> None:
    visible = seed_courses(api, deleted={0, 5, 6, 7, 12})
    courses, pages = api.walk("/catalog/courses", {"limit": str(limit)}, "courses")
    assert [c["courseId"] for c in courses] == visible
    assert pages >= -(-len(visible) // limit)
    first = api.get("/catalog/courses", {"limit": str(limit), "nextToken": ""}).json  # an empty token
    assert [c["courseId"] for c in first["courses"]] == visible[:limit]
    summary = {c["courseId"]: c for c in courses}
    assert summary["course-02"]["lessonCount"] == 3 and summary["course-03"]["lessonCount"] == 1
    assert summary["course-09"]["cover"] == f"/courses/course-09/images/{asset_id_for('cover.png')}/640.webp"
    # A cover named but not (yet) published is not handed out; a course without one has none.
    assert summary["course-03"]["cover"] is None and summary["course-02"]["cover"] is None
    assert summary["course-01"]["index"] == "/courses/course-01/index.html"
    assert set(summary["course-01"]) == {
        "courseId", "title", "description", "lang", "status", "lessonCount", "cover", "index", "updatedAt",
    }  # fmt: skip


def test_pages_resume_exactly_when_the_filter_drops_items_between_reads(api: Api) -> None:
    """DynamoDB applies Limit before the filter; with no read-ahead and one read per request, pages come
    back short (even empty) yet following nextToken still yields every item exactly once."""
    visible = seed_courses(api, deleted={0, 5, 6, 7, 12, 13})
    for read_ahead, max_reads in [(0, 20), (1, 20), (0, 1), (2, 1), (25, 20)]:
        query = CatalogQuery(api.client, api.table, read_ahead=read_ahead, max_reads=max_reads)
        found: list[str] = []
        token: str | None = None
        page_sizes = []
        while True:
            page = query.courses(limit=2, next_token=token)
            page_sizes.append(len(page.items))
            found += [c.record["courseId"] for c in page.items]
            token = page.next_token
            if token is None:
                break
        assert found == visible, (read_ahead, max_reads)
        assert max(page_sizes) == 2
        if max_reads > 1:  # reading on until the page is full
            assert all(n == 2 for n in page_sizes[:-1]), (read_ahead, page_sizes)
        elif read_ahead == 0:  # one read of two items: deleted courses leave pages short
            assert min(page_sizes) < 2, (read_ahead, page_sizes)


# ---------------------------------------------------------------- operators: assets by status
def test_failed_assets_newest_first_with_their_errors_across_pages(api: Api) -> None:
    failures = []
    for n in range(7):
        course = "alpha" if n % 3 else "beta"
        path = f"media/clip-{n}.mp4"
        api.fail(course, path, "video", "InvalidMediaError", f"clip-{n}.mp4 is truncated")
        failures.append((course, path))
        api.lesson(course, f"lessons/ok-{n}.md", "ok", 1)  # PUBLISHED, in between
    assets, pages = api.walk("/catalog/admin/assets", {"status": "FAILED", "limit": "3"}, "assets", ADMIN)
    assert pages >= 3
    assert [(a["courseId"], a["path"]) for a in assets] == failures[::-1]
    stamps = [a["updatedAt"] for a in assets]
    assert stamps == sorted(stamps, reverse=True)
    assert assets[0]["error"] == {"name": "InvalidMediaError", "message": "clip-6.mp4 is truncated"}
    assert assets[0]["kind"] == "video" and assets[0]["status"] == "FAILED"

    query = {"status": "FAILED", "courseId": "beta", "limit": "1"}
    beta, _ = api.walk("/catalog/admin/assets", query, "assets", ADMIN)
    assert [(a["courseId"], a["path"]) for a in beta] == [f for f in failures[::-1] if f[0] == "beta"]


def test_published_assets_leave_out_course_records_that_share_the_status(api: Api) -> None:
    seed_courses(api, deleted=set())  # 14 PUBLISHED course records in the ByStatus index
    api.lesson("mixed", "a.md", "A", 1)
    published, _ = api.walk("/catalog/admin/assets", {"status": "PUBLISHED", "limit": "2"}, "assets", ADMIN)
    paths = [(a["courseId"], a["path"]) for a in published]
    covers = [(f"course-{i:02d}", "cover.png") for i in (13, 9, 5, 1)]  # newest first
    assert paths == [("mixed", "a.md"), ("no-manifest-yet", "x.md"), *covers]
    assert all(a["assetId"] and a["status"] == "PUBLISHED" for a in published)

    seed_intro(api)
    deleted, _ = api.walk("/catalog/admin/assets", {"status": "DELETED"}, "assets", ADMIN)
    assert [(a["courseId"], a["path"], a["entry"]) for a in deleted] == [
        ("intro", "lessons/04-extras.md", None)
    ]


# ---------------------------------------------------------------- protocol: errors, caching, routes
def course_list_token(api: Api) -> str:
    seed_courses(api, deleted=set())
    token = api.get("/catalog/courses", {"limit": "1"}).json["nextToken"]
    assert isinstance(token, str)
    return token


def b64(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


MALFORMED = [
    ("/catalog/courses", {"limit": "0"}, "limit"),
    ("/catalog/courses", {"limit": "101"}, "limit"),
    ("/catalog/courses", {"limit": "ten"}, "limit"),
    ("/catalog/courses", {"limit": "-1"}, "limit"),
    ("/catalog/courses", {"limit": "2,3"}, "limit"),  # ?limit=2&limit=3, as API Gateway joins it
    ("/catalog/courses", {"nextToken": "!!!"}, "nextToken"),
    ("/catalog/courses", {"nextToken": "bm90IGpzb24"}, "nextToken"),  # "not json"
    ("/catalog/courses", {"nextToken": b64(["a"])}, "nextToken"),
    ("/catalog/courses", {"nextToken": b64({"PK": {"S": "x"}})}, "nextToken"),
    ("/catalog/courses", {"nextToken": "A" * 5000}, "nextToken"),
    ("/catalog/admin/assets", {}, "status is required"),
    ("/catalog/admin/assets", {"status": "failed"}, "status must be one of"),
    ("/catalog/admin/assets", {"status": "BROKEN"}, "status must be one of"),
    ("/catalog/admin/assets", {"status": "FAILED", "courseId": "UPPER"}, "course id"),
    ("/catalog/admin/assets", {"status": "FAILED", "nextToken": "!!!"}, "nextToken"),
    ("/catalog/admin/courses/intro", {"includeDeleted": "yes"}, "includeDeleted"),
]


def test_malformed_requests_are_400_with_a_json_reason(api: Api) -> None:
    for path, query, complaint in MALFORMED:
        # Operator routes with an admin's token (without one they are 401: test_catalog_access.py).
        answer = api.get(path, query, claims=ADMIN if path.startswith("/catalog/admin/") else None)
        assert answer.status == 400, (path, query, answer.body)
        assert answer.json["error"]["code"] == "BadRequest", (path, query)
        assert complaint in answer.json["error"]["message"], (path, query, answer.body)
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["content-type"] == "application/json; charset=utf-8"


def test_tokens_of_another_query_are_refused_not_a_500(api: Api) -> None:
    courses = course_list_token(api)
    for course in ("alpha", "beta"):
        for n in range(3):
            api.fail(course, f"v{n}.mp4", "video", "InvalidMediaError", "x")
    failed = api.admin("/catalog/admin/assets", {"status": "FAILED", "limit": "1"}).json["nextToken"]
    assert isinstance(failed, str)
    # A course-list token for the assets route, and a FAILED token for PUBLISHED.
    for query in ({"status": "FAILED", "nextToken": courses}, {"status": "PUBLISHED", "nextToken": failed}):
        answer = api.admin("/catalog/admin/assets", query)
        assert answer.status == 400 and answer.json["error"]["code"] == "BadRequest", answer.body
    assert api.get("/catalog/courses", {"nextToken": failed}).status == 400
    assert api.admin("/catalog/admin/assets", {"status": "FAILED", "nextToken": failed}).status == 200


def test_etag_and_if_none_match_give_304_until_the_catalog_changes(api: Api) -> None:
    seed_intro(api)
    first = api.get("/catalog/courses/intro")
    etag = first.headers["etag"]
    assert first.status == 200 and etag.startswith('"') and etag.endswith('"') and len(etag) > 10
    assert first.headers["cache-control"] == "public, max-age=10, s-maxage=30, stale-while-revalidate=30"
    assert first.headers["content-type"] == "application/json; charset=utf-8"
    assert api.get("/catalog/courses/intro").headers["etag"] == etag  # same bytes, same tag

    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        cached = api.get("/catalog/courses/intro", headers={"If-None-Match": header})
        assert (cached.status, cached.body, cached.headers["etag"]) == (304, "", etag), header
    assert api.get("/catalog/courses/intro", headers={"If-None-Match": '"other"'}).status == 200

    api.lesson("intro", "lessons/05-outro.md", "Outro", 90)
    changed = api.get("/catalog/courses/intro", headers={"If-None-Match": etag})
    assert changed.status == 200 and changed.headers["etag"] != etag


def test_unknown_routes_and_methods_are_json_404s(api: Api) -> None:
    for event in (
        http_event("/catalog/nothing"),
        http_event("/catalog/courses/a/b"),
        http_event("/catalog/courses", method="POST"),
    ):
        answer = api.call(event)
        assert answer.status == 404 and answer.json["error"]["code"] == "NotFound"
        assert answer.headers["cache-control"] == "no-store"


def test_an_unexpected_failure_is_a_500_without_internals(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: CatalogQuery, course_id: str) -> list[dict[str, Any]]:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(CatalogQuery, "_partition", broken)
    answer = api.get("/catalog/courses/intro")
    assert answer.status == 500 and answer.json == {
        "error": {"code": "InternalError", "message": "the catalog could not answer; try again later"}
    }
    assert answer.headers["cache-control"] == "no-store"


# ---------------------------------------------------------------- DAX
class RecordingDax:
    """Stands in for ``amazondax.AmazonDaxClient``: only the operations DAX serves, each call recorded."""

    def __init__(self, inner: Any, calls: list[str]) -> None:
        self._inner, self._calls = inner, calls

    def _call(self, operation: str, **params: Any) -> Any:
        self._calls.append(operation)
        return getattr(self._inner, operation)(**params)

    def get_item(self, **params: Any) -> Any:
        return self._call("get_item", **params)

    def query(self, **params: Any) -> Any:
        return self._call("query", **params)

    def scan(self, **params: Any) -> Any:
        return self._call("scan", **params)

    def batch_get_item(self, **params: Any) -> Any:
        return self._call("batch_get_item", **params)


def test_answers_are_identical_through_dax(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_intro(api)
    seed_courses(api, deleted={3})
    api.fail("beta", "v.mp4", "video", "InvalidMediaError", "x")
    requests: list[tuple[str, dict[str, str]]] = [
        ("/catalog/courses", {"limit": "5"}),
        ("/catalog/courses", {"limit": "100"}),
        ("/catalog/courses/intro", {}),
        ("/catalog/admin/courses/intro", {"includeDeleted": "true"}),
        ("/catalog/admin/assets", {"status": "FAILED"}),
        ("/catalog/admin/assets", {"status": "PUBLISHED", "courseId": "intro", "limit": "2"}),
    ]

    def ask(path: str, query: dict[str, str]) -> Answer:
        return api.get(path, query, claims=ADMIN if path.startswith("/catalog/admin/") else None)

    direct = [ask(path, query) for path, query in requests]
    assert all(a.status == 200 for a in direct)

    calls: list[str] = []
    endpoints: list[str] = []

    def dax_client(endpoint_url: str, region_name: str) -> RecordingDax:
        endpoints.append(endpoint_url)
        return RecordingDax(api.client, calls)

    monkeypatch.setitem(sys.modules, "amazondax", types.SimpleNamespace(AmazonDaxClient=dax_client))
    monkeypatch.setenv(config.DAX_ENDPOINT_ENV, "daxs://catalog.abc123.dax-clusters.us-east-1.amazonaws.com")
    _reset()
    through_dax = [ask(path, query) for path, query in requests]
    assert [(a.status, a.body, a.headers["etag"]) for a in through_dax] == [
        (a.status, a.body, a.headers["etag"]) for a in direct
    ]
    assert endpoints == ["daxs://catalog.abc123.dax-clusters.us-east-1.amazonaws.com"]  # built once
    assert {"query", "batch_get_item"} <= set(calls) <= DAX_OPERATIONS


# ---------------------------------------------------------------- what the real pipeline writes
SAMPLE = Path(__file__).resolve().parents[2] / "pipeline" / "sample"


@pytest.mark.slow
def test_the_api_reads_what_the_pipeline_publishes(runtime: LocalRuntime) -> None:
    """The sample course minus its video and second lesson, through S3 events and Step Functions."""
    uploads = ["course.yaml", "images/diagram.png", "lessons/01-welcome.md", "lessons/03-publishing.md"]
    for path in uploads:
        runtime.upload(f"courses/intro-to-pipelines/{path}", SAMPLE / path)
    runtime.pump()
    sfn = runtime.client("stepfunctions")
    arns = [
        str(e["executionArn"])
        for e in sfn.list_executions(stateMachineArn=runtime.state_machine_arn)["executions"]
    ]
    assert len(arns) == len(uploads)
    runtime.wait_for(arns, timeout_s=60)
    _reset()

    def through_lambda(event: dict[str, Any]) -> dict[str, Any]:
        # The function template.yaml declares, so its Handler setting is exercised too.
        result, failed = runtime.lambdas.invoke(runtime.stack.physical_name("CatalogApiFunction"), event)
        assert not failed, result
        return dict(result)

    db = runtime.client("dynamodb")
    api = Api(
        db,
        runtime.catalog_table,
        DynamoCatalog(db, runtime.catalog_table),
        runtime.ingest_bucket,
        through_lambda,
    )
    course = api.get("/catalog/courses/intro-to-pipelines").json
    lessons = [lesson for s in course["sections"] for lesson in s["lessons"]]
    assert [(x["lessonId"], x["status"]) for x in lessons] == [
        ("welcome", "PUBLISHED"),
        ("encoding", "MISSING"),
        ("publishing", "PUBLISHED"),
    ]
    assert lessons[0]["video"]["status"] == "MISSING" and lessons[0]["durationS"] == 480
    assert {a["path"] for a in course["assets"]} == set(uploads)
    assert all(a["status"] == "PUBLISHED" for a in course["assets"])
    # Every path the API hands out is an object in the publish bucket.
    s3 = runtime.client("s3")
    paths = [course["course"]["cover"], course["course"]["index"], *(x["page"] for x in lessons if x["page"])]
    paths += [p for a in course["assets"] for p in a["outputs"]]
    for path in paths:
        assert path.startswith("/courses/intro-to-pipelines/")
        s3.head_object(Bucket=runtime.publish_bucket, Key=path[1:])
    listing = api.get("/catalog/courses").json
    assert [c["courseId"] for c in listing["courses"]] == ["intro-to-pipelines"]
    assert listing["courses"][0]["cover"] == course["course"]["cover"] and listing["nextToken"] is None
