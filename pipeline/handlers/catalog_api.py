"""Catalog read API for downstream apps (API Gateway HTTP API payload v2, or a Lambda Function URL).

    GET /catalog/courses?limit=&nextToken=                   courses (not DELETED), by courseId
    GET /catalog/courses/{courseId}?includeDeleted=          one course: lessons in manifest order, assets
    GET /catalog/assets?status=&courseId=&limit=&nextToken=  assets in one status, newest first

Response shapes, pagination, errors and caching are documented in ``pipeline.catalog.reader``, which does
the work; this module only maps HTTP to reader calls and the reader's exceptions to status codes.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline import aws
from pipeline.catalog.reader import (
    CatalogReader,
    CatalogUnavailableError,
    CourseNotFoundError,
    InvalidRequestError,
    Reply,
    error_reply,
    json_reply,
)
from pipeline.config import settings
from pipeline.handlers._wiring import logger, tracer

app = APIGatewayHttpResolver()


@lru_cache(maxsize=1)
def reader() -> CatalogReader:
    """Reads go through DAX when the stack has a cluster (``DAX_ENDPOINT``), else straight to DynamoDB."""
    return CatalogReader(aws.catalog_read_client(), settings().catalog_table)


def _respond(reply: Reply) -> Response[str]:
    return Response(status_code=reply.status, body=reply.body, headers=reply.headers)


def _ok(payload: dict[str, Any]) -> Response[str]:
    return _respond(json_reply(payload, app.current_event.headers.get("if-none-match")))


@app.get("/catalog/courses")
def list_courses() -> Response[str]:
    return _ok(reader().list_courses(app.current_event.query_string_parameters))


@app.get("/catalog/courses/<course_id>")
def get_course(course_id: str) -> Response[str]:
    return _ok(reader().course(course_id, app.current_event.query_string_parameters))


@app.get("/catalog/assets")
def list_assets() -> Response[str]:
    return _ok(reader().assets(app.current_event.query_string_parameters))


# The reader's refusals and what each becomes on the wire (status, error code).
REFUSALS: dict[type[Exception], tuple[int, str]] = {
    InvalidRequestError: (400, "BadRequest"),
    CourseNotFoundError: (404, "NotFound"),
    CatalogUnavailableError: (503, "ServiceUnavailable"),
}


def _refused(exc: Exception) -> Response[str]:
    status, code = next(outcome for cls, outcome in REFUSALS.items() if isinstance(exc, cls))
    return _respond(error_reply(status, code, str(exc)))


@app.not_found
def _no_route(exc: NotFoundError) -> Response[str]:
    event = app.current_event
    return _respond(error_reply(404, "NotFound", f"no route {event.http_method} {event.path}"))


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
