"""EncodeAudio state: the whole soundtrack as the HLS audio rendition."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.catalog.model import SourceRef
from pipeline.handlers._wiring import logger, services, tracer
from pipeline.usecases.video import encode_audio_track


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return encode_audio_track(SourceRef.from_dict(event["source"]), event["job"], services())
