"""In-memory fakes of every port (``ObjectStore``, ``Catalog``, ``EventPublisher``, ``ExecutionStarter``),
in one place so unit and functional tests share one behaviour, checked against moto by
``tests/integration/test_fakes_contract.py``."""

from __future__ import annotations

from tests.fakes.catalog import FakeCatalog
from tests.fakes.events import FakeStarter, PublishedEvent, RecordingPublisher
from tests.fakes.store import FakeObjectStore, NoSuchKeyError, StoredVersion, Write

__all__ = [
    "FakeCatalog",
    "FakeObjectStore",
    "FakeStarter",
    "NoSuchKeyError",
    "PublishedEvent",
    "RecordingPublisher",
    "StoredVersion",
    "Write",
]
