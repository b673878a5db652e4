"""Deleting a source: its outputs leave the publish bucket, the catalog says DELETED, pages that showed it
are rendered again, and nothing else is touched.

The catalog write comes first and decides: a deletion older than the recorded upload (S3 ``sequencer``)
is refused and changes nothing, so a late "Object Deleted" can never take down a newer upload. Then the
asset's published objects are listed, the item is read again, and only if it is still DELETED by this
deletion are they removed. A re-upload writes nothing before its ingest claims the item (a newer
sequencer), so a listing confirmed by that re-read holds only files of the deleted versions; a re-upload
claiming after the re-read would have to be ingested, started and publish within the milliseconds before
the removal. (Not a timestamp filter: S3's ``LastModified`` has one-second resolution.)
"""

from __future__ import annotations

from typing import Any

from pipeline import layout
from pipeline.catalog.events import asset_event
from pipeline.catalog.model import AssetStatus, SourceRef, normalize_sequencer
from pipeline.errors import UnsafeKeyError
from pipeline.keys import AssetKey, parse_key
from pipeline.kinds import kind_by_name
from pipeline.services import Services
from pipeline.usecases.text import refresh_after_removal


def kind_of(path: str, recorded: str | None) -> str:
    """The kind the catalog recorded; for a file deleted before Classify ran, its name decides."""
    return recorded or kind_by_name(path) or "unknown"


def published_keys(services: Services, asset: AssetKey, kind: str) -> list[str]:
    """Everything the asset published (by its own prefixes, not only the outputs list, which names entry
    points but not every segment)."""
    bucket = services.settings.publish_bucket
    prefix = asset.publish_prefix
    aid = asset.asset_id
    keys: list[str] = []
    for folder in (layout.media_dir(aid), layout.image_dir(aid)):
        keys += services.store.list_keys(bucket, f"{prefix}{folder}/")
    page = prefix + layout.lesson_page(aid)
    keys += [k for k in services.store.list_keys(bucket, page) if k == page]
    if kind == "manifest":
        index = prefix + layout.course_index()
        keys += [k for k in services.store.list_keys(bucket, index) if k == index]
    return keys


def unpublish_asset(
    source: SourceRef, deletion: dict[str, Any], execution_arn: str | None, services: Services
) -> dict[str, Any]:
    try:
        asset = parse_key(source.key)
    except UnsafeKeyError as exc:
        # Such a key was refused on upload, so nothing of it was ever published.
        return {"status": "IGNORED", "reason": str(exc)}
    permanent = str(deletion.get("type", "")).lower().startswith("permanently")
    old = services.catalog.record_deleted(
        asset.course_id, asset.asset_id, asset.path, source, permanent=permanent
    )
    if old is None:
        return {"status": "SUPERSEDED", "assetId": asset.asset_id}
    kind = kind_of(asset.path, old.get("kind"))
    if kind == "manifest":
        services.catalog.mark_course_deleted(asset.course_id, source)
    removed = published_keys(services, asset, kind)
    if _still_deleted_by(services, asset, source):
        services.store.delete_keys(services.settings.publish_bucket, removed)
    else:
        removed = []  # a re-upload claimed the path while we listed: its files are not ours to remove
    pages = refresh_after_removal(asset, kind, services)
    # A lesson lists the course index among its outputs; the index is re-rendered, not removed.
    index = asset.publish_prefix + layout.course_index()
    outputs = [
        str(o)
        for o in (old.get("removedOutputs") or old.get("outputs") or [])
        if kind == "manifest" or o != index
    ]
    services.events.publish(
        "AssetDeleted",
        asset_event(
            course_id=asset.course_id,
            asset_id=asset.asset_id,
            kind=kind,
            path=asset.path,
            status=AssetStatus.DELETED,
            source=source,
            outputs=outputs,
            execution_arn=execution_arn,
        ),
        resources=[execution_arn] if execution_arn else [],
    )
    return {
        "status": "DELETED",
        "assetId": asset.asset_id,
        "kind": kind,
        "removed": len(removed),
        "pagesRefreshed": len(pages),
    }


def _still_deleted_by(services: Services, asset: AssetKey, deletion: SourceRef) -> bool:
    current = services.catalog.get_asset(asset.course_id, asset.asset_id) or {}
    recorded = (current.get("deletion") or {}).get("sequencer")
    return current.get("status") == AssetStatus.DELETED.value and recorded == normalize_sequencer(
        deletion.sequencer
    )


def remove_stale_outputs(asset: AssetKey, kind: str, services: Services) -> int:
    """An execution that finished after its file was deleted published into a removed asset: take its
    files down again and refresh the pages it touched (a late lesson run re-rendered its siblings with
    itself in the navigation). Only while the catalog still says DELETED, read again right before the
    removal: a newer upload would have changed it, and its files are live."""
    current = services.catalog.get_asset(asset.course_id, asset.asset_id)
    if not current or current.get("status") != AssetStatus.DELETED.value:
        return 0
    doomed = published_keys(services, asset, kind)
    again = services.catalog.get_asset(asset.course_id, asset.asset_id) or {}
    if again.get("status") != AssetStatus.DELETED.value or again.get("updatedAt") != current.get("updatedAt"):
        return 0
    services.store.delete_keys(services.settings.publish_bucket, doomed)
    if kind in ("lesson", "manifest"):
        refresh_after_removal(asset, kind, services)
    return len(doomed)
