"""``DynamoCatalog``: the catalog on DynamoDB.

Every write is conditional on the S3 sequencer, so events delivered out of order or twice cannot let an
older upload overwrite a newer one, and a retried step rewrites the same item harmlessly. A refused write
returns ``False`` (the caller's version was superseded) instead of raising: that is not an error of the
asset, just a stale execution.
"""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

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
from pipeline.errors import PipelineError

if TYPE_CHECKING:  # the stubs are a dev dependency; Lambda has only boto3
    from collections.abc import Iterable

    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import ConditionCheckTypeDef, UpdateTypeDef

_ser = TypeSerializer()
_deser = TypeDeserializer()
# BatchWriteItem takes at most 25 requests; UnprocessedItems are part of its answer (asked again a few times).
_BATCH = 25
_BATCH_ATTEMPTS = 5
_BATCH_BACKOFF_S = 0.05


class CatalogBusyError(PipelineError):
    """The table kept part of a batch write unprocessed through every attempt (throttling): run it again."""


@dataclass(frozen=True)
class EnrollmentMigration:
    """What ``migrate_legacy_enrollments`` found and did (counts of schema 2 enrolment items)."""

    found: int
    copied: int
    already_present: int
    removed: int
    dry_run: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "found": self.found,
            "copied": self.copied,
            "alreadyPresent": self.already_present,
            "removed": self.removed,
            "dryRun": self.dry_run,
        }


