"""PackageHls: only the current version publishes (the claim), the entry point goes last, and the prune of
the previous version spares what was written after the claim."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.media.package import MASTER
from pipeline.media.plan import EncodePlan, generation_for
from pipeline.publish import IMMUTABLE, SHORT
from pipeline.usecases import video
from tests.fakes import FakeCatalog, FakeObjectStore, Write
from tests.fakes.media import HD
from tests.functional.lecture import ASSET, HLS, INFO, MEDIA, NEIGHBOUR, PUBLISH, THUMBS, staged, upload

if TYPE_CHECKING:
    from pipeline.catalog.model import SourceRef
    from pipeline.services import Services
    from pipeline.steps import Outputs


def package(services: Services, source: SourceRef, plan: EncodePlan) -> Outputs:
    return video.package_hls(source, INFO, plan, HD, services)


def published_writes(store: FakeObjectStore, since: int) -> list[Write]:
    return [w for w in store.writes[since:] if w.op != "delete" and w.key.startswith(ASSET.publish_prefix)]


def test_the_current_version_publishes_with_the_master_last_and_prunes_the_previous_one(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog
) -> None:
    assert NEIGHBOUR.startswith(MEDIA.rstrip("/")) and not NEIGHBOUR.startswith(MEDIA)
    for key in (HLS + MASTER, HLS + "720p/index.m3u8", HLS + "720p/seg-0ld0ld00-00000.ts"):
        store.seed(PUBLISH, key, b"v1", age_s=60)
    store.seed(PUBLISH, THUMBS + "poster-1920.jpg", b"v1", age_s=60)  # a width v2 no longer makes
    store.seed(PUBLISH, NEIGHBOUR + "hls/720p/seg-0ld0ld00-00000.ts", b"neighbour", age_s=60)
    source = upload(store, catalog, b"v2")
    plan, _ = staged(services, store, source)
    since = len(store.writes)

    result = package(services, source, plan)

    assert result.outputs == [HLS + MASTER]
    hls = result.details["hls"]
    rungs = [r.name for r in plan.job.rungs]
    assert hls["master"] == HLS + MASTER and hls["chunks"] == 2 and hls["segments"] == 2 * len(rungs)
    gen = plan.job.generation
    segments = {f"{HLS}{r}/seg-{gen}-{n:05d}.ts" for r in [*rungs, "audio/0"] for n in (0, 1)}
    playlists = {HLS + MASTER, HLS + "audio/0/index.m3u8"}
    playlists |= {f"{HLS}{r}/index.m3u8" for r in rungs} | {f"{HLS}iframes/{r}.m3u8" for r in rungs}
    assert set(store.keys(PUBLISH, HLS)) == segments | playlists
    thumbs = {THUMBS + name for name in ("poster-320.jpg", "poster-1280.webp", "sprite-0.jpg", "sprite.vtt")}
    assert thumbs <= set(store.keys(PUBLISH, THUMBS)) and THUMBS + "poster-1920.jpg" not in store.keys(
        PUBLISH
    )
    assert store.keys(PUBLISH, NEIGHBOUR) == [NEIGHBOUR + "hls/720p/seg-0ld0ld00-00000.ts"]
    assert store.keys(PUBLISH, plan.job.work_prefix) == []

    writes = published_writes(store, since)
    assert writes[-1] == Write("put", PUBLISH, HLS + MASTER, SHORT), "the master must be written last"
    last_child = max(i for i, w in enumerate(writes) if not w.key.endswith(".m3u8"))
    first_playlist = min(i for i, w in enumerate(writes) if w.key.endswith(".m3u8"))
    assert last_child < first_playlist, "a playlist was written before a segment or thumbnail it may name"
    sheet = next(i for i, w in enumerate(writes) if w.key.endswith("sprite-0.jpg"))
    assert sheet < next(i for i, w in enumerate(writes) if w.key.endswith(".vtt"))
    assert {w.cache_control for w in writes if w.key.endswith(".ts")} == {IMMUTABLE}
    assert {w.cache_control for w in writes if not w.key.endswith(".ts")} == {SHORT}
    master = store.get_bytes(PUBLISH, HLS + MASTER).decode()
    assert all(f"{r}/index.m3u8" in master for r in rungs) and 'TYPE=AUDIO,GROUP-ID="audio"' in master
    item = catalog.asset("c1", ASSET.asset_id)
    assert (item["status"], item["sourceVersion"]) == ("PROCESSING", source.version_id)


def test_a_superseded_version_discards_its_own_generation_and_publishes_nothing(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog
) -> None:
    v1 = upload(store, catalog, b"v1")
    plan, staged_keys = staged(services, store, v1)
    straggler = f"{HLS}720p/{plan.job.segment_name(0)}"  # a v1 segment already copied in place
    store.seed(PUBLISH, straggler, b"v1")
    v2 = upload(store, catalog, b"v2")  # the re-upload's event claims the item
    live = [HLS + MASTER, f"{HLS}720p/seg-{generation_for(v2.key, v2.version_id)}-00000.ts"]
    for key in live:
        store.seed(PUBLISH, key, b"v2")
    since = len(store.writes)

    result = package(services, v1, plan)

    assert result.outputs == []
    assert result.details == {"hls": {"superseded": True, "discarded": len(staged_keys) + 1}}
    assert published_writes(store, since) == []
    assert store.keys(PUBLISH, HLS) == sorted(live)
    assert store.keys(PUBLISH, plan.job.work_prefix) == []
    assert catalog.writes[-1] == ("mark_processing", f"ASSET#{ASSET.asset_id}", False)
    item = catalog.asset("c1", ASSET.asset_id)
    assert (item["status"], item["sourceVersion"]) == ("UPLOADED", v2.version_id)


def test_the_prune_spares_what_a_newer_version_writes_after_the_claim(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog
) -> None:
    """v2's PackageHls copies its segments in while v1's run is still publishing; v1's prune must leave
    them (they were written after v1's claim) while it removes what predates the claim."""
    stale = f"{HLS}720p/seg-0ld0ld00-00000.ts"
    store.seed(PUBLISH, stale, b"v0", age_s=60)
    v1 = upload(store, catalog, b"v1")
    plan, _ = staged(services, store, v1)
    newer = [f"{HLS}720p/seg-0000000n-00000.ts", f"{HLS}audio/0/seg-0000000n-00000.ts"]

    def newer_run_copies_in(write: Write) -> None:
        if write.op == "copy" and write.key.startswith(HLS) and not store.data(PUBLISH, newer[0]):
            for key in newer:  # a later second than the claim, as S3's LastModified resolves it
                store.seed(PUBLISH, key, b"v2", age_s=-2)

    store.on_write = newer_run_copies_in
    package(services, v1, plan)

    assert all(store.data(PUBLISH, key) == b"v2" for key in newer)
    assert store.data(PUBLISH, stale) is None


def test_the_prune_spares_a_newer_file_written_in_the_claims_own_second(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog
) -> None:
    """S3 lists LastModified in whole seconds: a file v2 writes a moment after v1's claim, in the same
    second, lists as that second's start. An exact claim time would call it older and prune it."""
    v1 = upload(store, catalog, b"v1")
    plan, _ = staged(services, store, v1)
    newer = f"{HLS}720p/seg-0000000n-00000.ts"

    def newer_run_copies_in(write: Write) -> None:
        if write.op == "copy" and write.key.startswith(HLS) and not store.data(PUBLISH, newer):
            store.seed(PUBLISH, newer, b"v2", age_s=0)  # now: the claim's second (the fake lists it so)

    store.on_write = newer_run_copies_in
    package(services, v1, plan)

    assert store.data(PUBLISH, newer) == b"v2"
