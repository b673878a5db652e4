"""UnpublishAsset state: a deleted source's outputs leave the publish bucket; the catalog says DELETED."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.catalog.model import SourceRef
from pipeline.handlers._wiring import logger, services, tracer
from pipeline.usecases.delete import unpublish_asset


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return unpublish_asset(
        SourceRef.from_dict(event["source"]),
        event.get("deletion") or {},
        event.get("executionArn"),
        services(),
    )
