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

from typing import TYPE_CHECKING

from pipeline import layout
from pipeline.catalog.events import asset_event
from pipeline.catalog.model import AssetStatus, SourceRef
from pipeline.errors import UnsafeKeyError
from pipeline.keys import parse_key
from pipeline.kinds import kind_by_name
from pipeline.steps import Deletion, Unpublished
from pipeline.usecases.lifecycles import lifecycle_for
from pipeline.usecases.removal import published_keys, still_deleted_by

if TYPE_CHECKING:
    from pipeline.services import Services


def kind_of(path: str, recorded: str | None) -> str:
    """The kind the catalog recorded; for a file deleted before Classify ran, its name decides."""
    return recorded or kind_by_name(path) or "unknown"


def unpublish_asset(
    source: SourceRef, deletion: Deletion, execution_arn: str | None, services: Services
) -> Unpublished:
    try:
        asset = parse_key(source.key)
    except UnsafeKeyError as exc:
        # Such a key was refused on upload, so nothing of it was ever published.
        return Unpublished(status="IGNORED", reason=str(exc))
    old = services.catalog.record_deleted(
        asset.course_id, asset.asset_id, asset.path, source, permanent=deletion.permanent
    )
    if old is None:
        return Unpublished(status="SUPERSEDED", asset_id=asset.asset_id)
    kind = kind_of(asset.path, old.get("kind"))
    if kind == "manifest":
        services.catalog.mark_course_deleted(asset.course_id, source)
    removed = published_keys(services, asset, kind)
    if still_deleted_by(services, asset, source):
        services.store.delete_keys(services.settings.publish_bucket, removed)
    else:
        removed = []  # a re-upload claimed the path while we listed: its files are not ours to remove
    pages = lifecycle_for(kind).refresh_dependents(asset, services)
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
    return Unpublished(
        status="DELETED", asset_id=asset.asset_id, kind=kind, removed=len(removed), pages_refreshed=len(pages)
    )
