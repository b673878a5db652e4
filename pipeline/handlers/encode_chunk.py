"""EncodeChunk state (one Map iteration): every video rung of one chunk of the timeline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.handlers._wiring import logger, services, tracer
from pipeline.steps import ChunkInput, parse, reply
from pipeline.usecases.video import encode_video_chunk

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    step = parse(ChunkInput, event)
    return reply(encode_video_chunk(step.source, step.job, step.chunk, services()))
