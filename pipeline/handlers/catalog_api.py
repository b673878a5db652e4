"""Catalog read API for downstream apps (API Gateway HTTP API payload v2, or a Lambda Function URL).

Learners (anonymous, cached by the CDN; published content only):

    GET /catalog/courses?limit=&nextToken=                          PUBLISHED courses, by courseId
    GET /catalog/courses/{courseId}                                 one PUBLISHED course: lessons, files

Operators (a Cognito token of the ``admins`` group; never cached):

    GET /catalog/admin/courses/{courseId}?includeDeleted=           every status, errors, executions
    GET /catalog/admin/assets?status=&courseId=&limit=&nextToken=   assets in one status, newest first

In the cloud API Gateway's JWT authorizer verifies the token on ``/catalog/admin/*`` and the local edge does
the same; a JWT authorizer checks scopes, not groups, so this module requires the ``admins`` group from
the verified claims (``requestContext.authorizer.jwt.claims``) on every operator path, whatever route
delivered the request. Response shapes, pagination, errors and caching are documented in
``pipeline.catalog.http`` and ``pipeline.catalog.views``, which do the work; this module only routes
HTTP requests there and hands the refusals to their replies.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths

from pipeline import aws
from pipeline.access.claims import ADMINS_GROUP, NotInGroupError, NotSignedInError, require_group
from pipeline.catalog.errors import RouteNotFoundError
from pipeline.catalog.http import (
    CACHE_OK,
    CACHE_PRIVATE,
    OPERATOR_PREFIX,
    CatalogApi,
    Reply,
    error_reply,
    json_reply,
)
from pipeline.catalog.http import REFUSALS as CATALOG_REFUSALS
from pipeline.catalog.query import CatalogQuery
from pipeline.config import catalog_table
from pipeline.handlers._wiring import logger, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.exceptions import NotFoundError
    from aws_lambda_powertools.utilities.typing import LambdaContext

app = APIGatewayHttpResolver()


@lru_cache(maxsize=1)
def reader() -> CatalogApi:
    """Reads go through DAX when the stack has a cluster (``DAX_ENDPOINT``), else straight to DynamoDB."""
    return CatalogApi(CatalogQuery(aws.catalog_read_client(), catalog_table()))


def _respond(reply: Reply) -> Response[str]:
    return Response(status_code=reply.status, body=reply.body, headers=reply.headers)


def _ok(payload: dict[str, Any], cache_control: str = CACHE_OK) -> Response[str]:
    inm = app.current_event.headers.get("if-none-match")
    return _respond(json_reply(payload, inm, cache_control=cache_control))


def _operator() -> None:
    """Refuse unless the verified token is an admin's: the authorizer proves who, not which group."""
    require_group(app.current_event.request_context.authorizer.jwt_claim, ADMINS_GROUP)


# ---------------------------------------------------------------- learners
@app.get("/catalog/courses")
def list_courses() -> Response[str]:
    return _ok(reader().list_courses(app.current_event.query_string_parameters))


@app.get("/catalog/courses/<course_id>")
def get_course(course_id: str) -> Response[str]:
    return _ok(reader().course(course_id, app.current_event.query_string_parameters))


@app.get("/catalog/assets")
def moved_assets() -> Response[str]:
    raise RouteNotFoundError(
        "the asset listing is for operators: GET /catalog/admin/assets?status=... with a Cognito token "
        f"of the {ADMINS_GROUP!r} group"
    )


# ---------------------------------------------------------------- operators
@app.get("/catalog/admin/assets")
def operator_assets() -> Response[str]:
    _operator()
    return _ok(reader().operator_assets(app.current_event.query_string_parameters), CACHE_PRIVATE)


@app.get("/catalog/admin/courses/<course_id>")
def operator_course(course_id: str) -> Response[str]:
    _operator()
    return _ok(reader().operator_course(course_id, app.current_event.query_string_parameters), CACHE_PRIVATE)


# The catalog's refusals and the operator check's, and what each becomes on the wire (status, error code).
REFUSALS: dict[type[Exception], tuple[int, str]] = {
    **CATALOG_REFUSALS,
    NotSignedInError: (401, "Unauthorized"),
    NotInGroupError: (403, "Forbidden"),
}


def _refused(exc: Exception) -> Response[str]:
    status, code = next(outcome for cls, outcome in REFUSALS.items() if isinstance(exc, cls))
    reply = error_reply(status, code, str(exc))
    if status == 401:
        reply.headers["WWW-Authenticate"] = "Bearer"
    return _respond(reply)


@app.not_found
def _no_route(exc: NotFoundError) -> Response[str]:
    event = app.current_event
    path = event.path
    if path == OPERATOR_PREFIX or path.startswith(OPERATOR_PREFIX + "/"):
        # Not even which operator routes exist, to a caller who is not one.
        try:
            _operator()
        except (NotSignedInError, NotInGroupError) as refusal:
            return _refused(refusal)
    return _respond(error_reply(404, "NotFound", f"no route {event.http_method} {path}"))


def _unexpected(exc: Exception) -> Response[str]:
    # The stack trace goes to the log, never to the client.
    logger.exception("catalog API request failed")
    return _respond(error_reply(500, "InternalError", "the catalog could not answer; try again later"))


# Registered by call: Powertools' exception_handler decorator is untyped.
app.exception_handler(list(REFUSALS))(_refused)
app.exception_handler(Exception)(_unexpected)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
