"""RenderLesson state: Markdown lesson to a sanitized HTML page."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.catalog.model import SourceRef
from pipeline.handlers._wiring import logger, services, tracer
from pipeline.usecases.text import render_lesson_page


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return render_lesson_page(SourceRef.from_dict(event["source"]), services())
