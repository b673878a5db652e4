"""PackageHls state: media, I-frame and master playlists from the chunk manifests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.handlers._wiring import logger, services, tracer
from pipeline.steps import PackageInput, parse, reply
from pipeline.usecases.video import package_hls

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    step = parse(PackageInput, event)
    return reply(package_hls(step.source, step.asset, step.plan, step.probe, services()))
