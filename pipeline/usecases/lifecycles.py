"""What recording, deleting and refreshing need of each kind, in one table.

``record`` and ``delete`` dispatch through ``lifecycle_for(kind)`` instead of importing the kind use
cases (video, image, text) themselves, and the kind modules import nothing of each other: this module is
the one place that composes them. A new kind adds its row here (and its extensions in ``pipeline.kinds``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline import layout
from pipeline.keys import parse_key
from pipeline.usecases import captions, downloads, handout_refresh, text, video

if TYPE_CHECKING:
    from collections.abc import Callable

    from pipeline.keys import AssetKey
    from pipeline.services import Services
    from pipeline.steps import DownloadsApplied, ExecutionState


def _none(_aid: str) -> tuple[str, ...]:
    return ()


def _no_pages(_asset: AssetKey, _services: Services) -> list[str]:
    return []


def _nothing_to_discard(_state: ExecutionState, _services: Services) -> int:
    return 0


@dataclass(frozen=True)
class Lifecycle:
    """One kind's answers. Paths are relative to the course's publish prefix."""

    folders: Callable[[str], tuple[str, ...]] = _none
    """The folders only this asset publishes into (asset id -> folders), removed whole on deletion."""
    files: Callable[[str], tuple[str, ...]] = _none
    """Single published files (a lesson page, the course index)."""
    discard_partial: Callable[[ExecutionState, Services], int] = _nothing_to_discard
    """After a failure: remove what this version staged or wrote before it failed; returns the count."""
    refresh_dependents: Callable[[AssetKey, Services], list[str]] = text.refresh_embedders
    """After a removal: render again the pages that showed the asset; returns the keys written."""
    renders_pages: bool = False
    """A run of this kind re-renders other pages, so a run that lands after its deletion must refresh them."""
    after_publish: Callable[[AssetKey, Services], list[str]] = _no_pages
    """After RecordAsset: render again the pages that show more now; returns the keys written."""


def _after_media_publish(asset: AssetKey, services: Services) -> list[str]:
    """The lessons that play a video link its downloads (listed in the item RecordAsset just wrote) and
    show its captions' transcript: one re-render covers both."""
    if downloads.links_may_change(asset, services):
        return text.refresh_embedders(asset, services)
    return captions.refresh_after_publish(asset, services)


def after_downloads_applied(applied: list[DownloadsApplied], services: Services) -> list[str]:
    """After a course.yaml's ApplyDownloadsSetting: the lessons that play a video that got files now
    link them (BuildCourse rendered them before the files existed). Removed files need no render: the
    pages BuildCourse wrote already follow the manifest that turned them off."""
    pages: list[str] = []
    for result in applied:
        if result.change == "made":
            pages += text.refresh_embedders(parse_key(result.key), services)
    return pages


# Downloads live in media/<asset-id>/downloads/, inside the folder deletion removes whole.
_MEDIA = Lifecycle(
    folders=lambda aid: (layout.media_dir(aid),),
    discard_partial=video.discard_partial_video,
    after_publish=_after_media_publish,
)

LIFECYCLES: dict[str, Lifecycle] = {
    "video": _MEDIA,
    "audio": _MEDIA,
    "image": Lifecycle(folders=lambda aid: (layout.image_dir(aid),)),
    "lesson": Lifecycle(
        # Its search fragment goes with its page: a deleted lesson's words are found nowhere.
        files=lambda aid: (layout.lesson_page(aid), layout.search_fragment(aid)),
        refresh_dependents=text.refresh_siblings,
        renders_pages=True,
        after_publish=handout_refresh.after_lesson_publish,
    ),
    "caption": Lifecycle(
        folders=lambda aid: (layout.caption_dir(aid),),
        refresh_dependents=captions.refresh_after_removal,
        renders_pages=True,
    ),
    # Its download card (type, size, pages) comes from the item RecordAsset writes: the lessons that link
    # it and the index's Downloads list are rendered again after it.
    "attachment": Lifecycle(
        folders=lambda aid: (layout.attachment_dir(aid),),
        after_publish=text.refresh_embedders,
    ),
    "manifest": Lifecycle(
        files=lambda _aid: (layout.course_index(), layout.search_list()),
        refresh_dependents=text.refresh_all_lessons,
        renders_pages=True,
        after_publish=handout_refresh.after_manifest_publish,
    ),
}

# A file deleted or failed before Classify named its kind: whatever any kind could have left is looked
# for, and the lessons that embed it are refreshed.
UNKNOWN = Lifecycle()


def lifecycle_for(kind: str | None) -> Lifecycle:
    return LIFECYCLES.get(kind or "", UNKNOWN)
