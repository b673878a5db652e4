"""One video lecture of course ``c1`` and its neighbour, taken through the video branch over the fakes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline import layout
from pipeline.keys import asset_id_for, parse_key
from pipeline.steps import AssetInfo, AudioDone, CaughtError, ChunkDone, ExecutionState, Outputs, Transcode
from pipeline.usecases import video
from tests.fakes.media import HD, stage_encode, stage_thumbnails

if TYPE_CHECKING:
    from pipeline.catalog.model import SourceRef
    from pipeline.media.plan import EncodePlan
    from pipeline.services import Services
    from tests.fakes import FakeCatalog, FakeObjectStore

INGEST, PUBLISH = "ingest", "publish"
PATH = "videos/intro.mp4"
ASSET = parse_key(f"courses/c1/{PATH}")
MEDIA = ASSET.publish_prefix + layout.media_dir(ASSET.asset_id) + "/"
HLS = video.hls_prefix(ASSET)
THUMBS = video.thumbs_prefix(ASSET)
INFO = AssetInfo("c1", ASSET.asset_id, PATH, "intro.mp4", "video", 1000)
ARN = "arn:aws:states:us-east-1:123456789012:execution:ProcessAsset:intro"
# A real neighbour whose asset id starts with ours ("videos/intro-<hash>.mp4"): its folder's name has
# ours as a prefix, so only a listing that ends at the "/" keeps it out.
NEIGHBOUR_PATH = f"videos/{ASSET.asset_id.removeprefix('videos-')}.mp4"
NEIGHBOUR = ASSET.publish_prefix + layout.media_dir(asset_id_for(NEIGHBOUR_PATH)) + "/"


def upload(store: FakeObjectStore, catalog: FakeCatalog, data: bytes) -> SourceRef:
    """An author's upload and its ingest (the catalog claim that starts the execution)."""
    source = store.upload(INGEST, ASSET.source_key, data)
    catalog.record_uploaded("c1", ASSET.asset_id, PATH, source, f"exec-{source.version_id}")
    return source


def staged(services: Services, store: FakeObjectStore, source: SourceRef) -> tuple[EncodePlan, list[str]]:
    """PlanEncode, then what EncodeChunk, EncodeAudio and MakeThumbnails would have staged."""
    plan = video.plan_encode(source, HD, services)
    keys = stage_encode(store, PUBLISH, plan) + stage_thumbnails(store, PUBLISH, plan)
    return plan, keys


def thumbnails_result(plan: EncodePlan) -> Outputs:
    posters = [THUMBS + layout.poster_name(w) for w in layout.POSTER_WIDTHS]
    return Outputs(posters, {"posters": posters})


def state_after(
    source: SourceRef, plan: EncodePlan, package: Outputs | None = None, error: CaughtError | None = None
) -> ExecutionState:
    """The execution state as RecordAsset/RecordFailure receive it (after Transcode, maybe PackageHls)."""
    chunks = [ChunkDone(c.index, c.index, 1) for c in plan.chunks]
    transcode = Transcode(chunks, [AudioDone(True, 2)], thumbnails_result(plan))
    return ExecutionState(
        source=source, asset=INFO, probe=HD, plan=plan, transcode=transcode, package=package, error=error
    )


def publish(services: Services, store: FakeObjectStore, catalog: FakeCatalog, data: bytes) -> ExecutionState:
    """A whole successful run up to RecordAsset's input: upload, staged encode, PackageHls."""
    source = upload(store, catalog, data)
    plan, _ = staged(services, store, source)
    package = video.package_hls(source, INFO, plan, HD, services)
    return state_after(source, plan, package)
