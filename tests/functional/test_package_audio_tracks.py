"""PackageHls with several soundtracks: one rendition directory each, one EXT-X-MEDIA line each, and the
catalog's ``audioTracks``; and the audio manifest an EncodeAudio of the previous deploy wrote still
packages (an execution in flight while a deploy replaces the functions)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING

import m3u8
import pytest

from pipeline import layout
from pipeline.media.encode import Loudness
from pipeline.media.package import MASTER
from pipeline.media.plan import EncodePlan
from pipeline.media.probe import AudioTrack
from pipeline.usecases import video
from tests.fakes.media import HD, stage_encode, stage_thumbnails
from tests.functional.lecture import HLS, INFO, PUBLISH, upload

if TYPE_CHECKING:
    from pipeline.services import Services
    from tests.fakes import FakeCatalog, FakeObjectStore

BILINGUAL = replace(
    HD,
    audio_tracks=(
        AudioTrack(0, "aac", 2, "en", None, False),
        AudioTrack(1, "aac", 6, "fr", "Version française", True),
        AudioTrack(2, "aac", 2, None, None, False),
    ),
)
MEASURED = (
    Loudness(-31.2, -32.0, 4.5, -16.0, mode="linear"),
    Loudness(-9.8, -0.4, 6.1, -16.0, mode="linear"),
    Loudness(None, None, None, None, "'Track 3' is silent (below -70 LUFS): encoded without normalisation"),
)


@pytest.mark.parametrize("one_audio_document", [False, True], ids=["one EncodeAudio per track", "before"])
def test_every_soundtrack_is_published_and_recorded(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog, one_audio_document: bool
) -> None:
    """From the EncodeSoundtracks Map's manifests (audio-{n}.json), and from the one document of every
    track that the definition before it wrote (an execution in flight across the deploy)."""
    source = upload(store, catalog, b"v1")
    plan = video.plan_encode(source, BILINGUAL, services)
    assert [(t.index, t.language, t.name, t.default) for t in plan.job.audio_tracks] == [
        (0, "en", "English", False),
        (1, "fr", "Version française", True),
        (2, None, "Track 3", False),
    ]
    keys = stage_encode(store, PUBLISH, plan, BILINGUAL, MEASURED, one_audio_document=one_audio_document)
    work = plan.job.work_prefix
    audio_documents = sorted(k.removeprefix(work) for k in keys if k.startswith(f"{work}audio"))
    assert audio_documents == (
        ["audio.json"] if one_audio_document else [f"audio-{n}.json" for n in range(3)]
    )
    stage_thumbnails(store, PUBLISH, plan)

    result = video.package_hls(source, INFO, plan, BILINGUAL, services)

    hls = result.details["hls"]
    assert hls["audio"] == {"language": "fr", "codecs": "mp4a.40.2"}  # the default track, as before
    assert hls["audioTracks"] == [
        {"language": "en", "name": "English", "default": False, "channels": 2, "codecs": "mp4a.40.2",
         "playlist": f"{HLS}audio/0/index.m3u8",
         "loudness": {"inputI": -31.2, "inputTP": -32.0, "inputLRA": 4.5, "targetI": -16.0, "mode": "linear",
                      "note": None}},
        {"language": "fr", "name": "Version française", "default": True, "channels": 2, "codecs": "mp4a.40.2",
         "playlist": f"{HLS}audio/1/index.m3u8",
         "loudness": {"inputI": -9.8, "inputTP": -0.4, "inputLRA": 6.1, "targetI": -16.0, "mode": "linear",
                      "note": None}},
        {"language": None, "name": "Track 3", "default": False, "channels": 2, "codecs": "mp4a.40.2",
         "playlist": f"{HLS}audio/2/index.m3u8", "loudness": MEASURED[2].to_dict()},
    ]  # fmt: skip
    assert result.details.get("warnings") == [MEASURED[2].note]  # the author hears about the silent one
    master = m3u8.loads(store.get_bytes(PUBLISH, HLS + MASTER).decode())
    assert [(m.language, m.name, m.default, m.uri) for m in master.media] == [
        ("en", "English", "NO", "audio/0/index.m3u8"),
        ("fr", "Version française", "YES", "audio/1/index.m3u8"),
        (None, "Track 3", "NO", "audio/2/index.m3u8"),
    ]
    assert "LANGUAGE" not in store.get_bytes(PUBLISH, HLS + MASTER).decode().splitlines()[5]
    published = set(store.keys(PUBLISH, HLS))
    for track in range(3):
        assert f"{HLS}audio/{track}/index.m3u8" in published
        assert f"{HLS}audio/{track}/{plan.job.segment_name(0)}" in published


def test_a_plan_and_audio_manifest_of_the_previous_deploy_still_package(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog
) -> None:
    source = upload(store, catalog, b"v1")
    current = video.plan_encode(source, HD, services)
    # What the previous PlanEncode returned: no track list, no loudness target.
    old = current.to_dict()
    del old["job"]["audioTracks"], old["job"]["loudnessLufs"]
    plan = EncodePlan.from_dict(json.loads(json.dumps(old)))
    assert [(t.index, t.language, t.name, t.default) for t in plan.job.audio_tracks] == [
        (0, "en", "English", True)
    ]
    assert plan.job.loudness_lufs is None
    stage_encode(store, PUBLISH, plan, one_audio_document=True)
    stage_thumbnails(store, PUBLISH, plan)
    # ... and what the previous EncodeAudio wrote: one manifest, the rendition in audio/.
    staged = layout.work_hls(plan.job.work_prefix)
    segments = [[plan.job.segment_name(n), 6.0, 1000] for n in (0, 1)]
    for uri, _, _ in segments:
        store.put_bytes(PUBLISH, f"{staged}audio/{uri}", b"\x47" * 188)
    legacy = {"codecs": "mp4a.40.2", "channels": 2, "segments": segments}
    store.put_bytes(PUBLISH, layout.work_audio(plan.job.work_prefix), json.dumps(legacy).encode())

    result = video.package_hls(source, INFO, plan, HD, services)

    (track,) = result.details["hls"]["audioTracks"]
    assert (track["playlist"], track["name"], track["loudness"]) == (
        f"{HLS}audio/index.m3u8",
        "English",
        None,
    )
    assert f"{HLS}audio/{plan.job.segment_name(1)}" in store.keys(PUBLISH, HLS)
    assert 'URI="audio/index.m3u8"' in store.get_bytes(PUBLISH, HLS + MASTER).decode()
