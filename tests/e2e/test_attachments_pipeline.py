"""Handouts through the real state machine on moto: a PDF, a ZIP of code, a CSV and slides published as
downloads (their own names, attachment headers, signed cookies or 403 at the edge), a card on the lesson
and a Downloads list on the index; a program, an HTML page and a renamed file fail alone, with their
reasons in the catalog, and their neighbours publish."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

from pipeline.access.cookies import cookie_header
from pipeline.access.keypair import generate_private_key, key_id_for, public_key_pem
from pipeline.access.policy import course_policy
from pipeline.access.signing import sign_policy
from pipeline.catalog.dynamo import DynamoCatalog
from pipeline.keys import asset_id_for
from pipeline.local.edge import Edge
from pipeline.local.edge_config import EdgeConfig
from pipeline.local.front import HttpFront
from pipeline.local.origins import bucket_origin
from pipeline.local.runtime import LocalRuntime
from tests.e2e.test_video_pipeline import REPO
from tests.unit.test_attachments import CODE, PE, PPTX, pdf

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = [pytest.mark.slow]
COURSE = "handouts-e2e"
KEY = generate_private_key()
KEY_ID = key_id_for(KEY.public_key())
PDF = pdf(4)
FILES: dict[str, bytes] = {
    "handouts/Semaine 1 – résumé.pdf": PDF,
    "handouts/exercise code.zip": CODE,
    "handouts/scores.csv": b"name,score\r\nAda,10\r\n",
    "handouts/deck.pptx": PPTX,
    "handouts/setup.exe": PE,
    "handouts/demo.html": b"<!doctype html><script>alert(document.cookie)</script>",
    "handouts/renamed.pdf": CODE,
    "lessons/one.md": (
        b"# One\n\n[Read this first](../handouts/Semaine%201%20%E2%80%93%20r%C3%A9sum%C3%A9.pdf)\n\n"
        b"[Starter code](../handouts/exercise%20code.zip)\n"
    ),
    "course.yaml": f"id: {COURSE}\ntitle: Handouts\nsections:\n  - title: A\n    lessons:\n"
    "      - {id: one, file: lessons/one.md}\n".encode(),
}


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime(REPO / "template.yaml", parameters={"LogLevel": "ERROR"}) as rt:
        yield rt


def settle(runtime: LocalRuntime) -> list[dict[str, Any]]:
    runtime.pump()
    sfn = runtime.client("stepfunctions")
    arns = [
        str(e["executionArn"])
        for e in sfn.list_executions(stateMachineArn=runtime.state_machine_arn)["executions"]
    ]
    return list(runtime.wait_for(arns, timeout_s=180).values())


def test_handouts_publish_as_downloads_and_bad_files_fail_alone(runtime: LocalRuntime) -> None:
    for path, data in FILES.items():
        runtime.upload(f"courses/{COURSE}/{path}", data)
    settle(runtime)
    catalog = DynamoCatalog(runtime.client("dynamodb"), runtime.catalog_table)
    items = {str(i.get("path")): i for i in catalog.course_items(COURSE) if i.get("path")}
    status = {path: (items[path]["status"], items[path].get("error", {}).get("name")) for path in items}
    assert status == {
        "handouts/Semaine 1 – résumé.pdf": ("PUBLISHED", None),
        "handouts/exercise code.zip": ("PUBLISHED", None),
        "handouts/scores.csv": ("PUBLISHED", None),
        "handouts/deck.pptx": ("PUBLISHED", None),
        "handouts/setup.exe": ("FAILED", "UnsupportedMediaError"),
        "handouts/demo.html": ("FAILED", "UnsupportedMediaError"),
        "handouts/renamed.pdf": ("FAILED", "InvalidMediaError"),
        "lessons/one.md": ("PUBLISHED", None),
        "course.yaml": ("PUBLISHED", None),
    }
    assert "is a program" in items["handouts/setup.exe"]["error"]["message"]
    assert "is an HTML page" in items["handouts/demo.html"]["error"]["message"]
    assert "its content is a ZIP archive" in items["handouts/renamed.pdf"]["error"]["message"]
    found = items["handouts/Semaine 1 – résumé.pdf"]["details"]["attachment"]
    assert (found["label"], found["pages"], found["bytes"]) == ("PDF", 4, len(PDF))

    s3 = runtime.client("s3")

    def published(key: str) -> str:
        return str(s3.get_object(Bucket=runtime.publish_bucket, Key=key)["Body"].read().decode())

    lesson = published(f"courses/{COURSE}/lessons/{asset_id_for('lessons/one.md')}.html")
    assert (
        lesson.count('class="cp-file"') == 2 and "PDF · 4 pages · " in lesson and "ZIP archive · " in lesson
    )
    index = published(f"courses/{COURSE}/index.html")
    downloads = index.split("<h2>Downloads</h2>", 1)[1]
    for name in ("Semaine 1 – résumé.pdf", "exercise code.zip", "scores.csv", "deck.pptx"):
        assert name in downloads
    assert "setup.exe" not in index and "demo.html" not in index

    edge = Edge(
        EdgeConfig.from_template(REPO / "template.yaml"),
        bucket=bucket_origin(lambda: runtime.client("s3"), runtime.publish_bucket),
        key_group={KEY_ID: public_key_pem(KEY.public_key()).decode()},
    )
    with HttpFront("127.0.0.1", 0, routes=edge.routes()) as front:
        domain = f"127.0.0.1:{front.port}"
        url = f"http://{domain}/{quote(found['key'])}"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=10)
        assert refused.value.code == 403
        policy = course_policy(domain, COURSE, expires=int(time.time()) + 600, scheme="http")
        request = urllib.request.Request(
            url, headers={"Cookie": cookie_header(sign_policy(policy, KEY, KEY_ID))}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["Content-Type"] == "application/pdf"
            assert response.headers["Content-Disposition"] == (
                'attachment; filename="Semaine 1 resume.pdf"; '
                "filename*=UTF-8''Semaine%201%20%E2%80%93%20r%C3%A9sum%C3%A9.pdf"
            )
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.read() == PDF
