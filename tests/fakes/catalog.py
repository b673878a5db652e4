"""``FakeCatalog``: the ``Catalog`` port in memory, refusing exactly the writes ``DynamoCatalog`` refuses.

Each method is ``DynamoCatalog``'s: the same fields written, the same attributes removed, and the same
``ConditionExpression`` evaluated in Python with DynamoDB's rules for a missing attribute (``=``, ``<``,
``<=`` are false, ``<>`` is true). Items come back as ``deserialize`` returns them: ``None`` inside maps
dropped, whole floats as ints, ``PK``/``SK`` included, fresh copies. ``tests/integration/
test_fakes_contract.py`` runs one scenario table against both and compares, so the two cannot drift.
"""

from __future__ import annotations

import copy
import threading
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath
from typing import Any

from pipeline.catalog.model import (
    COURSE_LIST,
    COURSE_SK_FIRST,
    COURSE_SK_LAST,
    LEGACY_ENROLL_PREFIX,
    SCHEMA_VERSION,
    AssetStatus,
    Claim,
    SourceRef,
    asset_sk,
    course_pk,
    enroll_pk,
    normalize_sequencer,
    now_iso,
    user_sk,
)

Item = dict[str, Any]
Key = tuple[str, str]
Condition = Callable[[Item | None], bool]

_DELETED = AssetStatus.DELETED.value
_PUBLISHED = AssetStatus.PUBLISHED.value


