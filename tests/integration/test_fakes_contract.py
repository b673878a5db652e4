"""The fakes of ``tests/fakes`` behave as the adapters do on moto: one scenario table, run against both,
must give identical return values and identical items afterwards (timestamps aside).

The functional tier trusts ``FakeCatalog`` and ``FakeObjectStore`` for the claim, prune and unpublish
rules; this test is what makes that trust earned. A change to a condition in ``DynamoCatalog`` that is not
mirrored in the fake fails here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from pipeline.catalog.dynamo import DynamoCatalog
from pipeline.catalog.model import Claim, SourceRef, normalize_sequencer
from pipeline.local.template import Stack
from pipeline.storage import ObjectInfo, S3ObjectStore
from tests.fakes import FakeCatalog, FakeObjectStore

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
TIMESTAMPS = {"updatedAt", "uploadedAt", "publishedAt", "failedAt", "deletedAt", "enrolledAt"}
VERSIONED, PLAIN = "contract-ingest", "contract-publish"


@dataclass(frozen=True)
class Real:
    catalog: DynamoCatalog
    store: S3ObjectStore
    s3: Any


@pytest.fixture
def real() -> Iterator[Real]:
    """The catalog table as template.yaml defines it and two buckets (one versioned, as the ingest bucket)."""
    stack = Stack.from_file(TEMPLATE)
    with mock_aws():
        db = boto3.client("dynamodb", region_name=stack.region)
        props = stack.resolve(stack.props("CatalogTable"))
        keys = ("TableName", "AttributeDefinitions", "KeySchema", "BillingMode", "GlobalSecondaryIndexes")
        db.create_table(**{k: props[k] for k in keys})
        s3 = boto3.client("s3", region_name=stack.region)
        for bucket in (VERSIONED, PLAIN):
            s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=VERSIONED, VersioningConfiguration={"Status": "Enabled"})
        yield Real(DynamoCatalog(db, props["TableName"]), S3ObjectStore(s3), s3)


# ------------------------------------------------------------------------------------------ the catalog
def src(version: str, sequencer: str, key: str = "courses/c/a.mp4", **extra: Any) -> SourceRef:
    return SourceRef(bucket="b", key=key, version_id=version, sequencer=sequencer, **extra)


def manifest(version: str, sequencer: str) -> SourceRef:
    return src(version, sequencer, key="courses/c/course.yaml")


Op = tuple[str, tuple[Any, ...], dict[str, Any]]


def up(version: str, seq: str, asset: str = "a") -> Op:
    return ("record_uploaded", ("c", asset, f"{asset}.mp4", src(version, seq), f"exec-{version}"), {})


def processing(version: str, seq: str, asset: str = "a") -> Op:
    return ("mark_processing", ("c", asset, src(version, seq), "video", f"arn:exec-{version}"), {})


def published(version: str, seq: str, outputs: list[str] | None = None, details: Any = None) -> Op:
    outs = outputs if outputs is not None else [f"courses/c/media/a/hls/master-{version}.m3u8"]
    return ("record_published", ("c", "a", src(version, seq), "video", outs, details or {}), {})


def failed(version: str, seq: str, message: str = "truncated") -> Op:
    return ("record_failed", ("c", "a", src(version, seq), "InvalidMediaError", message, "arn:x"), {})


def deleted(version: str, seq: str, *, permanent: bool = False) -> Op:
    return ("record_deleted", ("c", "a", "a.mp4", src(version, seq)), {"permanent": permanent})


def course(version: str, seq: str, **record: Any) -> Op:
    body = {"title": "T", "sections": [], "status": "PUBLISHED", **record}
    return ("put_course", ("c", body, manifest(version, seq)), {})


def course_deleted(version: str, seq: str) -> Op:
    return ("mark_course_deleted", ("c", manifest(version, seq)), {})


def downloads_recorded(version: str, course_seq: str | None, *, made: bool = True) -> Op:
    """ApplyDownloads' transaction; ``course_seq`` as the course record stores it (None: no record)."""
    found = {"mp4": {"key": "courses/c/media/a/downloads/a.mp4", "bytes": 9, "width": 64, "height": 36}}
    outputs = ["courses/c/media/a/hls/master.m3u8"] + (["courses/c/media/a/downloads/a.mp4"] if made else [])
    seq = normalize_sequencer(course_seq) if course_seq else None
    return ("record_downloads", ("c", "a", src(version, "00A0"), seq, found if made else None, outputs), {})


