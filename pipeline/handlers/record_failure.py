"""RecordFailure state: the catalog item becomes FAILED with the error name and message."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.handlers._wiring import logger, services, tracer
from pipeline.steps import RecordInput, parse, reply
from pipeline.usecases.record import record_failure

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    step = parse(RecordInput, event)
    return reply(record_failure(step.state, services(), step.execution_arn))
