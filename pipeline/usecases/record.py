"""The two ends of every execution: record the published asset, or record why it failed."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

from pipeline.catalog.details import Details, merge
from pipeline.catalog.events import asset_event, course_event
from pipeline.catalog.model import AssetStatus
from pipeline.errors import StepContractError, UnsafeKeyError
from pipeline.keys import AssetKey, asset_id_for, parse_key
from pipeline.steps import CaughtError, ExecutionState, FailureRecorded, Recorded
from pipeline.usecases.lifecycles import after_downloads_applied, lifecycle_for
from pipeline.usecases.removal import remove_stale_outputs

if TYPE_CHECKING:
    from pipeline.services import Services

MAX_MESSAGE = 1000


def record_asset(state: ExecutionState, services: Services, execution_arn: str | None = None) -> Recorded:
    source = state.source
    info = state.asset
    if info is None:
        raise StepContractError("RecordAsset needs the state's 'asset' (Classify's result)")
    outputs, details = published_outputs(state)
    if state.probe is not None:
        details["probe"] = dict(state.probe.to_dict())
    course_id, asset_id, kind = info.course_id, info.asset_id, info.kind
    written = services.catalog.record_published(
        course_id, asset_id, source, kind, outputs, cast("dict[str, Any]", details)
    )
    if not written:
        # A newer upload or a deletion of this path is recorded. If it was a deletion, what this
        # execution just published must not outlive it.
        removed = remove_stale_outputs(parse_key(source.key), kind, services)
        return Recorded(status="SUPERSEDED", asset_id=asset_id, outputs=0, removed=removed)
    lifecycle_for(kind).after_publish(parse_key(source.key), services)
    if state.downloads_applied:
        after_downloads_applied(state.downloads_applied, services)
    resources = [execution_arn] if execution_arn else []
    services.events.publish(
        "AssetPublished",
        asset_event(
            course_id=course_id,
            asset_id=asset_id,
            kind=kind,
            path=info.path,
            status=AssetStatus.PUBLISHED,
            source=source,
            outputs=outputs,
            execution_arn=execution_arn,
        ),
        resources,
    )
    course = details.get("course")
    if kind == "manifest" and course is not None and not course.get("superseded"):
        services.events.publish(
            "CoursePublished",
            course_event(
                course_id=course_id,
                course=cast("dict[str, Any]", course),
                index=outputs[0] if outputs else None,
                source=source,
                execution_arn=execution_arn,
            ),
            resources,
        )
    return Recorded(status="PUBLISHED", asset_id=asset_id, outputs=len(outputs))


def published_outputs(state: ExecutionState) -> tuple[list[str], Details]:
    """The producing tasks' outputs (the entry point first) and their details, merged."""
    produced = state.produced()
    return [o for part in produced for o in part.outputs], merge([part.details for part in produced])


def explain_error(error: CaughtError | None) -> tuple[str, str]:
    """(error name, author-facing message) from a Catch's ``{Error, Cause}``.

    A Lambda error's Cause is the runtime's JSON (errorType, errorMessage, stackTrace): the message is
    what the author needs; the stack trace stays in the execution history for engineers.
    """
    name = (error.error if error else "") or "States.Runtime"
    cause = (error.cause if error else "") or ""
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
    state: ExecutionState, services: Services, execution_arn: str | None = None
) -> FailureRecorded:
    source = state.source
    name, message = explain_error(state.error)
    asset = _lenient_asset(source.key)
    recorded = False
    kind = state.asset.kind if state.asset else "unknown"
    discarded = lifecycle_for(kind).discard_partial(state, services) if asset is not None else 0
    if asset is not None:
        asset_id = (state.asset.asset_id if state.asset else "") or asset_id_for(asset.path)
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
    return FailureRecorded(error=name, message=message, recorded=recorded, discarded=discarded)
