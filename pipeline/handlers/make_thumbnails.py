"""MakeThumbnails state: posters and scrub-preview sprites with their WebVTT track."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.catalog.model import SourceRef
from pipeline.handlers._wiring import logger, services, tracer
from pipeline.usecases.video import make_thumbnails


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return make_thumbnails(SourceRef.from_dict(event["source"]), event.get("probe"), event["job"], services())
