"""Uploads drive the pipeline through the real event path: S3 -> EventBridge rule -> SQS -> ingest
function -> Step Functions -> our handlers -> publish bucket + catalog."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from pipeline.catalog.dynamo import DynamoCatalog
from pipeline.keys import execution_name

if TYPE_CHECKING:
    from pathlib import Path

    from pipeline.local.runtime import LocalRuntime

pytestmark = pytest.mark.slow


def executions(runtime: LocalRuntime) -> list[dict[str, object]]:
    resp = runtime.client("stepfunctions").list_executions(stateMachineArn=runtime.state_machine_arn)
    return list(resp["executions"])


def test_upload_event_runs_the_state_machine_once_even_when_redelivered(runtime: LocalRuntime) -> None:
    key = "courses/ev-1/lessons/a b+c ü.md"
    version = runtime.upload(key, b"# Hello\n\nText.\n")
    sqs = runtime.client("sqs")
    url = runtime.mappings[0].queue_url
    # Peek at the queued EventBridge event, then put a copy back: at-least-once delivery.
    body = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"][0]["Body"]
    assert json.loads(body)["detail-type"] == "Object Created"
    sqs.send_message(QueueUrl=url, MessageBody=body)
    assert runtime.pump() == 2
    assert runtime.ingest_failures == []
    found = executions(runtime)
    assert len(found) == 1
    assert found[0]["name"] == execution_name(runtime.ingest_bucket, key, version)
    done = runtime.wait_for([str(found[0]["executionArn"])], timeout_s=60)
    assert next(iter(done.values()))["status"] == "SUCCEEDED"
    # Delivered again after the execution ended: still no second execution.
    sqs.send_message(QueueUrl=url, MessageBody=body)
    runtime.pump()
    assert len(executions(runtime)) == 1 and runtime.ingest_failures == []
    items = DynamoCatalog(runtime.client("dynamodb"), runtime.catalog_table).course_items("ev-1")
    assert [(i["path"], i["status"]) for i in items] == [("lessons/a b+c ü.md", "PUBLISHED")]


def test_a_reupload_is_a_new_execution_and_the_catalog_follows_it(runtime: LocalRuntime) -> None:
    key = "courses/ev-2/notes.md"
    runtime.upload(key, b"# One\n")
    runtime.pump()
    runtime.upload(key, b"# Two\n")
    runtime.pump()
    arns = [str(e["executionArn"]) for e in executions(runtime)]
    assert len(arns) == 2
    assert all(d["status"] == "SUCCEEDED" for d in runtime.wait_for(arns, timeout_s=60).values())
    items = DynamoCatalog(runtime.client("dynamodb"), runtime.catalog_table).course_items("ev-2")
    # S3 sequencers order the two uploads: the later one is what the catalog holds.
    assert len(items) == 1 and items[0]["details"]["lesson"]["title"] == "Two"


def test_malformed_queue_message_fails_alone(runtime: LocalRuntime, tmp_path: Path) -> None:
    url = runtime.mappings[0].queue_url
    runtime.client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps({"detail": {"nope": 1}}))
    runtime.upload("courses/ev-3/ok.md", b"# Fine\n")
    runtime.pump()
    assert len(runtime.ingest_failures) == 1
    assert len(executions(runtime)) == 1


def test_failed_execution_shows_domain_error_in_history(runtime: LocalRuntime) -> None:
    key = "courses/ev-4/media/not-really.mp4"
    version = runtime.upload(key, b"this is a text file, not a video\n" * 20)
    runtime.pump()
    arn = runtime.execution_arn(execution_name(runtime.ingest_bucket, key, version))
    desc = runtime.wait_for([arn], timeout_s=60)[arn]
    assert desc["status"] == "FAILED"
    assert desc["error"] == "InvalidMediaError"
    assert "not-really.mp4" in desc["cause"] and "Traceback" not in desc["cause"]
    states = [
        e["stateEnteredEventDetails"]["name"] for e in runtime.history(arn) if "stateEnteredEventDetails" in e
    ]
    assert states == ["UploadOrDeletion", "Classify", "RecordFailure", "Failed"]
    item = DynamoCatalog(runtime.client("dynamodb"), runtime.catalog_table).course_items("ev-4")[0]
    assert item["status"] == "FAILED" and item["error"]["name"] == "InvalidMediaError"
    assert item["executionArn"] == arn
    assert runtime.client("s3").head_object(Bucket=runtime.ingest_bucket, Key=key, VersionId=version)
