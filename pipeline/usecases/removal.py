"""Taking an asset's published files down: what deletion and a late publish after a deletion share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.catalog.model import AssetStatus, SourceRef, normalize_sequencer
from pipeline.usecases.lifecycles import LIFECYCLES, lifecycle_for

if TYPE_CHECKING:
    from pipeline.keys import AssetKey
    from pipeline.services import Services


def published_keys(services: Services, asset: AssetKey, kind: str) -> list[str]:
    """Everything the asset published, found by prefix (the outputs list names entry points, not every
    segment). Every kind's folders are listed, not only the recorded kind's: a path re-uploaded with other
    content (a ``.mp4`` that is really an image) may have published under another kind's folder."""
    bucket = services.settings.publish_bucket
    prefix = asset.publish_prefix
    aid = asset.asset_id
    folders = dict.fromkeys(f for life in LIFECYCLES.values() for f in life.folders(aid))
    keys: list[str] = []
    for folder in folders:
        keys += services.store.list_keys(bucket, f"{prefix}{folder}/")
    # A single file is removed only where it is this asset's own: the lesson page always; the course index
    # only with the manifest (a lesson lists the index among its outputs, which is re-rendered, not removed).
    singles = list(LIFECYCLES["lesson"].files(aid))
    if kind == "manifest":
        singles += LIFECYCLES["manifest"].files(aid)
    for rel in dict.fromkeys(singles):
        key = prefix + rel
        keys += [k for k in services.store.list_keys(bucket, key) if k == key]
    return keys


def still_deleted_by(services: Services, asset: AssetKey, deletion: SourceRef) -> bool:
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
    life = lifecycle_for(kind)
    if life.renders_pages:
        life.refresh_dependents(asset, services)
    return len(doomed)
