"""Uploads of a text course arrive in any order; the published site converges either way."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pipeline.catalog.dynamo import DynamoCatalog
from tests.site_checks import broken_links

if TYPE_CHECKING:
    from pathlib import Path

    from pipeline.local.runtime import LocalRuntime

pytestmark = pytest.mark.slow

MANIFEST = """\
id: {course}
title: Order Matters Not
lang: en
sections:
  - title: One
    lessons:
      - {{id: first, file: lessons/first.md}}
      - {{id: second, file: lessons/second.md, title: The second lesson}}
"""
FIRST = (
    b"---\ntitle: First things\nduration: 5 min\n---\n\n## Start here\n\n"
    b"See [the second](second.md) and ![a](../img/missing.png).\n"
)
SECOND = b"# Second\n\nBack to [the first](first.md#start-here).\n"


def run_all(runtime: LocalRuntime, uploads: list[tuple[str, bytes]]) -> None:
    for key, body in uploads:
        runtime.upload(key, body)
        runtime.pump()
        arns = [
            str(e["executionArn"])
            for e in runtime.client("stepfunctions").list_executions(
                stateMachineArn=runtime.state_machine_arn
            )["executions"]
        ]
        runtime.wait_for(arns, timeout_s=60)


def site(runtime: LocalRuntime, course: str, root: Path) -> Path:
    s3 = runtime.client("s3")
    for obj in s3.list_objects_v2(Bucket=runtime.publish_bucket, Prefix=f"courses/{course}/").get(
        "Contents", []
    ):
        target = root / obj["Key"]
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(runtime.publish_bucket, obj["Key"], str(target))
    return root / "courses" / course


@pytest.mark.parametrize("manifest_first", [True, False])
def test_lessons_before_or_after_the_manifest_end_in_the_same_site(
    runtime: LocalRuntime, tmp_path: Path, manifest_first: bool
) -> None:
    course = "order-" + ("m1" if manifest_first else "m2")
    manifest = (f"courses/{course}/course.yaml", MANIFEST.format(course=course).encode())
    lessons = [(f"courses/{course}/lessons/first.md", FIRST), (f"courses/{course}/lessons/second.md", SECOND)]
    run_all(runtime, [manifest, *lessons] if manifest_first else [*lessons, manifest])

    root = site(runtime, course, tmp_path)
    # The one deliberately missing image is the only dangling URL (and the author got a warning for it).
    assert {problem.split(": ", 1)[1] for problem in broken_links(root)} == {
        f"<img {attr}='../images/img-missing-d42709fe/{width}.webp'> -> missing file"
        for attr, width in (("src", 640), ("srcset", 320), ("srcset", 640), ("srcset", 1280))
    }
    index = (root / "index.html").read_text()
    assert "First things" in index and "The second lesson" in index and "5 min" in index
    assert "coming soon" not in index
    pages = {p.name: p.read_text() for p in (root / "lessons").glob("*.html")}
    assert len(pages) == 2
    first = next(text for name, text in pages.items() if "first" in name)
    second = next(text for name, text in pages.items() if "second" in name)
    assert 'rel="next"' in first and 'aria-current="page"' in first  # navigation, whatever the order
    assert 'rel="prev"' in second
    items = DynamoCatalog(runtime.client("dynamodb"), runtime.catalog_table).course_items(course)
    first_item = next(i for i in items if i.get("path") == "lessons/first.md")
    assert first_item["status"] == "PUBLISHED"
    assert any("img/missing.png" in w for w in first_item["details"]["warnings"])
