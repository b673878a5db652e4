"""The ports a use case needs, bundled, so handlers can pass one object and tests can pass fakes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pipeline.catalog.events import EventPublisher
    from pipeline.catalog.model import Catalog
    from pipeline.config import Settings
    from pipeline.storage import ObjectStore


class ExecutionStarter(Protocol):
    def start(self, name: str, payload: str) -> tuple[str, bool]:
        """Start an execution; return its ARN and whether it is new (False: a duplicate event)."""
        ...


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: ObjectStore
    catalog: Catalog
    events: EventPublisher