SCENARIOS: dict[str, list[Op]] = {
    "out-of-order sequencers": [
        up("v2", "00B0"),
        up("v1", "00A0"),
        up("v3", "00B01"),  # right-padded: "00B0" < "00B01"
        up("v4", "00A9FF"),
        up("v5", "00b02"),  # lower-case hex is the same order
    ],
    "duplicate event": [
        up("v1", "00A0"),
        processing("v1", "00A0"),
        published("v1", "00A0"),
        up("v1", "00A0"),
        up("v1", "00A0"),
        published("v1", "00A0"),  # a retried step rewrites harmlessly
    ],
    "same sequencer, another version": [up("v1", "00A0"), up("v2", "00A0"), processing("v1", "00A0")],
    "deletion older than upload": [up("v2", "00B0"), processing("v2", "00B0"), deleted("dm0", "00A5")],
    "deletion before its upload event": [deleted("dm1", "00C0"), up("v1", "00A0"), processing("v1", "00A0")],
    "re-upload after deletion": [
        up("v1", "00A0"),
        processing("v1", "00A0"),
        published("v1", "00A0"),
        deleted("dm1", "00C0"),
        deleted("dm1", "00C0"),  # a retried unpublish keeps removedOutputs
        published("v1", "00A0"),  # the v1 run landing late
        failed("v1", "00A0"),
        up("v2", "00D0"),
        processing("v2", "00D0"),
        published("v2", "00D0"),
    ],
    "publish after supersede": [
        up("v1", "00A0"),
        processing("v1", "00A0"),
        up("v2", "00B0"),
        processing("v1", "00A0"),
        published("v1", "00A0"),
        failed("v1", "00A0"),
        processing("v2", "00B0"),
        published("v2", "00B0"),
        failed("v2", "00B0", "bus refused"),  # a published version is never marked FAILED
    ],
    "failed, retried, then fixed": [
        up("v1", "00A0"),
        failed("v1", "00A0"),
        failed("v1", "00A0", "again"),
        up("v2", "00B0"),
        published("v2", "00B0"),
    ],
    "claims on an item never recorded": [
        processing("v1", "00A0"),
        failed("v2", "00B0"),
        failed("v1", "00A0"),
    ],
    "permanent deletions": [
        up("v1", "00A0"),
        up("v2", "00B0"),
        deleted("v1", "00C0", permanent=True),  # an old version: the current one stays
        processing("v2", "00B0"),
        deleted("v2", "00D0", permanent=True),
        deleted("v2", "00D0", permanent=True),  # retried
        published("v2", "00B0"),  # the run of the deleted version cannot publish
        deleted("v2", "00E0", permanent=True),  # another deletion of a DELETED item
    ],
    "permanent deletion on nothing": [deleted("v1", "00A0", permanent=True)],
    "undelete by removing the marker": [
        up("v1", "00A0"),
        deleted("dm1", "00B0"),
        deleted("dm1", "00C0", permanent=True),
        up("v0", "00A9"),
    ],
    "permanent delete of v1, v2's event late": [
        up("v1", "00A0"),
        deleted("v1", "00C0", permanent=True),
        up("v2", "00B0"),
    ],
    "details as DynamoDB keeps them": [
        up("v1", "00A0"),
        published(
            "v1",
            "00A0",
            details={
                "probe": {"fps": 29.97, "duration": 12.0, "lang": None},
                "list": [1, 2.5, "x"],
                "t": True,
            },
        ),
    ],
    "course record": [
        course("m1", "00A0", description="old", cover="x.png", coverPath="img/x.png", pending=["p"]),
        course("m0", "0090"),
        course_deleted("dm0", "0095"),
        course_deleted("dm1", "00B0"),
        course(
            "m2", "00C0", description=None, sections=[{"title": "S", "lessons": [{"id": "l", "video": None}]}]
        ),
        course("m2", "00C0"),  # the same manifest again (<=)
        course_deleted("dm9", "00C0"),
    ],
    "course deleted before it exists": [course_deleted("dm1", "00B0"), course("m1", "00A0")],
    "downloads applied after publishing": [
        up("v1", "00A0"),
        downloads_recorded("v1", None),  # not published yet
        processing("v1", "00A0"),
        published("v1", "00A0", details={"hls": {"master": "m"}}),
        downloads_recorded("v1", None),  # no course record: only "none" matches
        course("m1", "00B0", downloads=True),
        downloads_recorded("v1", None),  # a record exists now
        downloads_recorded("v1", "00A0"),  # another record's sequencer
        downloads_recorded("v2", "00B0"),  # another version
        downloads_recorded("v1", "00B0"),
        downloads_recorded("v1", "00B0"),  # retried: the same again
        course("m2", "00C0", downloads=False),
        downloads_recorded("v1", "00C0", made=False),
        downloads_recorded("v1", "00C0", made=False),  # removing what is gone
        up("v2", "00D0"),
        downloads_recorded("v1", "00C0"),  # re-uploaded: not PUBLISHED, and not that version
        deleted("dm1", "00E0"),
        downloads_recorded("v2", "00C0"),
    ],
    "downloads on an item published without details": [
        up("v1", "00A0"),
        ("record_published", ("c", "a", src("v1", "00A0"), "video", ["m"], None), {}),
        course("m1", "00B0", downloads=True),
        downloads_recorded("v1", "00B0"),
    ],
}


