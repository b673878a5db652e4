"""PublishAttachment state: a handout checked as its format and published as a download."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.handlers._wiring import logger, services, tracer
from pipeline.steps import AssetInput, parse, reply
from pipeline.usecases.attachment import publish_attachment

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    step = parse(AssetInput, event)
    return reply(publish_attachment(step.source, services()))