def stored(value: Any) -> Any:
    """``value`` as it reads back after ``_to_dynamo`` + ``deserialize``: ``None`` in maps vanishes (a
    top-level ``None`` attribute is kept as NULL), whole floats become ints, tuples lists."""
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {k: stored(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [stored(v) for v in value]
    return value


# DynamoDB comparisons on a possibly missing attribute (moto and DynamoDB agree).
def _get(item: Item | None, *path: str) -> Any:
    value: Any = item
    for name in path:
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


def _eq(item: Item | None, value: Any, *path: str) -> bool:
    found = _get(item, *path)
    return found is not None and bool(found == value)


def _ne(item: Item | None, value: Any, *path: str) -> bool:
    return not _eq(item, value, *path)


def _lt(item: Item | None, value: str, *path: str) -> bool:
    found = _get(item, *path)
    return isinstance(found, str) and found < value


def _le(item: Item | None, value: str, *path: str) -> bool:
    found = _get(item, *path)
    return isinstance(found, str) and found <= value


def _exists(item: Item | None) -> bool:
    return item is not None


class FakeCatalog:
    """Items keyed by (PK, SK); every asset and course write goes through one conditional ``_update``."""

    def __init__(self) -> None:
        self.items: dict[Key, Item] = {}
        self.writes: list[tuple[str, str, bool]] = []
        """(method, SK, written) per conditional write: what a test asserts was tried and refused."""
        self._lock = threading.Lock()
        self.on_get: Callable[[str, str], None] | None = None
        """Called before every ``get_asset``: a test's hook to act between a use case's reads."""

    # ------------------------------------------------------------------------------ the engine
    def _update(
        self,
        method: str,
        key: Key,
        fields: dict[str, Any],
        condition: Condition,
        *,
        remove: tuple[str, ...] = (),
    ) -> tuple[bool, Item | None]:
        """UpdateItem with ALL_OLD either way: (written, the item before)."""
        with self._lock:
            old = self.items.get(key)
            before = copy.deepcopy(old) if old is not None else None
            ok = condition(old)
            self.writes.append((method, key[1], ok))
            if not ok:
                return False, before
            item: Item = copy.deepcopy(old) if old is not None else {"PK": key[0], "SK": key[1]}
            item.update({name: stored(v) for name, v in fields.items()})
            for name in remove:
                item.pop(name, None)
            self.items[key] = item
            return True, before

    @staticmethod
    def _key(course_id: str, sk: str) -> Key:
        return (course_pk(course_id), sk)

    def _asset_fields(
        self, course_id: str, asset_id: str, source: SourceRef, status: AssetStatus, **extra: Any
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "courseId": course_id,
            "assetId": asset_id,
            "sourceKey": source.key,
            "sourceBucket": source.bucket,
            "sourceVersion": source.version_id or "null",
            "sourceEtag": source.etag,
            "sourceSize": source.size,
            "sequencer": normalize_sequencer(source.sequencer),
            "status": status.value,
            "updatedAt": now_iso(),
            "schemaVersion": SCHEMA_VERSION,
            "entity": "ASSET",
        }
        fields.update(extra)
        return {k: v for k, v in fields.items() if v is not None}

    def _write_asset(
        self,
        method: str,
        course_id: str,
        asset_id: str,
        source: SourceRef,
        status: AssetStatus,
        *,
        new_upload: bool,
        remove: tuple[str, ...] = (),
        **extra: Any,
    ) -> tuple[bool, Item | None]:
        seq = normalize_sequencer(source.sequencer)
        ver = source.version_id or "null"

        def upload(i: Item | None) -> bool:
            # attribute_not_exists(PK) OR #seq < :seq OR (#seq = :seq AND #ver <> :ver)
            return (
                not _exists(i)
                or _lt(i, seq, "sequencer")
                or (_eq(i, seq, "sequencer") and _ne(i, ver, "sourceVersion"))
            )

        def own_run(i: Item | None) -> bool:
            # attribute_not_exists(PK) OR (#seq = :seq AND #ver = :ver AND #st <> :deleted
            #                              [AND #st <> :published  -- FAILED only])
            mine = _eq(i, seq, "sequencer") and _eq(i, ver, "sourceVersion") and _ne(i, _DELETED, "status")
            if status is AssetStatus.FAILED:
                mine = mine and _ne(i, _PUBLISHED, "status")
            return not _exists(i) or mine

        fields = self._asset_fields(course_id, asset_id, source, status, **extra)
        key = self._key(course_id, asset_sk(asset_id))
        return self._update(method, key, fields, upload if new_upload else own_run, remove=remove)

    # ------------------------------------------------------------------------------ Catalog
    def record_uploaded(
        self, course_id: str, asset_id: str, path: str, source: SourceRef, execution_name: str
    ) -> Claim:
        written, old = self._write_asset(
            "record_uploaded",
            course_id,
            asset_id,
            source,
            AssetStatus.UPLOADED,
            new_upload=True,
            path=path,
            name=PurePosixPath(path).name,
            executionName=execution_name,
            uploadedAt=now_iso(),
            remove=("error", "failedAt", "deletedAt", "removedOutputs", "deletion"),
        )
        if written:
            return Claim.WRITTEN
        if (
            old is not None
            and old.get("sequencer") == normalize_sequencer(source.sequencer)
            and old.get("sourceVersion") == (source.version_id or "null")
        ):
            return Claim.DUPLICATE
        return Claim.SUPERSEDED

    def mark_processing(
        self, course_id: str, asset_id: str, source: SourceRef, kind: str, execution_arn: str | None
    ) -> bool:
        written, _ = self._write_asset(
            "mark_processing",
            course_id,
            asset_id,
            source,
            AssetStatus.PROCESSING,
            new_upload=False,
            kind=kind,
            executionArn=execution_arn,
            path=unicodedata.normalize("NFC", source.key.split("/", 2)[2]),
            name=unicodedata.normalize("NFC", PurePosixPath(source.key).name),
        )
        return written

    def record_published(
        self,
        course_id: str,
        asset_id: str,
        source: SourceRef,
        kind: str,
        outputs: list[str],
        details: dict[str, Any],
    ) -> bool:
        written, _ = self._write_asset(
            "record_published",
            course_id,
            asset_id,
            source,
            AssetStatus.PUBLISHED,
            new_upload=False,
            kind=kind,
            outputs=outputs,
            details=details,
            publishedAt=now_iso(),
            remove=("error",),
        )
        return written

    def record_failed(
        self,
        course_id: str,
        asset_id: str,
        source: SourceRef,
        error: str,
        message: str,
        execution_arn: str | None = None,
    ) -> bool:
        written, _ = self._write_asset(
            "record_failed",
            course_id,
            asset_id,
            source,
            AssetStatus.FAILED,
            new_upload=False,
            error={"name": error, "message": message},
            executionArn=execution_arn,
            failedAt=now_iso(),
        )
        return written

    def record_deleted(
        self, course_id: str, asset_id: str, path: str, deletion: SourceRef, *, permanent: bool
    ) -> Item | None:
        seq = normalize_sequencer(deletion.sequencer)
        version = deletion.version_id or "null"
        key = self._key(course_id, asset_sk(asset_id))
        fields: dict[str, Any] = {
            "courseId": course_id,
            "assetId": asset_id,
            "path": path,
            "name": PurePosixPath(path).name,
            "sourceKey": deletion.key,
            "sourceBucket": deletion.bucket,
            "status": _DELETED,
            "updatedAt": now_iso(),
            "deletedAt": now_iso(),
            "schemaVersion": SCHEMA_VERSION,
            "entity": "ASSET",
            "deletion": {"versionId": version, "sequencer": seq, "permanent": permanent},
        }

        def this_deletion(i: Item | None) -> bool:
            return _eq(i, seq, "deletion", "sequencer")

        if permanent:
            # attribute_exists(PK) AND #ver = :ver AND (#st <> :deleted OR #del.#dseq = :seq)
            def condition(i: Item | None) -> bool:
                return (
                    _exists(i)
                    and _eq(i, version, "sourceVersion")
                    and (_ne(i, _DELETED, "status") or this_deletion(i))
                )

        else:
            fields.update(sourceVersion=version, sequencer=seq)

            # attribute_not_exists(PK) OR #seq < :seq OR (#seq = :seq AND #ver = :ver)
            def condition(i: Item | None) -> bool:
                return (
                    not _exists(i)
                    or _lt(i, seq, "sequencer")
                    or (_eq(i, seq, "sequencer") and _eq(i, version, "sourceVersion"))
                )

        written, old = self._update("record_deleted", key, fields, condition)
        if not written:
            return None
        old = old or {}
        if old.get("status") != _DELETED:
            removed = [str(o) for o in old.get("outputs") or []]
            self._update(
                "record_deleted",
                key,
                {"removedOutputs": removed, "outputs": []},
                # #st = :deleted AND #del.#dseq = :seq
                lambda i: _eq(i, _DELETED, "status") and this_deletion(i),
            )
        return old

    def record_downloads(
        self,
        course_id: str,
        asset_id: str,
        source: SourceRef,
        course_sequencer: str | None,
        downloads: dict[str, Any] | None,
        outputs: list[str],
    ) -> bool:
        key = self._key(course_id, asset_sk(asset_id))
        with self._lock:
            course, item = self.items.get(self._key(course_id, "COURSE")), self.items.get(key)
            # ConditionCheck: #seq = :seq, or attribute_not_exists(PK) without a sequencer
            decided = (
                not _exists(course)
                if course_sequencer is None
                else _eq(course, course_sequencer, "sequencer")
            )
            # Update: #ver = :ver AND #st = :published AND attribute_exists(#d)
            mine = (
                _eq(item, source.version_id or "null", "sourceVersion")
                and _eq(item, _PUBLISHED, "status")
                and _get(item, "details") is not None
            )
            ok = decided and mine
            self.writes.append(("record_downloads", asset_sk(asset_id), ok))
            if not ok or item is None:
                return False
            item["outputs"] = stored(outputs)
            item["updatedAt"] = now_iso()
            if downloads is None:
                item["details"].pop("downloads", None)
            else:
                item["details"]["downloads"] = stored(downloads)
            return True

    def put_course(self, course_id: str, record: dict[str, Any], source: SourceRef) -> bool:
        fields = dict(record)
        seq = normalize_sequencer(source.sequencer)
        fields.update(
            {
                "courseId": course_id,
                "entity": "COURSE",
                "courseList": COURSE_LIST,
                "manifestKey": source.key,
                "manifestVersion": source.version_id or "null",
                "sequencer": seq,
                "updatedAt": now_iso(),
                "schemaVersion": SCHEMA_VERSION,
            }
        )
        optional = ("deletedAt", "description", "cover", "coverPath", "pending")
        written, _ = self._update(
            "put_course",
            self._key(course_id, "COURSE"),
            fields,
            # attribute_not_exists(PK) OR #seq <= :seq
            lambda i: not _exists(i) or _le(i, seq, "sequencer"),
            remove=tuple(f for f in optional if f not in fields),
        )
        return written

    def mark_course_deleted(self, course_id: str, deletion: SourceRef) -> bool:
        seq = normalize_sequencer(deletion.sequencer)
        written, _ = self._update(
            "mark_course_deleted",
            self._key(course_id, "COURSE"),
            {"status": _DELETED, "deletedAt": now_iso(), "updatedAt": now_iso(), "sequencer": seq},
            # attribute_exists(PK) AND #seq <= :seq
            lambda i: _exists(i) and _le(i, seq, "sequencer"),
        )
        return written

    def get_asset(self, course_id: str, asset_id: str) -> Item | None:
        if self.on_get is not None:
            self.on_get(course_id, asset_id)
        return self._read(self._key(course_id, asset_sk(asset_id)))

    def course_items(self, course_id: str) -> list[Item]:
        """The Query ``SK BETWEEN ASSET# AND COURSE`` of the course partition, in sort-key order."""
        pk = course_pk(course_id)
        with self._lock:
            found = [
                copy.deepcopy(item)
                for (p, sk), item in self.items.items()
                if p == pk and COURSE_SK_FIRST <= sk <= COURSE_SK_LAST
            ]
        return sorted(found, key=lambda i: str(i["SK"]).encode())

    # ------------------------------------------------------------------------------ enrolments
    def _enrollment(self, course_id: str, user_id: str, role: str, enrolled_at: str) -> Item:
        return {
            "PK": enroll_pk(course_id),
            "SK": user_sk(user_id),
            "courseId": course_id,
            "userId": user_id,
            "role": role,
            "entity": "ENROLL",
            "enrolledAt": enrolled_at,
            "schemaVersion": SCHEMA_VERSION,
        }

    def enroll(self, course_id: str, user_id: str, *, role: str = "learner") -> None:
        item = self._enrollment(course_id, user_id, role, now_iso())
        with self._lock:
            self.items[(item["PK"], item["SK"])] = item

    def enroll_many(self, course_id: str, user_ids: Iterable[str], *, role: str = "learner") -> int:
        users = list(dict.fromkeys(user_ids))
        for user in users:
            self.enroll(course_id, user, role=role)
        return len(users)

    def unenroll(self, course_id: str, user_id: str) -> None:
        with self._lock:
            self.items.pop((enroll_pk(course_id), user_sk(user_id)), None)
            self.items.pop((course_pk(course_id), LEGACY_ENROLL_PREFIX + user_id), None)

    def is_enrolled(self, course_id: str, user_id: str) -> bool:
        with self._lock:
            return (enroll_pk(course_id), user_sk(user_id)) in self.items

    def enrollments(self, course_id: str) -> list[Item]:
        pk = enroll_pk(course_id)
        with self._lock:
            found = [copy.deepcopy(i) for (p, _), i in self.items.items() if p == pk]
        return sorted(found, key=lambda i: str(i["SK"]).encode())

    def all_items(self) -> list[Item]:
        with self._lock:
            found = [copy.deepcopy(i) for i in self.items.values()]
        return sorted(found, key=lambda i: (str(i.get("PK")), str(i.get("SK"))))

    # ------------------------------------------------------------------------------ test helpers
    def _read(self, key: Key) -> Item | None:
        with self._lock:
            item = self.items.get(key)
            return copy.deepcopy(item) if item is not None else None

    def asset(self, course_id: str, asset_id: str) -> Item:
        """The asset item, which the test expects to exist (no hook, unlike ``get_asset``)."""
        item = self._read(self._key(course_id, asset_sk(asset_id)))
        assert item is not None, f"no catalog item for {course_id}/{asset_id}"
        return item

    def course(self, course_id: str) -> Item | None:
        return self._read(self._key(course_id, "COURSE"))
