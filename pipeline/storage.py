"""Object storage: the ``ObjectStore`` port and its S3 adapter.

Domain code asks for "the bytes of this source version" and "publish these files"; only the adapter
knows S3. Writes always carry an explicit Content-Type (see ``content_types``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from pipeline.content_types import content_type_for
from pipeline.errors import SourceNotFoundError

if TYPE_CHECKING:  # the stubs are a dev dependency; Lambda has only boto3
    from collections.abc import Iterable, Iterator
    from datetime import datetime
    from pathlib import Path

    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef


# Above this, put_file uploads in parts (PutObject takes at most 5 GB; parts also retry on their own).
_MULTIPART_FROM = 256 * 1024 * 1024
_TRANSFER = TransferConfig(multipart_threshold=_MULTIPART_FROM, multipart_chunksize=64 * 1024 * 1024)


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    version_id: str | None
    content_type: str | None


class ObjectStore(Protocol):
    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectInfo | None: ...

    def download(self, bucket: str, key: str, dest: Path, version_id: str | None = None) -> Path: ...

    def read_range(self, bucket: str, key: str, length: int, version_id: str | None = None) -> bytes: ...

    def get_bytes(self, bucket: str, key: str) -> bytes: ...

    def copy(self, bucket: str, source_key: str, key: str, *, cache_control: str | None = None) -> None: ...

    def put_file(
        self,
        bucket: str,
        key: str,
        path: Path,
        *,
        cache_control: str | None = None,
        content_disposition: str | None = None,
    ) -> None:
        """Upload a local file; ``content_disposition`` is the header S3 serves it with (a download's
        ``attachment; filename=...``)."""
        ...

    def put_bytes(self, bucket: str, key: str, data: bytes, *, cache_control: str | None = None) -> None: ...

    def read_object(self, bucket: str, key: str) -> tuple[bytes, str] | None:
        """Body and ETag from one read (None when absent): what ``replace_bytes`` is conditioned on."""
        ...

    def replace_bytes(
        self, bucket: str, key: str, data: bytes, *, etag: str, cache_control: str | None = None
    ) -> bool:
        """Overwrite only while the object is still the version with ``etag`` (S3's If-Match); False
        when another writer came first."""
        ...

    def list_keys(
        self, bucket: str, prefix: str, *, modified_before: datetime | None = None
    ) -> Iterator[str]: ...

    def delete_keys(self, bucket: str, keys: Iterable[str]) -> None: ...


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _is_missing(exc: ClientError) -> bool:
    code = _code(exc)
    return code in ("404", "NoSuchKey", "NoSuchVersion", "NotFound", "InvalidArgument")


class S3ObjectStore:
    """``ObjectStore`` over an S3 client (real AWS, or moto in local mode)."""

    def __init__(self, s3: S3Client) -> None:
        self._s3 = s3

    @staticmethod
    def _version(version_id: str | None) -> dict[str, Any]:
        return {"VersionId": version_id} if version_id and version_id != "null" else {}

    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectInfo | None:
        try:
            resp = self._s3.head_object(Bucket=bucket, Key=key, **self._version(version_id))
        except ClientError as exc:
            if _is_missing(exc):
                return None
            raise
        return ObjectInfo(
            key=key,
            size=int(resp.get("ContentLength", 0)),
            etag=str(resp.get("ETag", "")).strip('"'),
            version_id=resp.get("VersionId"),
            content_type=resp.get("ContentType"),
        )

    def download(self, bucket: str, key: str, dest: Path, version_id: str | None = None) -> Path:
        try:
            resp = self._s3.get_object(Bucket=bucket, Key=key, **self._version(version_id))
        except ClientError as exc:
            if _is_missing(exc):
                raise SourceNotFoundError(
                    f"'{key}' (version {version_id or 'latest'}) is no longer in the upload bucket: "
                    "it was deleted or replaced before processing; upload it again if it is still wanted"
                ) from exc
            raise
        dest.parent.mkdir(parents=True, exist_ok=True)
        with dest.open("wb") as fh:
            for chunk in resp["Body"].iter_chunks(1024 * 1024):
                fh.write(chunk)
        return dest

    def read_range(self, bucket: str, key: str, length: int, version_id: str | None = None) -> bytes:
        try:
            resp = self._s3.get_object(
                Bucket=bucket, Key=key, Range=f"bytes=0-{max(length - 1, 0)}", **self._version(version_id)
            )
        except ClientError as exc:
            if _code(exc) == "InvalidRange":  # a zero-byte object has no byte 0
                return b""
            if _is_missing(exc):
                raise SourceNotFoundError(
                    f"'{key}' is no longer in the upload bucket: it was deleted or replaced before processing"
                ) from exc
            raise
        data: bytes = resp["Body"].read()
        return data[:length]

    def get_bytes(self, bucket: str, key: str) -> bytes:
        """A small object we wrote ourselves (work manifests); missing means a pipeline fault, so no
        translation into an author-facing error."""
        data: bytes = self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return data

    def copy(self, bucket: str, source_key: str, key: str, *, cache_control: str | None = None) -> None:
        """Server-side copy within a bucket (no bytes through the function), with fresh headers."""
        extra: dict[str, Any] = {"ContentType": content_type_for(key), "MetadataDirective": "REPLACE"}
        if cache_control:
            extra["CacheControl"] = cache_control
        self._s3.copy_object(
            Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": source_key}, **extra
        )

    def put_file(
        self,
        bucket: str,
        key: str,
        path: Path,
        *,
        cache_control: str | None = None,
        content_disposition: str | None = None,
    ) -> None:
        """One PutObject, or a multipart upload for a large file (a lecture's download can be gigabytes;
        a single PutObject stops at 5 GB)."""
        extra: dict[str, Any] = {"ContentType": content_type_for(key)}
        if cache_control:
            extra["CacheControl"] = cache_control
        if content_disposition:
            extra["ContentDisposition"] = content_disposition
        if path.stat().st_size > _MULTIPART_FROM:
            self._s3.upload_file(str(path), bucket, key, ExtraArgs=extra, Config=_TRANSFER)
            return
        with path.open("rb") as fh:
            self._s3.put_object(Bucket=bucket, Key=key, Body=fh, **extra)

    def put_bytes(self, bucket: str, key: str, data: bytes, *, cache_control: str | None = None) -> None:
        extra: dict[str, Any] = {"ContentType": content_type_for(key)}
        if cache_control:
            extra["CacheControl"] = cache_control
        self._s3.put_object(Bucket=bucket, Key=key, Body=data, **extra)

    def read_object(self, bucket: str, key: str) -> tuple[bytes, str] | None:
        try:
            resp = self._s3.get_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if _is_missing(exc):
                return None
            raise
        return resp["Body"].read(), str(resp.get("ETag", "")).strip('"')

    def replace_bytes(
        self, bucket: str, key: str, data: bytes, *, etag: str, cache_control: str | None = None
    ) -> bool:
        extra: dict[str, Any] = {"ContentType": content_type_for(key)}
        if cache_control:
            extra["CacheControl"] = cache_control
        try:
            self._s3.put_object(Bucket=bucket, Key=key, Body=data, IfMatch=f'"{etag}"', **extra)
        except ClientError as exc:
            if _code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict", "NoSuchKey"):
                return False
            raise
        return True

    def list_keys(
        self, bucket: str, prefix: str, *, modified_before: datetime | None = None
    ) -> Iterator[str]:
        """Keys under ``prefix``; with ``modified_before``, only objects last written before that instant."""
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                if modified_before is None or obj["LastModified"] < modified_before:
                    yield obj["Key"]

    def delete_keys(self, bucket: str, keys: Iterable[str]) -> None:
        batch: list[ObjectIdentifierTypeDef] = []
        for key in keys:
            batch.append({"Key": key})
            if len(batch) == 1000:
                self._s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
                batch = []
        if batch:
            self._s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
