"""MakeDownloads: the files a learner may keep (one MP4, one M4A), when ``course.yaml`` allows them.

Downloads are off unless the manifest turns them on, for the course (``downloads: true`` at the top) or
for one lesson (``downloads:`` on it, which wins over the course's). A video is downloadable when a lesson
whose ``video:`` is that file allows it, or, when no lesson names it in ``video:``, when the course does:
a video that lessons only link in their Markdown follows the course setting (the lesson flag speaks for
the lesson's own ``video:``, and a Markdown link carries no flag).

The state runs after PackageHls, on what it published (``media.downloads``: a remux, no re-encode), and
writes only under ``media/<asset-id>/downloads/``: the whole folder goes when the video is deleted
(``lifecycles``), and this state prunes it (PackageHls prunes ``hls/`` and ``thumbs/`` only) so that a file
with downloads off, or renamed, leaves nothing behind. Objects are named after the uploaded file
(``lecture.mp4`` for ``media/lecture.mov``) and served as attachments under that name.

Lesson pages link the downloads from the catalog item's ``details.downloads`` (``download_links``), so a
page shows them once RecordAsset has written them: after a publish that lists downloads, the pages that
play the video are rendered again (``lifecycles``).

A course.yaml that changes which videos may be downloaded applies to the videos already published, with
no re-encode and no re-upload: BuildCourse (which has no ffmpeg: it parses untrusted YAML) lists them
(``downloads_to_apply``: allowed but without files, or files no longer allowed), and its execution's
``ApplyDownloadsSetting`` Map runs ApplyDownloads (``apply_downloads``, in this state's function) on each:
the same remux from what the video's catalog item says PackageHls published (``details.hls``), or the
removal of its files, and the item's ``details.downloads`` updated in one transaction with two
conditions: the item is still the version BuildCourse listed (a re-upload's run makes its own) and the
course record is still the one that decided (a newer course.yaml's run decides again). The manifest's
RecordAsset then renders the lessons that play a video that got files. Turning downloads off hides the
links at once (the pages check the manifest too); the files go in the same execution.

Both states check again, after the remux (minutes for a long lecture) and before uploading, that the
asset is still the version they remuxed: the files are named after the upload, so a re-upload's own run
writes the same keys, and a stale upload must not land on them.
"""

from __future__ import annotations

import posixpath
import shutil
import tempfile
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pipeline import layout
from pipeline.catalog.caption_bindings import lesson_video
from pipeline.catalog.details import AudioDownload, Details, DownloadDetails, VideoDownload
from pipeline.catalog.model import AssetStatus, SourceRef, asset_sk
from pipeline.keys import AssetKey, parse_key
from pipeline.media.downloads import (
    RungSize,
    pick_rung,
    playlist_segments,
    remux_audio,
    remux_video,
    timeline_start,
)
from pipeline.publish import SHORT, attachment_disposition
from pipeline.steps import DownloadsApplied, Outputs
from pipeline.text.links import DownloadLink

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from pipeline.services import Services
    from pipeline.steps import AssetInfo

_READ_THREADS = 16
# Room a remux needs besides the segments themselves: the MP4 is about their size again, plus the M4A.
_SPACE_FACTOR = 2.2
_SPACE_MARGIN = 64 * 1024 * 1024
MAX_APPLY = 200
"""Videos one course.yaml run updates: the Map's items and results stay far under Step Functions' 256 KB
payload; the rest are listed again by the next upload of course.yaml."""


@dataclass(frozen=True)
class _Plan:
    """Which published playlists the downloads are made from (publish keys)."""

    video: str | None
    width: int
    height: int
    audio: str | None
    estimated_bytes: int


def make_downloads(source: SourceRef, info: AssetInfo, package: Outputs, services: Services) -> Outputs:
    """Publish (or remove) this video's downloads as the course record says; return what was written."""
    asset = parse_key(source.key)
    hls = package.details.get("hls") or {}
    if info.kind not in ("video", "audio") or not package.outputs or hls.get("superseded"):
        return Outputs([])  # PackageHls published nothing: a newer version owns the folder
    items = services.catalog.course_items(asset.course_id)
    if not _still_current(items, asset, source):
        return Outputs([])  # a newer upload (or a deletion) claimed the asset after PackageHls
    record = course_record(items)
    bucket = services.settings.publish_bucket
    prefix = _prefix(asset)
    plan = _plan(hls, services) if downloads_wanted(record, asset.path) else None
    if plan is None:
        services.store.delete_keys(bucket, list(services.store.list_keys(bucket, prefix)))
        return Outputs([])
    too_large = _space_warning(asset, plan, services)
    if too_large is not None:
        services.store.delete_keys(bucket, list(services.store.list_keys(bucket, prefix)))
        return Outputs([], Details(warnings=[too_large]))

    def current() -> bool:
        return _still_current(services.catalog.course_items(asset.course_id), asset, source)

    made = _publish(asset, plan, prefix, services, current)
    if made is None:
        return Outputs([])  # claimed by a newer upload while the remux ran: its run makes its own
    details, written = made
    _prune(services, prefix, keep=written)
    return Outputs(written, Details(downloads=details))


