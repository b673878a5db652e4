"""``EventBridgePublisher``: catalog events onto an EventBridge bus (the template names it)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pipeline.catalog.events import EVENT_SOURCE, EventDeliveryError

if TYPE_CHECKING:  # the stubs are a dev dependency; Lambda has only boto3
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef, PutEventsResultEntryTypeDef


class EventBridgePublisher:
    def __init__(self, events: EventBridgeClient, bus_name: str) -> None:
        self._events = events
        self._bus = bus_name

    def publish(self, detail_type: str, detail: dict[str, Any], resources: list[str] | None = None) -> None:
        entry: PutEventsRequestEntryTypeDef = {
            "Source": EVENT_SOURCE,
            "DetailType": detail_type,
            "Detail": json.dumps(detail, separators=(",", ":"), sort_keys=True, default=str),
            "EventBusName": self._bus,
        }
        if resources:
            entry["Resources"] = resources
        resp = self._events.put_events(Entries=[entry])
        if resp.get("FailedEntryCount"):
            none: PutEventsResultEntryTypeDef = {}
            failed = next((e for e in resp.get("Entries", []) if e.get("ErrorCode")), none)
            raise EventDeliveryError(
                f"EventBridge refused {detail_type}: {failed.get('ErrorCode')} {failed.get('ErrorMessage')}"
            )
