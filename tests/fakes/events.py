"""``RecordingPublisher`` and ``FakeStarter``: the events port and the execution starter, recording."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.catalog.events import DETAIL_TYPES, EventDeliveryError


@dataclass(frozen=True)
class PublishedEvent:
    detail_type: str
    detail: dict[str, Any]
    resources: list[str]


@dataclass
class RecordingPublisher:
    """Keeps every event in order. ``refuse`` names detail types EventBridge "refuses" (the adapter's
    ``EventDeliveryError``), to test what a failed announcement leaves behind."""

    events: list[PublishedEvent] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    def publish(self, detail_type: str, detail: dict[str, Any], resources: list[str] | None = None) -> None:
        assert detail_type in DETAIL_TYPES, f"{detail_type} is not a documented detail type"
        if detail_type in self.refuse:
            raise EventDeliveryError(f"EventBridge refused {detail_type}: InternalFailure (fake)")
        self.events.append(PublishedEvent(detail_type, dict(detail), list(resources or [])))

    def of_type(self, detail_type: str) -> list[PublishedEvent]:
        return [e for e in self.events if e.detail_type == detail_type]

    @property
    def types(self) -> list[str]:
        return [e.detail_type for e in self.events]


@dataclass
class FakeStarter:
    """``ExecutionStarter`` with Step Functions' idempotency: one execution per name; starting a name
    again (a redelivered event) returns the same ARN and ``False``, as ``StepFunctionsStarter`` does."""

    state_machine_arn: str = "arn:aws:states:us-east-1:123456789012:stateMachine:ProcessAsset"
    started: dict[str, str] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def execution_arn(self, name: str) -> str:
        return self.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"

    def start(self, name: str, payload: str) -> tuple[str, bool]:
        self.calls.append(name)
        if name in self.started:
            return self.execution_arn(name), False
        self.started[name] = payload
        return self.execution_arn(name), True
