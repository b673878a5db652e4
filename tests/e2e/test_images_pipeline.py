"""Phone, print and diagram images through the local state machine (S3 -> EventBridge -> SQS -> ingest ->
Step Functions -> MakeImageVariants -> publish bucket + catalog): an SVG diagram with script in it, a
sideways HEIC with GPS, a CMYK JPEG with its press profile, and the ones that must fail by name (an SVG
that shows a file of the machine, a PDF named .heic). A lesson embeds the diagram as WebP."""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

from pipeline import layout
from pipeline.catalog.dynamo import DynamoCatalog
from pipeline.keys import asset_id_for
from tests.integration.image_fixtures import cmyk_profile, phone_exif, two_halves

if TYPE_CHECKING:
    from pipeline.local.runtime import LocalRuntime

pytestmark = pytest.mark.slow

COURSE = "figures"
NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
DIAGRAM = f"""<?xml version="1.0"?>
<svg {NS} width="400" height="200" viewBox="0 0 400 200" onload="alert('svg')">
  <script>alert('svg')</script>
  <rect width="200" height="200" fill="#3366cc"/>
  <text x="210" y="110" font-family="Helvetica" font-size="40">Flow</text>
  <a xlink:href="javascript:alert(1)"><circle cx="350" cy="160" r="20" fill="green"/></a>
</svg>
""".encode()
PEEKING = (
    f'<svg {NS} width="10" height="10"><image href="/etc/hostname" width="10" height="10"/></svg>'.encode()
)
LESSON = b"# Figures\n\n![The flow](../images/diagram.svg)\n"


def heic() -> bytes:
    buf = io.BytesIO()
    two_halves(400, 200).save(buf, format="HEIF", exif=phone_exif(6).tobytes(), quality=90)
    return buf.getvalue()


def cmyk_jpeg() -> bytes:
    img = Image.new("CMYK", (300, 100), (0, 0, 0, 0))
    img.paste((255, 0, 0, 0), (0, 0, 150, 100))
    buf = io.BytesIO()
    img.save(buf, "JPEG", icc_profile=cmyk_profile(), quality=95)
    return buf.getvalue()


def settle(runtime: LocalRuntime) -> None:
    runtime.pump()
    arns = [
        str(e["executionArn"])
        for page in runtime.client("stepfunctions")
        .get_paginator("list_executions")
        .paginate(stateMachineArn=runtime.state_machine_arn)
        for e in page["executions"]
    ]
    runtime.wait_for(arns, timeout_s=180)


def published(runtime: LocalRuntime) -> list[str]:
    pages = runtime.client("s3").get_paginator("list_objects_v2")
    return [
        str(o["Key"])
        for p in pages.paginate(Bucket=runtime.publish_bucket, Prefix=f"courses/{COURSE}/")
        for o in p.get("Contents", [])
    ]


def fetch(runtime: LocalRuntime, key: str) -> tuple[bytes, dict[str, Any]]:
    obj = runtime.client("s3").get_object(Bucket=runtime.publish_bucket, Key=key)
    return obj["Body"].read(), obj


def pixel(data: bytes, xy: tuple[int, int]) -> tuple[int, ...]:
    with Image.open(io.BytesIO(data)) as img:
        value = img.convert("RGBA").getpixel(xy)
    assert isinstance(value, tuple)
    return value


def test_svg_heic_and_cmyk_publish_as_webp_and_the_broken_ones_fail_by_name(runtime: LocalRuntime) -> None:
    uploads = {
        "images/diagram.svg": DIAGRAM,
        "images/IMG_0001.HEIC": heic(),
        "images/print.jpg": cmyk_jpeg(),
        "images/peeking.svg": PEEKING,
        "images/fake.heic": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" * 40,
    }
    for path, body in uploads.items():
        runtime.upload(f"courses/{COURSE}/{path}", body)
    settle(runtime)
    runtime.upload(f"courses/{COURSE}/lessons/figures.md", LESSON)
    settle(runtime)

    items = DynamoCatalog(runtime.client("dynamodb"), runtime.catalog_table).course_items(COURSE)
    assets = {str(i["path"]): i for i in items if str(i["SK"]).startswith("ASSET#")}
    statuses = {p: (i["status"], (i.get("error") or {}).get("name")) for p, i in assets.items()}
    assert statuses == {
        "images/diagram.svg": ("PUBLISHED", None),
        "images/IMG_0001.HEIC": ("PUBLISHED", None),
        "images/print.jpg": ("PUBLISHED", None),
        "images/peeking.svg": ("FAILED", "UnsupportedMediaError"),
        "images/fake.heic": ("FAILED", "InvalidMediaError"),
        "lessons/figures.md": ("PUBLISHED", None),
    }, statuses
    assert (
        "peeking.svg shows content from outside the file" in assets["images/peeking.svg"]["error"]["message"]
    )
    assert "fake.heic is not a readable image" in assets["images/fake.heic"]["error"]["message"]

    keys = published(runtime)
    assert not [k for k in keys if k.lower().endswith((".svg", ".svgz", ".heic", ".jpg"))], keys
    for path in ("images/diagram.svg", "images/IMG_0001.HEIC", "images/print.jpg"):
        aid = asset_id_for(path)
        variants = sorted(k for k in keys if f"/images/{aid}/" in k)
        assert [k.rsplit("/", 1)[1] for k in variants] == ["1280.webp", "320.webp", "640.webp"], path
        for key in variants:
            data, obj = fetch(runtime, key)
            assert obj["ContentType"] == "image/webp" and data[8:12] == b"WEBP"
            for marker in (b"alert", b"javascript", b"PhoneMaker", b"SecretModel", b"GPS", b"EXIF"):
                assert marker not in data, (key, marker)

    diagram = assets["images/diagram.svg"]["details"]
    assert diagram["image"]["format"] == "SVG"
    assert [(v["width"], v["height"]) for v in diagram["variants"]] == [(320, 160), (640, 320), (1280, 640)]
    assert "<script> (1)" in diagram["warnings"][0]
    data, _ = fetch(runtime, str(diagram["variants"][2]["key"]))
    assert pixel(data, (100, 100))[:3] == (0x33, 0x66, 0xCC)

    phone = assets["images/IMG_0001.HEIC"]["details"]
    assert (phone["image"]["format"], phone["image"]["width"], phone["image"]["height"]) == ("HEIF", 200, 400)
    data, _ = fetch(runtime, str(phone["variants"][1]["key"]))
    top = pixel(data, (100, 20))
    assert top[0] > 200 and top[2] < 60  # upright: the red half on top

    press = assets["images/print.jpg"]["details"]
    assert press["image"]["mode"] == "CMYK" and not press.get("warnings")
    data, _ = fetch(runtime, str(press["variants"][0]["key"]))
    cyan = pixel(data, (40, 50))
    assert abs(cyan[0] - 0) < 25 and abs(cyan[1] - 169) < 25 and abs(cyan[2] - 67) < 25  # the profile's green

    page, _ = fetch(runtime, f"courses/{COURSE}/" + layout.lesson_page(asset_id_for("lessons/figures.md")))
    html = page.decode()
    aid = asset_id_for("images/diagram.svg")
    assert f"images/{aid}/640.webp" in html and f"images/{aid}/1280.webp 1280w" in html
    # The page shows the pictures, never the SVG.
    assert not re.search(r'(?:src|href|srcset)="[^"]*\.svgz?[" ]', html), html
