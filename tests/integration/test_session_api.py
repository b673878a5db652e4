"""The session API handler on moto: enrollment from the catalog, the key from Secrets Manager, and cookies
that the CloudFront verifier accepts for that course only."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import pytest

from pipeline.access.cookies import parse_cookie_header
from pipeline.access.keypair import generate_private_key, key_id_for, private_key_pem, public_key_pem
from pipeline.access.verify import verify_request
from pipeline.catalog.dynamo import DynamoCatalog
from pipeline.usecases.session import groups_of

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pipeline.local.runtime import LocalRuntime

HOST = "127.0.0.1:8080"


@pytest.fixture
def session_api(runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    from pipeline.handlers import session

    key = generate_private_key()
    key_id = key_id_for(key.public_key())
    value = json.dumps({"keyId": key_id, "privateKey": private_key_pem(key).decode()})
    secret = runtime.client("secretsmanager").create_secret(Name="coursepipe-signing-key", SecretString=value)
    monkeypatch.setenv("SIGNING_KEY_SECRET_ID", secret["ARN"])
    monkeypatch.setenv("MEDIA_SCHEME", "http")
    monkeypatch.setenv("SESSION_TTL_SECONDS", "600")
    session.session_settings.cache_clear()
    session._signing_key.cache_clear()
    yield {"handler": session.handler, "keys": {key_id: public_key_pem(key.public_key())}}
    session.session_settings.cache_clear()
    session._signing_key.cache_clear()


def call(
    api: dict[str, Any],
    course: str,
    claims: dict[str, Any] | None,
    method: str = "POST",
    host: str | None = HOST,
) -> dict[str, Any]:
    path = f"/auth/courses/{course}/session"
    event = {
        "version": "2.0",
        "routeKey": "POST /auth/courses/{courseId}/session",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "abc.execute-api.us-east-1.amazonaws.com"}
        | ({"x-viewer-host": host} if host else {}),
        "pathParameters": {"courseId": course},
        "requestContext": {
            "http": {"method": method, "path": path, "sourceIp": "127.0.0.1"},
            "authorizer": {"jwt": {"claims": claims, "scopes": None}} if claims is not None else {},
            "requestId": "r1",
            "routeKey": "POST /auth/courses/{courseId}/session",
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }

    class Context:
        function_name = "Session"
        memory_limit_in_mb = 256
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:Session"
        aws_request_id = "r1"

    result: dict[str, Any] = api["handler"](event, Context())
    return result


def cookie_jar(reply: dict[str, Any]) -> dict[str, str]:
    pairs = [c.split(";", 1)[0] for c in reply["cookies"] if "Max-Age=0" not in c]
    return parse_cookie_header("; ".join(pairs))


def test_an_enrolled_learner_gets_cookies_for_that_course_only(
    runtime: LocalRuntime, session_api: dict[str, Any]
) -> None:
    DynamoCatalog(runtime.client("dynamodb"), runtime.catalog_table).enroll("algebra", "user-1")
    reply = call(session_api, "algebra", {"sub": "user-1", "email": "a@example.com"})
    assert reply["statusCode"] == 200, reply
    body = json.loads(reply["body"])
    assert body["courseId"] == "algebra" and body["path"] == "/courses/algebra/"
    assert 590 <= body["expiresAt"] - time.time() <= 600
    assert reply["headers"]["Cache-Control"] == "no-store"
    for header in reply["cookies"]:
        assert "Path=/courses/algebra/" in header and "HttpOnly" in header and "Secure" in header
        assert "Domain=" not in header
    jar = cookie_jar(reply)
    now = time.time()
    ok = verify_request(
        f"http://{HOST}/courses/algebra/media/x/hls/master.m3u8",
        jar,
        session_api["keys"],
        now=now,
        client_ip=None,
    )
    assert ok.allowed, ok
    other = verify_request(
        f"http://{HOST}/courses/geometry/index.html", jar, session_api["keys"], now=now, client_ip=None
    )
    assert not other.allowed and other.code == "AccessDenied"
    late = verify_request(
        f"http://{HOST}/courses/algebra/index.html", jar, session_api["keys"], now=now + 601, client_ip=None
    )
    assert not late.allowed and late.code == "AccessDenied"


@pytest.mark.parametrize(
    ("claims", "status", "code"),
    [
        ({"sub": "user-2"}, 403, "Forbidden"),  # signed in, not enrolled
        (None, 401, "Unauthorized"),  # no verified identity
        ({"sub": "user-3", "cognito:groups": "[authors admins]"}, 200, None),  # HTTP API's string form
        ({"sub": "user-6", "cognito:groups": "[authors]"}, 403, "Forbidden"),  # authors: per course only
        ({"sub": "user-4", "cognito:groups": ["admins"]}, 200, None),
        ({"sub": "user-5", "cognito:groups": "[learners]"}, 403, "Forbidden"),
    ],
)
def test_who_may_open_a_session(
    session_api: dict[str, Any], claims: dict[str, Any] | None, status: int, code: str | None
) -> None:
    reply = call(session_api, "algebra", claims)
    assert reply["statusCode"] == status
    if code:
        assert json.loads(reply["body"])["error"]["code"] == code and "cookies" not in reply


def test_a_bad_course_id_is_400(session_api: dict[str, Any]) -> None:
    reply = call(session_api, "..%2Fetc", {"sub": "user-1", "cognito:groups": "[admins]"})
    assert reply["statusCode"] == 400


def test_groups_claim_forms() -> None:
    assert groups_of({"cognito:groups": "[authors admins]"}) == {"authors", "admins"}
    assert groups_of({"cognito:groups": ["a", "b"]}) == {"a", "b"}
    assert groups_of({}) == set()


def test_a_request_not_through_the_distribution_is_refused(session_api: dict[str, Any]) -> None:
    """Without the viewer-host header the only host is API Gateway's: no cookies for the wrong host."""
    reply = call(session_api, "algebra", {"sub": "u", "cognito:groups": "[admins]"}, host=None)
    assert reply["statusCode"] == 400 and "cookies" not in reply


