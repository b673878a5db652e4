"""The catalog's query engine called with typed arguments, on the table template.yaml defines (moto), and
``coursepipe catalog``, which calls it and the views directly: the same documents as the catalog API's."""

from __future__ import annotations

import contextlib
import io
import json
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from test_catalog_api import STACK, Api, catalog_on_moto, seed_courses, seed_intro
from test_catalog_enrollments import moto_server

from pipeline.catalog import views
from pipeline.catalog.dynamo import DynamoCatalog
from pipeline.catalog.errors import CourseNotFoundError, InvalidRequestError
from pipeline.catalog.http import CatalogApi
from pipeline.catalog.model import AssetStatus
from pipeline.catalog.query import MAX_LIMIT, CatalogQuery
from pipeline.keys import asset_id_for

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["moto_server"]  # a fixture of this module too, for the CLI's tests

INTRO_PATHS = {
    "course.yaml",
    "images/cover.png",
    "media/welcome.mp4",
    "lessons/01-welcome.md",
    "lessons/03-publishing.md",
    "lessons/04-extras.md",  # DELETED
    "lessons/05-outro.md",
}


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    with catalog_on_moto(monkeypatch) as ready:
        yield ready


def engine(api: Api, **tuning: int) -> CatalogQuery:
    return CatalogQuery(api.client, api.table, **tuning)


# ---------------------------------------------------------------- courses
def test_course_pages_take_an_int_limit_and_the_previous_page_token(api: Api) -> None:
    visible = seed_courses(api, deleted={0, 5, 6, 7, 12})
    query = engine(api, read_ahead=0, max_reads=1)  # short pages: the token must still resume exactly
    found: list[str] = []
    token: str | None = None
    for _ in range(50):
        page = query.courses(limit=3, next_token=token)
        assert len(page.items) <= 3
        found += [entry.record["courseId"] for entry in page.items]
        token = page.next_token
        if token is None:
            break
    assert found == visible
    assert [e.record["courseId"] for e in engine(api).each_course(page_size=1)] == visible


def test_a_course_entry_carries_its_cover_item_once_it_exists(api: Api) -> None:
    seed_courses(api, deleted=set())
    entries = {e.record["courseId"]: e for e in engine(api).courses(limit=MAX_LIMIT).items}
    cover = entries["course-01"].cover  # named and published
    assert cover is not None and cover["status"] == AssetStatus.PUBLISHED
    assert cover["assetId"] == asset_id_for("cover.png")
    assert entries["course-03"].cover is None  # named, never uploaded
    assert entries["course-02"].cover is None  # none named
    assert views.course_entry_view(entries["course-01"])["cover"] == (
        f"/courses/course-01/images/{asset_id_for('cover.png')}/640.webp"
    )


@pytest.mark.parametrize("limit", [0, -1, MAX_LIMIT + 1])
def test_a_limit_out_of_range_is_refused(api: Api, limit: int) -> None:
    with pytest.raises(InvalidRequestError, match="limit"):
        engine(api).courses(limit=limit)
    with pytest.raises(InvalidRequestError, match="limit"):
        engine(api).assets(AssetStatus.FAILED, limit=limit)


def test_a_token_is_valid_only_for_the_query_that_produced_it(api: Api) -> None:
    seed_courses(api, deleted=set())
    course_token = engine(api).courses(limit=1).next_token
    published_token = engine(api).assets(AssetStatus.PUBLISHED, limit=1).next_token
    assert course_token is not None and published_token is not None
    for call in (
        lambda: engine(api).assets(AssetStatus.PUBLISHED, next_token=course_token),
        lambda: engine(api).assets(AssetStatus.FAILED, next_token=published_token),  # another status
        lambda: engine(api).courses(next_token=published_token),
        lambda: engine(api).courses(next_token=""),  # the HTTP layer maps ?nextToken= to None
    ):
        with pytest.raises(InvalidRequestError, match="nextToken"):
            call()


# ---------------------------------------------------------------- one course
def test_a_published_course_comes_with_every_asset_for_the_learner_view(api: Api) -> None:
    seed_intro(api)
    course = engine(api).published_course("intro")
    assert course.course_id == "intro" and course.record is not None
    assert {a["path"] for a in course.assets} == INTRO_PATHS  # the view, not the query, picks
    doc = views.learner_course(course)
    assert {a["path"] for a in doc["assets"]} == {
        "course.yaml", "images/cover.png", "media/welcome.mp4", "lessons/01-welcome.md",
    }  # fmt: skip


def test_learners_find_no_course_that_is_not_published(api: Api) -> None:
    seed_intro(api)
    api.uploaded("drafts", "a.md")  # files, no course.yaml yet
    assert api.catalog.mark_course_deleted("intro", api.source("intro", "course.yaml"))
    for course_id in ("intro", "drafts", "unknown"):
        with pytest.raises(CourseNotFoundError):
            engine(api).published_course(course_id)
    with pytest.raises(InvalidRequestError, match="course id"):
        engine(api).published_course("Not_A_Course")


