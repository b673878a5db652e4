"""Caption files meet their video over the fakes: either upload order ends with the same master, a caption
never re-publishes a segment, a deleted caption leaves the master, and an edit of the master that lost a
race with a newer encode's master retries on that one instead of putting the old one back."""

from __future__ import annotations

from typing import TYPE_CHECKING

import m3u8
import pytest

from pipeline import layout
from pipeline.keys import parse_key
from pipeline.media.captions import caption_name
from pipeline.usecases import captions
from pipeline.usecases.subtitle_renditions import attach_captions
from tests.functional.lecture import ASSET, HLS, INGEST, PUBLISH, publish

if TYPE_CHECKING:
    from pipeline.catalog.model import SourceRef
    from pipeline.services import Services
    from tests.fakes import FakeCatalog, FakeObjectStore
    from tests.fakes.store import Write

FRENCH = b"1\r\n00:00:01,000 --> 00:00:03,000\r\nBonjour <font color=red>\xe0</font> tous\r\n\r\n"
ENGLISH = b"WEBVTT\n\n00:00.500 --> 00:02.000\nHello\n\n00:07.000 --> 00:09.000\nAgain\n"
MASTER = HLS + "master.m3u8"


def upload_caption(
    store: FakeObjectStore, catalog: FakeCatalog, name: str, data: bytes
) -> tuple[SourceRef, str]:
    key = f"courses/c1/videos/{name}"
    source = store.upload(INGEST, key, data)
    asset = parse_key(key)
    catalog.record_uploaded("c1", asset.asset_id, asset.path, source, f"exec-{name}")
    return source, asset.asset_id


def subtitle_languages(store: FakeObjectStore) -> list[str]:
    playlist = m3u8.loads(store.get_bytes(PUBLISH, MASTER).decode())
    assert all(p.stream_info.subtitles == "subs" for p in playlist.playlists) or not [
        m for m in playlist.media if m.type == "SUBTITLES"
    ]
    return sorted(str(m.language) for m in playlist.media if m.type == "SUBTITLES")


def test_a_caption_uploaded_before_its_video_is_in_the_master_the_video_writes(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog
) -> None:
    source, aid = upload_caption(store, catalog, "intro.fr.srt", FRENCH)
    result = captions.render_captions(source, services)
    vtt = f"courses/c1/{layout.caption_vtt(aid)}"
    assert result.outputs == [vtt]
    assert result.details["caption"]["attached"] == [] and result.details["caption"]["language"] == "fr"
    assert result.details["warnings"] == [
        "intro.fr.srt: not UTF-8; read as Windows-1252 and converted (save it as UTF-8)",
        "intro.fr.srt, line 3: <font color=red> is not WebVTT cue markup; removed (its text is kept), here "
        "and in any later cue",
    ]
    assert (
        store.get_bytes(PUBLISH, vtt).decode() == "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nBonjour à tous\n"
    )

    publish(services, store, catalog, b"lecture v1")
    assert subtitle_languages(store) == ["fr"]
    rendition = store.get_bytes(PUBLISH, f"{HLS}subs/{aid}/index.m3u8").decode()
    video = store.get_bytes(PUBLISH, HLS + "720p/index.m3u8").decode()
    assert rendition.count("#EXTINF") == video.count("#EXTINF") == 2


def test_a_caption_uploaded_after_its_video_edits_only_the_master(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog
) -> None:
    publish(services, store, catalog, b"lecture v1")
    before = store.get_bytes(PUBLISH, MASTER).decode()
    written = len(store.writes)
    source, aid = upload_caption(store, catalog, "intro.en.vtt", ENGLISH)
    result = captions.render_captions(source, services)
    assert result.details["caption"]["attached"] == [ASSET.path]
    touched = {w.key for w in store.writes[written:] if w.bucket == PUBLISH}
    assert not [k for k in touched if k.endswith(".ts") or k.startswith(HLS + "720p/")]
    assert MASTER in touched
    after = store.get_bytes(PUBLISH, MASTER).decode()
    # Only SUBTITLES lines and attributes differ: the video's figures are kept byte for byte.
    stripped = [
        ln.replace(',SUBTITLES="subs"', "") for ln in after.splitlines() if "TYPE=SUBTITLES" not in ln
    ]
    assert stripped == before.splitlines()
    assert subtitle_languages(store) == ["en"]
    first = store.get_bytes(PUBLISH, f"{HLS}subs/{aid}/sub-00000.vtt").decode()
    second = store.get_bytes(PUBLISH, f"{HLS}subs/{aid}/sub-00001.vtt").decode()
    assert "X-TIMESTAMP-MAP=MPEGTS:" in first and "Hello" in first and "Again" in second


