"""Who sees what in the catalog API (issue 11, hole 3): learner routes are anonymous and show published
content only; operator routes (``/catalog/admin/...``) need a verified Cognito token of the ``admins``
group, checked by the function on the claims API Gateway's JWT authorizer hands it, and by the local
stack's front (``pipeline.local.operator_route``), which verifies the token itself as API Gateway does."""

from __future__ import annotations

import base64
import http.client
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from test_catalog_api import ADMIN, STACK, Api, catalog_on_moto, seed_intro

from pipeline.catalog.http import CACHE_OK, CACHE_PRIVATE
from pipeline.keys import asset_id_for
from pipeline.local.apigw import lambda_route
from pipeline.local.edge import Edge
from pipeline.local.edge_config import EdgeConfig
from pipeline.local.front import HttpFront
from pipeline.local.http import Reply, Request
from pipeline.local.identity import JwtAuthorizer, LocalIdentity
from pipeline.local.operator_route import operator_handler

if TYPE_CHECKING:
    from collections.abc import Iterator

REPO = Path(__file__).resolve().parents[2]
CATALOG_HANDLER = "pipeline.handlers.catalog_api.handler"
# What only operators may see: exception text, execution ARNs (the account id), S3 version ids.
OPERATOR_KEYS = {"error", "executionArn", "sourceVersion"}
FAILED_MESSAGE = "03-publishing.md is not valid UTF-8"
LEARNER = {"sub": "learner-1", "cognito:groups": "[authors]", "token_use": "id"}


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    with catalog_on_moto(monkeypatch) as ready:
        yield ready


def keys_anywhere(doc: Any) -> set[str]:
    if isinstance(doc, dict):
        return set(doc) | {k for v in doc.values() for k in keys_anywhere(v)}
    if isinstance(doc, list):
        return {k for v in doc for k in keys_anywhere(v)}
    return set()


def seed_more(api: Api) -> None:
    """Beside ``seed_intro``: a course whose only lesson's re-upload FAILED (its old page is still live),
    files without a course.yaml, and a deleted course."""
    api.lesson("again", "lessons/b.md", "B", 5)
    api.fail("again", "lessons/b.md", "lesson", "LessonError", "broken again")
    api.course("again", [("S", [{"id": "b", "file": "lessons/b.md", "path": "lessons/b.md"}])])
    api.lesson("draft", "lessons/one.md", "One", 30)  # no course.yaml yet
    api.course("gone", [("S", [{"id": "x", "file": "x.md", "path": "x.md"}])])
    api.lesson("gone", "x.md", "X", 1)
    assert api.catalog.mark_course_deleted("gone", api.source("gone", "course.yaml"))


# ---------------------------------------------------------------- learners
def test_the_public_course_shows_published_lessons_and_files_only(api: Api) -> None:
    seed_intro(api)
    answer = api.get("/catalog/courses/intro")
    assert answer.status == 200, answer.body
    assert answer.headers["cache-control"] == CACHE_OK
    body = answer.json
    assert not keys_anywhere(body) & OPERATOR_KEYS, keys_anywhere(body) & OPERATOR_KEYS
    for secret in (FAILED_MESSAGE, "LessonError", "arn:", "exec-"):
        assert secret not in answer.body, secret
    # Only PUBLISHED files; the FAILED, UPLOADED and DELETED lessons are absent, not even their ids.
    assert [a["path"] for a in body["assets"]] == [
        "course.yaml",
        "images/cover.png",
        "lessons/01-welcome.md",
        "media/welcome.mp4",
    ]
    assert {a["status"] for a in body["assets"]} == {"PUBLISHED"}
    for hidden in ("lessons/03-publishing.md", "lessons/04-extras.md", "lessons/05-outro.md"):
        assert asset_id_for(hidden) not in answer.body, hidden
    lessons = [lesson for s in body["sections"] for lesson in s["lessons"]]
    assert [(x["lessonId"], x["status"]) for x in lessons] == [
        ("welcome", "PUBLISHED"),
        ("encoding", "MISSING"),
        ("publishing", "MISSING"),  # FAILED, to operators
        ("extras", "MISSING"),
        ("outro", "MISSING"),  # UPLOADED, to operators
    ]
    assert lessons[0]["page"] and lessons[0]["video"]["master"].endswith("/hls/master.m3u8")
    for lesson in lessons[1:]:
        assert [lesson[k] for k in ("page", "path", "assetId", "durationS", "description")] == [None] * 5


