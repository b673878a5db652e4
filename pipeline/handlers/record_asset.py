"""RecordAsset state: the catalog item becomes PUBLISHED with its outputs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.handlers._wiring import logger, services, tracer
from pipeline.steps import RecordInput, parse, reply
from pipeline.usecases.record import record_asset

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    step = parse(RecordInput, event)
    return reply(record_asset(step.state, services(), step.execution_arn))
