"""One local run: upload files, let the events drive the pipeline, wait, export, report.

Used by ``coursepipe process`` and ``coursepipe demo``; the report is the ``--json`` contract.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.catalog.dynamo import DynamoCatalog
from pipeline.executions import current_state
from pipeline.keys import execution_name
from pipeline.kinds import kind_by_name
from pipeline.local.export import export_run
from pipeline.local.runtime import LocalRuntime

if TYPE_CHECKING:
    from pathlib import Path

Progress = Callable[[str, str, float], None]


@dataclass(frozen=True)
class RunReport:
    """What one run did; ``contract()`` is the ``process --json`` document other tools rely on."""

    course: str
    out: Path
    executions: list[dict[str, Any]]
    assets: list[dict[str, Any]]
    export: dict[str, Any]
    wall_ms: int

    def contract(self) -> dict[str, Any]:
        return {
            "course": self.course,
            "out": str(self.out),
            "executions": self.executions,
            "assets": self.assets,
        }


@dataclass(frozen=True)
class Upload:
    key: str
    path: Path


def upload_wave(key: str) -> int:
    """Course manifest, images and handouts first, so lessons rendered next can link to them (they read
    the catalog for published paths and facts); everything else after."""
    return 0 if kind_by_name(key) in ("manifest", "image", "attachment") else 1


def run_uploads(
    uploads: Sequence[Upload],
    *,
    course_id: str,
    out: Path,
    progress: Progress | None = None,
    log_level: str = "WARNING",
) -> RunReport:
    executions: list[dict[str, Any]] = []
    with LocalRuntime(parameters={"LogLevel": log_level}) as runtime:
        started = time.monotonic()
        arns: list[str] = []
        for wave in (0, 1):
            batch = [u for u in uploads if upload_wave(u.key) == wave]
            if not batch:
                continue
            wave_arns: dict[str, Upload] = {}
            for item in batch:
                version = runtime.upload(item.key, item.path)
                name = execution_name(runtime.ingest_bucket, item.key, version)
                wave_arns[runtime.execution_arn(name)] = item
            runtime.pump()
            existing = {
                e["executionArn"]
                for page in runtime.client("stepfunctions")
                .get_paginator("list_executions")
                .paginate(stateMachineArn=runtime.state_machine_arn)
                for e in page["executions"]
            }
            seen: dict[str, str] = {}

            def on_poll(
                arn: str,
                desc: dict[str, Any],
                _items: dict[str, Upload] = wave_arns,
                _seen: dict[str, str] = seen,
            ) -> None:
                if progress is None:
                    return
                state = (
                    desc["status"]
                    if desc["status"] != "RUNNING"
                    else current_state(runtime.client("stepfunctions"), arn)
                )
                if _seen.get(arn) != state:
                    _seen[arn] = state
                    progress(_items[arn].key, state, time.monotonic() - started)

            running = [a for a in wave_arns if a in existing]
            results = runtime.wait_for(running, on_poll=on_poll)
            for arn, item in wave_arns.items():
                if arn not in results:
                    reasons = (
                        "; ".join(f.reason for f in runtime.ingest_failures) or "ingest did not start it"
                    )
                    executions.append(
                        {
                            "key": item.key,
                            "name": arn.rsplit(":", 1)[1],
                            "status": "NOT_STARTED",
                            "error": "IngestError",
                            "cause": reasons,
                            "durationMs": None,
                        }
                    )
                    continue
                desc = results[arn]
                duration = None
                if desc.get("stopDate") and desc.get("startDate"):
                    duration = int((desc["stopDate"] - desc["startDate"]).total_seconds() * 1000)
                executions.append(
                    {
                        "key": item.key,
                        "name": desc["name"],
                        "status": desc["status"],
                        "error": desc.get("error"),
                        "cause": desc.get("cause"),
                        "durationMs": duration,
                    }
                )
                arns.append(arn)
        export = export_run(runtime, out, arns)
        items = DynamoCatalog(runtime.client("dynamodb"), runtime.catalog_table).course_items(course_id)
    assets = [i for i in items if str(i.get("SK", "")).startswith("ASSET#")]
    return RunReport(
        course=course_id,
        out=out,
        executions=executions,
        assets=assets,
        export=export,
        wall_ms=int((time.monotonic() - started) * 1000),
    )
