"""PlanEncode state: the ladder and the chunk list the Map state fans out on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.handlers._wiring import logger, services, tracer
from pipeline.steps import PlanInput, parse, reply
from pipeline.usecases.video import plan_encode

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    step = parse(PlanInput, event)
    return reply(plan_encode(step.source, step.probe, services()))
