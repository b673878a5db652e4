"""ExtractSubtitles state: the video's own text subtitle streams staged as WebVTT for PackageHls."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.handlers._wiring import logger, services, tracer
from pipeline.steps import ThumbnailsInput, parse, reply
from pipeline.usecases.embedded_subtitles import extract_subtitles

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    step = parse(ThumbnailsInput, event)
    return reply(extract_subtitles(step.source, step.probe, step.job, services()))