def test_a_failed_reupload_shows_learners_neither_its_error_nor_its_files(api: Api) -> None:
    seed_more(api)
    answer = api.get("/catalog/courses/again")
    assert answer.status == 200, answer.body
    assert "broken again" not in answer.body and not keys_anywhere(answer.json) & OPERATOR_KEYS
    assert answer.json["assets"] == []
    (lesson,) = answer.json["sections"][0]["lessons"]
    assert lesson["status"] == "MISSING" and lesson["page"] is None
    # Operators see the failure, and the previous version's page that is still live.
    operator = api.admin("/catalog/admin/courses/again").json
    (asset,) = operator["assets"]
    assert asset["status"] == "FAILED" and asset["error"]["message"] == "broken again" and asset["entry"]


def test_unpublished_courses_are_not_listed_nor_readable_by_learners(api: Api) -> None:
    seed_intro(api)
    seed_more(api)
    listing = api.get("/catalog/courses")
    assert listing.status == 200 and listing.headers["cache-control"] == CACHE_OK
    assert [c["courseId"] for c in listing.json["courses"]] == ["again", "intro"]
    assert {c["status"] for c in listing.json["courses"]} == {"PUBLISHED"}
    assert not keys_anywhere(listing.json) & OPERATOR_KEYS
    for course in ("draft", "gone"):
        answer = api.get(f"/catalog/courses/{course}")
        assert answer.status == 404 and answer.json["error"]["code"] == "NotFound", course
        assert "etag" not in answer.headers and answer.headers["cache-control"] == "no-store"
        # Operators still read them (NO_MANIFEST, DELETED).
        assert api.admin(f"/catalog/admin/courses/{course}").status == 200, course


def test_the_anonymous_asset_listing_is_gone(api: Api) -> None:
    seed_intro(api)
    for claims in (None, ADMIN):
        for query in ({"status": "FAILED"}, {"status": "DELETED"}, {}):
            answer = api.get("/catalog/assets", query, claims=claims)
            assert answer.status == 404 and answer.json["error"]["code"] == "NotFound", answer.body
            assert "/catalog/admin/assets" in answer.json["error"]["message"]
            assert FAILED_MESSAGE not in answer.body and "executionArn" not in answer.body


# ---------------------------------------------------------------- operators, behind API Gateway
OPERATOR_REQUESTS: list[tuple[str, dict[str, str]]] = [
    ("/catalog/admin/assets", {"status": "FAILED"}),
    ("/catalog/admin/courses/intro", {"includeDeleted": "true"}),
    ("/catalog/admin/nothing-here", {}),  # not even which operator routes exist
    ("/catalog/admin", {}),
]
NOT_ADMINS: list[dict[str, Any]] = [
    LEARNER,
    {"sub": "u-2", "token_use": "id"},  # no groups at all
    {"sub": "u-3", "cognito:groups": "[administrators admins-old]"},  # lookalikes
    {"sub": "u-4", "cognito:groups": ["authors"]},  # the JSON form
]


def test_operator_routes_are_401_without_a_verified_identity(api: Api) -> None:
    seed_intro(api)
    for path, query in OPERATOR_REQUESTS:
        for claims in (None, {}, {"cognito:groups": "[admins]"}):  # no authorizer, or no sub
            answer = api.get(path, query, claims=claims)
            assert answer.status == 401, (path, claims, answer.body)
            assert answer.json["error"]["code"] == "Unauthorized"
            assert answer.headers["www-authenticate"] == "Bearer"
            assert answer.headers["cache-control"] == "no-store"
            assert FAILED_MESSAGE not in answer.body


