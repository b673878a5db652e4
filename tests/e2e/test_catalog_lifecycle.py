"""The catalog's lifecycle through the real event path (S3 -> EventBridge -> SQS -> ingest -> Step
Functions): catalog events captured by an EventBridge rule into SQS, deleting a source, re-uploading it,
duplicated and out-of-order S3 events."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from pipeline.catalog.dynamo import DynamoCatalog
from pipeline.keys import asset_id_for, execution_name
from pipeline.local.samples import make_lecture_clip

if TYPE_CHECKING:
    from pathlib import Path

    from pipeline.local.runtime import LocalRuntime

pytestmark = pytest.mark.slow

COURSE = "life"
MANIFEST = f"""\
id: {COURSE}
title: Lifecycle
sections:
  - title: Only
    lessons:
      - {{id: one, file: lessons/one.md, video: media/talk.mp4}}
      - {{id: two, file: lessons/two.md}}
      - {{id: three, file: lessons/three.md}}
""".encode()
LESSONS = {
    "lessons/one.md": b"# One\n\n![diagram](../images/d.png)\n",
    "lessons/two.md": b"# Two\n\nSecond lesson.\n",
    "lessons/three.md": b"# Three\n\nThird lesson.\n",
}


@pytest.fixture
def events_queue(runtime: LocalRuntime) -> str:
    """Every catalog event (source coursepipe) on the bus the template names, delivered to a queue."""
    sqs, events = runtime.client("sqs"), runtime.client("events")
    url = sqs.create_queue(QueueName="catalog-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = runtime.stack.function_environment("RecordAssetFunction")["EVENT_BUS_NAME"]
    events.put_rule(
        Name="catalog-events", EventBusName=bus, EventPattern=json.dumps({"source": ["coursepipe"]})
    )
    events.put_targets(Rule="catalog-events", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    return str(url)


def drain(runtime: LocalRuntime, url: str) -> list[dict[str, Any]]:
    sqs = runtime.client("sqs")
    found: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return found
        for m in messages:
            found.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def settle(runtime: LocalRuntime) -> None:
    """Deliver queued S3 events and wait for every execution to end."""
    runtime.pump()
    arns = [
        str(e["executionArn"])
        for page in runtime.client("stepfunctions")
        .get_paginator("list_executions")
        .paginate(stateMachineArn=runtime.state_machine_arn)
        for e in page["executions"]
    ]
    runtime.wait_for(arns, timeout_s=120)


def publish_course(runtime: LocalRuntime, clip: Path, diagram: bytes) -> None:
    runtime.upload(f"courses/{COURSE}/course.yaml", MANIFEST)
    runtime.upload(f"courses/{COURSE}/images/d.png", diagram)
    settle(runtime)
    for path, body in LESSONS.items():
        runtime.upload(f"courses/{COURSE}/{path}", body)
    runtime.upload(f"courses/{COURSE}/media/talk.mp4", clip)
    runtime.upload(f"courses/{COURSE}/media/broken.mp4", b"not a video at all\n" * 50)
    settle(runtime)


def published(runtime: LocalRuntime) -> dict[str, tuple[str, Any]]:
    s3 = runtime.client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=runtime.publish_bucket, Prefix=f"courses/{COURSE}/"
    )
    return {o["Key"]: (o["ETag"], o["LastModified"]) for p in pages for o in p.get("Contents", [])}


def assets(runtime: LocalRuntime) -> dict[str, dict[str, Any]]:
    items = DynamoCatalog(runtime.client("dynamodb"), runtime.catalog_table).course_items(COURSE)
    return {str(i["path"]): i for i in items if str(i["SK"]).startswith("ASSET#")}


def page(runtime: LocalRuntime, key: str) -> str:
    body = runtime.client("s3").get_object(Bucket=runtime.publish_bucket, Key=key)["Body"].read()
    return str(body.decode("utf-8"))


@pytest.fixture
def diagram(tmp_path: Path) -> bytes:
    from PIL import Image

    path = tmp_path / "d.png"
    Image.new("RGB", (800, 300), (30, 90, 160)).save(path)
    return path.read_bytes()


@pytest.fixture
def small_clip(tmp_path: Path) -> Path:
    return make_lecture_clip(tmp_path / "talk.mp4", seconds=3, width=320, height=180)


def test_events_deletion_and_reupload(
    runtime: LocalRuntime, events_queue: str, small_clip: Path, diagram: bytes
) -> None:
    publish_course(runtime, small_clip, diagram)
    events = drain(runtime, events_queue)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        assert e["source"] == "coursepipe"
        by_type.setdefault(e["detail-type"], []).append(e["detail"])
    published_paths = sorted(d["path"] for d in by_type["AssetPublished"])
    statuses = {p: (i["status"], i.get("error")) for p, i in assets(runtime).items()}
    assert published_paths == sorted(["course.yaml", "images/d.png", "media/talk.mp4", *LESSONS]), statuses
    talk = next(d for d in by_type["AssetPublished"] if d["path"] == "media/talk.mp4")
    assert talk["kind"] == "video" and talk["entry"].endswith("/hls/master.m3u8")
    assert talk["entry"] == talk["outputs"][0] and talk["executionArn"].endswith(
        execution_name(runtime.ingest_bucket, f"courses/{COURSE}/media/talk.mp4", talk["sourceVersion"])
    )
    [course] = by_type["CoursePublished"]
    assert course["courseId"] == COURSE and course["title"] == "Lifecycle" and course["lessonCount"] == 3
    [failed] = by_type["AssetFailed"]
    assert failed["path"] == "media/broken.mp4" and failed["status"] == "FAILED"
    assert failed["error"]["name"] == "InvalidMediaError" and "broken.mp4" in failed["error"]["message"]
    catalog_failed = assets(runtime)["media/broken.mp4"]
    assert catalog_failed["executionArn"] == failed["executionArn"]
    assert "AssetDeleted" not in by_type

    # ---- delete one lesson: its page goes, its siblings and the index stop linking it, others untouched
    two_page = f"courses/{COURSE}/lessons/{asset_id_for('lessons/two.md')}.html"
    before = published(runtime)
    assert two_page in before
    s3 = runtime.client("s3")
    marker = s3.delete_object(Bucket=runtime.ingest_bucket, Key=f"courses/{COURSE}/lessons/two.md")
    settle(runtime)
    after = published(runtime)
    assert two_page not in after
    media_and_images = [k for k in before if "/media/" in k or "/images/" in k]
    assert media_and_images and all(after.get(k) == before[k] for k in media_and_images)
    state = assets(runtime)
    assert state["lessons/two.md"]["status"] == "DELETED"
    assert state["lessons/two.md"]["sourceVersion"] == marker["VersionId"]
    assert {p: i["status"] for p, i in state.items() if p != "lessons/two.md"} == {
        "course.yaml": "PUBLISHED",
        "images/d.png": "PUBLISHED",
        "lessons/one.md": "PUBLISHED",
        "lessons/three.md": "PUBLISHED",
        "media/talk.mp4": "PUBLISHED",
        "media/broken.mp4": "FAILED",
    }
    two_href = f"{asset_id_for('lessons/two.md')}.html"
    for sibling in ("lessons/one.md", "lessons/three.md"):
        html = page(runtime, f"courses/{COURSE}/lessons/{asset_id_for(sibling)}.html")
        assert two_href not in html and '<span class="cp-pending">Two</span>' in html  # listed, unavailable
    assert f"lessons/{two_href}" not in page(runtime, f"courses/{COURSE}/index.html")
    [deleted] = [e["detail"] for e in drain(runtime, events_queue) if e["detail-type"] == "AssetDeleted"]
    assert deleted["path"] == "lessons/two.md" and deleted["outputs"] == [two_page]
    assert s3.head_object(Bucket=runtime.ingest_bucket, Key=f"courses/{COURSE}/lessons/one.md")

    # ---- delete the video: its HLS tree goes, the lesson that plays it is re-rendered without it
    s3.delete_object(Bucket=runtime.ingest_bucket, Key=f"courses/{COURSE}/media/talk.mp4")
    settle(runtime)
    media_prefix = f"courses/{COURSE}/media/{asset_id_for('media/talk.mp4')}/"
    assert not [k for k in published(runtime) if k.startswith(media_prefix)]
    assert assets(runtime)["media/talk.mp4"]["status"] == "DELETED"

    # ---- re-upload the lesson: published again, the site links it again
    runtime.upload(f"courses/{COURSE}/lessons/two.md", b"# Two again\n\nBack.\n")
    settle(runtime)
    assert assets(runtime)["lessons/two.md"]["status"] == "PUBLISHED"
    assert "Two again" in page(runtime, two_page)
    assert f"lessons/{two_href}" in page(runtime, f"courses/{COURSE}/index.html")


def captured_event(runtime: LocalRuntime, key: str, body: bytes, *, hold: bool = False) -> str:
    """Upload and return the S3 event body as the ingest queue received it; ``hold`` takes it out of the
    queue (to deliver it later, out of order), otherwise it stays there."""
    runtime.upload(key, body)
    sqs = runtime.client("sqs")
    url = runtime.mappings[0].queue_url
    message = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"][0]
    if hold:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return str(message["Body"])


def deliver(runtime: LocalRuntime, body: str) -> None:
    runtime.client("sqs").send_message(QueueUrl=runtime.mappings[0].queue_url, MessageBody=body)
    settle(runtime)


def snapshot(runtime: LocalRuntime) -> tuple[Any, ...]:
    sfn = runtime.client("stepfunctions")
    executions = sfn.list_executions(stateMachineArn=runtime.state_machine_arn)["executions"]
    items = DynamoCatalog(runtime.client("dynamodb"), runtime.catalog_table).all_items()
    return (sorted(e["name"] for e in executions), items, published(runtime))


def test_the_same_s3_event_ten_times_changes_nothing(runtime: LocalRuntime) -> None:
    body = captured_event(runtime, f"courses/{COURSE}/lessons/one.md", LESSONS["lessons/one.md"])
    settle(runtime)
    before = snapshot(runtime)
    assert len(before[0]) == 1 and before[2]
    sqs = runtime.client("sqs")
    url = runtime.mappings[0].queue_url
    for _ in range(10):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    assert runtime.pump() == 10
    settle(runtime)
    assert runtime.ingest_failures == []
    assert snapshot(runtime) == before
    # Powertools Idempotency recorded the event once; the redeliveries were answered from that record.
    table = runtime.stack.physical_name("IdempotencyTable")
    records = runtime.client("dynamodb").scan(TableName=table)["Items"]
    assert len(records) == 1 and records[0]["status"]["S"] == "COMPLETED"


def test_an_older_upload_event_delivered_late_starts_nothing(runtime: LocalRuntime) -> None:
    key = f"courses/{COURSE}/lessons/two.md"
    # Hold the old event back, let the newer upload be processed, then deliver the old one.
    old_event = captured_event(runtime, key, b"# Old\n", hold=True)
    runtime.upload(key, b"# New\n")
    settle(runtime)
    before = snapshot(runtime)
    deliver(runtime, old_event)
    assert snapshot(runtime) == before
    assert assets(runtime)["lessons/two.md"]["details"]["lesson"]["title"] == "New"


def test_a_deletion_delivered_before_the_upload_it_removes_wins(runtime: LocalRuntime) -> None:
    key = f"courses/{COURSE}/lessons/three.md"
    upload_event = captured_event(runtime, key, b"# Three\n", hold=True)
    runtime.client("s3").delete_object(Bucket=runtime.ingest_bucket, Key=key)
    settle(runtime)
    assert assets(runtime)["lessons/three.md"]["status"] == "DELETED"
    deliver(runtime, upload_event)
    assert assets(runtime)["lessons/three.md"]["status"] == "DELETED"
    assert not [k for k in published(runtime) if k.endswith(f"{asset_id_for('lessons/three.md')}.html")]


@pytest.mark.parametrize(
    ("detail_type", "reason", "routed"),
    [
        ("Object Created", "PutObject", True),
        ("Object Created", "CompleteMultipartUpload", True),
        ("Object Deleted", "DeleteObject", True),
        ("Object Deleted", "Lifecycle Expiration", False),  # old versions expiring: housekeeping
    ],
)
def test_the_upload_rule_routes_author_actions_only(
    runtime: LocalRuntime, detail_type: str, reason: str, routed: bool
) -> None:
    """Through the rule template.yaml defines: does the event reach the ingest queue?"""
    detail = {
        "bucket": {"name": runtime.ingest_bucket},
        "object": {"key": "courses/c/a.md"},
        "reason": reason,
    }
    entry = {"Source": "aws.s3", "DetailType": detail_type, "Detail": json.dumps(detail)}
    runtime.client("events").put_events(Entries=[entry])
    url = runtime.mappings[0].queue_url
    received = runtime.client("sqs").receive_message(QueueUrl=url).get("Messages", [])
    assert bool(received) is routed
