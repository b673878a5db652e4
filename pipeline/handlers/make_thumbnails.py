"""MakeThumbnails state: posters and scrub-preview sprites with their WebVTT track."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.handlers._wiring import logger, services, tracer
from pipeline.steps import ThumbnailsInput, parse, reply
from pipeline.usecases.video import make_thumbnails

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    step = parse(ThumbnailsInput, event)
    return reply(make_thumbnails(step.source, step.probe, step.job, services()))
