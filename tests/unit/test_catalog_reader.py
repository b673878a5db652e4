"""The catalog read side's pure parts (tokens, replies, views) and the query engine's DynamoDB protocol
handling, with a fake client (no AWS)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from typing import TYPE_CHECKING, Any, cast

import pytest

from pipeline.catalog.errors import CatalogUnavailableError, InvalidRequestError
from pipeline.catalog.http import etag_matches, json_reply
from pipeline.catalog.query import BY_STATUS, COURSES, CatalogQuery, decode_token, encode_token
from pipeline.catalog.views import asset_view, course_entry_view

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

READ_SIDE = (
    "pipeline.catalog.errors",
    "pipeline.catalog.query",
    "pipeline.catalog.views",
    "pipeline.catalog.http",
)


def wire(item: dict[str, Any]) -> dict[str, Any]:
    """Strings-only items in DynamoDB's wire format (enough for these tests)."""
    return {k: {"S": v} for k, v in item.items()}


def course_record(cid: str) -> dict[str, Any]:
    return wire(
        {"PK": f"COURSE#{cid}", "SK": "COURSE", "courseList": "ALL", "courseId": cid, "status": "PUBLISHED"}
    ) | {"coverPath": {"S": "cover.png"}}


@pytest.mark.parametrize("module", READ_SIDE)
def test_read_side_modules_need_neither_boto3_nor_powertools(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "print(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('boto3', 'botocore', 'aws_lambda_powertools')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_tokens_round_trip_without_padding_and_refuse_anything_else() -> None:
    key = wire({"PK": "COURSE#a", "SK": "COURSE", "courseList": "ALL", "courseId": "a"})
    token = encode_token(key)
    assert "=" not in token and "+" not in token and "/" not in token
    assert decode_token(token, COURSES, "ALL") == key
    refused = [
        token + "!",
        token[:-3],  # truncated: no longer valid JSON
        encode_token({**key, "extra": {"S": "x"}}),
        encode_token({**key, "courseId": {"N": "1"}}),
        encode_token({**key, "courseId": {"S": "a", "N": "1"}}),
        encode_token(wire({"PK": "p", "SK": "s", "status": "FAILED", "updatedAt": "t"})),  # another index
    ]
    for bad in refused:
        with pytest.raises(InvalidRequestError):
            decode_token(bad, COURSES, "ALL")
    failed = encode_token(wire({"PK": "p", "SK": "s", "status": "FAILED", "updatedAt": "t"}))
    with pytest.raises(InvalidRequestError):  # the right index, another partition
        decode_token(failed, BY_STATUS, "PUBLISHED")


def test_json_reply_tags_the_exact_bytes_and_answers_304_on_a_match() -> None:
    reply = json_reply({"title": "Café ☕", "n": 1})
    assert reply.status == 200 and reply.body == '{"title":"Café ☕","n":1}'
    assert reply.headers["ETag"] == '"' + hashlib.sha256(reply.body.encode()).hexdigest()[:32] + '"'
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    again = json_reply({"title": "Café ☕", "n": 1}, if_none_match=reply.headers["ETag"])
    assert (again.status, again.body, again.headers["ETag"]) == (304, "", reply.headers["ETag"])
    assert "Content-Type" not in again.headers and again.headers["Cache-Control"].startswith("public")


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        ('"abc"', True),
        ('W/"abc"', True),  # a CDN that compressed the body weakens the tag
        ('"x", "abc"', True),
        ("*", True),
        ('"abcd"', False),
        ("abc", False),
        ("", False),
        (None, False),
    ],
)
def test_if_none_match_uses_weak_comparison(header: str | None, matches: bool) -> None:
    assert etag_matches(header, '"abc"') is matches


def test_asset_view_shows_what_the_item_lists_and_nothing_stale() -> None:
    deleted = asset_view(
        {
            "assetId": "a",
            "path": "a.mp4",
            "kind": "video",
            "status": "DELETED",
            "outputs": ["courses/c/m.m3u8"],
        }
    )
    assert (deleted["entry"], deleted["outputs"], deleted["thumbnails"]) == (None, [], None)
    published = asset_view(
        {
            "assetId": "b",
            "path": "b.md",
            "kind": "lesson",
            "status": "PUBLISHED",
            "error": {"name": "E", "message": "m"},
        }
    )
    assert published["error"] is None and published["thumbnails"] is None
    audio = asset_view(
        {
            "assetId": "c",
            "courseId": "c1",
            "sourceKey": "courses/c1/talks/one.mp3",
            "kind": "audio",
            "status": "PUBLISHED",
            "outputs": ["courses/c1/media/c/hls/master.m3u8"],
            "details": {"posters": ["courses/c1/media/c/thumbs/poster-320.jpg"], "sprites": None},
        }
    )
    assert audio["path"] == "talks/one.mp3"  # an item without ``path`` falls back to its source key
    assert audio["thumbnails"] == {"posters": ["/courses/c1/media/c/thumbs/poster-320.jpg"], "sprites": None}
    assert audio["entry"] == "/courses/c1/media/c/hls/master.m3u8"


class FakeDynamo:
    """Answers Query from a list and BatchGetItem with unprocessed keys for the first ``busy`` calls."""

    def __init__(self, records: list[dict[str, Any]], busy: int) -> None:
        self.records, self.busy = records, busy
        self.batches: list[Any] = []

    def query(self, **params: Any) -> dict[str, Any]:
        return {"Items": self.records[: params["Limit"]]}

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.batches.append(json.loads(json.dumps(RequestItems)))
        if len(self.batches) <= self.busy:
            return {"Responses": {}, "UnprocessedKeys": RequestItems}
        items = []
        for key in RequestItems["t"]["Keys"]:
            cid = key["PK"]["S"].split("#")[1]
            outputs = {"L": [{"S": f"courses/{cid}/images/x/320.webp"}]}
            items.append(
                wire({"courseId": cid, "assetId": "x", "status": "PUBLISHED"}) | {"outputs": outputs}
            )
        return {"Responses": {"t": items}, "UnprocessedKeys": {}}


def test_unprocessed_batch_keys_are_asked_again_then_reported_as_unavailable() -> None:
    fake = FakeDynamo([course_record("a"), course_record("b")], busy=2)
    courses = [course_entry_view(c) for c in CatalogQuery(cast("DynamoDBClient", fake), "t").courses().items]
    assert [c["cover"] for c in courses] == ["/courses/a/images/x/320.webp", "/courses/b/images/x/320.webp"]
    assert len(fake.batches) == 3 and fake.batches[0] == fake.batches[2]

    with pytest.raises(CatalogUnavailableError):
        CatalogQuery(cast("DynamoDBClient", FakeDynamo([course_record("a")], busy=99)), "t").courses()
