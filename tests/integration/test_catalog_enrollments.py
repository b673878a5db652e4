"""Enrolments in their own partition (catalog schema 3, issue 11 hole 7), on the table template.yaml defines
(moto): course reads never read them, the session API finds them, and the schema 2 layout (``PK=COURSE#id,
SK=ENROLL#sub``) is migrated only by the operator's command, idempotently."""

from __future__ import annotations

import contextlib
import io
import json
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from test_catalog_api import STACK, Api, catalog_on_moto, seed_intro

from pipeline.catalog import views
from pipeline.catalog.dynamo import DynamoCatalog
from pipeline.catalog.model import SCHEMA_VERSION
from pipeline.catalog.query import CatalogQuery
from pipeline.usecases.session import NotEnrolledError, open_session

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

LEARNERS = 500
# The intro course of seed_intro: its record and seven assets (one each of every status).
INTRO_ITEMS = 8


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    with catalog_on_moto(monkeypatch) as ready:
        yield ready


def put_legacy(api: Api, course: str, user: str, **extra: Any) -> None:
    """An enrolment as schema 2 code wrote it, in the course's own partition."""
    fields = {
        "PK": f"COURSE#{course}",
        "SK": f"ENROLL#{user}",
        "courseId": course,
        "userId": user,
        "role": "learner",
        "entity": "ENROLL",
        "enrolledAt": "2026-01-02T03:04:05.000006Z",
        "schemaVersion": 2,
        **extra,
    }
    item = {k: {"N": str(v)} if isinstance(v, int) else {"S": str(v)} for k, v in fields.items()}
    api.client.put_item(TableName=api.table, Item=item)


