"""Ingest: an S3 event becomes one ProcessAsset execution (exactly one per object version or deletion).

"Object Created" records the upload (UPLOADED) and starts its execution; "Object Deleted" starts an
execution that unpublishes (the catalog write happens there, where operators see it). An upload event
older than what the catalog holds (S3 ``sequencer`` order) starts nothing: a newer upload or a deletion
of that path already won.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.catalog.model import Catalog, Claim, SourceRef
from pipeline.errors import MalformedEventError, UnsafeKeyError
from pipeline.keys import decode_event_key, execution_name, parse_key

if TYPE_CHECKING:
    from pipeline.services import ExecutionStarter
    from pipeline.storage import ObjectStore


@dataclass(frozen=True)
class IngestOutcome:
    key: str
    execution_name: str
    execution_arn: str
    started: bool
    rejected_reason: str | None = None
    superseded: bool = False
    action: str = "upload"


DELETED = "Object Deleted"


def parse_upload_event(event: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """Return (bucket, raw key, object detail) from an EventBridge S3 event."""
    try:
        detail = event["detail"]
        bucket = str(detail["bucket"]["name"])
        obj = detail["object"]
        raw_key = str(obj["key"])
    except (KeyError, TypeError) as exc:
        raise MalformedEventError(f"not an S3 Object Created event: missing {exc}") from exc
    return bucket, raw_key, obj


def resolve_key(store: ObjectStore, bucket: str, raw_key: str, version_id: str | None) -> str:
    """Keys in S3 notifications are URL-encoded (``+`` is a space); decode exactly once.

    If the decoded key does not exist but the raw one does (an emitter that did not encode), the raw key
    is the truth: the version id makes the check unambiguous.
    """
    decoded = decode_event_key(raw_key)
    if decoded == raw_key:
        return decoded
    if (
        store.head(bucket, decoded, version_id) is None
        and store.head(bucket, raw_key, version_id) is not None
    ):
        return raw_key
    return decoded


def start_processing(
    event: dict[str, Any], *, store: ObjectStore, catalog: Catalog, starter: ExecutionStarter
) -> IngestOutcome:
    bucket, raw_key, obj = parse_upload_event(event)
    version_id = obj.get("version-id") or obj.get("versionId")
    deleted = event.get("detail-type") == DELETED
    # A deleted key cannot be looked up; S3 encodes keys in events, so decoding is the rule there.
    key = decode_event_key(raw_key) if deleted else resolve_key(store, bucket, raw_key, version_id)
    source = SourceRef(
        bucket=bucket,
        key=key,
        version_id=version_id,
        etag=obj.get("etag") or obj.get("eTag"),
        size=int(obj["size"]) if obj.get("size") is not None else None,
        sequencer=obj.get("sequencer"),
    )
    action = "delete" if deleted else "upload"
    name = execution_name(bucket, key, version_id or source.etag, action="deleted" if deleted else "")
    rejected: str | None = None
    payload_doc: dict[str, Any] = {"source": source.to_dict()}
    if deleted:
        payload_doc["deletion"] = {
            "type": str(event["detail"].get("deletion-type") or "Delete Marker Created")
        }
    else:
        try:
            asset = parse_key(key)
        except UnsafeKeyError as exc:
            # Still start the execution: Classify fails it with the same error, so the rejection is visible
            # to operators in the console and recorded wherever the key allows.
            rejected = str(exc)
        else:
            claim = catalog.record_uploaded(asset.course_id, asset.asset_id, asset.path, source, name)
            if claim is Claim.SUPERSEDED:
                return IngestOutcome(
                    key=key,
                    execution_name=name,
                    execution_arn="",
                    started=False,
                    superseded=True,
                    action=action,
                )
    payload = json.dumps(payload_doc, sort_keys=True, separators=(",", ":"))
    arn, started = starter.start(name, payload)
    return IngestOutcome(
        key=key,
        execution_name=name,
        execution_arn=arn,
        started=started,
        rejected_reason=rejected,
        action=action,
    )
