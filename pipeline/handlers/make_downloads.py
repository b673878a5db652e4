"""MakeDownloads state: the lecture's MP4 and M4A for learners, when course.yaml allows downloads.

The same function runs ApplyDownloads, the manifest's ``ApplyDownloadsSetting`` Map: BuildCourse has no
ffmpeg (it parses untrusted YAML), so a course.yaml that changes downloads has them made here, for the
videos published before it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.handlers._wiring import logger, services, tracer
from pipeline.steps import ApplyDownloadsInput, DownloadsInput, parse, reply
from pipeline.usecases.downloads import apply_downloads, make_downloads

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    if "video" in event:  # ApplyDownloads: one video published earlier, by its catalog item
        applied = parse(ApplyDownloadsInput, event)
        return reply(apply_downloads(applied.video, services()))
    step = parse(DownloadsInput, event)
    return reply(make_downloads(step.source, step.asset, step.package, services()))
