"""Where each kind of asset is published, relative to ``courses/{courseId}/`` in the publish bucket.

One module so that the lesson renderer's link rewriting, the publishers and the docs agree.
"""

from __future__ import annotations

IMAGE_WIDTHS = (320, 640, 1280)
# The width a page's <img src> names (its srcset lists all of IMAGE_WIDTHS).
IMAGE_DEFAULT_WIDTH = 640
POSTER_WIDTHS = (320, 640, 1280)


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
