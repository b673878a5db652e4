"""Ingest use case against fakes of its ports (no AWS)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline.catalog.model import Claim, SourceRef
from pipeline.errors import MalformedEventError
from pipeline.usecases.ingest import start_processing
from tests.fakes import FakeObjectStore, FakeStarter


class FakeCatalog:
    def __init__(self, claim: Claim = Claim.WRITTEN) -> None:
        self.uploaded: list[tuple[str, str, str]] = []
        self.claim = claim

    def record_uploaded(
        self, course_id: str, asset_id: str, path: str, source: SourceRef, execution_name: str
    ) -> Claim:
        self.uploaded.append((course_id, path, execution_name))
        return self.claim


def event(key: str, version: str = "v1") -> dict[str, Any]:
    return {
        "detail-type": "Object Created",
        "detail": {
            "bucket": {"name": "ingest"},
            "object": {"key": key, "size": 10, "etag": "abc", "version-id": version, "sequencer": "00A1"},
        },
    }


def run(
    ev: dict[str, Any], keys: set[str], catalog: FakeCatalog | None = None, starter: FakeStarter | None = None
) -> Any:
    store = FakeObjectStore(versioned=frozenset({"ingest"}))
    for key in keys:  # the object the event names, at the version it names
        store.upload("ingest", key, b"x", version_id=ev["detail"]["object"].get("version-id"))
    return start_processing(
        ev,
        store=store,
        catalog=catalog or FakeCatalog(),  # type: ignore[arg-type]
        starter=starter or FakeStarter(),
    )


def test_url_encoded_key_is_decoded_once() -> None:
    outcome = run(event("courses/c/my+lecture%2B1.mp4"), {"courses/c/my lecture+1.mp4"})
    assert outcome.key == "courses/c/my lecture+1.mp4"


def test_raw_key_is_kept_when_the_emitter_did_not_encode() -> None:
    outcome = run(event("courses/c/c++.md"), {"courses/c/c++.md"})
    assert outcome.key == "courses/c/c++.md"


def test_duplicate_event_starts_one_execution() -> None:
    catalog, starter = FakeCatalog(), FakeStarter()
    first = run(event("courses/c/a.md"), {"courses/c/a.md"}, catalog, starter)
    second = run(event("courses/c/a.md"), {"courses/c/a.md"}, catalog, starter)
    assert first.started and not second.started
    assert first.execution_name == second.execution_name
    assert len(starter.started) == 1
    payload = json.loads(starter.started[first.execution_name])
    assert payload["source"] == {
        "bucket": "ingest",
        "key": "courses/c/a.md",
        "versionId": "v1",
        "etag": "abc",
        "size": 10,
        "sequencer": "00A1",
    }


def test_new_version_gets_a_new_execution() -> None:
    starter = FakeStarter()
    a = run(event("courses/c/a.md", "v1"), {"courses/c/a.md"}, starter=starter)
    b = run(event("courses/c/a.md", "v2"), {"courses/c/a.md"}, starter=starter)
    assert a.execution_name != b.execution_name and b.started


def test_unsafe_key_is_not_catalogued_but_still_runs_to_a_visible_failure() -> None:
    catalog, starter = FakeCatalog(), FakeStarter()
    outcome = run(event("courses/c/../x.md"), set(), catalog, starter)
    assert outcome.rejected_reason and ".." in outcome.rejected_reason
    assert catalog.uploaded == []
    assert outcome.started


def test_malformed_event_is_a_named_error() -> None:
    with pytest.raises(MalformedEventError, match="missing"):
        run({"detail": {"bucket": {}}}, set())


def test_a_superseded_upload_starts_nothing() -> None:
    starter = FakeStarter()
    outcome = run(event("courses/c/a.md"), {"courses/c/a.md"}, FakeCatalog(Claim.SUPERSEDED), starter)
    assert outcome.superseded and not outcome.started and starter.started == {}


def test_a_duplicate_upload_still_starts_its_execution_idempotently() -> None:
    """The first delivery may have recorded UPLOADED and died before StartExecution: start it now."""
    starter = FakeStarter()
    outcome = run(event("courses/c/a.md"), {"courses/c/a.md"}, FakeCatalog(Claim.DUPLICATE), starter)
    assert outcome.started and len(starter.started) == 1


def test_a_deletion_starts_an_unpublish_execution_without_touching_the_catalog() -> None:
    catalog, starter = FakeCatalog(), FakeStarter()
    ev = event("courses/c/my+notes.md", "dm-1")
    ev["detail-type"] = "Object Deleted"
    ev["detail"]["deletion-type"] = "Delete Marker Created"
    del ev["detail"]["object"]["size"], ev["detail"]["object"]["etag"]
    outcome = run(ev, set(), catalog, starter)
    assert outcome.action == "delete" and outcome.started and catalog.uploaded == []
    assert outcome.key == "courses/c/my notes.md"
    assert outcome.execution_name.startswith("deleted-my-notes-md-")
    payload = json.loads(starter.started[outcome.execution_name])
    assert payload["deletion"] == {"type": "Delete Marker Created"}
    assert payload["source"]["versionId"] == "dm-1"
    upload = run(event("courses/c/my+notes.md", "dm-1"), {"courses/c/my notes.md"}, starter=starter)
    assert upload.execution_name != outcome.execution_name
