"""Client side of a running stack: upload files, follow their executions, list executions.

Works the same against ``coursepipe up`` and a deployed stack: it only uses S3 and Step Functions APIs
and the pipeline's deterministic execution names (``keys.execution_name``), so it knows which execution
an upload starts without being told.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pipeline.executions import current_state
from pipeline.keys import execution_name
from pipeline.local.run import Upload, upload_wave

if TYPE_CHECKING:
    from pipeline.local.target import StackTarget

Progress = Callable[[str, str, float], None]
# How long an upload may wait for its execution to appear (the ingest queue is polled every ~0.5 s
# locally; on AWS the SQS batching window is 1 s) before it is reported as not started.
START_TIMEOUT_S = 60.0


@dataclass
class Followed:
    key: str
    name: str
    arn: str
    status: str = "PENDING"
    state: str = "Queued"
    error: str | None = None
    cause: str | None = None
    duration_ms: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "executionArn": self.arn,
            "status": self.status,
            "error": self.error,
            "cause": self.cause,
            "durationMs": self.duration_ms,
        }


def execution_arn(target: StackTarget, name: str) -> str:
    return target.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"


# Up to this size one PutObject, whose response names the version it created; above it a multipart
# upload, whose CompleteMultipartUpload response does too.
SINGLE_PUT_BYTES = 64 * 1024 * 1024
PART_BYTES = 16 * 1024 * 1024


def put_file(target: StackTarget, s3: Any, item: Upload) -> str | None:
    """Upload one file; return what names its execution: the version id S3 gave *this* upload (a HEAD
    afterwards could see another writer's), or the ETag on an unversioned bucket, as ingest does."""
    bucket = target.ingest_bucket
    if item.path.stat().st_size <= SINGLE_PUT_BYTES:
        with item.path.open("rb") as body:
            resp = s3.put_object(Bucket=bucket, Key=item.key, Body=body)
    else:
        upload_id = s3.create_multipart_upload(Bucket=bucket, Key=item.key)["UploadId"]
        try:
            parts = []
            with item.path.open("rb") as body:
                for number, chunk in enumerate(iter(lambda: body.read(PART_BYTES), b""), start=1):
                    part = s3.upload_part(
                        Bucket=bucket, Key=item.key, UploadId=upload_id, PartNumber=number, Body=chunk
                    )
                    parts.append({"PartNumber": number, "ETag": part["ETag"]})
            resp = s3.complete_multipart_upload(
                Bucket=bucket, Key=item.key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            s3.abort_multipart_upload(Bucket=bucket, Key=item.key, UploadId=upload_id)
            raise
    version: str | None = resp.get("VersionId") or str(resp.get("ETag", "")).strip('"') or None
    return version


def follow(
    target: StackTarget,
    followed: list[Followed],
    progress: Progress | None = None,
    poll_s: float = 0.5,
    timeout_s: float = 3600.0,
) -> None:
    """Poll until every execution has ended (or never started); report state changes as they happen."""
    sfn = target.client("stepfunctions")
    started = time.monotonic()
    pending = list(followed)
    while pending:
        for item in list(pending):
            try:
                desc = sfn.describe_execution(executionArn=item.arn)
            except sfn.exceptions.ExecutionDoesNotExist:
                if time.monotonic() - started > START_TIMEOUT_S:
                    item.status, item.error = "NOT_STARTED", "IngestError"
                    item.cause = (
                        "no execution started for this upload: a newer upload or deletion of the path "
                        "is already recorded, or the ingest queue is not being polled (see the DLQ)"
                    )
                    pending.remove(item)
                continue
            status = str(desc["status"])
            state = status if status != "RUNNING" else current_state(sfn, item.arn)
            if state != item.state and progress is not None:
                progress(item.key, state, time.monotonic() - started)
            item.state, item.status = state, status
            if status != "RUNNING":
                item.error, item.cause = desc.get("error"), desc.get("cause")
                if desc.get("stopDate"):
                    item.duration_ms = int((desc["stopDate"] - desc["startDate"]).total_seconds() * 1000)
                pending.remove(item)
        if pending:
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(f"{len(pending)} executions still running after {timeout_s:.0f} s")
            time.sleep(poll_s)


def upload(
    target: StackTarget,
    uploads: Sequence[Upload],
    *,
    wait: bool = True,
    progress: Progress | None = None,
) -> list[Followed]:
    """Upload in two waves (manifest and images first, so lessons find them published) and, with
    ``wait``, follow each wave's executions before the next, like ``coursepipe process`` does."""
    s3 = target.client("s3")
    results: list[Followed] = []
    for wave in (0, 1):
        batch = [u for u in uploads if upload_wave(u.key) == wave]
        current: list[Followed] = []
        for item in batch:
            version = put_file(target, s3, item)
            name = execution_name(target.ingest_bucket, item.key, version)
            current.append(Followed(item.key, name, execution_arn(target, name)))
            if progress is not None:
                progress(item.key, "uploaded", 0.0)
        if wait:
            follow(target, current, progress)
        results += current
    return results


def list_executions(target: StackTarget, course: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Newest first, like the console's list; each with its file (from the execution input) and error."""
    sfn = target.client("stepfunctions")
    summaries = [
        e
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=target.state_machine_arn)
        for e in page["executions"]
    ]
    summaries.sort(key=lambda e: e["startDate"], reverse=True)
    found: list[dict[str, Any]] = []
    for summary in summaries:
        if len(found) >= limit:
            break
        desc = sfn.describe_execution(executionArn=summary["executionArn"])
        key = _input_key(desc.get("input"))
        if course and not key.startswith(f"courses/{course}/"):
            continue
        start = desc["startDate"]
        end = desc.get("stopDate") or datetime.now(UTC)
        found.append(
            {
                "name": desc["name"],
                "executionArn": desc["executionArn"],
                "key": key,
                "action": "delete" if desc["name"].startswith("deleted-") else "upload",
                "status": desc["status"],
                "startDate": start.isoformat(),
                "durationMs": int((end - start).total_seconds() * 1000),
                "error": desc.get("error"),
                "cause": desc.get("cause"),
            }
        )
    return found


def _input_key(raw: str | None) -> str:
    try:
        return str(json.loads(raw or "{}")["source"]["key"])
    except (ValueError, KeyError, TypeError):
        return ""
