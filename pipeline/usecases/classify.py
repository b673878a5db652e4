"""Classify: which branch of the state machine an upload takes, decided by its content."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import MediaTooLargeError, SourceNotFoundError
from pipeline.keys import parse_key
from pipeline.media.sniff import sniff_kind
from pipeline.steps import AssetInfo

if TYPE_CHECKING:
    from pipeline.catalog.model import SourceRef
    from pipeline.services import Services

SNIFF_BYTES = 64 * 1024


def classify_asset(source: SourceRef, execution_arn: str | None, services: Services) -> AssetInfo:
    asset = parse_key(source.key)
    info = services.store.head(source.bucket, source.key, source.version_id)
    if info is None:
        raise SourceNotFoundError(
            f"'{asset.path}' is no longer in the upload bucket (deleted or replaced before processing)"
        )
    limit = services.settings.limits.max_bytes
    if info.size > limit:
        raise MediaTooLargeError(
            f"'{asset.name}' is {info.size / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB: "
            "upload a smaller export"
        )
    head = services.store.read_range(source.bucket, source.key, SNIFF_BYTES, source.version_id)
    with tempfile.TemporaryDirectory(dir=services.settings.work_dir) as tmp:
        sample = Path(tmp) / "sample"
        sample.write_bytes(head)
        kind = sniff_kind(sample, asset.name)
    services.catalog.mark_processing(asset.course_id, asset.asset_id, source, kind, execution_arn)
    return AssetInfo(
        course_id=asset.course_id,
        asset_id=asset.asset_id,
        path=asset.path,
        name=asset.name,
        kind=kind,
        size=info.size,
    )
