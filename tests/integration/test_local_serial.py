"""moto's S3 and DynamoDB models under concurrent requests, as the local runtime's executions send them.

Each test reproduces a race that made ``coursepipe demo`` fail intermittently (a lesson FAILED with
``ValueError: I/O operation on closed file.`` from inside moto's ``put_object``), first showing it happens
without ``pipeline.local.serial`` so the fix is known to be what makes the difference.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from pipeline.local import serial

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

THREADS = 8


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def _hammer(work: Callable[[int], None]) -> list[str]:
    errors: list[str] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        try:
            work(i)
        except Exception as exc:  # what a handler would see: collected, then asserted on
            with lock:
                errors.append(repr(exc))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def _overwrite_one_key(s3: Any, rounds: int) -> Callable[[int], None]:
    def work(i: int) -> None:
        for j in range(rounds):
            s3.put_object(Bucket="race-bucket", Key="index.html", Body=b"x" * (1000 + i * rounds + j))
            s3.get_object(Bucket="race-bucket", Key="index.html")["Body"].read()

    return work


def test_moto_s3_alone_races_on_one_key(aws: None) -> None:
    """The premise: without serializing, concurrent overwrites of one key break inside moto."""
    assert not serial.is_installed()
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="race-bucket")
    errors: list[str] = []
    # Thread switches as often as the interpreter allows, and rounds until it shows (bounded): on a busy
    # machine the default 5 ms switch interval let five rounds pass without one interleaving.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        deadline = time.monotonic() + 60
        while not errors and time.monotonic() < deadline:
            errors = _hammer(_overwrite_one_key(s3, 60))
    finally:
        sys.setswitchinterval(interval)
    assert any("closed file" in e for e in errors)


def test_serialized_s3_overwrites_one_key_without_errors(aws: None) -> None:
    serial.install()
    try:
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="race-bucket")
        assert _hammer(_overwrite_one_key(s3, 60)) == []
        body = s3.get_object(Bucket="race-bucket", Key="index.html")["Body"].read()
        assert set(body) == {ord("x")}
    finally:
        serial.uninstall()
    assert not serial.is_installed()


def test_serialized_versioned_puts_keep_every_version(aws: None) -> None:
    serial.install()
    try:
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="race-bucket")
        s3.put_bucket_versioning(Bucket="race-bucket", VersioningConfiguration={"Status": "Enabled"})

        def work(i: int) -> None:
            for j in range(25):
                s3.put_object(Bucket="race-bucket", Key="lecture.mp4", Body=f"{i}-{j}".encode())

        assert _hammer(work) == []
        versions = s3.list_object_versions(Bucket="race-bucket", Prefix="lecture.mp4")["Versions"]
        assert len(versions) == THREADS * 25
    finally:
        serial.uninstall()


def test_serialized_conditional_writes_admit_exactly_one_winner(aws: None) -> None:
    """The catalog's ordering rests on conditional writes: of many racing claims, one succeeds."""
    serial.install()
    try:
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="race-table",
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        wins: list[int] = []

        def work(i: int) -> None:
            for j in range(20):
                try:
                    ddb.put_item(
                        TableName="race-table",
                        Item={"PK": {"S": f"ASSET#{j}"}, "writer": {"N": str(i)}},
                        ConditionExpression="attribute_not_exists(PK)",
                    )
                    wins.append(j)
                except ClientError as exc:
                    if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                        raise

        assert _hammer(work) == []
        assert sorted(wins) == list(range(20))
    finally:
        serial.uninstall()


def test_install_is_idempotent_and_uninstall_restores_moto() -> None:
    from moto.dynamodb.responses import DynamoHandler
    from moto.s3.responses import S3Response

    before = (S3Response.key_response, DynamoHandler._dispatch)
    serial.install()
    serial.install()
    try:
        assert S3Response.key_response is not before[0]
        assert getattr(S3Response.key_response, "__coursepipe_serialized__", False)
    finally:
        serial.uninstall()
    assert (S3Response.key_response, DynamoHandler._dispatch) == before
    assert "_dispatch" not in DynamoHandler.__dict__