# --- a course.yaml that changes them, for the videos published before it --------------------------------


def downloads_to_apply(
    record: Mapping[str, Any] | None, items: Iterable[Mapping[str, Any]]
) -> tuple[list[SourceRef], list[str]]:
    """BuildCourse's list for ``ApplyDownloadsSetting``: the published videos whose downloads the course
    ``record`` changes (it allows them and the item lists none, or it does not and the item lists some),
    at the version their item records; at most ``MAX_APPLY``, with a warning naming how many wait."""
    found: list[SourceRef] = []
    for item in sorted(items, key=lambda i: str(i.get("path") or "")):
        details = item.get("details") or {}
        if (
            item.get("kind") not in ("video", "audio")
            or item.get("status") != AssetStatus.PUBLISHED.value
            or not item.get("path")
            or not item.get("sourceKey")
            or not details.get("hls")
        ):
            continue
        if downloads_wanted(record, str(item["path"])) != bool(details.get("downloads")):
            version = item.get("sourceVersion")
            found.append(
                SourceRef(
                    bucket=str(item.get("sourceBucket") or ""),
                    key=str(item["sourceKey"]),
                    version_id=None if version in (None, "null") else str(version),
                )
            )
    if len(found) <= MAX_APPLY:
        return found, []
    waiting = len(found) - MAX_APPLY
    return found[:MAX_APPLY], [
        f"downloads: {waiting} more videos wait for the next upload of course.yaml (one run updates at "
        f"most {MAX_APPLY}); upload it again"
    ]


def apply_downloads(video: SourceRef, services: Services) -> DownloadsApplied:
    """ApplyDownloads: make or remove the downloads of ``video``, published before the current course
    record, as that record says, from the playlists its catalog item lists (no re-encode, no source
    read), and record them in the item (``Catalog.record_downloads``: still this version, still this
    course record). Safe to run twice: a video whose item already matches the record is left alone."""
    asset = parse_key(video.key)
    items = services.catalog.course_items(asset.course_id)
    item = _published_item(items, asset, video)
    if item is None:
        return DownloadsApplied(video.key, "superseded")  # re-uploaded, failed or deleted since it was listed
    course = next((i for i in items if i.get("SK") == "COURSE"), None)
    sequencer = str(course["sequencer"]) if course and course.get("sequencer") else None
    details = item.get("details") or {}
    bucket = services.settings.publish_bucket
    prefix = _prefix(asset)
    kept = [str(o) for o in item.get("outputs") or [] if not str(o).startswith(prefix)]

    def record(found: DownloadDetails | None, written: list[str]) -> bool:
        downloads = dict(found) if found is not None else None
        return services.catalog.record_downloads(
            asset.course_id, asset.asset_id, video, sequencer, downloads, kept + written
        )

    if not downloads_wanted(course_record(items), asset.path):
        existing = list(services.store.list_keys(bucket, prefix))
        if details.get("downloads") and not record(None, []):
            return DownloadsApplied(video.key, "superseded")
        services.store.delete_keys(bucket, existing)  # after the item stops listing them
        return DownloadsApplied(video.key, "removed" if existing or details.get("downloads") else "unchanged")
    plan = _plan(details.get("hls") or {}, services)
    if details.get("downloads") or plan is None:
        return DownloadsApplied(video.key, "unchanged")  # made already (a retry), or nothing to offer
    too_large = _space_warning(asset, plan, services)
    if too_large is not None:
        return DownloadsApplied(video.key, "unchanged", [too_large])

    def current() -> bool:
        return _published_item(services.catalog.course_items(asset.course_id), asset, video) is not None

    made = _publish(asset, plan, prefix, services, current)
    if made is None:
        return DownloadsApplied(video.key, "superseded")
    found, written = made
    _prune(services, prefix, keep=written)
    if not record(found, written):
        _discard_unrecorded(asset, video, written, services)
        return DownloadsApplied(video.key, "superseded")
    return DownloadsApplied(video.key, "made")


def _discard_unrecorded(asset: AssetKey, video: SourceRef, written: list[str], services: Services) -> None:
    """Files made for a course record that changed meanwhile: removed when the newer one does not allow
    them (its run listed nothing for this video, which had none recorded). A newer record that allows
    them lists the video and makes them again; a re-upload's run prunes the folder itself."""
    items = services.catalog.course_items(asset.course_id)
    item = _published_item(items, asset, video)
    if item is None or (item.get("details") or {}).get("downloads"):
        return
    if not downloads_wanted(course_record(items), asset.path):
        services.store.delete_keys(services.settings.publish_bucket, written)


