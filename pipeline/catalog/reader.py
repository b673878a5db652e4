"""``CatalogReader(client, table)``: the catalog API's documents from a DynamoDB or DAX client in one call.

A facade over the three rooms that do the work: ``pipeline.catalog.query`` (the reads, typed arguments),
``pipeline.catalog.views`` (what learners and operators see) and ``pipeline.catalog.http`` (query
strings, replies, caching; the API contract is documented there and in ``views``). It keeps the old
entry point importable for callers that want the documents without building the rooms themselves; the
refusals are ``pipeline.catalog.errors``' and are re-exported under their stable names.
"""

from __future__ import annotations

from typing import Any

from pipeline.catalog.errors import (
    CatalogRequestError,
    CatalogUnavailableError,
    CourseNotFoundError,
    InvalidRequestError,
    RouteNotFoundError,
)
from pipeline.catalog.http import CatalogApi
from pipeline.catalog.query import MAX_READS, READ_AHEAD, CatalogQuery

__all__ = [
    "CatalogReader",
    "CatalogRequestError",
    "CatalogUnavailableError",
    "CourseNotFoundError",
    "InvalidRequestError",
    "RouteNotFoundError",
]


class CatalogReader(CatalogApi):
    """The catalog API's routes as documents, over a query engine built from ``client`` and ``table``."""

    def __init__(
        self, client: Any, table: str, *, read_ahead: int = READ_AHEAD, max_reads: int = MAX_READS
    ) -> None:
        super().__init__(CatalogQuery(client, table, read_ahead=read_ahead, max_reads=max_reads))
