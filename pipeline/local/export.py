"""Exporting a local run: the publish bucket as files, the catalog, and every execution's history.

Layout (a contract other tools rely on): ``DIR/site/`` = publish bucket objects by key,
``DIR/catalog.json`` = every catalog item, ``DIR/executions/<name>.json`` = history events as
``get_execution_history`` returns them.
"""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING, Any

from pipeline.catalog.dynamo import DynamoCatalog

if TYPE_CHECKING:
    from pathlib import Path

    from pipeline.local.runtime import LocalRuntime


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _safe_target(root: Path, key: str) -> Path:
    """Keys come from author file names: never let one write outside the export folder."""
    target = (root / key).resolve()
    if root.resolve() not in target.parents:
        raise ValueError(f"refusing to export key outside {root}: {key!r}")
    return target


def export_run(runtime: LocalRuntime, out: Path, execution_arns: list[str]) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("site", "executions"):
        shutil.rmtree(out / stale, ignore_errors=True)
    site = out / "site"
    site.mkdir()
    s3 = runtime.client("s3")
    objects = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=runtime.publish_bucket):
        for obj in page.get("Contents", []):
            target = _safe_target(site, obj["Key"])
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(runtime.publish_bucket, obj["Key"], str(target))
            objects += 1
    items = DynamoCatalog(runtime.client("dynamodb"), runtime.catalog_table).all_items()
    (out / "catalog.json").write_text(
        json.dumps(items, indent=2, ensure_ascii=False, default=_json_default) + "\n", encoding="utf-8"
    )
    hist_dir = out / "executions"
    hist_dir.mkdir()
    for arn in execution_arns:
        name = arn.rsplit(":", 1)[1]
        events = runtime.history(arn)
        (hist_dir / f"{name}.json").write_text(
            json.dumps(events, indent=2, ensure_ascii=False, default=_json_default) + "\n", encoding="utf-8"
        )
    return {"objects": objects, "catalogItems": len(items), "executions": len(execution_arns)}