def _published_item(items: list[dict[str, Any]], asset: AssetKey, video: SourceRef) -> dict[str, Any] | None:
    """The video's item while it is still ``video``'s version and PUBLISHED, else None."""
    item = next((i for i in items if i.get("SK") == asset_sk(asset.asset_id)), None)
    if item is None or item.get("status") != AssetStatus.PUBLISHED.value:
        return None
    if item.get("kind") not in ("video", "audio"):
        return None
    return item if item.get("sourceVersion") == (video.version_id or "null") else None


# --- the remux and its files -------------------------------------------------------------------------


def _prefix(asset: AssetKey) -> str:
    return asset.publish_prefix + layout.downloads_dir(asset.asset_id) + "/"


def _prune(services: Services, prefix: str, *, keep: list[str]) -> None:
    """Whatever else the folder holds (an earlier version's files under another name)."""
    bucket = services.settings.publish_bucket
    services.store.delete_keys(bucket, [k for k in services.store.list_keys(bucket, prefix) if k not in keep])


def _space_warning(asset: AssetKey, plan: _Plan, services: Services) -> str | None:
    free = shutil.disk_usage(services.settings.work_dir).free
    if plan.estimated_bytes * _SPACE_FACTOR + _SPACE_MARGIN <= free:
        return None
    return (
        f"{asset.name}: no downloads: about {plan.estimated_bytes / 1e9:.1f} GB of video is more "
        "than one MakeDownloads run can remux; split the lecture into shorter files"
    )


def _publish(
    asset: AssetKey, plan: _Plan, prefix: str, services: Services, current: Callable[[], bool]
) -> tuple[DownloadDetails, list[str]] | None:
    """Remux, then upload unless ``current()`` says the asset was claimed meanwhile (None): a re-upload's
    own run writes these same names, and a remux of a long lecture takes minutes."""
    bucket = services.settings.publish_bucket
    stem = PurePosixPath(unicodedata.normalize("NFC", asset.name)).stem or "lecture"
    details = DownloadDetails()
    written: list[str] = []
    with tempfile.TemporaryDirectory(prefix="coursepipe-downloads-", dir=services.settings.work_dir) as tmp:
        root = Path(tmp)
        video = _fetch(services, plan.video, root / "video") if plan.video else None
        audio = _fetch(services, plan.audio, root / "audio") if plan.audio else None
        start = timeline_start(video[1] if video else None, audio[1] if audio else None)
        out = root / "out"
        out.mkdir()
        files: list[tuple[str, Path]] = []
        if video is not None:
            mp4 = remux_video(video[0], audio[0] if audio else None, out / "download.mp4", start_s=start)
            files.append((f"{stem}.mp4", mp4))
        if audio is not None:
            files.append((f"{stem}.m4a", remux_audio(audio[0], out / "download.m4a", start_s=start)))
        if not current():
            return None
        for filename, path in files:
            key = prefix + filename
            services.store.put_file(
                bucket, key, path, cache_control=SHORT, content_disposition=attachment_disposition(filename)
            )
            written.append(key)
            size = path.stat().st_size
            if filename.endswith(".mp4"):
                details["mp4"] = VideoDownload(key=key, bytes=size, width=plan.width, height=plan.height)
            else:
                details["m4a"] = AudioDownload(key=key, bytes=size)
    return details, written


def _fetch(services: Services, playlist_key: str, folder: Path) -> tuple[Path, Path]:
    """One published media playlist and its segments, side by side in ``folder``; returns the local
    playlist and its first segment."""
    bucket = services.settings.publish_bucket
    text = services.store.get_bytes(bucket, playlist_key).decode("utf-8")
    segments = playlist_segments(text, posixpath.basename(playlist_key))
    base = posixpath.dirname(playlist_key) + "/"
    folder.mkdir(parents=True)

    def get(name: str) -> None:
        services.store.download(bucket, base + name, folder / name)

    with ThreadPoolExecutor(max_workers=_READ_THREADS) as pool:
        list(pool.map(get, segments))
    local = folder / "index.m3u8"
    local.write_text(text, encoding="utf-8")
    return local, folder / segments[0]


