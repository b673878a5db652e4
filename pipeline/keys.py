"""Object keys: from an upload's S3 key to a course asset, and from an asset to its published paths.

Everything that turns user-controlled names into storage paths goes through here, so the rules
(NFC, no ``..``, bounded length, one URL-decoding) live in one place.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote_plus

from pipeline.errors import UnsafeKeyError

INGEST_PREFIX = "courses/"
COURSE_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
MAX_PATH_BYTES = 512
_SLUG_RE = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class AssetKey:
    """A validated ingest key: ``courses/{course_id}/{path}``."""

    course_id: str
    path: str

    @property
    def source_key(self) -> str:
        return f"{INGEST_PREFIX}{self.course_id}/{self.path}"

    @property
    def asset_id(self) -> str:
        return asset_id_for(self.path)

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name

    @property
    def publish_prefix(self) -> str:
        return f"{INGEST_PREFIX}{self.course_id}/"


def decode_event_key(raw: str) -> str:
    """Undo the URL-encoding S3 applies to keys in event notifications (``+`` is a space). Once only."""
    return unquote_plus(raw)


def parse_key(key: str) -> AssetKey:
    """Validate an ingest key (already decoded) and split it into course and path.

    Keys come from authors' file names, so anything that could escape the course folder or confuse a
    downstream path join is refused rather than "cleaned" (silent renames lose track of sources).
    """
    if not key.startswith(INGEST_PREFIX):
        raise UnsafeKeyError(
            f"'{key}' is not under '{INGEST_PREFIX}': upload files to courses/<course-id>/..."
        )
    rest = key[len(INGEST_PREFIX) :]
    course_id, sep, path = rest.partition("/")
    if not sep or not path:
        raise UnsafeKeyError(f"'{key}' has no file path after the course id: use courses/<course-id>/<file>")
    if not COURSE_ID_RE.fullmatch(course_id):
        raise UnsafeKeyError(
            f"course id '{course_id}' is not valid: use 1-63 lowercase letters, digits and '-', "
            "starting with a letter or digit"
        )
    path = unicodedata.normalize("NFC", path)
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in path):
        raise UnsafeKeyError(f"'{path}' contains control characters: rename the file")
    if "\\" in path:
        raise UnsafeKeyError(f"'{path}' contains a backslash: use '/' between folders")
    segments = path.split("/")
    if any(seg == "" for seg in segments):
        raise UnsafeKeyError(f"'{path}' has an empty folder name ('//' or a trailing '/')")
    if any(seg in (".", "..") for seg in segments):
        raise UnsafeKeyError(f"'{path}' contains '.' or '..' folders: upload it inside the course folder")
    if len(path.encode("utf-8")) > MAX_PATH_BYTES:
        raise UnsafeKeyError(f"the path '{path[:60]}...' is longer than {MAX_PATH_BYTES} bytes: shorten it")
    return AssetKey(course_id=course_id, path=path)


def slugify(text: str, max_len: int = 48) -> str:
    """ASCII slug for ids and names; non-ASCII letters are transliterated where NFKD allows."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    slug = _SLUG_RE.sub("-", ascii_text).strip("-")
    return slug[:max_len].strip("-") or "asset"


def asset_id_for(path: str) -> str:
    """Slug of the path plus a short hash of it: readable, and stable across re-uploads of one path.

    The hash keeps ``a b.md`` and ``a-b.md`` (same slug) apart.
    """
    stem = str(PurePosixPath(path).with_suffix("")) if PurePosixPath(path).suffix else path
    digest = hashlib.sha256(path.encode("utf-8")).hexdigest()[:8]
    return f"{slugify(stem)}-{digest}"


def execution_name(bucket: str, key: str, version: str | None, action: str = "") -> str:
    """Deterministic Step Functions execution name: a duplicate event maps to the same execution.

    Names allow 80 characters of ``[A-Za-z0-9-_]``; a readable slug of the file name helps operators
    find an execution in the console, the hash makes it unique per bucket + key + version.
    """
    seed = f"{bucket}\n{key}\n{version or ''}" + (f"\n{action}" if action else "")
    digest = hashlib.sha256(seed.encode()).hexdigest()[:20]
    name_part = slugify(PurePosixPath(key).name, max_len=40)
    return f"{action}-{name_part}-{digest}" if action else f"{name_part}-{digest}"
