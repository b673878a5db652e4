"""The functional tier: the riskiest use cases (claim, prune, unpublish, record, course builds) run over
the in-memory fakes of every port (``tests/fakes``), so the whole tier takes seconds: no moto, no ffmpeg,
no network. The fakes are held to the adapters' behaviour by ``tests/integration/test_fakes_contract.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pipeline.config import EncodeSettings, Settings
from pipeline.services import Services
from tests.fakes import FakeCatalog, FakeObjectStore, RecordingPublisher

if TYPE_CHECKING:
    from pathlib import Path

INGEST, PUBLISH = "ingest", "publish"


@pytest.fixture
def services(tmp_path: Path) -> Services:
    """Services over fresh fakes. The ingest bucket is versioned (as in template.yaml); 6 s chunks, so a
    12 s lecture is planned as two chunks and the packager stitches across a seam."""
    settings = Settings(
        ingest_bucket=INGEST,
        publish_bucket=PUBLISH,
        catalog_table="catalog",
        work_dir=str(tmp_path),
        encode=EncodeSettings(chunk_s=6),
    )
    return Services(
        settings, FakeObjectStore(versioned=frozenset({INGEST})), FakeCatalog(), RecordingPublisher()
    )


@pytest.fixture
def store(services: Services) -> FakeObjectStore:
    assert isinstance(services.store, FakeObjectStore)
    return services.store


@pytest.fixture
def catalog(services: Services) -> FakeCatalog:
    assert isinstance(services.catalog, FakeCatalog)
    return services.catalog


@pytest.fixture
def events(services: Services) -> RecordingPublisher:
    assert isinstance(services.events, RecordingPublisher)
    return services.events
