"""MakeDownloads state: the lecture's MP4 and M4A for learners, when course.yaml allows downloads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.handlers._wiring import logger, services, tracer
from pipeline.steps import DownloadsInput, parse, reply
from pipeline.usecases.downloads import make_downloads

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    step = parse(DownloadsInput, event)
    return reply(make_downloads(step.source, step.asset, step.package, services()))