def _to_dynamo(value: Any) -> Any:
    """Floats are not allowed by DynamoDB: carry them as Decimal."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_to_dynamo(v) for v in value]
    return value


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo(v) for v in value]
    return value


def _code(exc: ClientError) -> str:
    response: Any = exc.response
    return str(response.get("Error", {}).get("Code", ""))


def _only_conditions(exc: ClientError) -> bool:
    """A cancelled transaction whose every refusal is a condition (not a conflict or throttling, which
    are transient and retried by the state machine)."""
    response: Any = exc.response
    reasons = [str(r.get("Code") or "None") for r in response.get("CancellationReasons") or []]
    return bool(reasons) and all(r in ("None", "ConditionalCheckFailed") for r in reasons)


# Attribute names the conditions use (``#del.#dseq`` is the deletion's sequencer).
_CONDITION_NAMES = {
    "#seq": "sequencer",
    "#ver": "sourceVersion",
    "#st": "status",
    "#del": "deletion",
    "#dseq": "sequencer",
}


class DynamoCatalog:
    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._db = dynamodb
        self._table = table

    def _key(self, course_id: str, sk: str) -> dict[str, Any]:
        return {"PK": {"S": course_pk(course_id)}, "SK": {"S": sk}}

    def _update(
        self,
        key: dict[str, Any],
        fields: dict[str, Any],
        condition: str,
        cond_values: dict[str, Any],
        *,
        remove: tuple[str, ...] = (),
    ) -> tuple[bool, dict[str, Any] | None]:
        """One conditional UpdateItem; returns (written, the item as it was before).

        The old item comes back either way (ALL_OLD on success, ReturnValuesOnConditionCheckFailure on a
        refusal), so callers learn *why* a write was refused without a second read.
        """
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        values = {f":v{i}": _ser.serialize(_to_dynamo(v)) for i, v in enumerate(fields.values())}
        values.update({k: _ser.serialize(_to_dynamo(v)) for k, v in cond_values.items() if k in condition})
        expression = "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields)))
        if remove:
            names.update({f"#r{i}": name for i, name in enumerate(remove)})
            expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(remove)))
        names.update({alias: name for alias, name in _CONDITION_NAMES.items() if alias in condition})
        try:
            resp = self._db.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            response: Any = exc.response
            if response.get("Error", {}).get("Code", "") == "ConditionalCheckFailedException":
                old = response.get("Item")
                return False, deserialize(old) if old else None
            raise
        old = resp.get("Attributes")
        return True, deserialize(old) if old else None

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
        course_id: str,
        asset_id: str,
        source: SourceRef,
        status: AssetStatus,
        *,
        new_upload: bool,
        remove: tuple[str, ...] = (),
        **extra: Any,
    ) -> tuple[bool, dict[str, Any] | None]:
        """An upload event may replace an item of an older upload (smaller sequencer; the version id
        breaks ties, since the same version redelivered must not reset a finished asset to UPLOADED).
        Every later step only touches the item of its own source version."""
        fields = self._asset_fields(course_id, asset_id, source, status, **extra)
        cond_values: dict[str, Any] = {
            ":seq": normalize_sequencer(source.sequencer),
            ":ver": source.version_id or "null",
            ":deleted": AssetStatus.DELETED.value,
            ":published": AssetStatus.PUBLISHED.value,
        }
        if new_upload:
            condition = "attribute_not_exists(PK) OR #seq < :seq OR (#seq = :seq AND #ver <> :ver)"
        else:
            # Only this version's own run, and never once it is deleted (a permanent deletion keeps the
            # version's sequencer, so the status is what stops a run still in flight).
            condition = "attribute_not_exists(PK) OR (#seq = :seq AND #ver = :ver AND #st <> :deleted)"
            if status is AssetStatus.FAILED:
                # A step after the catalog write (publishing its event) failing must not turn a published
                # version FAILED: its files are live and listed.
                condition = condition[:-1] + " AND #st <> :published)"
        return self._update(
            self._key(course_id, asset_sk(asset_id)), fields, condition, cond_values, remove=remove
        )

    def record_uploaded(
        self, course_id: str, asset_id: str, path: str, source: SourceRef, execution_name: str
    ) -> Claim:
        written, old = self._write_asset(
            course_id,
            asset_id,
            source,
            AssetStatus.UPLOADED,
            new_upload=True,
            path=path,
            name=PurePosixPath(path).name,
            executionName=execution_name,
            uploadedAt=now_iso(),
            # A re-upload starts clean: the previous version's error or deletion no longer applies.
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
    ) -> dict[str, Any] | None:
        """Mark the asset DELETED for a deletion event; return the item as it was, or None if refused.

        A delete marker wins over every older upload (smaller sequencer) and leaves a tombstone even
        when no item exists yet, so an older upload event delivered late cannot bring the file back.
        Permanently deleting one version matters only when it is the recorded version (deleting an old
        version leaves the published asset alone). The same deletion redelivered passes again, so a
        retried unpublish still finds what to remove (``removedOutputs``).
        """
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
            "status": AssetStatus.DELETED.value,
            "updatedAt": now_iso(),
            "deletedAt": now_iso(),
            "schemaVersion": SCHEMA_VERSION,
            "entity": "ASSET",
            "deletion": {"versionId": version, "sequencer": seq, "permanent": permanent},
        }
        values = {":seq": seq, ":ver": version, ":deleted": AssetStatus.DELETED.value}
        if permanent:
            # The recorded version itself is gone. Its sequencer stays (an upload event of a newer version,
            # delivered late, must still win); runs of that version in flight are stopped by the status.
            # Once DELETED, only this same deletion (a retry) passes again, so removing a delete marker (an
            # "undelete") changes nothing: re-upload to publish again.
            condition = "attribute_exists(PK) AND #ver = :ver AND (#st <> :deleted OR #del.#dseq = :seq)"
        else:
            fields.update(sourceVersion=version, sequencer=seq)
            condition = "attribute_not_exists(PK) OR #seq < :seq OR (#seq = :seq AND #ver = :ver)"
        # The first time: what was published moves to removedOutputs (the unpublish list). A retry finds
        # the item DELETED already and keeps the list it recorded.
        written, old = self._update(key, fields, condition, values)
        if not written:
            return None
        old = old or {}
        if old.get("status") != AssetStatus.DELETED.value:
            removed = [str(o) for o in old.get("outputs") or []]
            # Still this deletion's item: a newer upload claiming it in between keeps its own outputs.
            self._update(
                key,
                {"removedOutputs": removed, "outputs": []},
                "#st = :deleted AND #del.#dseq = :seq",
                values,
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
        """A published video's ``details.downloads`` (``None``: removed) and its outputs, set by a
        manifest's ApplyDownloads after the video's own run. One transaction: the item must still be
        ``source``'s version and PUBLISHED, and the course record still the one that decided
        (``course_sequencer``: its sequencer, ``None`` when there was none), so neither a re-upload nor a
        newer course.yaml gets downloads it did not decide on. Only ``details.downloads`` is touched: the
        rest of the details stay as the video's run wrote them."""
        values: dict[str, Any] = {
            ":ver": _ser.serialize(source.version_id or "null"),
            ":published": _ser.serialize(AssetStatus.PUBLISHED.value),
            ":out": _ser.serialize(_to_dynamo(outputs)),
            ":now": _ser.serialize(now_iso()),
        }
        expression = "SET #out = :out, #upd = :now REMOVE #d.#dl"
        if downloads is not None:
            values[":dl"] = _ser.serialize(_to_dynamo(downloads))
            expression = "SET #d.#dl = :dl, #out = :out, #upd = :now"
        asset: dict[str, Any] = {
            "TableName": self._table,
            "Key": self._key(course_id, asset_sk(asset_id)),
            "ConditionExpression": "#ver = :ver AND #st = :published AND attribute_exists(#d)",
            "ExpressionAttributeNames": {
                "#ver": "sourceVersion",
                "#st": "status",
                "#d": "details",
                "#dl": "downloads",
                "#out": "outputs",
                "#upd": "updatedAt",
            },
            "ExpressionAttributeValues": values,
            "UpdateExpression": expression,
        }
        course: dict[str, Any] = {"TableName": self._table, "Key": self._key(course_id, "COURSE")}
        if course_sequencer is None:
            course["ConditionExpression"] = "attribute_not_exists(PK)"
        else:
            course.update(
                ConditionExpression="#seq = :seq",
                ExpressionAttributeNames={"#seq": "sequencer"},
                ExpressionAttributeValues={":seq": _ser.serialize(course_sequencer)},
            )
        try:
            self._db.transact_write_items(
                TransactItems=[
                    {"ConditionCheck": cast("ConditionCheckTypeDef", course)},
                    {"Update": cast("UpdateTypeDef", asset)},
                ]
            )
        except ClientError as exc:
            if _code(exc) == "TransactionCanceledException" and _only_conditions(exc):
                return False
            raise
        return True

    def put_course(self, course_id: str, record: dict[str, Any], source: SourceRef) -> bool:
        fields = dict(record)
        fields.update(
            {
                "courseId": course_id,
                "entity": "COURSE",
                "courseList": COURSE_LIST,
                "manifestKey": source.key,
                "manifestVersion": source.version_id or "null",
                "sequencer": normalize_sequencer(source.sequencer),
                "updatedAt": now_iso(),
                "schemaVersion": SCHEMA_VERSION,
            }
        )
        written, _ = self._update(
            self._key(course_id, "COURSE"),
            fields,
            "attribute_not_exists(PK) OR #seq <= :seq",
            {":seq": normalize_sequencer(source.sequencer)},
            # A newer manifest may drop optional fields: they must not survive from the older one.
            remove=tuple(
                f for f in ("deletedAt", "description", "cover", "coverPath", "pending") if f not in fields
            ),
        )
        return written

    def mark_course_deleted(self, course_id: str, deletion: SourceRef) -> bool:
        """course.yaml was deleted: the course record stays (its sections explain the lessons that
        remain) but is DELETED, so the course list hides it; a newer manifest publishes it again."""
        seq = normalize_sequencer(deletion.sequencer)
        written, _ = self._update(
            self._key(course_id, "COURSE"),
            {
                "status": AssetStatus.DELETED.value,
                "deletedAt": now_iso(),
                "updatedAt": now_iso(),
                "sequencer": seq,
            },
            "attribute_exists(PK) AND #seq <= :seq",
            {":seq": seq},
        )
        return written

    # ------------------------------------------------------------ enrolments (their own partition)
    @staticmethod
    def _enrollment_key(course_id: str, user_id: str) -> dict[str, Any]:
        return {"PK": {"S": enroll_pk(course_id)}, "SK": {"S": user_sk(user_id)}}

    def _enrollment_item(self, course_id: str, user_id: str, role: str, enrolled_at: str) -> dict[str, Any]:
        fields = {
            "courseId": course_id,
            "userId": user_id,
            "role": role,
            "entity": "ENROLL",
            "enrolledAt": enrolled_at,
            "schemaVersion": SCHEMA_VERSION,
        }
        return {k: _ser.serialize(v) for k, v in fields.items()} | self._enrollment_key(course_id, user_id)

    def enroll(self, course_id: str, user_id: str, *, role: str = "learner") -> None:
        """Grant ``user_id`` (the Cognito ``sub``) access to the course's content (signed cookies)."""
        self._db.put_item(
            TableName=self._table, Item=self._enrollment_item(course_id, user_id, role, now_iso())
        )

    def enroll_many(self, course_id: str, user_ids: Iterable[str], *, role: str = "learner") -> int:
        """``enroll`` for many users, 25 per BatchWriteItem; returns how many were written."""
        requests = [
            {"PutRequest": {"Item": self._enrollment_item(course_id, u, role, now_iso())}}
            for u in dict.fromkeys(user_ids)  # a batch may not name one key twice
        ]
        for start in range(0, len(requests), _BATCH):
            self._batch_write(requests[start : start + _BATCH])
        return len(requests)

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        pending: dict[str, Any] = {self._table: requests}
        for attempt in range(_BATCH_ATTEMPTS):
            if attempt:  # what is left was throttled: back off before asking again (AWS's advice)
                time.sleep(_BATCH_BACKOFF_S * 2**attempt)
            resp = self._db.batch_write_item(RequestItems=pending)
            pending = resp.get("UnprocessedItems") or {}
            if not pending.get(self._table):
                return
        raise CatalogBusyError("the catalog table kept refusing part of a batch write: run the command again")

    def unenroll(self, course_id: str, user_id: str) -> None:
        # The schema 2 item goes too: a migration run later must not bring back a revoked enrolment.
        self._db.delete_item(TableName=self._table, Key=self._enrollment_key(course_id, user_id))
        legacy = {"PK": {"S": course_pk(course_id)}, "SK": {"S": LEGACY_ENROLL_PREFIX + user_id}}
        self._db.delete_item(TableName=self._table, Key=legacy)

    def is_enrolled(self, course_id: str, user_id: str) -> bool:
        resp = self._db.get_item(
            TableName=self._table,
            Key=self._enrollment_key(course_id, user_id),
            ProjectionExpression="PK",
            ConsistentRead=True,
        )
        return "Item" in resp

    def enrollments(self, course_id: str) -> list[dict[str, Any]]:
        """Every enrolment of one course (one Query of its enrolment partition), ordered by user id."""
        items: list[dict[str, Any]] = []
        paginator = self._db.get_paginator("query")
        for page in paginator.paginate(
            TableName=self._table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": enroll_pk(course_id)}},
        ):
            items.extend(deserialize(item) for item in page.get("Items", []))
        return items

    def migrate_legacy_enrollments(
        self, *, keep_legacy: bool = False, dry_run: bool = False
    ) -> EnrollmentMigration:
        """Move schema 2 enrolments (``PK=COURSE#{courseId}``, ``SK=ENROLL#{sub}``) to their own partition.

        A one-off operator command (``coursepipe migrate-enrollments``), never run implicitly: one Scan of the
        table. An enrolment already present in the new layout is kept (it was written later). With
        ``keep_legacy`` the old items stay, so the command can run before deploying schema 3 code (which reads
        only the new layout) and again after it, without a window where learners are refused. Running it
        twice changes nothing.
        """
        found = copied = present = removed = 0
        paginator = self._db.get_paginator("scan")
        pages = paginator.paginate(
            TableName=self._table,
            FilterExpression="begins_with(PK, :course) AND begins_with(SK, :enroll)",
            ExpressionAttributeValues={":course": {"S": "COURSE#"}, ":enroll": {"S": LEGACY_ENROLL_PREFIX}},
        )
        for page in pages:
            for raw in page.get("Items", []):
                found += 1
                old = deserialize(raw)
                course_id = str(old.get("courseId") or str(old["PK"]).removeprefix("COURSE#"))
                user_id = str(old.get("userId") or str(old["SK"]).removeprefix(LEGACY_ENROLL_PREFIX))
                if dry_run:
                    continue
                item = self._enrollment_item(
                    course_id,
                    user_id,
                    str(old.get("role") or "learner"),
                    str(old.get("enrolledAt") or now_iso()),
                )
                try:
                    self._db.put_item(
                        TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(PK)"
                    )
                    copied += 1
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                        raise
                    present += 1
                if not keep_legacy:
                    self._db.delete_item(TableName=self._table, Key={"PK": raw["PK"], "SK": raw["SK"]})
                    removed += 1
        return EnrollmentMigration(found, copied, present, removed, dry_run)

    def get_asset(self, course_id: str, asset_id: str) -> dict[str, Any] | None:
        resp = self._db.get_item(
            TableName=self._table, Key=self._key(course_id, asset_sk(asset_id)), ConsistentRead=True
        )
        item = resp.get("Item")
        return deserialize(item) if item else None

    def course_items(self, course_id: str) -> list[dict[str, Any]]:
        """The course record and every asset of one course: a Query bounded by the key condition to the
        sort keys of those two entities (``COURSE_SK_FIRST``..``COURSE_SK_LAST``), so nothing else a course
        partition may hold is read."""
        items: list[dict[str, Any]] = []
        paginator = self._db.get_paginator("query")
        for page in paginator.paginate(
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND SK BETWEEN :first AND :last",
            ExpressionAttributeValues={
                ":pk": {"S": course_pk(course_id)},
                ":first": {"S": COURSE_SK_FIRST},
                ":last": {"S": COURSE_SK_LAST},
            },
        ):
            items.extend(deserialize(item) for item in page.get("Items", []))
        return items

    def all_items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        paginator = self._db.get_paginator("scan")
        for page in paginator.paginate(TableName=self._table):
            items.extend(deserialize(item) for item in page.get("Items", []))
        items.sort(key=lambda i: (str(i.get("PK")), str(i.get("SK"))))
        return items


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB wire item as plain JSON-friendly Python (ints stay ints)."""
    return {k: _from_dynamo(_deser.deserialize(v)) for k, v in item.items()}
