"""Where each kind of asset is published, relative to ``courses/{courseId}/`` in the publish bucket, and
where the encoders stage their work (``work/``, at the bucket's root).

One module so that the lesson renderer's link rewriting (which names files before they exist), the
publishers, the cleanup after a failure or a delete, and the docs agree.
"""

from __future__ import annotations

IMAGE_WIDTHS = (320, 640, 1280)
# The width a page's <img src> names (its srcset lists all of IMAGE_WIDTHS).
IMAGE_DEFAULT_WIDTH = 640
POSTER_WIDTHS = (320, 640, 1280)


WORK_PREFIX = "work/"
"""Encoders' staging area in the publish bucket (chunk results, segments before they are published);
outside every ``courses/`` prefix, so nothing there is ever served, and the media parsers' IAM write grant."""
THUMBS_DIR = "thumbs"
DOWNLOADS_DIR = "downloads"
SPRITE_VTT = "sprite.vtt"


def media_dir(asset_id: str) -> str:
    return f"media/{asset_id}"


def hls_dir(asset_id: str) -> str:
    return f"{media_dir(asset_id)}/hls"


def hls_master(asset_id: str) -> str:
    return f"{hls_dir(asset_id)}/master.m3u8"


def downloads_dir(asset_id: str) -> str:
    """Learners' downloads of a video or audio lecture (MP4, M4A), when ``course.yaml`` allows them;
    republished under the same names (the source's file name), so cached briefly."""
    return f"{media_dir(asset_id)}/{DOWNLOADS_DIR}"


def download_file(asset_id: str, filename: str) -> str:
    return f"{downloads_dir(asset_id)}/{filename}"


def is_download(key: str) -> bool:
    return f"/{DOWNLOADS_DIR}/" in key


def thumbs_dir(asset_id: str) -> str:
    """Posters, sprite sheets and their WebVTT track: republished under the same names."""
    return f"{media_dir(asset_id)}/{THUMBS_DIR}"


def poster_name(width: int, ext: str = "jpg") -> str:
    return f"poster-{width}.{ext}"


def poster(asset_id: str, width: int, ext: str = "jpg") -> str:
    return f"{thumbs_dir(asset_id)}/{poster_name(width, ext)}"


def sprite_vtt(asset_id: str) -> str:
    return f"{thumbs_dir(asset_id)}/{SPRITE_VTT}"


def is_thumbnail(key: str) -> bool:
    return f"/{THUMBS_DIR}/" in key


def work_dir(course_id: str, asset_id: str, generation: str) -> str:
    """One encode's staging prefix (per source version, so a newer upload never mixes with it)."""
    return f"{WORK_PREFIX}{course_id}/{asset_id}/{generation}/"


def work_chunk(work_prefix: str, index: int) -> str:
    return f"{work_prefix}chunk-{index:05d}.json"


def work_audio(work_prefix: str, track: int | None = None) -> str:
    """EncodeAudio's manifest: one per soundtrack (``audio-{n}.json``); ``None``, the one document of every
    track that a definition with a single EncodeAudio wrote."""
    return f"{work_prefix}audio.json" if track is None else f"{work_prefix}audio-{track}.json"


def work_hls(work_prefix: str) -> str:
    return f"{work_prefix}hls/"


def work_subtitles(work_prefix: str) -> str:
    """ExtractSubtitles' staging: the video's own subtitle streams as WebVTT, and their manifest."""
    return f"{work_prefix}subs/"


def work_thumbs(work_prefix: str) -> str:
    return f"{work_prefix}{THUMBS_DIR}/"


def caption_dir(asset_id: str) -> str:
    """A caption file's own folder: its checked, sanitized whole-file WebVTT (``<track>``, transcript)."""
    return f"captions/{asset_id}"


def caption_vtt(asset_id: str) -> str:
    return f"{caption_dir(asset_id)}/track.vtt"


def subtitles_dir(video_asset_id: str) -> str:
    """The video's HLS subtitle renditions (``subs/<caption asset id>/``, ``subs/embedded-<n>/``)."""
    return f"{hls_dir(video_asset_id)}/subs"


def image_dir(asset_id: str) -> str:
    return f"images/{asset_id}"


def image_variant(asset_id: str, width: int) -> str:
    return f"{image_dir(asset_id)}/{width}.webp"


def attachment_dir(asset_id: str) -> str:
    """A handout's folder: the file under its uploaded name (served as an attachment) and, for a PDF, its
    first page's previews."""
    return f"files/{asset_id}"


def attachment_file(asset_id: str, filename: str) -> str:
    return f"{attachment_dir(asset_id)}/{filename}"


def attachment_preview(asset_id: str, width: int) -> str:
    return f"{attachment_dir(asset_id)}/preview-{width}.webp"


def lesson_page(asset_id: str) -> str:
    return f"lessons/{asset_id}.html"


def course_index() -> str:
    return "index.html"


SEARCH_DIR = "search"


def search_list() -> str:
    """The course's search list (which lessons a learner may search, in course order): written with the
    index page, from the same view, so it lists exactly the lessons the index links."""
    return "search.json"


def search_fragment(asset_id: str) -> str:
    """One lesson's searchable text, written with its page (so it always matches the page it points to)
    and removed with it."""
    return f"{SEARCH_DIR}/{asset_id}.json"