def test_operators_see_deleted_assets_only_when_they_ask(api: Api) -> None:
    seed_intro(api)
    shown = engine(api).operator_course("intro")
    assert {a["path"] for a in shown.assets} == INTRO_PATHS - {"lessons/04-extras.md"}
    everything = engine(api).operator_course("intro", include_deleted=True)
    assert {a["path"] for a in everything.assets} == INTRO_PATHS
    # A deleted asset's lesson reads as missing whether the query kept the item or not.
    assert views.operator_course(shown)["sections"] == views.operator_course(everything)["sections"]

    api.lesson("gone", "a.md", "A", 1)
    api.delete("gone", "a.md")
    with pytest.raises(CourseNotFoundError):
        engine(api).operator_course("gone")
    gone = engine(api).operator_course("gone", include_deleted=True)
    assert gone.record is None and [a["status"] for a in gone.assets] == ["DELETED"]
    assert views.operator_course(gone)["course"]["status"] == views.NO_MANIFEST


# ---------------------------------------------------------------- assets
def test_assets_by_status_newest_first_of_one_course_or_all(api: Api) -> None:
    failures = []
    for n in range(5):
        course = "alpha" if n % 2 else "beta"
        api.fail(course, f"media/clip-{n}.mp4", "video", "InvalidMediaError", f"clip-{n} is truncated")
        failures.append((course, f"media/clip-{n}.mp4"))
        api.lesson(course, f"ok-{n}.md", "ok", 1)
    query = engine(api)

    def walk(course_id: str | None) -> list[tuple[str, str]]:
        found: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = query.assets(AssetStatus.FAILED, course_id=course_id, limit=2, next_token=token)
            found += page.items
            token = page.next_token
            if token is None:
                return [(a["courseId"], a["path"]) for a in found]

    assert walk(None) == failures[::-1]
    assert walk("alpha") == [f for f in failures[::-1] if f[0] == "alpha"]
    with pytest.raises(InvalidRequestError, match="course id"):
        query.assets(AssetStatus.FAILED, course_id="UPPER")


def test_views_over_the_engine_are_the_api_documents(api: Api) -> None:
    """The HTTP layer only parses query strings into these arguments: same engine, same documents."""
    seed_intro(api)
    seed_courses(api, deleted={3})
    http, query = CatalogApi(engine(api)), engine(api)
    assert http.course("intro", {}) == views.learner_course(query.published_course("intro"))
    assert http.operator_course("intro", {"includeDeleted": "true"}) == views.operator_course(
        query.operator_course("intro", include_deleted=True)
    )
    page = query.courses(limit=4)
    assert http.list_courses({"limit": "4"}) == {
        "courses": [views.course_entry_view(c) for c in page.items],
        "nextToken": page.next_token,
    }
    failed = query.assets(AssetStatus.FAILED, course_id="intro")
    assert http.operator_assets({"status": "FAILED", "courseId": "intro"}) == {
        "assets": [views.operator_asset_view(a) for a in failed.items],
        "nextToken": None,
    }


# ---------------------------------------------------------------- coursepipe catalog
def coursepipe(*args: str) -> tuple[int, str, str]:
    from pipeline.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_the_catalog_command_prints_the_api_documents(
    moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    creds: Any = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    db = boto3.client("dynamodb", region_name=STACK.region, endpoint_url=moto_server, **creds)
    table = STACK.physical_name("CatalogTable")
    seeded = Api(db, table, DynamoCatalog(db, table), STACK.physical_name("IngestBucket"))
    seed_intro(seeded)
    seed_courses(seeded, deleted={2})
    http = CatalogApi(CatalogQuery(db, table))
    at = ("--endpoint", moto_server)

    code, out, _ = coursepipe("catalog", "intro", *at, "--json")
    assert code == 0 and out == json.dumps(http.operator_course("intro", {}), indent=2) + "\n"
    code, out, _ = coursepipe("catalog", "intro", "--include-deleted", *at, "--json")
    doc = http.operator_course("intro", {"includeDeleted": "true"})
    assert code == 0 and out == json.dumps(doc, indent=2) + "\n"
    assert "lessons/04-extras.md" in {a["path"] for a in doc["assets"]}

    code, out, _ = coursepipe("catalog", *at, "--json")
    courses = http.list_courses({"limit": str(MAX_LIMIT)})
    assert courses["nextToken"] is None and code == 0
    assert out == json.dumps({"courses": courses["courses"]}, indent=2) + "\n"

    code, out, err = coursepipe("catalog", "Not_A_Course", *at, "--json")
    assert (code, out) == (1, "") and err.startswith("coursepipe: InvalidRequestError: 'Not_A_Course' is not")
    code, _, err = coursepipe("catalog", "unknown", *at)
    assert code == 1 and err == "coursepipe: CourseNotFoundError: the catalog has no course 'unknown'\n"
    assert coursepipe("catalog", "intro", *at)[0] == 0  # the tables
