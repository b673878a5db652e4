"""Session API on ``/auth/courses/{courseId}/session``: POST -> CloudFront signed cookies for that course;
DELETE -> the same cookies expired (sign-out).

Behind API Gateway's JWT authorizer (Cognito) in the cloud and the local edge's equivalent check locally:
the verified claims arrive in ``requestContext.authorizer.jwt.claims``. The API is served under ``/auth/*``
of the media distribution, so the cookies are host-only on the media domain; the viewer's host comes in
the header a CloudFront Function sets (``VIEWER_HOST_HEADER``), never from the request's own ``Host``
(behind CloudFront that is API Gateway's). The key pair id and private key come from Secrets Manager,
once per container.
"""

from __future__ import annotations

import json
import re
import time
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2, event_source

from pipeline import aws
from pipeline.access.cookies import (
    HASH_ALGORITHM_COOKIE,
    KEY_PAIR_ID_COOKIE,
    POLICY_COOKIE,
    SIGNATURE_COOKIE,
    set_cookie_headers,
)
from pipeline.access.policy import check_media_domain, course_path, course_policy
from pipeline.access.signing import load_private_key, sign_policy
from pipeline.config import SessionSettings
from pipeline.handlers._wiring import logger, services, tracer
from pipeline.keys import COURSE_ID_RE
from pipeline.usecases.session import BadCourseIdError, NotEnrolledError, NotSignedInError, open_session

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

SESSION_PATH = re.compile(r"/auth/courses/([^/]+)/session/?$")
STATUS = {
    BadCourseIdError: (400, "BadRequest"),
    NotSignedInError: (401, "Unauthorized"),
    NotEnrolledError: (403, "Forbidden"),
}


@lru_cache(maxsize=1)
def session_settings() -> SessionSettings:
    return SessionSettings.from_env()


@lru_cache(maxsize=2)
def _signing_key(secret_id: str) -> tuple[str, Any]:
    """(key pair id, private key) from the secret ``{"keyId": ..., "privateKey": "<PEM>"}``."""
    raw = aws.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    try:
        doc = json.loads(raw)
        return str(doc["keyId"]), load_private_key(str(doc["privateKey"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise RuntimeError(
            f'secret {secret_id} must hold {{"keyId": ..., "privateKey": "<PEM>"}} '
            "(coursepipe keys generate prints it)"
        ) from exc


def issue(course_id: str, host: str, ttl_s: int) -> tuple[list[str], int]:
    cfg = session_settings()
    key_id, key = _signing_key(cfg.key_secret_id)
    now = time.time()
    policy = course_policy(host, course_id, expires=int(now) + ttl_s, scheme=cfg.scheme)
    signed = sign_policy(policy, key, key_id)
    return set_cookie_headers(signed, path=course_path(course_id), now=now), signed.expires


def _reply(status: int, body: dict[str, Any], cookies: list[str] | None = None) -> dict[str, Any]:
    reply: dict[str, Any] = {
        "statusCode": status,
        "headers": {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"},
        "body": json.dumps(body),
    }
    if cookies:
        reply["cookies"] = cookies
    return reply


def _error(status: int, code: str, message: str) -> dict[str, Any]:
    return _reply(status, {"error": {"code": code, "message": message}})


def _signed_out(course_id: str) -> dict[str, Any]:
    path = course_path(course_id)
    names = (POLICY_COOKIE, SIGNATURE_COOKIE, KEY_PAIR_ID_COOKIE, HASH_ALGORITHM_COOKIE)
    expired = [
        f"{n}=; Path={path}; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Secure; HttpOnly; SameSite=Lax"
        for n in names
    ]
    return _reply(200, {"courseId": course_id, "signedOut": True}, expired)


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@event_source(data_class=APIGatewayProxyEventV2)
def handler(event: APIGatewayProxyEventV2, context: LambdaContext) -> dict[str, Any]:
    cfg = session_settings()
    # The route's path parameter; a $default/proxy route (the local edge) only has the path.
    match = SESSION_PATH.search(event.raw_path or "")
    course_id = (event.path_parameters or {}).get("courseId") or (unquote(match.group(1)) if match else "")
    method = event.request_context.http.method
    if method == "DELETE":
        if not COURSE_ID_RE.fullmatch(course_id):
            return _error(400, "BadRequest", f"{course_id!r} is not a course id")
        return _signed_out(course_id)
    if method != "POST":
        # Cookies only in answer to a POST: a GET is what an <img> or a link on any page can make.
        return _error(405, "MethodNotAllowed", "open a session with POST (sign out with DELETE)")
    try:
        viewer_host = (
            check_media_domain(event.headers.get(cfg.viewer_host_header) or "")
            if event.headers.get(cfg.viewer_host_header)
            else ""
        )
    except ValueError:
        return _error(400, "BadRequest", "the viewer host is not a host name")
    if cfg.media_domain and viewer_host and viewer_host != cfg.media_domain.lower():
        return _error(400, "BadRequest", f"open sessions on https://{cfg.media_domain}/auth/...")
    host = cfg.media_domain or viewer_host
    if not host:
        return _error(400, "BadRequest", "call the session API through the media distribution (/auth/...)")
    try:
        session = open_session(
            course_id,
            event.request_context.authorizer.jwt_claim,
            host=host,
            enrollments=services().catalog,
            issue=issue,
            ttl_s=cfg.ttl_s,
        )
    except (BadCourseIdError, NotSignedInError, NotEnrolledError) as exc:
        status, code = STATUS[type(exc)]
        return _error(status, code, str(exc))
    logger.info("session opened", extra={"courseId": session.course_id, "user": session.user_id})
    return _reply(200, session.to_dict(), session.set_cookies)
