"""Where each kind of asset is published, relative to ``courses/{courseId}/`` in the publish bucket.

One module so that the lesson renderer's link rewriting, the publishers and the docs agree.
"""

from __future__ import annotations

import posixpath

from pipeline.keys import asset_id_for

IMAGE_WIDTHS = (640,)
POSTER_WIDTHS = (320, 640, 1280)
VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".mkv", ".webm", ".m4v", ".avi"})
AUDIO_EXTENSIONS = frozenset({".mp3", ".m4a", ".wav", ".aac"})
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif"})


def media_dir(asset_id: str) -> str:
    return f"media/{asset_id}"


def hls_master(asset_id: str) -> str:
    return f"{media_dir(asset_id)}/hls/master.m3u8"


def image_dir(asset_id: str) -> str:
    return f"images/{asset_id}"


def image_variant(asset_id: str, width: int) -> str:
    return f"{image_dir(asset_id)}/{width}.webp"


def lesson_page(asset_id: str) -> str:
    return f"lessons/{asset_id}.html"


def course_index() -> str:
    return "index.html"


def published_path_for_source(path: str) -> str | None:
    """The predicted entry point of another asset of the same course, by its source path."""
    ext = posixpath.splitext(path)[1].lower()
    aid = asset_id_for(path)
    if ext in VIDEO_EXTENSIONS or ext in AUDIO_EXTENSIONS:
        return hls_master(aid)
    if ext in IMAGE_EXTENSIONS:
        return image_variant(aid, IMAGE_WIDTHS[0])
    if ext in (".md", ".markdown"):
        return lesson_page(aid)
    return None


def relative_link(from_page: str, link: str, published: dict[str, str] | None = None) -> str:
    """Rewrite a relative link in a source file at ``from_page`` to the published asset it names.

    ``published`` maps source paths to their actual published entry point (from the catalog); without
    an entry the predicted path is used. Links that leave the course or name unknown kinds stay as they are.
    """
    target, sep, fragment = link.partition("#")
    if not target or "://" in target or target.startswith(("/", "mailto:")):
        return link
    source_dir = posixpath.dirname(from_page)
    resolved = posixpath.normpath(posixpath.join(source_dir, target))
    if resolved.startswith("../") or resolved == "..":
        return link
    dest = (published or {}).get(resolved) or published_path_for_source(resolved)
    if dest is None:
        return link
    page_dir = posixpath.dirname(lesson_page("x"))
    return posixpath.relpath(dest, page_dir) + (sep + fragment if sep else "")
