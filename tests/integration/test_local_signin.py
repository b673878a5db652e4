"""The local /auth routes: Cognito (moto) tokens checked like API Gateway's JWT authorizer, the session
handler behind them, and the development sign-in page, over real HTTP."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from typing import TYPE_CHECKING, Any

import pytest

from pipeline.access.keypair import generate_private_key, key_id_for, private_key_pem
from pipeline.catalog.dynamo import DynamoCatalog
from pipeline.local.front import HttpFront
from pipeline.local.identity import LocalIdentity
from pipeline.local.signin import dev_sign_in_route, session_route

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pipeline.local.runtime import LocalRuntime


@pytest.fixture
def auth(runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    from pipeline.handlers import session

    key = generate_private_key()
    secret_name = runtime.stack.function_environment("SessionFunction")["SIGNING_KEY_SECRET_ID"]
    runtime.client("secretsmanager").create_secret(
        Name=secret_name,
        SecretString=json.dumps(
            {"keyId": key_id_for(key.public_key()), "privateKey": private_key_pem(key).decode()}
        ),
    )
    monkeypatch.setenv("MEDIA_SCHEME", "http")
    session.session_settings.cache_clear()
    session._signing_key.cache_clear()
    cognito = runtime.client("cognito-idp")
    identity = LocalIdentity.create(runtime.stack, cognito)
    password = identity.add_user(cognito, "lea@example.com")
    DynamoCatalog(runtime.client("dynamodb"), runtime.catalog_table).enroll(
        "algebra", identity.user_sub(cognito, "lea@example.com")
    )
    api = session_route(identity.authorizer(), "coursepipe-Session")
    routes = [
        ("/auth/dev", dev_sign_in_route(identity, lambda: runtime.client("cognito-idp"), api)),
        ("/auth", api),
    ]
    with HttpFront("127.0.0.1", 0, routes=routes) as front:
        yield {"front": front, "identity": identity, "password": password, "cognito": cognito}
    session.session_settings.cache_clear()
    session._signing_key.cache_clear()


def request(
    front: HttpFront, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", front.port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, resp.getheaders(), data


def test_a_token_opens_a_session_and_no_token_is_401(auth: dict[str, Any]) -> None:
    front, identity = auth["front"], auth["identity"]
    token = identity.sign_in(auth["cognito"], "lea@example.com", auth["password"])
    status, headers, body = request(
        front, "POST", "/auth/courses/algebra/session", headers={"Authorization": f"Bearer {token}"}
    )
    assert status == 200, body
    cookies = [v for k, v in headers if k.lower() == "set-cookie"]
    assert any(c.startswith("CloudFront-Policy=") for c in cookies)
    assert json.loads(body)["path"] == "/courses/algebra/"
    status, _, body = request(front, "POST", "/auth/courses/algebra/session")
    assert status == 401 and json.loads(body)["message"] == "Unauthorized"
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    status, _, _ = request(
        front, "POST", "/auth/courses/algebra/session", headers={"Authorization": f"Bearer {forged}"}
    )
    assert status == 401
    status, _, body = request(
        front, "POST", "/auth/courses/geometry/session", headers={"Authorization": f"Bearer {token}"}
    )
    assert status == 403 and json.loads(body)["error"]["code"] == "Forbidden"


def test_the_dev_sign_in_page_sets_the_cookies_and_redirects(auth: dict[str, Any]) -> None:
    front = auth["front"]
    status, _, page = request(front, "GET", "/auth/dev?course=algebra")
    assert status == 200 and b'action="/auth/dev/sign-in"' in page and b'value="algebra"' in page
    form = urllib.parse.urlencode(
        {"email": "lea@example.com", "password": auth["password"], "course": "algebra"}
    )
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    status, reply_headers, _ = request(front, "POST", "/auth/dev/sign-in", form.encode(), headers)
    assert status == 303
    assert dict(reply_headers)["Location"] == "/courses/algebra/index.html"
    assert (
        sum(1 for k, v in reply_headers if k.lower() == "set-cookie" and "Path=/courses/algebra/" in v) == 4
    )
    wrong = urllib.parse.urlencode(
        {"email": "lea@example.com", "password": "nope-Nope-123", "course": "algebra"}
    )
    status, _, page = request(front, "POST", "/auth/dev/sign-in", wrong.encode(), headers)
    assert status == 401 and b"Wrong email or password" in page


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "W10.W10.c2ln",  # header and payload are JSON lists, not objects
        "eyJhbGciOiJSUzI1NiIsImtpZCI6ImR1bW15In0.eyJleHAiOm51bGx9.c2ln",  # exp null, bad signature
        "eyJhbGciOiJub25lIn0.e30.",  # alg none
    ],
)
def test_malformed_tokens_are_refused_not_crashes(auth: dict[str, Any], token: str) -> None:
    from pipeline.local.identity import TokenError

    with pytest.raises(TokenError):
        auth["identity"].authorizer().claims(f"Bearer {token}")