def _plan(hls: Mapping[str, Any], services: Services) -> _Plan | None:
    renditions = [r for r in hls.get("renditions") or [] if isinstance(r, dict) and r.get("playlist")]
    chosen = pick_rung([RungSize(r.get("width"), r.get("height")) for r in renditions])
    rung = renditions[chosen] if chosen is not None else None
    tracks = [t for t in hls.get("audioTracks") or [] if isinstance(t, dict) and t.get("playlist")]
    track = next((t for t in tracks if t.get("default")), tracks[0] if tracks else None)
    if rung is None and track is None:
        return None
    duration = float(hls.get("durationS") or 0)
    audio_rate = services.settings.encode.audio_bitrate_k * 1000
    rate = int(rung.get("averageBandwidth") or 0) if rung else audio_rate
    return _Plan(
        video=str(rung["playlist"]) if rung else None,
        width=int(rung.get("width") or 0) if rung else 0,
        height=int(rung.get("height") or 0) if rung else 0,
        audio=str(track["playlist"]) if track else None,
        estimated_bytes=int(duration * max(rate, audio_rate) / 8),
    )


def _still_current(items: list[dict[str, Any]], asset: AssetKey, source: SourceRef) -> bool:
    item = next((i for i in items if i.get("SK") == asset_sk(asset.asset_id)), None)
    if item is None:
        return False
    same_version = item.get("sourceVersion") == (source.version_id or "null")
    return same_version and item.get("status") != AssetStatus.DELETED.value


# --- what the manifest allows, and what a page links ----------------------------------------------------


def course_record(items: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The course record among a course's catalog items (None without one, or once course.yaml is gone)."""
    record = next((i for i in items if i.get("SK") == "COURSE"), None)
    return None if record is None or record.get("status") == AssetStatus.DELETED.value else record


def downloads_wanted(record: Mapping[str, Any] | None, video_path: str) -> bool:
    """Whether the course record (BuildCourse's, from ``course.yaml``) lets learners download the video
    or audio file at ``video_path``: the lessons whose ``video:`` is that file decide (any one allowing
    it is enough), each by its own ``downloads:`` or else the course's; a file no lesson names in
    ``video:`` follows the course's."""
    if not record:
        return False
    course = record.get("downloads") is True
    path = unicodedata.normalize("NFC", video_path)
    showing = [lesson for lesson in _lessons(record) if lesson_video(lesson) == path]
    if not showing:
        return course
    return any(_allowed(lesson.get("downloads"), course) for lesson in showing)


def _allowed(lesson: object, course: bool) -> bool:
    return course if lesson is None else lesson is True


def download_links(
    path: str, record: Mapping[str, Any] | None, item: Mapping[str, Any], href: Callable[[str], str]
) -> tuple[DownloadLink, ...]:
    """The download links a lesson page shows for the video at ``path``: the files its catalog ``item``
    lists, while they are published (the item is DELETED before UnpublishAsset removes them and renders
    the pages again) and the manifest still allows them. ``href`` turns a publish key (of a folder) into
    a URL relative to the page."""
    found = (item.get("details") or {}).get("downloads")
    if not isinstance(found, dict) or item.get("status") == AssetStatus.DELETED.value:
        return ()
    if not downloads_wanted(record, path):
        return ()
    links = []
    mp4, m4a = found.get("mp4"), found.get("m4a")
    if isinstance(mp4, dict) and mp4.get("key"):
        side = min(int(mp4.get("width") or 0), int(mp4.get("height") or 0))
        quality = f"{side}p, " if side > 0 else ""
        size = size_label(int(mp4.get("bytes") or 0))
        links.append(DownloadLink(f"Video (MP4, {quality}{size})", _file_href(str(mp4["key"]), href)))
    if isinstance(m4a, dict) and m4a.get("key"):
        size = size_label(int(m4a.get("bytes") or 0))
        links.append(DownloadLink(f"Audio (M4A, {size})", _file_href(str(m4a["key"]), href)))
    return tuple(links)


def size_label(size: int) -> str:
    """Decimal units, as browsers' download bars and file managers show them: ``12.3 MB``."""
    if size >= 1_000_000_000:
        return f"{size / 1e9:.1f} GB"
    if size >= 100_000:
        return f"{size / 1e6:.1f} MB"
    return f"{max(1, round(size / 1e3))} KB"


def links_may_change(video: AssetKey, services: Services) -> bool:
    """After RecordAsset: whether the pages that play ``video`` may need other download links than they
    have, because its item lists downloads now (new files, new sizes) or the course allows them (an
    earlier version's links go when this one has none: an audio lecture now, or one too long)."""
    items = services.catalog.course_items(video.course_id)
    item = next((i for i in items if i.get("SK") == asset_sk(video.asset_id)), None) or {}
    if (item.get("details") or {}).get("downloads"):
        return True
    return downloads_wanted(course_record(items), video.path)


def _file_href(key: str, href: Callable[[str], str]) -> str:
    """The file's URL from the page: its folder's, then its own name percent-encoded (it is the uploaded
    file's name: spaces, accents, ``#`` and ``?`` must not end the path)."""
    folder, _, filename = key.rpartition("/")
    return f"{href(folder)}/{quote(filename, safe='')}"


def _lessons(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [lesson for s in record.get("sections") or [] for lesson in s.get("lessons") or []]
