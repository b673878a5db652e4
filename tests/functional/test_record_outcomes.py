"""RecordAsset and RecordFailure: the catalog write decides, the event follows it, and a failure removes
only what this version wrote before it was published."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from pipeline.catalog.events import EventDeliveryError
from pipeline.catalog.model import SourceRef
from pipeline.keys import asset_id_for
from pipeline.steps import CaughtError, ExecutionState
from pipeline.usecases.record import MAX_MESSAGE, record_asset, record_failure
from tests.functional.lecture import (
    ARN,
    ASSET,
    HLS,
    INGEST,
    MEDIA,
    PUBLISH,
    THUMBS,
    publish,
    staged,
    state_after,
    upload,
)

if TYPE_CHECKING:
    from pipeline.services import Services
    from tests.fakes import FakeCatalog, FakeObjectStore, RecordingPublisher

TRUNCATED = CaughtError(
    "InvalidMediaError",
    json.dumps(
        {"errorType": "InvalidMediaError", "errorMessage": "intro.mp4 is truncated", "stackTrace": []}
    ),
)


def test_a_published_video_is_recorded_with_its_entry_point_first_and_announced(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog, events: RecordingPublisher
) -> None:
    state = publish(services, store, catalog, b"v1")

    recorded = record_asset(state, services, ARN)

    posters = [THUMBS + f"poster-{w}.jpg" for w in (320, 640, 1280)]
    assert (recorded.status, recorded.outputs) == ("PUBLISHED", 1 + len(posters))
    item = catalog.asset("c1", ASSET.asset_id)
    assert item["status"] == "PUBLISHED" and item["outputs"] == [HLS + "master.m3u8", *posters]
    assert set(item["details"]) == {"hls", "posters", "probe"} and item["details"]["hls"]["chunks"] == 2
    assert item["sourceVersion"] == state.source.version_id and "error" not in item
    (event,) = events.events
    assert (event.detail_type, event.resources) == ("AssetPublished", [ARN])
    assert event.detail["entry"] == HLS + "master.m3u8" and event.detail["status"] == "PUBLISHED"
    assert (event.detail["courseId"], event.detail["assetId"], event.detail["kind"]) == (
        "c1",
        ASSET.asset_id,
        "video",
    )


def test_a_superseded_run_records_and_announces_nothing(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog, events: RecordingPublisher
) -> None:
    state = publish(services, store, catalog, b"v1")
    newer = upload(store, catalog, b"v2")
    files = store.keys(PUBLISH, MEDIA)

    recorded = record_asset(state, services, ARN)

    assert (recorded.status, recorded.removed) == ("SUPERSEDED", 0)
    assert events.events == [] and store.keys(PUBLISH, MEDIA) == files
    assert catalog.asset("c1", ASSET.asset_id)["sourceVersion"] == newer.version_id


def test_a_failure_is_recorded_with_the_authors_message_and_announced(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog, events: RecordingPublisher
) -> None:
    source = upload(store, catalog, b"v1")
    plan, _ = staged(services, store, source)

    failure = record_failure(state_after(source, plan, error=TRUNCATED), services, ARN)

    assert (failure.error, failure.message, failure.recorded) == (
        "InvalidMediaError",
        "intro.mp4 is truncated",
        True,
    )
    item = catalog.asset("c1", ASSET.asset_id)
    assert item["status"] == "FAILED" and item["executionArn"] == ARN
    assert item["error"] == {"name": "InvalidMediaError", "message": "intro.mp4 is truncated"}
    (event,) = events.events
    assert event.detail_type == "AssetFailed" and event.detail["error"] == item["error"]
    assert event.detail["outputs"] == [] and event.resources == [ARN]


def test_a_failure_before_package_discards_the_partial_video_and_keeps_the_previous_one(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog
) -> None:
    record_asset(publish(services, store, catalog, b"v1"), services, ARN)
    previous = store.keys(PUBLISH, MEDIA)
    source = upload(store, catalog, b"v2")
    plan, staged_keys = staged(services, store, source)
    straggler = f"{HLS}720p/{plan.job.segment_name(0)}"  # a v2 segment copied in before the failure
    store.seed(PUBLISH, straggler, b"v2")

    failure = record_failure(state_after(source, plan, error=TRUNCATED), services, ARN)

    assert failure.discarded == len(staged_keys) + 1
    assert store.keys(PUBLISH, plan.job.work_prefix) == [] and store.data(PUBLISH, straggler) is None
    assert store.keys(PUBLISH, MEDIA) == previous, "the version learners watch must stay whole"


def test_a_failure_after_package_leaves_the_new_files_in_place(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog, events: RecordingPublisher
) -> None:
    """RecordAsset wrote PUBLISHED, then its event was refused and the Catch ran RecordFailure."""
    state = publish(services, store, catalog, b"v1")
    files = store.keys(PUBLISH, MEDIA)
    events.refuse.add("AssetPublished")
    with pytest.raises(EventDeliveryError):
        record_asset(state, services, ARN)
    failed = ExecutionState(
        source=state.source,
        asset=state.asset,
        probe=state.probe,
        plan=state.plan,
        transcode=state.transcode,
        package=state.package,
        error=CaughtError("EventDeliveryError", "EventBridge refused AssetPublished"),
    )

    failure = record_failure(failed, services, ARN)

    assert (failure.recorded, failure.discarded) == (False, 0)
    assert store.keys(PUBLISH, MEDIA) == files and events.events == []
    item = catalog.asset("c1", ASSET.asset_id)
    assert item["status"] == "PUBLISHED" and "error" not in item


def test_a_failure_before_classify_is_recorded_under_the_paths_asset(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog, events: RecordingPublisher
) -> None:
    source = store.upload(INGEST, "courses/c1/notes/readme.xyz", b"?")
    error = CaughtError("UnsupportedMediaError", "x" * (MAX_MESSAGE + 50))

    failure = record_failure(ExecutionState(source=source, error=error), services, ARN)

    assert failure.recorded and failure.discarded == 0 and len(failure.message) == MAX_MESSAGE
    item = catalog.asset("c1", asset_id_for("notes/readme.xyz"))
    assert item["status"] == "FAILED" and item["error"]["name"] == "UnsupportedMediaError"
    assert events.types == ["AssetFailed"] and events.events[0].detail["kind"] == "unknown"


def test_a_refused_key_outside_any_course_records_nothing(
    services: Services, catalog: FakeCatalog, events: RecordingPublisher
) -> None:
    source = SourceRef(INGEST, "elsewhere/x.mp4", "v1")

    failure = record_failure(ExecutionState(source=source, error=TRUNCATED), services, ARN)

    assert not failure.recorded and catalog.items == {} and events.events == []
