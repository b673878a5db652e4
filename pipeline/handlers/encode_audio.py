"""EncodeAudio state (one per soundtrack, in the EncodeSoundtracks Map): a whole soundtrack as its HLS
audio rendition."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.handlers._wiring import logger, services, tracer
from pipeline.steps import AudioInput, parse, reply
from pipeline.usecases.video import encode_audio_track

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    step = parse(AudioInput, event)
    return reply(encode_audio_track(step.source, step.job, services(), step.track))