def test_a_deleted_caption_leaves_the_master_and_its_files_go(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog
) -> None:
    publish(services, store, catalog, b"lecture v1")
    fr, fr_id = upload_caption(store, catalog, "intro.fr.srt", FRENCH)
    en, en_id = upload_caption(store, catalog, "intro.en.vtt", ENGLISH)
    captions.render_captions(fr, services)
    captions.render_captions(en, services)
    assert subtitle_languages(store) == ["en", "fr"]
    # The deletion's UnpublishAsset: the source is gone, its WebVTT removed, then the dependents refreshed.
    store.remove(INGEST, en.key)
    store.delete_keys(PUBLISH, [f"courses/c1/{layout.caption_vtt(en_id)}"])
    captions.refresh_after_removal(parse_key(en.key), services)
    assert subtitle_languages(store) == ["fr"]
    assert not list(store.list_keys(PUBLISH, f"{HLS}subs/{en_id}/"))
    assert list(store.list_keys(PUBLISH, f"{HLS}subs/{fr_id}/"))


def test_an_edit_that_loses_to_a_newer_encodes_master_is_redone_on_it(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog
) -> None:
    publish(services, store, catalog, b"lecture v1")
    plain = store.get_bytes(PUBLISH, MASTER)
    source, _ = upload_caption(store, catalog, "intro.fr.srt", FRENCH)
    captions.render_captions(source, services)  # publishes the caption's WebVTT
    store.put_bytes(PUBLISH, MASTER, plain)  # as if this caption's attach had not run yet
    newer = plain.decode().replace("#EXT-X-VERSION:5", "#EXT-X-VERSION:5\n## v2")
    raced: list[bool] = []

    def newer_encode_writes_its_master(write: Write) -> None:
        # While this attach writes its subtitle segments, a re-upload's PackageHls writes its master.
        if not raced and "/subs/" in write.key:
            raced.append(True)
            store.put_bytes(PUBLISH, MASTER, newer.encode())

    store.on_write = newer_encode_writes_its_master
    attach_captions(ASSET, services)
    store.on_write = None
    final = store.get_bytes(PUBLISH, MASTER).decode()
    assert raced and "## v2" in final  # the newer master was edited, not overwritten with the older one
    assert subtitle_languages(store) == ["fr"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "intro.srt",
            "intro.srt is attached to no video: a caption file is named after its video and language",
        ),
        ("intro.english.srt", "'english' is not a language tag; name the file like lecture.en.srt"),
    ],
)
def test_a_caption_name_without_a_language_is_published_unattached_and_says_how_to_name_it(
    services: Services, store: FakeObjectStore, catalog: FakeCatalog, name: str, message: str
) -> None:
    """Not a failure: course.yaml may list the file later (with its language), and binds it then."""
    publish(services, store, catalog, b"lecture v1")
    source, aid = upload_caption(store, catalog, name, ENGLISH)
    result = captions.render_captions(source, services)
    caption = result.details["caption"]
    assert (caption["attached"], caption["language"], caption["label"]) == ([], "und", "Not attached")
    (warning,) = result.details["warnings"]
    assert message in warning and "or list it" in warning and "course.yaml" in warning
    assert store.data(PUBLISH, f"courses/c1/{layout.caption_vtt(aid)}") is not None
    assert subtitle_languages(store) == []


def test_caption_names_carry_forced_and_sdh() -> None:
    assert caption_name("media/lecture.en.srt") == caption_name("media/lecture.en.srt")
    named = caption_name("media/lecture.pt-BR.sdh.vtt")
    assert named is not None and (named.stem, named.language, named.sdh, named.forced) == (
        "media/lecture", "pt-BR", True, False,
    )  # fmt: skip
    forced = caption_name("media/lecture.fr.forced.srt")
    assert forced is not None and forced.forced and forced.language == "fr"
    assert caption_name("media/lecture.srt") is None
