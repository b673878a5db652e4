"""Publishing a local output tree under one prefix of the publish bucket.

Readers must never see a mix of old and new files: children (segments, images) are written first, the
entry point (master playlist, HTML page) last, and only then are files of an earlier version that the
new one no longer references pruned.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING
from urllib.parse import quote

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
    if key.endswith((".m3u8", ".html", ".vtt")) or layout.is_thumbnail(key) or layout.is_download(key):
        return SHORT
    return IMMUTABLE


# What the ASCII fallback keeps: no quote or backslash (they end or escape the quoted-string), no "%"
# (some browsers percent-decode ``filename``), no control characters.
_FALLBACK_UNSAFE = re.compile(r"[^A-Za-z0-9 ._()+,;=@!#$&'~-]")


def attachment_disposition(filename: str) -> str:
    """``Content-Disposition`` that makes a browser save the object as ``filename`` (RFC 6266).

    HTTP header values are ASCII, and a lecture is often named in the author's language: ``filename`` is
    an ASCII fallback (accents dropped, anything else ``_``), and ``filename*`` carries the real name in
    UTF-8, percent-encoded (RFC 8187, formerly 5987), which every current browser prefers.
    """
    name = unicodedata.normalize("NFC", filename).strip() or "download"
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    fallback_stem = " ".join(_FALLBACK_UNSAFE.sub("_", ascii_stem).split()).strip(" .") or "download"
    fallback_ext = _FALLBACK_UNSAFE.sub("_", ext)
    fallback = f"{fallback_stem}.{fallback_ext}" if fallback_ext else fallback_stem
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


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
