"""The two ends of every execution: record the published asset, or record why it failed."""

from __future__ import annotations

import json
from typing import Any

from pipeline.catalog.events import asset_event, course_event
from pipeline.catalog.model import AssetStatus, SourceRef
from pipeline.errors import UnsafeKeyError
from pipeline.keys import AssetKey, asset_id_for, parse_key
from pipeline.services import Services
from pipeline.usecases.delete import remove_stale_outputs
from pipeline.usecases.video import discard_partial_video

MAX_MESSAGE = 1000


# Where the branches leave their results in the state: one task's ``result``; the video branch's
# ``package`` (the master playlist) and ``transcode`` (a Parallel: chunk list, audio, thumbnails). The
# order makes the entry point (master playlist, page) the first output, which readers rely on.
RESULT_KEYS = ("package", "result", "transcode")


def _merge_results(state: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """A task returns one result, a Parallel state a list of them: merge their outputs and details
    (parts without ``outputs``, like the Map's per-chunk summaries, carry nothing for the catalog)."""
    parts: list[Any] = []
    for key in RESULT_KEYS:
        value = state.get(key)
        parts.extend(value if isinstance(value, list) else [value])
    outputs: list[str] = []
    details: dict[str, Any] = {}
    for part in parts:
        if isinstance(part, dict):
            outputs.extend(str(o) for o in part.get("outputs", []))
            details.update(part.get("details", {}))
    return outputs, details


def record_asset(
    state: dict[str, Any], services: Services, execution_arn: str | None = None
) -> dict[str, Any]:
    source = SourceRef.from_dict(state["source"])
    asset = state["asset"]
    outputs, details = _merge_results(state)
    if "probe" in state:
        details["probe"] = state["probe"]
    course_id, asset_id, kind = asset["courseId"], asset["assetId"], asset["kind"]
    written = services.catalog.record_published(course_id, asset_id, source, kind, outputs, details)
    if not written:
        # A newer upload or a deletion of this path is recorded. If it was a deletion, what this
        # execution just published must not outlive it.
        removed = remove_stale_outputs(parse_key(source.key), kind, services)
        return {"status": "SUPERSEDED", "assetId": asset_id, "outputs": 0, "removed": removed}
    resources = [execution_arn] if execution_arn else []
    services.events.publish(
        "AssetPublished",
        asset_event(
            course_id=course_id,
            asset_id=asset_id,
            kind=kind,
            path=str(asset.get("path") or ""),
            status=AssetStatus.PUBLISHED,
            source=source,
            outputs=outputs,
            execution_arn=execution_arn,
        ),
        resources,
    )
    course = details.get("course")
    if kind == "manifest" and isinstance(course, dict) and not course.get("superseded"):
        services.events.publish(
            "CoursePublished",
            course_event(
                course_id=course_id,
                course=course,
                index=outputs[0] if outputs else None,
                source=source,
                execution_arn=execution_arn,
            ),
            resources,
        )
    return {"status": "PUBLISHED", "assetId": asset_id, "outputs": len(outputs)}


def explain_error(error: dict[str, Any] | None) -> tuple[str, str]:
    """(error name, author-facing message) from a Catch's ``{Error, Cause}``.

    A Lambda error's Cause is the runtime's JSON (errorType, errorMessage, stackTrace): the message is
    what the author needs; the stack trace stays in the execution history for engineers.
    """
    error = error or {}
    name = str(error.get("Error") or "States.Runtime")
    cause = str(error.get("Cause") or "")
    message = cause
    try:
        parsed = json.loads(cause)
    except (ValueError, TypeError):
        parsed = None
    if isinstance(parsed, dict) and parsed.get("errorMessage"):
        message = str(parsed["errorMessage"])
    if name == "States.Timeout":
        message = message or "processing took longer than allowed; try a shorter or smaller file"
    return name, (message or name)[:MAX_MESSAGE]


def _lenient_asset(key: str) -> AssetKey | None:
    """The course and asset a failed key belongs to, even when the path itself was refused."""
    try:
        return parse_key(key)
    except UnsafeKeyError:
        parts = key.split("/", 2)
        if len(parts) == 3 and parts[0] == "courses" and parts[2]:
            try:
                parse_key(f"courses/{parts[1]}/x")
            except UnsafeKeyError:
                return None
            return AssetKey(course_id=parts[1], path=parts[2])
        return None


def record_failure(
    state: dict[str, Any], services: Services, execution_arn: str | None = None
) -> dict[str, Any]:
    source = SourceRef.from_dict(state["source"])
    name, message = explain_error(state.get("error"))
    asset = _lenient_asset(source.key)
    recorded = False
    discarded = discard_partial_video(state, services) if asset is not None else 0
    if asset is not None:
        asset_id = (state.get("asset") or {}).get("assetId") or asset_id_for(asset.path)
        kind = str((state.get("asset") or {}).get("kind") or "unknown")
        recorded = services.catalog.record_failed(
            asset.course_id, asset_id, source, name, message, execution_arn
        )
        if recorded:
            services.events.publish(
                "AssetFailed",
                asset_event(
                    course_id=asset.course_id,
                    asset_id=asset_id,
                    kind=kind,
                    path=asset.path,
                    status=AssetStatus.FAILED,
                    source=source,
                    outputs=[],
                    execution_arn=execution_arn,
                    error={"name": name, "message": message},
                ),
                [execution_arn] if execution_arn else [],
            )
    return {"error": name, "message": message, "recorded": recorded, "discarded": discarded}
