"""The catalog read side's refusals, in one module the query engine, the views and the HTTP layer share.

The class names are a contract (the API's logs, the CLI's ``coursepipe: InvalidRequestError: ...`` line and
callers' ``except`` clauses name them), so they never change; ``pipeline.catalog.http`` maps each to a
status and an error code.
"""

from __future__ import annotations

from pipeline.errors import PipelineError


class CatalogRequestError(PipelineError):
    """A request the catalog cannot answer as asked (the caller's mistake, not the catalog's)."""


class InvalidRequestError(CatalogRequestError):
    """A parameter is missing or malformed: the message names it and what is allowed."""


class CourseNotFoundError(CatalogRequestError):
    """The catalog has nothing for this course id (or, on a learner route, nothing published)."""


class RouteNotFoundError(CatalogRequestError):
    """No such route (404); the message says where a moved route went."""


class CatalogUnavailableError(PipelineError):
    """The table kept part of a batch read unprocessed (throttling): worth retrying shortly."""
