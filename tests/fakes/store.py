"""``FakeObjectStore``: the ``ObjectStore`` port in memory, with the S3 behaviour the use cases rely on.

What matters to the claim/prune/unpublish logic is modelled as S3 does it (the contract test in
``tests/integration/test_fakes_contract.py`` checks these against moto): a versioned bucket keeps every
version and a delete only adds a delete marker; ``head``/``read_range``/``download`` address a version by id;
``list_keys`` is in key order and skips keys whose latest version is a delete marker; ``modified_before``
compares ``LastModified`` as a listing reports it, truncated to the second. Every write records its
Content-Type (from ``content_types``, as the adapter sets it), Cache-Control and Content-Disposition,
and the order of writes is kept so a test can assert which file went last.

The clock is the wall clock plus ``offset``: use cases take their own ``datetime.now`` (PackageHls's claim
time), so a test moves the store's writes into the past or the future with ``travel`` rather than
replacing time.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pipeline.catalog.model import SourceRef
from pipeline.content_types import content_type_for
from pipeline.errors import SourceNotFoundError
from pipeline.storage import ObjectInfo

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from pathlib import Path


class NoSuchKeyError(KeyError):
    """``get_bytes``/``copy`` of a missing object: the adapter lets S3's ``NoSuchKey`` through (a pipeline
    fault, not an author's mistake), so the fake raises instead of translating."""


@dataclass(frozen=True)
class StoredVersion:
    """One version of one key (``data is None``: a delete marker)."""

    key: str
    version_id: str | None
    data: bytes | None
    etag: str
    last_modified: datetime
    content_type: str | None
    cache_control: str | None
    sequencer: str
    content_disposition: str | None = None

    @property
    def is_delete_marker(self) -> bool:
        return self.data is None

    @property
    def listed_modified(self) -> datetime:
        """``LastModified`` as ListObjectsV2 reports it: whole seconds."""
        return self.last_modified.replace(microsecond=0)


@dataclass(frozen=True)
class Write:
    """One mutation, in order: ``put``, ``copy`` or ``delete``."""

    op: str
    bucket: str
    key: str
    cache_control: str | None = None
    content_disposition: str | None = None


