"""MakeImageVariants state: responsive WebP variants."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.handlers._wiring import logger, services, tracer
from pipeline.steps import AssetInput, parse, reply
from pipeline.usecases.image import make_image_variants

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    step = parse(AssetInput, event)
    return reply(make_image_variants(step.source, services()))
