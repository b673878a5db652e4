"""UnpublishAsset state: a deleted source's outputs leave the publish bucket; the catalog says DELETED."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.handlers._wiring import logger, services, tracer
from pipeline.steps import UnpublishInput, parse, reply
from pipeline.usecases.delete import unpublish_asset

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    step = parse(UnpublishInput, event)
    return reply(unpublish_asset(step.source, step.deletion, step.execution_arn, services()))
