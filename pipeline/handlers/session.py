"""Session API: ``POST /auth/courses/{courseId}/session`` -> CloudFront signed cookies for that course.

Behind API Gateway's JWT authorizer (Cognito) in the cloud, and behind the local edge's equivalent check
locally: the verified claims arrive in ``requestContext.authorizer.jwt.claims``. The response sets the
cookies host-only on the media domain (this API is served under ``/auth/*`` of the same distribution).
The private key comes from Secrets Manager once per container.
"""

from __future__ import annotations

import json
import time
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline import aws
from pipeline.access.cookies import set_cookie_headers
from pipeline.access.policy import course_path, course_policy
from pipeline.access.signing import load_private_key, sign_policy
from pipeline.config import SessionSettings
from pipeline.handlers._wiring import logger, services, tracer
from pipeline.usecases.session import (
    BadCourseIdError,
    NotEnrolledError,
    NotSignedInError,
    open_session,
)

STATUS = {
    BadCourseIdError: (400, "BadRequest"),
    NotSignedInError: (401, "Unauthorized"),
    NotEnrolledError: (403, "Forbidden"),
}


@lru_cache(maxsize=1)
def session_settings() -> SessionSettings:
    return SessionSettings.from_env()


@lru_cache(maxsize=2)
def _private_key(secret_id: str) -> Any:
    secret = aws.client("secretsmanager").get_secret_value(SecretId=secret_id)
    return load_private_key(secret["SecretString"])


def issue(course_id: str, host: str, ttl_s: int) -> tuple[list[str], int]:
    cfg = session_settings()
    now = time.time()
    policy = course_policy(host, course_id, expires=int(now) + ttl_s, scheme=cfg.scheme)
    signed = sign_policy(policy, _private_key(cfg.key_secret_id), cfg.key_pair_id)
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


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_source(data_class=APIGatewayProxyEventV2)
def handler(event: APIGatewayProxyEventV2, context: LambdaContext) -> dict[str, Any]:
    cfg = session_settings()
    course_id = (event.path_parameters or {}).get("courseId") or event.raw_path.rstrip("/").split("/")[-2]
    # The media host the cookies are for: configured (alternate domain), else the viewer's Host as
    # CloudFront forwards it, else the Host of this request (the local edge).
    host = cfg.media_domain or event.headers.get("x-forwarded-host") or event.headers.get("host") or ""
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
        return _reply(status, {"error": {"code": code, "message": str(exc)}})
    logger.info("session opened", extra={"courseId": session.course_id, "user": session.user_id})
    return _reply(200, session.to_dict(), session.set_cookies)
