"""Catalog vocabulary: the item shapes downstream apps read.

Single table: ``PK=COURSE#{courseId}``; ``SK=COURSE`` for the course record, ``SK=ASSET#{assetId}`` for
each uploaded file. ``status`` + ``updatedAt`` feed the ``ByStatus`` index (operators: "all FAILED").
Enrolments have their own partition per course, ``PK=ENROLL#{courseId}``, ``SK=USER#{sub}``, so no read of a
course (the API, every lesson render) ever touches them (SCHEMA.md, schema 3).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

SCHEMA_VERSION = 3
# The one value of ``courseList`` (only course records carry it): the hash key of the sparse ``Courses``
# index, which is the paginated course list.
COURSE_LIST = "ALL"


class AssetStatus(StrEnum):
    UPLOADED = "UPLOADED"
    PROCESSING = "PROCESSING"
    PUBLISHED = "PUBLISHED"
    FAILED = "FAILED"
    DELETED = "DELETED"


class Claim(StrEnum):
    """What an upload event's catalog write found, which decides whether an execution starts."""

    WRITTEN = "WRITTEN"  # this version is now the asset's current version
    DUPLICATE = "DUPLICATE"  # this very version is already recorded: a redelivered event
    SUPERSEDED = "SUPERSEDED"  # a newer upload or deletion of the path is recorded: this event is stale


@dataclass(frozen=True)
class SourceRef:
    """The exact uploaded object an execution works on (a version, not just a key)."""

    bucket: str
    key: str
    version_id: str | None = None
    etag: str | None = None
    size: int | None = None
    sequencer: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceRef:
        return cls(
            bucket=str(data["bucket"]),
            key=str(data["key"]),
            version_id=data.get("versionId"),
            etag=data.get("etag"),
            size=int(data["size"]) if data.get("size") is not None else None,
            sequencer=data.get("sequencer"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "key": self.key,
            "versionId": self.version_id,
            "etag": self.etag,
            "size": self.size,
            "sequencer": self.sequencer,
        }


def course_pk(course_id: str) -> str:
    return f"COURSE#{course_id}"


def asset_sk(asset_id: str) -> str:
    return f"ASSET#{asset_id}"


# A course partition holds the course record (``COURSE``) and its assets (``ASSET#...``), which sort between
# these two bounds: course queries name them in the key condition, so whatever else a partition may hold
# (schema 2's enrolments until they are migrated) is never read, not even to be filtered out.
COURSE_SK_FIRST = "ASSET#"
COURSE_SK_LAST = "COURSE"


def enroll_pk(course_id: str) -> str:
    return f"ENROLL#{course_id}"


def user_sk(user_id: str) -> str:
    return f"USER#{user_id}"


LEGACY_ENROLL_PREFIX = "ENROLL#"
"""Schema 2 kept enrolments in the course partition, ``SK=ENROLL#{sub}`` (``coursepipe migrate-enrollments``
moves them)."""


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalize_sequencer(sequencer: str | None) -> str:
    """S3 sequencers are hex strings of varying length. S3's rule for ordering two of them: right-pad the
    shorter with zeros, then compare as strings (the leading digits are the time). Stored padded, so a
    DynamoDB condition ``sequencer < :seq`` is that comparison."""
    return (sequencer or "").upper().ljust(32, "0")


class Catalog(Protocol):
    """The catalog port; ``DynamoCatalog`` is the adapter."""

    def record_uploaded(
        self, course_id: str, asset_id: str, path: str, source: SourceRef, execution_name: str
    ) -> Claim: ...

    def mark_processing(
        self, course_id: str, asset_id: str, source: SourceRef, kind: str, execution_arn: str | None
    ) -> bool: ...

    def record_published(
        self,
        course_id: str,
        asset_id: str,
        source: SourceRef,
        kind: str,
        outputs: list[str],
        details: dict[str, Any],
    ) -> bool: ...

    def record_failed(
        self,
        course_id: str,
        asset_id: str,
        source: SourceRef,
        error: str,
        message: str,
        execution_arn: str | None = None,
    ) -> bool: ...

    def record_deleted(
        self, course_id: str, asset_id: str, path: str, deletion: SourceRef, *, permanent: bool
    ) -> dict[str, Any] | None: ...

    def mark_course_deleted(self, course_id: str, deletion: SourceRef) -> bool: ...

    def get_asset(self, course_id: str, asset_id: str) -> dict[str, Any] | None: ...

    def is_enrolled(self, course_id: str, user_id: str) -> bool: ...

    def record_downloads(
        self,
        course_id: str,
        asset_id: str,
        source: SourceRef,
        course_sequencer: str | None,
        downloads: dict[str, Any] | None,
        outputs: list[str],
    ) -> bool: ...

    def put_course(self, course_id: str, record: dict[str, Any], source: SourceRef) -> bool: ...

    def course_items(self, course_id: str) -> list[dict[str, Any]]: ...
