"""Deleting a source (UnpublishAsset) and a run landing after its deletion (remove_stale_outputs): the
catalog's sequencer decides, only the asset's own files go, and a re-upload's files are never touched."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pipeline import layout
from pipeline.catalog.model import SourceRef
from pipeline.steps import Deletion
from pipeline.usecases.delete import unpublish_asset
from pipeline.usecases.record import record_asset
from pipeline.usecases.removal import remove_stale_outputs
from tests.functional.lecture import (
    ARN,
    ASSET,
    HLS,
    INGEST,
    MEDIA,
    NEIGHBOUR,
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

MARKER = Deletion("Delete Marker Created")
INDEX = ASSET.publish_prefix + layout.course_index()
OTHERS = [NEIGHBOUR + "hls/master.m3u8", NEIGHBOUR + "thumbs/poster-320.jpg", INDEX]


def seed_others(store: FakeObjectStore) -> None:
    for key in OTHERS:
        store.seed(PUBLISH, key, b"not ours", age_s=60)


def deletes(store: FakeObjectStore, since: int) -> list[str]:
    return [w.key for w in store.writes[since:] if w.op == "delete" and w.bucket == PUBLISH]


def test_a_deletion_older_than_the_recorded_upload_changes_nothing(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog, events: RecordingPublisher
) -> None:
    upload(store, catalog, b"v1")
    marker = store.remove(INGEST, ASSET.source_key)  # its event is delayed...
    state = publish(services, store, catalog, b"v2")  # ...past a re-upload that is processed first
    record_asset(state, services, ARN)
    files = store.keys(PUBLISH, MEDIA)
    since, published = len(store.writes), len(events.events)

    result = unpublish_asset(marker, MARKER, ARN, services)

    assert (result.status, result.asset_id) == ("SUPERSEDED", ASSET.asset_id)
    assert store.keys(PUBLISH, MEDIA) == files and files and deletes(store, since) == []
    assert len(events.events) == published
    item = catalog.asset("c1", ASSET.asset_id)
    assert (item["status"], item["sourceVersion"]) == ("PUBLISHED", state.source.version_id)


def test_a_deletion_removes_every_published_file_of_the_asset_and_nothing_of_a_neighbour(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog, events: RecordingPublisher
) -> None:
    seed_others(store)
    state = publish(services, store, catalog, b"v1")
    record_asset(state, services, ARN)
    outputs = catalog.asset("c1", ASSET.asset_id)["outputs"]
    files = store.keys(PUBLISH, MEDIA)
    assert any(k.startswith(HLS) for k in files) and any(k.startswith(THUMBS) for k in files)
    marker = store.remove(INGEST, ASSET.source_key)

    result = unpublish_asset(marker, MARKER, ARN, services)

    assert (result.status, result.kind, result.removed) == ("DELETED", "video", len(files))
    assert store.keys(PUBLISH, MEDIA) == []
    assert [k for k in OTHERS if store.data(PUBLISH, k) == b"not ours"] == OTHERS
    item = catalog.asset("c1", ASSET.asset_id)
    assert (item["status"], item["outputs"], item["removedOutputs"]) == ("DELETED", [], outputs)
    (deleted,) = events.of_type("AssetDeleted")
    assert deleted.detail["status"] == "DELETED" and deleted.detail["outputs"] == outputs
    assert deleted.detail["sourceVersion"] == marker.version_id and deleted.resources == [ARN]

    # The task retried: still this deletion, nothing left to remove, the same outputs announced.
    again = unpublish_asset(marker, MARKER, ARN, services)
    assert (again.status, again.removed) == ("DELETED", 0)
    assert events.of_type("AssetDeleted")[-1].detail["outputs"] == outputs


def test_a_re_upload_claiming_while_the_deletion_lists_keeps_its_files(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog, events: RecordingPublisher
) -> None:
    state = publish(services, store, catalog, b"v1")
    record_asset(state, services, ARN)
    marker = store.remove(INGEST, ASSET.source_key)
    newer: list[SourceRef] = []

    def re_upload_claims(course_id: str, asset_id: str) -> None:
        if not newer:  # the re-read before the removal: the re-upload's ingest got in just before it
            newer.append(upload(store, catalog, b"v2"))
            store.seed(PUBLISH, HLS + "720p/seg-0000000n-00000.ts", b"v2")

    catalog.on_get = re_upload_claims
    since = len(store.writes)

    result = unpublish_asset(marker, MARKER, ARN, services)

    assert (result.status, result.removed) == ("DELETED", 0)
    assert deletes(store, since) == []
    assert store.data(PUBLISH, HLS + "720p/seg-0000000n-00000.ts") == b"v2"
    item = catalog.asset("c1", ASSET.asset_id)
    assert (item["status"], item["sourceVersion"]) == ("UPLOADED", newer[0].version_id)


def test_a_permanent_deletion_of_an_older_version_leaves_the_current_one(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog
) -> None:
    v1 = upload(store, catalog, b"v1")
    record_asset(publish(services, store, catalog, b"v2"), services, ARN)
    files = store.keys(PUBLISH, MEDIA)
    gone = SourceRef(INGEST, ASSET.source_key, v1.version_id, sequencer="FFFF")

    result = unpublish_asset(gone, Deletion("Permanently Deleted"), ARN, services)

    assert result.status == "SUPERSEDED" and store.keys(PUBLISH, MEDIA) == files
    assert catalog.asset("c1", ASSET.asset_id)["status"] == "PUBLISHED"


def test_a_run_that_lands_after_its_deletion_takes_its_files_down_again(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog, events: RecordingPublisher
) -> None:
    seed_others(store)
    source = upload(store, catalog, b"v1")
    plan, _ = staged(services, store, source)
    marker = store.remove(INGEST, ASSET.source_key)
    assert unpublish_asset(marker, MARKER, ARN, services).removed == 0  # nothing was published yet
    # The execution had already claimed the item before the deletion and publishes anyway.
    for key in (HLS + "master.m3u8", HLS + f"720p/{plan.job.segment_name(0)}", THUMBS + "poster-320.jpg"):
        store.seed(PUBLISH, key, b"late")
    published = len(events.events)

    recorded = record_asset(state_after(source, plan), services, ARN)

    assert (recorded.status, recorded.removed) == ("SUPERSEDED", 3)
    assert store.keys(PUBLISH, MEDIA) == []
    assert [k for k in OTHERS if store.data(PUBLISH, k) == b"not ours"] == OTHERS
    assert len(events.events) == published
    assert catalog.asset("c1", ASSET.asset_id)["status"] == "DELETED"


def test_stale_outputs_stay_when_a_newer_upload_holds_the_asset(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog
) -> None:
    upload(store, catalog, b"v1")
    store.seed(PUBLISH, HLS + "master.m3u8", b"v1")
    upload(store, catalog, b"v2")  # not DELETED: the files are the newer run's to prune

    assert remove_stale_outputs(ASSET, "video", services) == 0
    assert store.data(PUBLISH, HLS + "master.m3u8") == b"v1"


@pytest.mark.parametrize("deleted_again", [False, True], ids=["re-uploaded", "re-uploaded-and-deleted-again"])
def test_stale_outputs_stay_when_the_item_changes_between_the_two_reads(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog, deleted_again: bool
) -> None:
    """Between the listing and the removal a re-upload claimed the item (and, in the second case, was
    deleted in turn: DELETED again, by another deletion, so the listing may hold the re-upload's files)."""
    upload(store, catalog, b"v1")
    marker = store.remove(INGEST, ASSET.source_key)
    catalog.record_deleted("c1", ASSET.asset_id, ASSET.path, marker, permanent=False)
    store.seed(PUBLISH, HLS + "master.m3u8", b"late")
    reads: list[str] = []

    def re_upload_between_reads(course_id: str, asset_id: str) -> None:
        reads.append(asset_id)
        if len(reads) == 2:
            upload(store, catalog, b"v2")
            if deleted_again:
                again = store.remove(INGEST, ASSET.source_key)
                catalog.record_deleted("c1", ASSET.asset_id, ASSET.path, again, permanent=False)

    catalog.on_get = re_upload_between_reads

    assert remove_stale_outputs(ASSET, "video", services) == 0
    assert store.data(PUBLISH, HLS + "master.m3u8") == b"late" and len(reads) == 2
    assert catalog.asset("c1", ASSET.asset_id)["status"] == ("DELETED" if deleted_again else "UPLOADED")