@dataclass
class FakeObjectStore:
    """Buckets named in ``versioned`` keep versions (the ingest bucket); the others overwrite."""

    versioned: frozenset[str] = frozenset()
    offset: timedelta = timedelta(0)
    writes: list[Write] = field(default_factory=list)
    _objects: dict[tuple[str, str], list[StoredVersion]] = field(default_factory=dict)
    _counter: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    on_write: Callable[[Write], None] | None = None
    """Called after every mutation (outside the lock): a test's hook to act "while" a use case runs."""

    # ------------------------------------------------------------------------------ test helpers
    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def travel(self, seconds: float) -> None:
        """Move the store's clock (what later writes record as LastModified)."""
        self.offset += timedelta(seconds=seconds)

    def upload(self, bucket: str, key: str, data: bytes, *, version_id: str | None = None) -> SourceRef:
        """An author's upload: the exact version, as an S3 event would describe it (``version_id`` names
        it when a test wants a readable id; S3 picks one otherwise)."""
        self._write(Write("put", bucket, key), data, version_id)
        latest = self.latest(bucket, key)
        assert latest is not None
        return SourceRef(bucket, key, latest.version_id, latest.etag, len(data), sequencer=latest.sequencer)

    def remove(self, bucket: str, key: str) -> SourceRef:
        """An author's delete: a delete marker in a versioned bucket, as the deletion event names it."""
        self.delete_keys(bucket, [key])
        latest = self._versions(bucket, key)[-1:]
        marker = latest[0] if latest else None
        return SourceRef(
            bucket,
            key,
            marker.version_id if marker else None,
            sequencer=marker.sequencer if marker else self._next_sequencer(),
        )

    def latest(self, bucket: str, key: str) -> StoredVersion | None:
        """The current version, or None when the key is absent or its latest version is a delete marker."""
        versions = self._versions(bucket, key)
        if not versions or versions[-1].is_delete_marker:
            return None
        return versions[-1]

    def versions(self, bucket: str, key: str) -> list[StoredVersion]:
        """Every version, oldest first (delete markers included)."""
        return list(self._versions(bucket, key))

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        return list(self.list_keys(bucket, prefix))

    def data(self, bucket: str, key: str) -> bytes | None:
        latest = self.latest(bucket, key)
        return latest.data if latest else None

    def seed(self, bucket: str, key: str, data: bytes, *, age_s: float = 0.0) -> None:
        """An object written ``age_s`` seconds ago (an earlier version's files), not logged in ``writes``."""
        when = self.now() - timedelta(seconds=age_s)
        with self._lock:
            self._store(bucket, key, data, None, when)

    # ------------------------------------------------------------------------------ ObjectStore
    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectInfo | None:
        found = self._find(bucket, key, version_id)
        if found is None or found.data is None:
            return None
        return ObjectInfo(key, len(found.data), found.etag, found.version_id, found.content_type)

    def download(self, bucket: str, key: str, dest: Path, version_id: str | None = None) -> Path:
        found = self._find(bucket, key, version_id)
        if found is None or found.data is None:
            raise SourceNotFoundError(
                f"'{key}' (version {version_id or 'latest'}) is no longer in the bucket"
            )
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(found.data)
        return dest

    def read_range(self, bucket: str, key: str, length: int, version_id: str | None = None) -> bytes:
        found = self._find(bucket, key, version_id)
        if found is None or found.data is None:
            raise SourceNotFoundError(f"'{key}' is no longer in the bucket")
        return found.data[:length]

    def get_bytes(self, bucket: str, key: str) -> bytes:
        found = self.latest(bucket, key)
        if found is None or found.data is None:
            raise NoSuchKeyError(f"{bucket}/{key}")
        return found.data

    def copy(self, bucket: str, source_key: str, key: str, *, cache_control: str | None = None) -> None:
        data = self.get_bytes(bucket, source_key)
        self._write(Write("copy", bucket, key, cache_control), data)

    def put_file(
        self,
        bucket: str,
        key: str,
        path: Path,
        *,
        cache_control: str | None = None,
        content_disposition: str | None = None,
    ) -> None:
        self._write(Write("put", bucket, key, cache_control, content_disposition), path.read_bytes())

    def put_bytes(self, bucket: str, key: str, data: bytes, *, cache_control: str | None = None) -> None:
        self._write(Write("put", bucket, key, cache_control), data)

    def read_object(self, bucket: str, key: str) -> tuple[bytes, str] | None:
        found = self.latest(bucket, key)
        if found is None or found.data is None:
            return None
        return found.data, found.etag

    def replace_bytes(
        self, bucket: str, key: str, data: bytes, *, etag: str, cache_control: str | None = None
    ) -> bool:
        return self._write(Write("put", bucket, key, cache_control), data, expect_etag=etag)

    def list_keys(
        self, bucket: str, prefix: str, *, modified_before: datetime | None = None
    ) -> Iterator[str]:
        with self._lock:
            current = [
                (key, versions[-1])
                for (b, key), versions in self._objects.items()
                if b == bucket and key.startswith(prefix) and versions and not versions[-1].is_delete_marker
            ]
        current.sort(key=lambda kv: kv[0].encode())  # S3 lists in UTF-8 byte order
        for key, latest in current:
            if modified_before is None or latest.listed_modified < modified_before:
                yield key

    def delete_keys(self, bucket: str, keys: Iterable[str]) -> None:
        for key in list(keys):
            self._write(Write("delete", bucket, key), None)

    # ------------------------------------------------------------------------------ internals
    def _versions(self, bucket: str, key: str) -> list[StoredVersion]:
        with self._lock:
            return list(self._objects.get((bucket, key), []))

    def _find(self, bucket: str, key: str, version_id: str | None) -> StoredVersion | None:
        if not version_id or version_id == "null":  # the adapter sends no VersionId for these
            return self.latest(bucket, key)
        return next((v for v in self._versions(bucket, key) if v.version_id == version_id), None)

    def _next_sequencer(self) -> str:
        self._counter += 1
        return f"{self._counter:016X}"

    def _store(
        self,
        bucket: str,
        key: str,
        data: bytes | None,
        cache_control: str | None,
        when: datetime,
        version_id: str | None = None,
        content_disposition: str | None = None,
    ) -> None:
        versions = self._objects.setdefault((bucket, key), [])
        sequencer = self._next_sequencer()
        if bucket in self.versioned:
            version_id = version_id or f"v{self._counter:06d}"
        else:
            version_id = None
            if data is None:
                self._objects.pop((bucket, key), None)
                return
            versions.clear()
        etag = hashlib.md5(data).hexdigest() if data is not None else ""  # noqa: S324  (S3's ETag)
        versions.append(
            StoredVersion(
                key=key,
                version_id=version_id,
                data=data,
                etag=etag,
                last_modified=when,
                content_type=content_type_for(key) if data is not None else None,
                cache_control=cache_control,
                sequencer=sequencer,
                content_disposition=content_disposition if data is not None else None,
            )
        )

    def _write(
        self, write: Write, data: bytes | None, version_id: str | None = None, expect_etag: str | None = None
    ) -> bool:
        with self._lock:
            if data is None and not self._objects.get((write.bucket, write.key)):
                # Deleting what was never there writes nothing (moto adds no delete marker for it either).
                return False
            if expect_etag is not None:
                versions = self._objects.get((write.bucket, write.key)) or []
                if not versions or versions[-1].is_delete_marker or versions[-1].etag != expect_etag:
                    return False  # S3's 412 Precondition Failed (If-Match)
            self._store(
                write.bucket,
                write.key,
                data,
                write.cache_control,
                self.now(),
                version_id,
                content_disposition=write.content_disposition,
            )
            self.writes.append(write)
        if self.on_write is not None:
            self.on_write(write)
        return True