def _plain(value: Any) -> Any:
    if isinstance(value, Claim):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in TIMESTAMPS}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _run(cat: Any, ops: list[Op]) -> tuple[list[Any], list[Any]]:
    results = [_plain(getattr(cat, name)(*args, **kwargs)) for name, args, kwargs in ops]
    return results, _plain(cat.all_items())


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_fake_catalog_decides_as_dynamo_does(real: Real, name: str) -> None:
    ops = SCENARIOS[name]
    expected_results, expected_items = _run(real.catalog, ops)
    results, items = _run(FakeCatalog(), ops)
    for op, want, got in zip(ops, expected_results, results, strict=True):
        assert got == want, f"{name}: {op[0]}{op[1][1:3]} returned {got!r}, DynamoCatalog {want!r}"
    assert items == expected_items
    assert [_plain(i) for i in FakeCatalog().course_items("c")] == []


def test_course_items_and_reads_agree(real: Real) -> None:
    ops = [up("v1", "00A0", "b"), up("v1", "00A0", "a"), course("m1", "00A0"), up("v1", "00A0", "z")]
    fake = FakeCatalog()
    for cat in (real.catalog, fake):
        _run(cat, ops)
        cat.enroll("c", "u1")
    assert _plain(fake.course_items("c")) == _plain(real.catalog.course_items("c"))
    assert [i["SK"] for i in fake.course_items("c")] == ["ASSET#a", "ASSET#b", "ASSET#z", "COURSE"]
    assert _plain(fake.get_asset("c", "b")) == _plain(real.catalog.get_asset("c", "b"))
    assert fake.get_asset("c", "nope") is None and real.catalog.get_asset("c", "nope") is None


def test_enrolments_agree(real: Real) -> None:
    fake = FakeCatalog()
    for cat in (real.catalog, fake):
        cat.enroll("c", "u1")
        assert cat.enroll_many("c", ["u3", "u2", "u3"], role="staff") == 2
        cat.unenroll("c", "u2")
        cat.unenroll("c", "never")
    assert [fake.is_enrolled("c", u) for u in ("u1", "u2", "u3")] == [True, False, True]
    assert [real.catalog.is_enrolled("c", u) for u in ("u1", "u2", "u3")] == [True, False, True]
    assert _plain(fake.enrollments("c")) == _plain(real.catalog.enrollments("c"))
    assert _plain(fake.all_items()) == _plain(real.catalog.all_items())


