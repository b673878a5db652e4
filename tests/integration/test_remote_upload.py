"""The upload client names the execution its own upload starts, for single and multipart uploads."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pipeline.keys import execution_name
from pipeline.local import remote
from pipeline.local.run import Upload
from pipeline.local.target import StackTarget

if TYPE_CHECKING:
    from pathlib import Path

    from pipeline.local.runtime import LocalRuntime


def target(runtime: LocalRuntime) -> StackTarget:
    return StackTarget(
        ingest_bucket=runtime.ingest_bucket,
        state_machine_arn=runtime.state_machine_arn,
        catalog_table=runtime.catalog_table,
        region=runtime.stack.region,
    )


@pytest.mark.parametrize("multipart", [False, True])
def test_the_version_put_file_returns_is_the_one_ingest_starts(
    runtime: LocalRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, multipart: bool
) -> None:
    if multipart:
        monkeypatch.setattr(remote, "SINGLE_PUT_BYTES", 1024)
        monkeypatch.setattr(remote, "PART_BYTES", 5 * 1024 * 1024)
    path = tmp_path / "notes.md"
    path.write_bytes(b"# Notes\n\n" + b"word " * (1_300_000 if multipart else 10))
    key = "courses/up/notes.md"
    s3 = runtime.client("s3")
    s3.put_object(Bucket=runtime.ingest_bucket, Key=key, Body=b"# older\n")  # another version exists
    version = remote.put_file(target(runtime), s3, Upload(key=key, path=path))
    head = s3.head_object(Bucket=runtime.ingest_bucket, Key=key)
    assert version == head["VersionId"] and head["ContentLength"] == path.stat().st_size
    if multipart:
        assert head["ETag"].strip('"').endswith("-2")
    runtime.pump()
    names = {
        e["name"]
        for e in runtime.client("stepfunctions").list_executions(stateMachineArn=runtime.state_machine_arn)[
            "executions"
        ]
    }
    assert execution_name(runtime.ingest_bucket, key, version) in names
