"""PackageHls state: media, I-frame and master playlists from the chunk manifests."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.catalog.model import SourceRef
from pipeline.handlers._wiring import logger, services, tracer
from pipeline.usecases.video import package_hls


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return package_hls(
        SourceRef.from_dict(event["source"]), event["asset"], event["plan"], event["probe"], services()
    )
