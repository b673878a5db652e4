"""RenderCaptions state: an SRT or WebVTT file checked, published and attached to its video."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.handlers._wiring import logger, services, tracer
from pipeline.steps import AssetInput, parse, reply
from pipeline.usecases.captions import render_captions

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    step = parse(AssetInput, event)
    return reply(render_captions(step.source, services()))
