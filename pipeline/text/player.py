"""The HLS player a lesson embeds for a course video or audio file.

Markup only, no script: the page adds one bootstrap script that plays ``data-hls-src`` natively where the
browser can (``canPlayType('application/vnd.apple.mpegurl')``) and with hls.js elsewhere. The ``<source>``
keeps the native path working without that script, and the fallback paragraph links to the stream.

The markup is inserted into a lesson after sanitizing (``<video>`` is not on the sanitizer's allow-list),
so every value here is checked and escaped on its own: URLs come from a resolver, titles from authors.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from pipeline.text.urls import safe_url

if TYPE_CHECKING:
    from pipeline.text.links import Target

PLAYABLE_KINDS = frozenset({"video", "audio"})
HLS_TYPE = "application/vnd.apple.mpegurl"


def is_playable(target: Target) -> bool:
    return target.kind in PLAYABLE_KINDS


def player_html(target: Target, *, title: str) -> str:
    """``<figure class="cp-player">`` with a ``<video>`` (or ``<audio>``) playing ``target``'s HLS stream.

    Raises ValueError if ``target`` is not a video or audio, or its ``href`` is not a safe URL (a resolver
    bug, not an author error: the caller checks both first). An unsafe poster or thumbnails URL is left out.
    """
    if not is_playable(target):
        raise ValueError(f"{target.path} is a {target.kind}, not a video or audio")
    master = safe_url(target.href)
    if master is None:
        raise ValueError(f"{target.path}: unsafe player URL {target.href!r}")
    src = escape(master, quote=True)
    caption = escape(title.strip() or target.path, quote=False)
    fallback = (
        f"<p>Your browser cannot play this {target.kind}. "
        f'<a href="{src}" rel="noopener noreferrer">Open the stream</a>.</p>'
    )
    source = f'<source src="{src}" type="{HLS_TYPE}">'
    if target.kind == "audio":
        media = f'<audio controls preload="metadata" data-hls-src="{src}">{source}{fallback}</audio>'
    else:
        attrs = ' controls playsinline preload="metadata"'
        poster = safe_url(target.poster) if target.poster else None
        if poster is not None:
            attrs += f' poster="{escape(poster, quote=True)}"'
        track = ""
        thumbnails = safe_url(target.thumbnails) if target.thumbnails else None
        if thumbnails is not None:
            track = f'<track kind="metadata" label="thumbnails" src="{escape(thumbnails, quote=True)}">'
        media = f'<video{attrs} data-hls-src="{src}">{source}{track}{fallback}</video>'
    return f'<figure class="cp-player">{media}<figcaption>{caption}</figcaption></figure>'