# ------------------------------------------------------------------------------------------ the store
class Versions:
    """Version ids differ between moto and the fake: compare them by order of first appearance."""

    def __init__(self) -> None:
        self.seen: dict[str | None, str | None] = {None: None}

    def __call__(self, version: str | None) -> str | None:
        return self.seen.setdefault(version, f"#{len(self.seen)}")


def _info(info: ObjectInfo | None, versions: Versions) -> Any:
    if info is None:
        return None
    return (info.key, info.size, info.etag, versions(info.version_id), info.content_type)


def _outcome(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception as exc:  # the kind of refusal is part of the contract
        return ("raised", "missing" if "NoSuchKey" in type(exc).__name__ else type(exc).__name__)


def _store_story(store: Any, tmp: Path) -> list[Any]:
    versions = Versions()
    out: list[Any] = []
    store.put_bytes(VERSIONED, "courses/c/a.mp4", b"one")
    first = store.head(VERSIONED, "courses/c/a.mp4")
    store.put_bytes(VERSIONED, "courses/c/a.mp4", b"two!")
    out.append(_info(first, versions))
    out.append(_info(store.head(VERSIONED, "courses/c/a.mp4"), versions))
    out.append(_info(store.head(VERSIONED, "courses/c/a.mp4", first.version_id), versions))
    out.append(_info(store.head(VERSIONED, "courses/c/a.mp4", "null"), versions))
    out.append(store.read_range(VERSIONED, "courses/c/a.mp4", 10, first.version_id))
    out.append(store.read_range(VERSIONED, "courses/c/a.mp4", 2))
    path = store.download(
        VERSIONED, "courses/c/a.mp4", tmp / type(store).__name__ / "a.mp4", first.version_id
    )
    out.append(path.read_bytes())
    store.delete_keys(VERSIONED, ["courses/c/a.mp4", "courses/c/never-there.md"])
    out.append(_info(store.head(VERSIONED, "courses/c/a.mp4"), versions))
    out.append(list(store.list_keys(VERSIONED, "")))
    out.append(_info(store.head(VERSIONED, "courses/c/a.mp4", first.version_id), versions))
    out.append(_outcome(lambda: store.read_range(VERSIONED, "courses/c/a.mp4", 3)))
    out.append(_outcome(lambda: store.download(VERSIONED, "courses/c/a.mp4", tmp / "gone")))
    store.put_bytes(VERSIONED, "courses/c/a.mp4", b"three")  # re-upload after the deletion
    out.append(_info(store.head(VERSIONED, "courses/c/a.mp4"), versions))
    out.append(_info(store.head(VERSIONED, "courses/c/a.mp4", "not-a-version"), versions))

    for key in ("x/b.m3u8", "x/a.ts", "x/c/d.ts", "x/é.ts", "x/Z.ts", "y.ts", "x-other.ts"):
        store.put_bytes(PLAIN, key, key.encode())
    store.put_bytes(PLAIN, "empty.json", b"")
    source = tmp / "page.html"
    source.write_text("<p>hi</p>")
    store.put_file(PLAIN, "x/page.html", source, cache_control="public, max-age=60")
    store.copy(PLAIN, "x/a.ts", "x/copy.ts", cache_control="public, max-age=31536000, immutable")
    out.append(list(store.list_keys(PLAIN, "x/")))
    out += [_info(store.head(PLAIN, k), versions) for k in ("x/copy.ts", "x/page.html", "x/b.m3u8")]
    out.append(store.get_bytes(PLAIN, "x/copy.ts"))
    out.append(store.read_range(PLAIN, "empty.json", 5))
    out.append(_outcome(lambda: store.get_bytes(PLAIN, "x/missing.ts")))
    out.append(_outcome(lambda: store.copy(PLAIN, "x/missing.ts", "x/to.ts")))
    store.put_bytes(PLAIN, "x/a.ts", b"rewritten")
    store.delete_keys(PLAIN, ["x/b.m3u8", "x/none.ts"])
    out.append(list(store.list_keys(PLAIN, "x/")))
    out.append(_info(store.head(PLAIN, "x/a.ts"), versions))
    # Conditional overwrite (If-Match): only the version that was read may be replaced.
    body, etag = store.read_object(PLAIN, "x/a.ts")
    out.append(body)
    out.append(store.replace_bytes(PLAIN, "x/a.ts", b"second writer", etag=etag))
    out.append(store.replace_bytes(PLAIN, "x/a.ts", b"stale writer", etag=etag))
    out.append(store.get_bytes(PLAIN, "x/a.ts"))
    out.append(store.read_object(PLAIN, "x/missing.ts"))
    out.append(store.replace_bytes(PLAIN, "x/missing.ts", b"x", etag=etag))
    return out


def test_the_fake_store_behaves_as_s3(real: Real, tmp_path: Path) -> None:
    fake = FakeObjectStore(versioned=frozenset({VERSIONED}))
    assert _store_story(fake, tmp_path) == _store_story(real.store, tmp_path)


ATTACHMENT = "attachment; filename=\"Lecon.m4a\"; filename*=UTF-8''Le%C3%A7on.m4a"


def test_cache_control_content_type_and_disposition_are_what_s3_stores(real: Real, tmp_path: Path) -> None:
    fake = FakeObjectStore(versioned=frozenset({VERSIONED}))
    mp4 = tmp_path / "lecture.m4a"
    mp4.write_bytes(b"\x00\x00\x00\x18ftypM4A ")
    for store in (fake, real.store):
        store.put_bytes(PLAIN, "h/master.m3u8", b"#EXTM3U", cache_control="public, max-age=60")
        store.copy(PLAIN, "h/master.m3u8", "h/seg.ts", cache_control="immutable")
        store.put_bytes(PLAIN, "h/plain.vtt", b"WEBVTT")
        store.put_file(PLAIN, "h/downloads/lecture.m4a", mp4, content_disposition=ATTACHMENT)
    for key, cache, disposition in (
        ("h/master.m3u8", "public, max-age=60", None),
        ("h/seg.ts", "immutable", None),
        ("h/plain.vtt", None, None),
        ("h/downloads/lecture.m4a", None, ATTACHMENT),
    ):
        head = real.s3.head_object(Bucket=PLAIN, Key=key)
        stored = fake.latest(PLAIN, key)
        assert stored is not None
        assert (stored.cache_control, stored.content_type) == (head.get("CacheControl"), head["ContentType"])
        assert stored.cache_control == cache
        assert stored.content_disposition == head.get("ContentDisposition") == disposition


def _next_second(margin: float = 0.05) -> None:
    time.sleep(1 - time.time() % 1 + margin)


def test_modified_before_compares_whole_seconds_as_s3_lists_them(real: Real) -> None:
    """``LastModified`` in a listing has one-second resolution: an object written after the cutoff but in
    the same second is "modified before" it. PackageHls's prune relies on this comparison."""
    fake = FakeObjectStore()
    stores = (fake, real.store)
    for store in stores:
        store.put_bytes(PLAIN, "t/old.ts", b"o")
    _next_second()
    cutoff = datetime.now(UTC)
    for store in stores:
        store.put_bytes(PLAIN, "t/same-second.ts", b"s")
    _next_second()
    for store in stores:
        store.put_bytes(PLAIN, "t/later.ts", b"l")
    listed = [list(s.list_keys(PLAIN, "t/", modified_before=cutoff)) for s in stores]
    assert listed[0] == listed[1] == ["t/old.ts", "t/same-second.ts"]
    assert [list(s.list_keys(PLAIN, "t/")) for s in stores] == [
        ["t/later.ts", "t/old.ts", "t/same-second.ts"]
    ] * 2