def test_operator_routes_are_403_for_signed_in_users_who_are_not_admins(api: Api) -> None:
    seed_intro(api)
    for path, query in OPERATOR_REQUESTS:
        for claims in NOT_ADMINS:
            answer = api.get(path, query, claims=claims)
            assert answer.status == 403, (path, claims, answer.body)
            assert answer.json["error"]["code"] == "Forbidden" and FAILED_MESSAGE not in answer.body


@pytest.mark.parametrize("groups", ["[authors admins]", ["admins"]], ids=repr)
def test_admins_get_every_status_with_errors_and_executions(api: Api, groups: Any) -> None:
    seed_intro(api)
    claims = {**ADMIN, "cognito:groups": groups}
    failed = api.get("/catalog/admin/assets", {"status": "FAILED"}, claims=claims)
    assert failed.status == 200, failed.body
    assert failed.headers["cache-control"] == CACHE_PRIVATE
    (asset,) = failed.json["assets"]
    assert asset["error"] == {"name": "LessonError", "message": FAILED_MESSAGE}
    assert asset["executionArn"] and asset["sourceVersion"]
    course = api.get("/catalog/admin/courses/intro", claims=claims)
    assert course.status == 200 and course.headers["cache-control"] == CACHE_PRIVATE
    statuses = {a["path"]: a["status"] for a in course.json["assets"]}
    assert statuses["lessons/03-publishing.md"] == "FAILED" and statuses["lessons/05-outro.md"] == "UPLOADED"
    unknown = api.get("/catalog/admin/nothing-here", claims=claims)
    assert unknown.status == 404 and unknown.json["error"]["code"] == "NotFound"


# ---------------------------------------------------------------- operators, through the local stack's front
def recording_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Stands in for the catalog function (loaded by dotted path): answers with the claims it was given."""
    claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt", {}).get("claims")
    return {"statusCode": 200, "headers": {}, "body": json.dumps({"claims": claims})}


@pytest.fixture
def front(api: Api) -> Iterator[dict[str, Any]]:
    """The catalog behaviours of the template's distribution on the local edge, wired as ``coursepipe up``
    wires them, with an admin and a learner in the template's user pool (moto Cognito)."""
    cognito = boto3.client("cognito-idp", region_name=STACK.region)
    identity = LocalIdentity.create(STACK, cognito)
    tokens, passwords = {}, {}
    for email, groups in (("op@example.com", ("admins",)), ("lea@example.com", ("authors",))):
        password = identity.add_user(cognito, email, groups=groups)
        tokens[email] = identity.sign_in(cognito, email, password)
    # An operator who has not set up MFA yet (add_user enrols admins by default).
    passwords["new-op@example.com"] = identity.add_user(
        cognito, "new-op@example.com", groups=("admins",), mfa=False
    )
    tokens["new-op@example.com"] = identity.sign_in(
        cognito, "new-op@example.com", passwords["new-op@example.com"]
    )

    def no_bucket(request: Request) -> Reply:
        return Reply(404)

    catalog = lambda_route(operator_handler(identity.authorizer(), CATALOG_HANDLER), "coursepipe-CatalogApi")
    edge = Edge(
        EdgeConfig.from_template(REPO / "template.yaml", parameters={}),
        bucket=no_bucket,
        key_group={},
        catalog=catalog,
    )
    with HttpFront("127.0.0.1", 0, routes=edge.routes()) as served:
        yield {
            "front": served,
            "admin": tokens["op@example.com"],
            "learner": tokens["lea@example.com"],
            "admin_without_mfa": tokens["new-op@example.com"],
            "enrol": lambda: identity.enrol_totp(
                cognito, "new-op@example.com", passwords["new-op@example.com"]
            ),
            "sign_in": lambda: identity.sign_in(
                cognito, "new-op@example.com", passwords["new-op@example.com"]
            ),
        }


def fetch(front: HttpFront, path: str, token: str | None = None) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", front.port, timeout=30)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
    resp = conn.getresponse()
    body = resp.read().decode("utf-8")
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body


def forge(token: str, **claims: Any) -> str:
    """The token with its payload changed (the signature left as it was)."""
    header, payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))) | claims
    raw = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{header}.{raw}.{signature}"


