"""The catalog's conditional writes on the table template.yaml defines (moto)."""

from __future__ import annotations

from pipeline.catalog.dynamo import DynamoCatalog
from pipeline.catalog.model import SourceRef
from pipeline.local.runtime import LocalRuntime


def src(version: str, sequencer: str) -> SourceRef:
    return SourceRef(bucket="b", key="courses/c/a.mp4", version_id=version, sequencer=sequencer)


def test_older_upload_never_overwrites_newer(runtime: LocalRuntime) -> None:
    cat = DynamoCatalog(runtime.client("dynamodb"), runtime.catalog_table)
    assert cat.record_uploaded("c", "a", "a.mp4", src("v2", "00B0"), "exec-v2")
    # The event of the older version arrives late: refused, item still names v2.
    assert not cat.record_uploaded("c", "a", "a.mp4", src("v1", "00A0"), "exec-v1")
    # A sequencer with more digits is numerically larger, not smaller.
    assert cat.record_uploaded("c", "a", "a.mp4", src("v3", "100A0"), "exec-v3")
    item = cat.course_items("c")[0]
    assert item["sourceVersion"] == "v3" and item["executionName"] == "exec-v3"


def test_a_stale_execution_cannot_publish_over_a_newer_version(runtime: LocalRuntime) -> None:
    cat = DynamoCatalog(runtime.client("dynamodb"), runtime.catalog_table)
    cat.record_uploaded("c", "a", "a.mp4", src("v1", "00A0"), "exec-v1")
    cat.record_uploaded("c", "a", "a.mp4", src("v2", "00B0"), "exec-v2")
    assert not cat.record_published("c", "a", src("v1", "00A0"), "video", ["old"], {})
    assert cat.record_published("c", "a", src("v2", "00B0"), "video", ["new"], {"probe": {"fps": 29.97}})
    # Retrying the same step is harmless.
    assert cat.record_published("c", "a", src("v2", "00B0"), "video", ["new"], {"probe": {"fps": 29.97}})
    item = cat.course_items("c")[0]
    assert item["status"] == "PUBLISHED" and item["outputs"] == ["new"]
    assert item["details"]["probe"]["fps"] == 29.97


def test_failed_assets_are_queryable_by_status(runtime: LocalRuntime) -> None:
    cat = DynamoCatalog(runtime.client("dynamodb"), runtime.catalog_table)
    cat.record_failed("c", "a", src("v1", "01"), "InvalidMediaError", "corrupt")
    cat.record_uploaded("c", "b", "b.md", SourceRef("b", "courses/c/b.md", "v1", sequencer="01"), "e")
    resp = runtime.client("dynamodb").query(
        TableName=runtime.catalog_table,
        IndexName="ByStatus",
        KeyConditionExpression="#s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "FAILED"}},
    )
    assert [i["assetId"]["S"] for i in resp["Items"]] == ["a"]
