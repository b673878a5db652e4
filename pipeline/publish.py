"""Publishing a local output tree under one prefix of the publish bucket.

Readers must never see a mix of old and new files: children (segments, images) are written first, the
entry point (master playlist, HTML page) last, and only then are files of an earlier version that the
new one no longer references pruned.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline import layout

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from pipeline.storage import ObjectStore

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=60"


def cache_control_for(key: str) -> str:
    """Playlists, pages and thumbnails keep their names across republishes, so they may only be cached
    briefly; segments carry their source version in the name and images are per asset, so they are
    immutable."""
    if key.endswith((".m3u8", ".html", ".vtt")) or layout.is_thumbnail(key):
        return SHORT
    return IMMUTABLE


def publish_tree(
    store: ObjectStore,
    bucket: str,
    prefix: str,
    root: Path,
    files: Sequence[str],
    *,
    prune: bool = True,
) -> list[str]:
    """Upload ``files`` (relative to ``root``, entry point last) under ``prefix``; return their keys."""
    prefix = prefix.rstrip("/") + "/"
    keys: list[str] = []
    for rel in files:
        key = prefix + rel
        store.put_file(bucket, key, root / rel, cache_control=cache_control_for(key))
        keys.append(key)
    if prune:
        wanted = set(keys)
        stale = [k for k in store.list_keys(bucket, prefix) if k not in wanted]
        store.delete_keys(bucket, stale)
    return keys