def test_sign_out_expires_the_course_cookies(session_api: dict[str, Any]) -> None:
    reply = call(session_api, "algebra", None, method="DELETE")
    assert reply["statusCode"] == 200 and len(reply["cookies"]) == 4
    assert all("Max-Age=0" in c and "Path=/courses/algebra/" in c for c in reply["cookies"])


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "OPTIONS"])
def test_cookies_are_issued_in_answer_to_post_only(
    runtime: LocalRuntime, session_api: dict[str, Any], method: str
) -> None:
    DynamoCatalog(runtime.client("dynamodb"), runtime.catalog_table).enroll("algebra", "user-1")
    reply = call(session_api, "algebra", {"sub": "user-1"}, method=method)
    assert reply["statusCode"] == 405 and "cookies" not in reply
    assert json.loads(reply["body"])["error"]["code"] == "MethodNotAllowed"


def test_the_tracer_never_records_the_cookies(
    runtime: LocalRuntime, session_api: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Powertools' tracer stores a handler's response as X-Ray metadata unless told not to: the session
    response is the signed cookies. Record what the tracer is handed and whether it would keep it."""
    from pipeline.handlers._wiring import tracer

    kept: list[Any] = []

    def record(*, method_name: str, data: Any, subsegment: Any, capture_response: bool = True) -> None:
        if capture_response:
            kept.append(data)

    monkeypatch.setattr(tracer, "_add_response_as_metadata", record)
    DynamoCatalog(runtime.client("dynamodb"), runtime.catalog_table).enroll("algebra", "user-1")
    reply = call(session_api, "algebra", {"sub": "user-1"})
    assert reply["statusCode"] == 200 and reply["cookies"]
    assert kept == []
