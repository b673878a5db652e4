"""Catalog events: what downstream apps subscribe to instead of polling the table.

Published on EventBridge with source ``coursepipe`` after the catalog write they describe succeeded (a
refused, stale write publishes nothing). Delivery is at least once: a retried task publishes again, so
consumers deduplicate on ``(courseId, assetId, sourceVersion, status)``. The ``detail`` shapes are
documented in ``pipeline/catalog/SCHEMA.md``; ``detail.schemaVersion`` changes when a field changes meaning.
"""

from __future__ import annotations

from typing import Any, Protocol

from pipeline.catalog.model import AssetStatus, SourceRef, now_iso

EVENT_SOURCE = "coursepipe"
EVENT_SCHEMA_VERSION = 1
DETAIL_TYPES = ("AssetPublished", "AssetFailed", "AssetDeleted", "CoursePublished")


class EventPublisher(Protocol):
    """The events port; ``EventBridgePublisher`` is the adapter."""

    def publish(
        self, detail_type: str, detail: dict[str, Any], resources: list[str] | None = None
    ) -> None: ...


class EventDeliveryError(Exception):
    """EventBridge refused an event. Transient by nature: the state machine retries the task, whose
    catalog write is idempotent."""


def asset_event(
    *,
    course_id: str,
    asset_id: str,
    kind: str,
    path: str,
    status: AssetStatus,
    source: SourceRef,
    outputs: list[str],
    execution_arn: str | None,
    error: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "schemaVersion": EVENT_SCHEMA_VERSION,
        "courseId": course_id,
        "assetId": asset_id,
        "kind": kind,
        "path": path,
        "status": status.value,
        "sourceKey": source.key,
        "sourceVersion": source.version_id or "null",
        "entry": outputs[0] if outputs else None,
        "outputs": outputs,
        "error": error,
        "executionArn": execution_arn,
        "occurredAt": now_iso(),
    }


def course_event(
    *, course_id: str, course: dict[str, Any], index: str | None, source: SourceRef, execution_arn: str | None
) -> dict[str, Any]:
    return {
        "schemaVersion": EVENT_SCHEMA_VERSION,
        "courseId": course_id,
        "title": course.get("title"),
        "lessonCount": course.get("lessons"),
        "pending": len(course.get("pending") or []),
        "index": index,
        "status": AssetStatus.PUBLISHED.value,
        "sourceKey": source.key,
        "sourceVersion": source.version_id or "null",
        "executionArn": execution_arn,
        "occurredAt": now_iso(),
    }
