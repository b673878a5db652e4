"""Classify state: sniff the upload's kind and mark the asset PROCESSING."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.handlers._wiring import logger, services, tracer
from pipeline.steps import ClassifyInput, parse, reply
from pipeline.usecases.classify import classify_asset

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    step = parse(ClassifyInput, event)
    return reply(classify_asset(step.source, step.execution_arn, services()))