def raw(api: Api, pk: str, sk: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = api.client.get_item(
        TableName=api.table, Key={"PK": {"S": pk}, "SK": {"S": sk}}
    ).get("Item")
    return found


@contextlib.contextmanager
def reads(client: Any) -> Iterator[list[tuple[str, int]]]:
    """Every read the client makes while inside: (operation, items DynamoDB read for it)."""
    seen: list[tuple[str, int]] = []

    def after_call(model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if model.name in ("Query", "Scan"):
            seen.append((model.name, int(parsed.get("ScannedCount", 0))))
        elif model.name == "GetItem":
            seen.append((model.name, 1 if parsed.get("Item") else 0))
        elif model.name == "BatchGetItem":
            seen.append((model.name, sum(map(len, (parsed.get("Responses") or {}).values()))))

    client.meta.events.register("after-call.dynamodb", after_call)
    try:
        yield seen
    finally:
        client.meta.events.unregister("after-call.dynamodb", after_call)


# ---------------------------------------------------------------- course reads
def test_course_reads_read_no_enrolment_even_with_hundreds_of_learners(api: Api) -> None:
    seed_intro(api)
    learners = [f"user-{n:04d}" for n in range(LEARNERS)]
    assert api.catalog.enroll_many("intro", learners) == LEARNERS
    for n in range(40):  # not migrated yet: schema 2 items still in the course partition
        put_legacy(api, "intro", f"legacy-{n:02d}")
    query = CatalogQuery(api.client, api.table)

    with reads(api.client) as seen:
        items = api.catalog.course_items("intro")  # what BuildCourse and every lesson render load
    assert {i["entity"] for i in items} == {"COURSE", "ASSET"} and len(items) == INTRO_ITEMS
    assert seen == [("Query", INTRO_ITEMS)]  # read: the course's items, nothing else

    documents: list[Callable[[], dict[str, Any]]] = [
        lambda: views.learner_course(query.published_course("intro")),
        lambda: views.operator_course(query.operator_course("intro", include_deleted=True)),
    ]
    for view in documents:
        with reads(api.client) as seen:
            doc = view()
        text = json.dumps(doc)
        assert "ENROLL" not in text and "user-" not in text and "legacy-" not in text
        assert sum(n for op, n in seen if op == "Query") == INTRO_ITEMS, seen
    answer = api.get("/catalog/courses/intro")  # the public route, through the handler
    assert answer.status == 200 and "user-" not in answer.body and "legacy-" not in answer.body
    listing = api.get("/catalog/courses").json["courses"]
    assert [c["courseId"] for c in listing] == ["intro"]  # enrolments are in no index


def test_enrolments_are_items_of_their_own_partition(api: Api) -> None:
    cat = api.catalog
    cat.enroll("algebra", "lea", role="author")
    item = raw(api, "ENROLL#algebra", "USER#lea")
    assert item is not None
    assert item["entity"] == {"S": "ENROLL"} and item["role"] == {"S": "author"}
    assert item["schemaVersion"] == {"N": str(SCHEMA_VERSION)} and SCHEMA_VERSION == 3
    assert raw(api, "COURSE#algebra", "ENROLL#lea") is None
    assert cat.is_enrolled("algebra", "lea") and not cat.is_enrolled("geometry", "lea")
    assert not cat.is_enrolled("algebra", "max")

    assert cat.enroll_many("algebra", ["max", "max", "zoe", *[f"u{n:03d}" for n in range(60)]]) == 62
    enrolled = cat.enrollments("algebra")
    assert len(enrolled) == 63 and {e["userId"] for e in enrolled} >= {"lea", "max", "zoe", "u059"}
    assert all(e["PK"] == "ENROLL#algebra" and e["courseId"] == "algebra" for e in enrolled)
    cat.unenroll("algebra", "max")
    assert not cat.is_enrolled("algebra", "max") and cat.is_enrolled("algebra", "zoe")


# ---------------------------------------------------------------- the session use case
def test_the_session_finds_enrolments_in_the_new_layout_only(api: Api) -> None:
    api.client.put_item(
        TableName=api.table,
        Item={
            "PK": {"S": "ENROLL#algebra"},
            "SK": {"S": "USER#new-user"},
            "courseId": {"S": "algebra"},
            "userId": {"S": "new-user"},
            "entity": {"S": "ENROLL"},
        },
    )
    put_legacy(api, "algebra", "old-user")
    issued: list[str] = []

    def issue(course_id: str, host: str, ttl_s: int) -> tuple[list[str], int]:
        issued.append(course_id)
        return [f"CloudFront-Policy={course_id}"], 1_900_000_000

    def session(sub: str, groups: str | None = None) -> Any:
        claims = {"sub": sub, **({"cognito:groups": groups} if groups else {})}
        return open_session(
            "algebra", claims, host="media.example.com", enrollments=api.catalog, issue=issue, ttl_s=600
        )

    assert session("new-user").set_cookies == ["CloudFront-Policy=algebra"]
    with pytest.raises(NotEnrolledError):
        session("old-user")  # only in the schema 2 layout: run migrate-enrollments
    with pytest.raises(NotEnrolledError):
        session("stranger", "[authors]")
    assert session("operator", "[authors admins]").user_id == "operator"  # admins need no enrolment
    assert issued == ["algebra", "algebra"]


# ---------------------------------------------------------------- migration
def seed_schema_2(api: Api) -> None:
    put_legacy(api, "algebra", "ann", role="author", enrolledAt="2025-05-05T05:05:05.000000Z")
    put_legacy(api, "algebra", "bob")
    put_legacy(api, "geometry", "ann")
    put_legacy(api, "geometry", "cid")
    api.catalog.enroll("geometry", "cid", role="author")  # enrolled again since, by schema 3 code
    api.lesson("algebra", "lessons/a.md", "A", 5)  # course items are not enrolments


def legacy_items(api: Api) -> list[tuple[str, str]]:
    return sorted(
        (str(i["PK"]), str(i["SK"])) for i in api.catalog.all_items() if str(i["SK"]).startswith("ENROLL#")
    )


def test_migration_moves_schema_2_enrolments_once_and_only_when_asked(api: Api) -> None:
    seed_schema_2(api)
    cat = api.catalog
    before = legacy_items(api)
    assert len(before) == 4 and not cat.is_enrolled("algebra", "ann")  # nothing migrates by itself

    dry = cat.migrate_legacy_enrollments(dry_run=True).to_dict()
    assert dry == {"found": 4, "copied": 0, "alreadyPresent": 0, "removed": 0, "dryRun": True}
    assert legacy_items(api) == before and not cat.is_enrolled("algebra", "ann")

    kept = cat.migrate_legacy_enrollments(keep_legacy=True)
    assert (kept.found, kept.copied, kept.already_present, kept.removed) == (4, 3, 1, 0)
    assert legacy_items(api) == before  # schema 2 code still finds its learners
    assert all(
        cat.is_enrolled(c, u) for c, u in [("algebra", "ann"), ("algebra", "bob"), ("geometry", "ann")]
    )
    again = cat.migrate_legacy_enrollments(keep_legacy=True)
    assert (again.found, again.copied, again.already_present, again.removed) == (4, 0, 4, 0)

    done = cat.migrate_legacy_enrollments()
    assert (done.found, done.copied, done.already_present, done.removed) == (4, 0, 4, 4)
    assert legacy_items(api) == []
    assert cat.migrate_legacy_enrollments().to_dict() == {
        "found": 0, "copied": 0, "alreadyPresent": 0, "removed": 0, "dryRun": False,
    }  # fmt: skip
    ann = raw(api, "ENROLL#algebra", "USER#ann")
    assert ann is not None and ann["role"] == {"S": "author"}
    assert ann["enrolledAt"] == {"S": "2025-05-05T05:05:05.000000Z"}  # kept from schema 2
    cid = raw(api, "ENROLL#geometry", "USER#cid")
    assert cid is not None and cid["role"] == {"S": "author"}  # the newer schema 3 item wins
    assert len(api.catalog.course_items("algebra")) == 1


def test_a_revoked_enrolment_does_not_come_back_with_a_later_migration(api: Api) -> None:
    seed_schema_2(api)
    cat = api.catalog
    cat.migrate_legacy_enrollments(keep_legacy=True)
    cat.unenroll("algebra", "bob")  # revoked between the two runs
    assert raw(api, "COURSE#algebra", "ENROLL#bob") is None
    cat.migrate_legacy_enrollments()
    assert not cat.is_enrolled("algebra", "bob") and cat.is_enrolled("algebra", "ann")


# ---------------------------------------------------------------- the operators' CLI
@pytest.fixture
def moto_server() -> Iterator[str]:
    """moto in server mode with the two resources the stack commands need (the ingest bucket they
    check first, the catalog table), as ``coursepipe up`` creates them from template.yaml."""
    pytest.importorskip("flask", reason="moto[server] is not installed")
    from moto.core.base_backend import BackendDict
    from moto.core.model_instances import reset_model_data
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        creds: Any = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        region = STACK.region
        s3 = boto3.client("s3", region_name=region, endpoint_url=endpoint, **creds)
        s3.create_bucket(Bucket=STACK.physical_name("IngestBucket"))
        db = boto3.client("dynamodb", region_name=region, endpoint_url=endpoint, **creds)
        props = STACK.resolve(STACK.props("CatalogTable"))
        keys = ("TableName", "AttributeDefinitions", "KeySchema", "BillingMode", "GlobalSecondaryIndexes")
        db.create_table(**{k: props[k] for k in keys})
        yield endpoint
    finally:
        server.stop()
        BackendDict.reset()
        reset_model_data()


def coursepipe(*args: str) -> tuple[int, Any]:
    from pipeline.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(args))
    return code, json.loads(out.getvalue()) if out.getvalue().strip() else None


def test_enroll_and_migrate_enrollments_commands(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    at = ("--endpoint", moto_server)
    db = boto3.client(
        "dynamodb",
        region_name=STACK.region,
        endpoint_url=moto_server,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    table = STACK.physical_name("CatalogTable")
    cat = DynamoCatalog(db, table)

    code, doc = coursepipe("enroll", "algebra", "sub-1", "sub-2", "sub-1", "--role", "author", *at, "--json")
    assert code == 0 and doc == {
        "courseId": "algebra", "action": "enrolled", "role": "author", "subs": ["sub-1", "sub-2"],
    }  # fmt: skip
    assert cat.is_enrolled("algebra", "sub-1") and cat.is_enrolled("algebra", "sub-2")
    assert cat.enrollments("algebra")[0]["role"] == "author"
    code, doc = coursepipe("enroll", "algebra", "sub-2", "--remove", *at, "--json")
    assert code == 0 and doc["action"] == "removed" and not cat.is_enrolled("algebra", "sub-2")
    for bad in (("Not_A_Course", "sub-1"), ("algebra", "USER#x")):
        assert coursepipe("enroll", *bad, *at)[0] == 2, bad

    legacy = {"PK": {"S": "COURSE#algebra"}, "SK": {"S": "ENROLL#old"}, "userId": {"S": "old"}}
    db.put_item(TableName=table, Item=legacy)
    code, doc = coursepipe("migrate-enrollments", "--dry-run", *at, "--json")
    assert code == 0 and doc["found"] == 1 and doc["dryRun"] and not cat.is_enrolled("algebra", "old")
    code, doc = coursepipe("migrate-enrollments", "--keep-legacy", *at, "--json")
    assert code == 0 and (doc["copied"], doc["removed"]) == (1, 0) and cat.is_enrolled("algebra", "old")
    code, doc = coursepipe("migrate-enrollments", *at, "--json")
    assert code == 0 and (doc["copied"], doc["alreadyPresent"], doc["removed"]) == (0, 1, 1)
    assert db.get_item(TableName=table, Key={k: legacy[k] for k in ("PK", "SK")}).get("Item") is None
