"""S3 -> EventBridge events on moto with ``pipeline.local.s3events`` installed look like S3's.

Given a versioned bucket that sends its events to EventBridge and a rule (source aws.s3) that forwards them
to an SQS queue, each S3 write yields the events S3 documents
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html): one per write, sequencers
increasing per key, delete markers and permanent deletions told apart.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

import boto3
import pytest
from moto import mock_aws
from moto.s3 import notifications
from moto.s3.models import S3Backend

from pipeline.local import s3events

if TYPE_CHECKING:
    from collections.abc import Iterator

REGION = "us-east-1"
BUCKET = "ingest"
ACCOUNT = "123456789012"


class Harness:
    def __init__(self) -> None:
        self.s3: Any = boto3.client("s3", region_name=REGION)
        self.sqs: Any = boto3.client("sqs", region_name=REGION)
        self.queue_url = self.sqs.create_queue(QueueName="s3-events")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events: Any = boto3.client("events", region_name=REGION)
        events.put_rule(Name="all-s3", EventPattern=json.dumps({"source": ["aws.s3"]}), State="ENABLED")
        events.put_targets(Rule="all-s3", Targets=[{"Id": "queue", "Arn": queue_arn}])

    def bucket(self, name: str = BUCKET, versioned: bool = True) -> str:
        self.s3.create_bucket(Bucket=name)
        if versioned:
            self.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        self.s3.put_bucket_notification_configuration(
            Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
        return name

    def events(self) -> list[dict[str, Any]]:
        """Drain the queue, in arrival order."""
        out: list[dict[str, Any]] = []
        while True:
            resp = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            messages = resp.get("Messages", [])
            if not messages:
                return out
            for m in messages:
                out.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])


@pytest.fixture
def aws() -> Iterator[Harness]:
    with mock_aws():
        s3events.install()
        try:
            yield Harness()
        finally:
            s3events.uninstall()


def seq(event: dict[str, Any]) -> int:
    return int(event["detail"]["object"]["sequencer"], 16)


def assert_increasing(events: list[dict[str, Any]]) -> None:
    sequencers = [e["detail"]["object"]["sequencer"] for e in events]
    assert len({len(s) for s in sequencers}) == 1, "fixed width: left or right padding cannot reorder"
    assert [seq(e) for e in events] == sorted({seq(e) for e in events}), sequencers


def test_put_put_delete_put_gives_four_events_in_sequencer_order(aws: Harness) -> None:
    bucket = aws.bucket()
    key = "courses/intro/lesson.mp4"
    v1 = aws.s3.put_object(Bucket=bucket, Key=key, Body=b"one")["VersionId"]
    v2 = aws.s3.put_object(Bucket=bucket, Key=key, Body=b"second")["VersionId"]
    deleted = aws.s3.delete_object(Bucket=bucket, Key=key)
    v3 = aws.s3.put_object(Bucket=bucket, Key=key, Body=b"three!")["VersionId"]

    events = aws.events()

    assert [e["detail-type"] for e in events] == [
        "Object Created",
        "Object Created",
        "Object Deleted",
        "Object Created",
    ]
    assert_increasing(events)
    assert len({e["id"] for e in events}) == 4
    for e in events:
        assert e["source"] == "aws.s3"
        assert e["account"] == ACCOUNT
        assert e["region"] == REGION
        assert e["resources"] == [f"arn:aws:s3:::{bucket}"]
        assert e["time"].endswith("Z")
        detail = e["detail"]
        assert detail["version"] == "0"
        assert detail["bucket"] == {"name": bucket}
        assert detail["object"]["key"] == key
        assert len(detail["request-id"]) == 16
        assert detail["requester"] == ACCOUNT
        assert detail["source-ip-address"]

    first, second, marker, third = (e["detail"] for e in events)
    assert list(first["object"]) == ["key", "size", "etag", "version-id", "sequencer"]
    assert (first["object"]["size"], first["object"]["version-id"]) == (3, v1)
    head = aws.s3.head_object(Bucket=bucket, Key=key, VersionId=v1)
    assert first["object"]["etag"] == head["ETag"].strip('"')
    assert "eTag" not in first["object"]
    assert first["reason"] == "PutObject"
    assert "deletion-type" not in first
    assert (second["object"]["version-id"], second["object"]["size"]) == (v2, 6)
    assert third["object"]["version-id"] == v3

    assert deleted["DeleteMarker"] is True
    assert marker["object"]["version-id"] == deleted["VersionId"]
    assert marker["reason"] == "DeleteObject"
    assert marker["deletion-type"] == "Delete Marker Created"
    assert "size" not in marker["object"]
    assert marker["object"]["etag"] == s3events.EMPTY_ETAG


def test_deleting_a_version_is_a_permanent_deletion_sent_once(aws: Harness) -> None:
    bucket = aws.bucket()
    key = "courses/intro/notes.md"
    v1 = aws.s3.put_object(Bucket=bucket, Key=key, Body=b"# one")["VersionId"]
    v2 = aws.s3.put_object(Bucket=bucket, Key=key, Body=b"# two")["VersionId"]
    aws.s3.delete_object(Bucket=bucket, Key=key, VersionId=v1)
    # The last version: moto emits its own event here; there must still be exactly one.
    aws.s3.delete_object(Bucket=bucket, Key=key, VersionId=v2)
    # A version that does not exist deletes nothing and so notifies nothing.
    aws.s3.put_object(Bucket=bucket, Key=key, Body=b"# three")
    aws.s3.delete_object(Bucket=bucket, Key=key, VersionId=v1)

    events = aws.events()

    assert [e["detail-type"] for e in events] == [
        "Object Created",
        "Object Created",
        "Object Deleted",
        "Object Deleted",
        "Object Created",
    ]
    assert_increasing(events)
    for deletion, version in zip(events[2:4], (v1, v2), strict=True):
        assert deletion["detail"]["deletion-type"] == "Permanently Deleted"
        assert deletion["detail"]["reason"] == "DeleteObject"
        assert deletion["detail"]["object"]["version-id"] == version
    assert events[2]["detail"]["object"]["etag"] == events[0]["detail"]["object"]["etag"]


def test_removing_a_delete_marker_is_a_permanent_deletion_of_the_marker(aws: Harness) -> None:
    bucket = aws.bucket()
    aws.s3.put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    marker = aws.s3.delete_object(Bucket=bucket, Key="a.txt")["VersionId"]
    aws.s3.delete_object(Bucket=bucket, Key="a.txt", VersionId=marker)

    events = aws.events()

    assert [e["detail"].get("deletion-type") for e in events] == [
        None,
        "Delete Marker Created",
        "Permanently Deleted",
    ]
    assert events[2]["detail"]["object"]["version-id"] == marker


def test_batch_delete_sends_one_event_per_key(aws: Harness) -> None:
    bucket = aws.bucket()
    keys = [f"courses/c/{i}.txt" for i in range(3)]
    for key in keys:
        aws.s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    aws.events()

    resp = aws.s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})

    events = aws.events()
    markers = {d["Key"]: d["DeleteMarkerVersionId"] for d in resp["Deleted"]}
    assert sorted(e["detail"]["object"]["key"] for e in events) == keys
    for e in events:
        assert e["detail-type"] == "Object Deleted"
        assert e["detail"]["deletion-type"] == "Delete Marker Created"
        assert e["detail"]["object"]["version-id"] == markers[e["detail"]["object"]["key"]]
    assert_increasing(events)


def test_multipart_upload_sends_one_object_created(aws: Harness) -> None:
    bucket = aws.bucket()
    key = "courses/c/big.mp4"
    upload = aws.s3.create_multipart_upload(Bucket=bucket, Key=key, Tagging="kind=video")["UploadId"]
    part1 = aws.s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"a" * 5 * 2**20)
    part2 = aws.s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=2, Body=b"b")
    done = aws.s3.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=upload,
        MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": part1["ETag"]}, {"PartNumber": 2, "ETag": part2["ETag"]}]
        },
    )

    (event,) = aws.events()

    assert event["detail-type"] == "Object Created"
    assert event["detail"]["reason"] == "CompleteMultipartUpload"
    assert event["detail"]["object"]["size"] == 5 * 2**20 + 1
    assert event["detail"]["object"]["etag"] == done["ETag"].strip('"')
    assert event["detail"]["object"]["etag"].endswith("-2")
    assert event["detail"]["object"]["version-id"] == done["VersionId"]


def test_copy_and_tagged_put_send_only_object_created_but_tagging_api_notifies(aws: Harness) -> None:
    bucket = aws.bucket()
    aws.s3.put_object(Bucket=bucket, Key="src.txt", Body=b"source", Tagging="a=1")
    aws.s3.copy_object(
        Bucket=bucket,
        Key="dst.txt",
        CopySource={"Bucket": bucket, "Key": "src.txt"},
        Tagging="b=2",
        TaggingDirective="REPLACE",
    )
    aws.s3.put_object_tagging(Bucket=bucket, Key="dst.txt", Tagging={"TagSet": [{"Key": "c", "Value": "3"}]})

    events = aws.events()

    assert [(e["detail-type"], e["detail"].get("reason")) for e in events] == [
        ("Object Created", "PutObject"),
        ("Object Created", "CopyObject"),
        ("Object Tags Added", None),
    ]
    assert events[1]["detail"]["object"]["key"] == "dst.txt"
    assert events[1]["detail"]["object"]["size"] == 6


def test_keys_are_url_encoded_like_other_s3_notifications(aws: Harness) -> None:
    bucket = aws.bucket()
    key = "courses/intro/week 1/c++ & more.pdf"
    aws.s3.put_object(Bucket=bucket, Key=key, Body=b"%PDF")

    (event,) = aws.events()

    raw = event["detail"]["object"]["key"]
    assert raw == "courses/intro/week+1/c%2B%2B+%26+more.pdf"
    assert unquote_plus(raw) == key


def test_unversioned_bucket_delete_is_permanent_without_version_id(aws: Harness) -> None:
    bucket = aws.bucket("plain", versioned=False)
    aws.s3.put_object(Bucket=bucket, Key="k", Body=b"1")
    aws.s3.delete_object(Bucket=bucket, Key="k")

    created, deleted = aws.events()

    assert "version-id" not in created["detail"]["object"]
    assert deleted["detail-type"] == "Object Deleted"
    assert deleted["detail"]["deletion-type"] == "Permanently Deleted"
    assert "version-id" not in deleted["detail"]["object"]
    assert seq(deleted) > seq(created)


def test_buckets_without_eventbridge_send_nothing(aws: Harness) -> None:
    aws.s3.create_bucket(Bucket="quiet")
    aws.s3.put_bucket_versioning(Bucket="quiet", VersioningConfiguration={"Status": "Enabled"})
    aws.s3.put_object(Bucket="quiet", Key="k", Body=b"1")
    aws.s3.delete_object(Bucket="quiet", Key="k")

    assert aws.events() == []


def test_concurrent_writes_to_one_key_are_sequenced_in_the_order_they_took_effect(aws: Harness) -> None:
    bucket = aws.bucket()
    key = "courses/c/contended.txt"

    def put_some(worker: int) -> None:
        s3: Any = boto3.client("s3", region_name=REGION)
        for i in range(5):
            s3.put_object(Bucket=bucket, Key=key, Body=f"{worker}-{i}".encode())

    threads = [threading.Thread(target=put_some, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    events = sorted(aws.events(), key=seq)
    versions = aws.s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]
    newest_first = [v["VersionId"] for v in versions]
    assert [e["detail"]["object"]["version-id"] for e in reversed(events)] == newest_first
    assert newest_first[0] == next(v["VersionId"] for v in versions if v["IsLatest"])


def test_moto_server_mode_sends_the_same_events() -> None:
    """``ThreadedMotoServer`` answers from threads of this process with the same backends."""
    pytest.importorskip("flask", reason="moto[server] is not installed")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    s3events.install()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        creds: Any = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
        s3: Any = boto3.client("s3", region_name=REGION, endpoint_url=endpoint, **creds)
        sqs: Any = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint, **creds)
        events: Any = boto3.client("events", region_name=REGION, endpoint_url=endpoint, **creds)
        queue_url = sqs.create_queue(QueueName="server-s3-events")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(Name="server-s3", EventPattern=json.dumps({"source": ["aws.s3"]}))
        events.put_targets(Rule="server-s3", Targets=[{"Id": "q", "Arn": arn}])
        s3.create_bucket(Bucket="server-bucket")
        s3.put_bucket_versioning(Bucket="server-bucket", VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_notification_configuration(
            Bucket="server-bucket", NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
        version = s3.put_object(Bucket="server-bucket", Key="k", Body=b"1")["VersionId"]
        marker = s3.delete_object(Bucket="server-bucket", Key="k")["VersionId"]

        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
        received = [json.loads(m["Body"])["detail"] for m in messages]
        assert [(d["object"]["version-id"], d.get("deletion-type")) for d in received] == [
            (version, None),
            (marker, "Delete Marker Created"),
        ]
    finally:
        s3events.uninstall()
        server.stop()


def test_sequencers_increase_across_threads() -> None:
    per_thread: list[list[str]] = [[] for _ in range(8)]

    def draw(out: list[str]) -> None:
        out.extend(s3events.next_sequencer() for _ in range(500))

    threads = [threading.Thread(target=draw, args=(out,)) for out in per_thread]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    everything = [s for out in per_thread for s in out]
    assert len(set(everything)) == len(everything)
    for out in per_thread:
        assert out == sorted(out)
    assert {len(s) for s in everything} == {s3events.SEQUENCER_DIGITS}


def test_install_is_idempotent_and_uninstall_restores_moto() -> None:
    originals = {
        name: vars(S3Backend)[name]
        for name in ("put_object", "copy_object", "complete_multipart_upload", "delete_object")
    }
    send = notifications._send_event_bridge_message

    s3events.install()
    s3events.install()
    assert s3events.is_installed()
    assert notifications._send_event_bridge_message is not send
    s3events.uninstall()
    s3events.uninstall()

    assert not s3events.is_installed()
    assert notifications._send_event_bridge_message is send
    assert {name: vars(S3Backend)[name] for name in originals} == originals
