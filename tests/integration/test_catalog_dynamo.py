"""The catalog's conditional writes on the table template.yaml defines (moto): S3 sequencer order,
duplicates, the lifecycle UPLOADED -> PROCESSING -> PUBLISHED | FAILED, and DELETED."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.catalog.dynamo import DynamoCatalog
from pipeline.catalog.model import SCHEMA_VERSION, Claim, SourceRef

if TYPE_CHECKING:
    from pipeline.local.runtime import LocalRuntime


def src(version: str, sequencer: str, key: str = "courses/c/a.mp4") -> SourceRef:
    return SourceRef(bucket="b", key=key, version_id=version, sequencer=sequencer)


def catalog(runtime: LocalRuntime) -> DynamoCatalog:
    return DynamoCatalog(runtime.client("dynamodb"), runtime.catalog_table)


def item(cat: DynamoCatalog, asset_id: str = "a") -> dict[str, Any]:
    found = cat.get_asset("c", asset_id)
    assert found is not None
    return found


def test_older_upload_never_overwrites_newer(runtime: LocalRuntime) -> None:
    cat = catalog(runtime)
    assert cat.record_uploaded("c", "a", "a.mp4", src("v2", "00B0"), "exec-v2") is Claim.WRITTEN
    # The event of the older version arrives late: refused, item still names v2.
    assert cat.record_uploaded("c", "a", "a.mp4", src("v1", "00A0"), "exec-v1") is Claim.SUPERSEDED
    # S3's rule: right-pad the shorter sequencer with zeros, then compare ("00B0" < "00B01").
    assert cat.record_uploaded("c", "a", "a.mp4", src("v3", "00B01"), "exec-v3") is Claim.WRITTEN
    assert cat.record_uploaded("c", "a", "a.mp4", src("v4", "00A9FF"), "exec-v4") is Claim.SUPERSEDED
    found = item(cat)
    assert found["sourceVersion"] == "v3" and found["executionName"] == "exec-v3"
    assert found["schemaVersion"] == SCHEMA_VERSION


def test_a_redelivered_upload_event_is_a_duplicate_and_does_not_reset_the_asset(
    runtime: LocalRuntime,
) -> None:
    cat = catalog(runtime)
    assert cat.record_uploaded("c", "a", "a.mp4", src("v1", "00A0"), "exec-v1") is Claim.WRITTEN
    assert cat.mark_processing("c", "a", src("v1", "00A0"), "video", "arn:exec-v1")
    assert cat.record_published("c", "a", src("v1", "00A0"), "video", ["m.m3u8"], {})
    before = item(cat)
    for _ in range(3):
        assert cat.record_uploaded("c", "a", "a.mp4", src("v1", "00A0"), "exec-v1") is Claim.DUPLICATE
    assert item(cat) == before  # not even updatedAt moved


def test_lifecycle_transitions_and_what_each_state_carries(runtime: LocalRuntime) -> None:
    cat = catalog(runtime)
    v1 = src("v1", "00A0")
    cat.record_uploaded("c", "a", "a.mp4", v1, "exec-v1")
    assert item(cat)["status"] == "UPLOADED" and "kind" not in item(cat)
    cat.mark_processing("c", "a", v1, "video", "arn:exec-v1")
    assert item(cat)["status"] == "PROCESSING" and item(cat)["executionArn"] == "arn:exec-v1"
    cat.record_failed("c", "a", v1, "InvalidMediaError", "the file is truncated", "arn:exec-v1")
    failed = item(cat)
    assert failed["status"] == "FAILED"
    assert failed["error"] == {"name": "InvalidMediaError", "message": "the file is truncated"}
    assert failed["executionArn"] == "arn:exec-v1" and failed["failedAt"]
    # A fixed re-upload clears the error once it is recorded.
    v2 = src("v2", "00B0")
    cat.record_uploaded("c", "a", "a.mp4", v2, "exec-v2")
    assert "error" not in item(cat) and item(cat)["status"] == "UPLOADED"
    cat.mark_processing("c", "a", v2, "video", "arn:exec-v2")
    cat.record_published("c", "a", v2, "video", ["courses/c/media/a/hls/master.m3u8"], {})
    published = item(cat)
    assert published["status"] == "PUBLISHED" and published["outputs"][0].endswith("master.m3u8")
    # The failed execution of v1, retried late, cannot mark the published v2 FAILED.
    assert not cat.record_failed("c", "a", v1, "InvalidMediaError", "late", "arn:exec-v1")
    assert item(cat)["status"] == "PUBLISHED"


def test_a_stale_execution_cannot_publish_over_a_newer_version(runtime: LocalRuntime) -> None:
    cat = catalog(runtime)
    cat.record_uploaded("c", "a", "a.mp4", src("v1", "00A0"), "exec-v1")
    cat.record_uploaded("c", "a", "a.mp4", src("v2", "00B0"), "exec-v2")
    assert not cat.record_published("c", "a", src("v1", "00A0"), "video", ["old"], {})
    assert cat.record_published("c", "a", src("v2", "00B0"), "video", ["new"], {"probe": {"fps": 29.97}})
    # Retrying the same step is harmless.
    assert cat.record_published("c", "a", src("v2", "00B0"), "video", ["new"], {"probe": {"fps": 29.97}})
    found = item(cat)
    assert found["status"] == "PUBLISHED" and found["outputs"] == ["new"]
    assert found["details"]["probe"]["fps"] == 29.97


def test_deletion_marks_deleted_keeps_the_unpublish_list_and_survives_a_retry(runtime: LocalRuntime) -> None:
    cat = catalog(runtime)
    v1 = src("v1", "00A0")
    cat.record_uploaded("c", "a", "a.mp4", v1, "exec-v1")
    cat.record_published("c", "a", v1, "video", ["courses/c/media/a/hls/master.m3u8"], {})
    marker = src("dm1", "00C0")
    old = cat.record_deleted("c", "a", "a.mp4", marker, permanent=False)
    assert old is not None and old["status"] == "PUBLISHED"
    deleted = item(cat)
    assert deleted["status"] == "DELETED" and deleted["outputs"] == []
    assert deleted["removedOutputs"] == ["courses/c/media/a/hls/master.m3u8"] and deleted["deletedAt"]
    # The same deletion again (a retried task): allowed, and the list of what to remove is still there.
    again = cat.record_deleted("c", "a", "a.mp4", marker, permanent=False)
    assert again is not None and again["removedOutputs"] == ["courses/c/media/a/hls/master.m3u8"]
    assert item(cat)["removedOutputs"] == ["courses/c/media/a/hls/master.m3u8"]
    # The v1 execution finishing late cannot resurrect it.
    assert not cat.record_published("c", "a", v1, "video", ["x"], {})
    # A re-upload after the deletion wins and starts clean.
    assert cat.record_uploaded("c", "a", "a.mp4", src("v2", "00D0"), "exec-v2") is Claim.WRITTEN
    fresh = item(cat)
    assert fresh["status"] == "UPLOADED" and "deletedAt" not in fresh and "removedOutputs" not in fresh


def test_a_deletion_older_than_the_upload_changes_nothing(runtime: LocalRuntime) -> None:
    cat = catalog(runtime)
    cat.record_uploaded("c", "a", "a.mp4", src("v2", "00B0"), "exec-v2")
    assert cat.record_deleted("c", "a", "a.mp4", src("dm0", "00A5"), permanent=False) is None
    assert item(cat)["status"] == "UPLOADED" and item(cat)["sourceVersion"] == "v2"


def test_a_deletion_before_its_upload_event_leaves_a_tombstone(runtime: LocalRuntime) -> None:
    """Events out of order: the delete marker's event is processed first; the upload's arrives late."""
    cat = catalog(runtime)
    assert cat.record_deleted("c", "a", "a.mp4", src("dm1", "00C0"), permanent=False) == {}
    assert item(cat)["status"] == "DELETED"
    assert cat.record_uploaded("c", "a", "a.mp4", src("v1", "00A0"), "exec-v1") is Claim.SUPERSEDED
    assert item(cat)["status"] == "DELETED"


def test_permanently_deleting_an_old_version_leaves_the_current_one(runtime: LocalRuntime) -> None:
    cat = catalog(runtime)
    cat.record_uploaded("c", "a", "a.mp4", src("v1", "00A0"), "exec-v1")
    cat.record_uploaded("c", "a", "a.mp4", src("v2", "00B0"), "exec-v2")
    assert cat.record_deleted("c", "a", "a.mp4", src("v1", "00C0"), permanent=True) is None
    assert item(cat)["status"] == "UPLOADED"
    assert cat.record_deleted("c", "a", "a.mp4", src("v2", "00D0"), permanent=True) is not None
    assert item(cat)["status"] == "DELETED"


def test_course_record_deletion_and_republish(runtime: LocalRuntime) -> None:
    cat = catalog(runtime)
    manifest = src("m1", "00A0", key="courses/c/course.yaml")
    assert cat.put_course("c", {"title": "T", "sections": [], "status": "PUBLISHED"}, manifest)
    assert not cat.mark_course_deleted("c", src("dm0", "0090", key="courses/c/course.yaml"))
    assert cat.mark_course_deleted("c", src("dm1", "00B0", key="courses/c/course.yaml"))
    record = next(i for i in cat.course_items("c") if i["SK"] == "COURSE")
    assert record["status"] == "DELETED" and record["courseList"] == "ALL"
    assert cat.put_course("c", {"title": "T2", "sections": [], "status": "PUBLISHED"}, src("m2", "00C0"))
    record = next(i for i in cat.course_items("c") if i["SK"] == "COURSE")
    assert record["status"] == "PUBLISHED" and record["title"] == "T2" and "deletedAt" not in record


def test_failed_assets_are_queryable_by_status(runtime: LocalRuntime) -> None:
    cat = catalog(runtime)
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


def test_undeleting_by_removing_the_marker_changes_nothing(runtime: LocalRuntime) -> None:
    """Removing a delete marker arrives as a permanent deletion of the marker's version: the asset stays
    DELETED (a re-upload publishes it again) and no second deletion is recorded."""
    cat = catalog(runtime)
    cat.record_uploaded("c", "a", "a.mp4", src("v1", "00A0"), "exec-v1")
    assert cat.record_deleted("c", "a", "a.mp4", src("dm1", "00B0"), permanent=False) is not None
    assert cat.record_deleted("c", "a", "a.mp4", src("dm1", "00C0"), permanent=True) is None
    assert item(cat)["deletion"]["sequencer"].startswith("00B0")


def test_a_permanent_deletion_stops_a_run_of_that_version_from_publishing(runtime: LocalRuntime) -> None:
    cat = catalog(runtime)
    v1 = src("v1", "00A0")
    cat.record_uploaded("c", "a", "a.mp4", v1, "exec-v1")
    cat.mark_processing("c", "a", v1, "video", "arn:exec-v1")
    gone = src("v1", "00B0")
    assert cat.record_deleted("c", "a", "a.mp4", gone, permanent=True) is not None
    assert not cat.record_published("c", "a", v1, "video", ["m.m3u8"], {})
    assert item(cat)["status"] == "DELETED"
    # The same permanent deletion retried passes again (the unpublish step can finish).
    assert cat.record_deleted("c", "a", "a.mp4", gone, permanent=True) is not None


def test_a_newer_manifest_drops_fields_the_older_one_had(runtime: LocalRuntime) -> None:
    cat = catalog(runtime)
    m1 = src("m1", "00A0", key="courses/c/course.yaml")
    cat.put_course("c", {"title": "T", "description": "old", "cover": "x.png", "sections": []}, m1)
    cat.put_course("c", {"title": "T", "sections": []}, src("m2", "00B0", key="courses/c/course.yaml"))
    record = next(i for i in cat.course_items("c") if i["SK"] == "COURSE")
    assert "description" not in record and "cover" not in record


def test_permanently_deleting_v1_does_not_hide_a_v2_whose_event_is_late(runtime: LocalRuntime) -> None:
    """S3 order: PUT v1, PUT v2, DELETE versionId=v1; the v2 event arrives after the deletion's."""
    cat = catalog(runtime)
    cat.record_uploaded("c", "a", "a.mp4", src("v1", "00A0"), "exec-v1")
    assert cat.record_deleted("c", "a", "a.mp4", src("v1", "00C0"), permanent=True) is not None
    assert cat.record_uploaded("c", "a", "a.mp4", src("v2", "00B0"), "exec-v2") is Claim.WRITTEN
    assert item(cat)["status"] == "UPLOADED" and item(cat)["sourceVersion"] == "v2"


def test_a_published_version_is_never_marked_failed_afterwards(runtime: LocalRuntime) -> None:
    """RecordAsset wrote PUBLISHED, then publishing its event failed and the Catch ran RecordFailure."""
    cat = catalog(runtime)
    v1 = src("v1", "00A0")
    cat.record_uploaded("c", "a", "a.mp4", v1, "exec-v1")
    assert cat.record_published("c", "a", v1, "video", ["m.m3u8"], {})
    assert not cat.record_failed("c", "a", v1, "EventDeliveryError", "bus refused", "arn:exec-v1")
    assert item(cat)["status"] == "PUBLISHED" and "error" not in item(cat)