def test_the_local_front_verifies_the_token_before_the_function_runs(api: Api, front: dict[str, Any]) -> None:
    seed_intro(api)
    served = front["front"]
    status, headers, body = fetch(served, "/catalog/admin/assets?status=FAILED", front["admin"])
    assert status == 200, body
    assert json.loads(body)["assets"][0]["error"]["message"] == FAILED_MESSAGE
    assert headers["cache-control"] == CACHE_PRIVATE and headers["x-edge-behavior"] == "/catalog/admin/*"
    assert fetch(served, "/catalog/admin/courses/intro", front["admin"])[0] == 200

    unsigned = "eyJhbGciOiJub25lIn0." + front["learner"].split(".")[1] + "."
    promoted = forge(front["learner"], **{"cognito:groups": ["admins"]})
    for token in (None, "not-a-jwt", unsigned, promoted, front["admin"][:-6] + "AAAAAA"):
        status, headers, body = fetch(served, "/catalog/admin/assets?status=FAILED", token)
        assert status == 401, (token, body)
        assert json.loads(body)["message"] == "Unauthorized"  # API Gateway's answer: the function never ran
        assert headers["www-authenticate"] == "Bearer" and FAILED_MESSAGE not in body
    # A valid token of a user outside the admins group reaches the function, which refuses it.
    status, _, body = fetch(served, "/catalog/admin/assets?status=FAILED", front["learner"])
    assert status == 403 and json.loads(body)["error"]["code"] == "Forbidden"
    # Learner routes are the same with or without a token, and never show operator data.
    status, headers, body = fetch(served, "/catalog/courses/intro", front["admin"])
    assert status == 200 and FAILED_MESSAGE not in body and headers["x-edge-behavior"] == "/catalog/*"
    assert fetch(served, "/catalog/assets?status=FAILED", front["admin"])[0] == 404


def test_claims_in_the_incoming_event_are_dropped(front: dict[str, Any], api: Api) -> None:
    """Only the authorizer puts claims in ``requestContext.authorizer``: whatever a caller put there is
    dropped, on operator paths (no token: 401) and learner paths (the function gets no claims)."""
    authorizer = JwtAuthorizer(issuer="https://example.invalid/pool", audience="client", jwks={"keys": []})
    invoke = operator_handler(authorizer, f"{__name__}.recording_handler")

    def event(path: str) -> dict[str, Any]:
        return {
            "version": "2.0",
            "rawPath": path,
            "headers": {},
            "requestContext": {
                "http": {"method": "GET", "path": path},
                "authorizer": {"jwt": {"claims": dict(ADMIN), "scopes": None}},
            },
        }

    refused = invoke(event("/catalog/admin/assets"), None)
    assert refused["statusCode"] == 401 and refused["headers"]["www-authenticate"] == "Bearer"
    passed = invoke(event("/catalog/courses/intro"), None)
    assert passed["statusCode"] == 200 and json.loads(passed["body"]) == {"claims": None}


def test_admin_rights_need_mfa_on_the_account(api: Api, front: dict[str, Any]) -> None:
    """The template's pre token generation trigger runs on the local pool's tokens: an admin who has not
    set up MFA is refused with what to do, and gets in once MFA is on (signing in now asks for the code)."""
    seed_intro(api)
    served = front["front"]
    status, _, body = fetch(served, "/catalog/admin/assets?status=FAILED", front["admin_without_mfa"])
    assert status == 403 and FAILED_MESSAGE not in body
    assert "need MFA: set up an authenticator app" in json.loads(body)["error"]["message"]
    # A token claiming the group back is a forgery, whatever it says.
    promoted = forge(front["admin_without_mfa"], **{"cognito:groups": ["admins"], "withheld_groups": ""})
    assert fetch(served, "/catalog/admin/assets?status=FAILED", promoted)[0] == 401
    front["enrol"]()
    status, _, body = fetch(served, "/catalog/admin/assets?status=FAILED", front["sign_in"]())
    assert status == 200 and json.loads(body)["assets"][0]["error"]["message"] == FAILED_MESSAGE
