"""``EventBridgePublisher``: catalog events onto an EventBridge bus (the template names it)."""

from __future__ import annotations

import json
from typing import Any

from pipeline.catalog.events import EVENT_SOURCE, EventDeliveryError


class EventBridgePublisher:
    def __init__(self, events: Any, bus_name: str) -> None:
        self._events = events
        self._bus = bus_name

    def publish(self, detail_type: str, detail: dict[str, Any], resources: list[str] | None = None) -> None:
        entry: dict[str, Any] = {
            "Source": EVENT_SOURCE,
            "DetailType": detail_type,
            "Detail": json.dumps(detail, separators=(",", ":"), sort_keys=True, default=str),
            "EventBusName": self._bus,
        }
        if resources:
            entry["Resources"] = resources
        resp = self._events.put_events(Entries=[entry])
        if resp.get("FailedEntryCount"):
            failed: dict[str, Any] = next((e for e in resp.get("Entries", []) if e.get("ErrorCode")), {})
            raise EventDeliveryError(
                f"EventBridge refused {detail_type}: {failed.get('ErrorCode')} {failed.get('ErrorMessage')}"
            )
