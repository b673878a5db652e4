"""The SVG cleaner and its bounds (pipeline/media/svg.py), on SVG written as text: what the renderer is
handed has no DTD, entity, script, handler, foreign content, external reference or CSS url() left, and
every amplification is refused before it is drawn."""

from __future__ import annotations

import base64
import gzip
import io
import re
import time
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest
from PIL import Image

from pipeline.config import MediaLimits
from pipeline.errors import InvalidMediaError, MediaTooLargeError, UnsupportedMediaError
from pipeline.media.svg import (
    MAX_SVG_BYTES,
    MAX_SVG_DEPTH,
    MAX_SVG_DRAWN,
    MAX_SVG_ELEMENTS,
    prepare_svg,
    read_svg,
    root_is_svg,
)

if TYPE_CHECKING:
    from pathlib import Path

NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'


def svg(body: str, attrs: str = 'width="100" height="100"') -> bytes:
    return f"<svg {NS} {attrs}>{body}</svg>".encode()


def prepare(data: bytes, limits: MediaLimits | None = None) -> str:
    return prepare_svg(data, "d.svg", limits or MediaLimits()).markup


def png_data_uri(size: tuple[int, int] = (4, 4)) -> str:
    buf = io.BytesIO()
    Image.new("RGB", size, (255, 0, 0)).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def test_a_plain_drawing_keeps_its_shapes_styles_gradients_and_text() -> None:
    body = (
        "<style>.a { fill: url(#g); stroke: #000 }</style>"
        '<defs><linearGradient id="g"><stop offset="0" stop-color="red"/></linearGradient>'
        '<symbol id="s"><circle r="2"/></symbol></defs>'
        '<rect class="a" width="10" height="10" style="fill: url(\'#g\')"/>'
        '<use xlink:href="#s" x="5"/><text x="1" y="9" xml:space="preserve">Hi &amp; bye</text>'
    )
    out = prepare(svg(body))
    for kept in (
        "linearGradient",
        'id="g"',
        "url(#g)",
        "url('#g')",
        'href="#s"',
        "Hi &amp; bye",
        "xml:space",
    ):
        assert kept in out, kept


@pytest.mark.parametrize(
    ("body", "gone"),
    [
        ("<script>alert(1)</script>", "alert"),
        ('<script xlink:href="https://evil.example/x.js"/>', "evil"),
        ('<rect onclick="alert(1)" onmouseover="x()" width="1" height="1"/>', "alert"),
        ('<a xlink:href="javascript:alert(1)"><rect width="1" height="1"/></a>', "javascript"),
        ('<a href="https://phish.example/"><rect width="1" height="1"/></a>', "phish"),
        (
            '<foreignObject width="9" height="9"><body xmlns="http://www.w3.org/1999/xhtml">'
            "<script>alert(1)</script><iframe src='x'/></body></foreignObject>",
            "alert",
        ),
        ('<set attributeName="href" to="javascript:alert(1)"/>', "javascript"),
        ('<animate attributeName="href" values="javascript:alert(1)"/>', "javascript"),
        ('<rect style="fill: url(https://evil.example/p.svg#x)" width="1" height="1"/>', "evil"),
        ('<rect fill="url(/etc/passwd#x) red" width="1" height="1"/>', "passwd"),
        ('<rect fill="url(file:///etc/passwd" width="1" height="1"/>', "passwd"),
        ("<style>@import url(https://evil.example/a.css); rect { fill: red }</style>", "evil"),
        ('<style>@import "/etc/passwd";</style>', "passwd"),
        ("<style>@font-face { font-family: x; src: url(https://evil.example/f.woff) }</style>", "evil"),
        ("<style>rect { background: \\75 rl(https://evil.example/x) }</style>", "evil"),
        ("<style>/* */ rect { fill: URL( 'http://evil.example/x' ) }</style>", "evil"),
        ('<linearGradient id="g" xlink:href="https://evil.example/g.svg#x"/>', "evil"),
        ('<g xml:base="https://evil.example/"><rect width="1" height="1"/></g>', "evil"),
        ('<rect xmlns:ev="http://www.w3.org/2001/xml-events" ev:event="click" width="1" height="1"/>', "ev:"),
        ('<html:script xmlns:html="http://www.w3.org/1999/xhtml">alert(1)</html:script>', "alert"),
    ],
)
def test_what_only_a_browser_would_run_or_load_is_removed(body: str, gone: str) -> None:
    prepared = prepare_svg(svg(body), "d.svg", MediaLimits())
    assert gone not in prepared.markup, prepared.markup
    if gone != "ev:":  # another vocabulary's attribute is dropped like editor metadata, without a word
        assert prepared.removed  # the author is told what was left out
    assert not re.search(r"\son\w+=", prepared.markup)


def test_the_processing_instructions_comments_and_doctype_are_gone() -> None:
    data = (
        b'<?xml version="1.0"?><?xml-stylesheet href="https://evil.example/s.css"?>'
        b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">'
        b"<!-- comment --><svg " + NS.encode() + b' width="1" height="1"/>'
    )
    out = prepare(data)
    assert "evil" not in out and "DOCTYPE" not in out and "comment" not in out and "<?" not in out


@pytest.mark.parametrize(
    "href",
    [
        "/etc/passwd",
        "file:///etc/passwd",
        "secret.png",
        "../../proc/self/environ",
        "/dev/zero",
        "http://169.254.169.254/latest/meta-data/",
        "https://example.com/photo.png",
        "javascript:alert(1)",
        "other.svg#shape",
    ],
)
@pytest.mark.parametrize("element", ["image", "feImage", "use"])
def test_drawing_something_outside_the_file_is_refused(href: str, element: str) -> None:
    body = f'<{element} xlink:href="{href}" width="10" height="10"/>'
    if element == "feImage":
        body = (
            f'<filter id="f"><feImage href="{href}"/></filter><rect filter="url(#f)" width="9" height="9"/>'
        )
    with pytest.raises(
        UnsupportedMediaError, match=rf"d\.svg shows content from outside the file in a <{element}>"
    ):
        prepare(svg(body))


def test_the_refusal_names_a_file_but_never_echoes_a_url() -> None:
    with pytest.raises(UnsupportedMediaError, match=r"\(photo\.png\).*Embed it"):
        prepare(svg('<image href="photo.png" width="1" height="1"/>'))
    with pytest.raises(UnsupportedMediaError) as info:
        prepare(svg('<image href="javascript:alert(document.cookie)" width="1" height="1"/>'))
    assert "javascript" not in str(info.value) and "an address outside the file" in str(info.value)


def test_embedded_pictures_are_checked_and_reencoded() -> None:
    uri = png_data_uri()
    # Declared as JPEG, really a PNG, with whitespace in the base64: re-encoded as what Pillow saw.
    sloppy = "data:image/jpeg;base64," + " ".join(re.findall(".{1,20}", uri.split(",", 1)[1]))
    out = prepare(svg(f'<image xlink:href="{sloppy}" width="4" height="4"/>'))
    assert f'href="{uri}"' in out


@pytest.mark.parametrize(
    ("payload", "error", "message"),
    [
        ("data:image/png;base64,!!!notbase64", InvalidMediaError, "not valid base64"),
        (
            "data:image/png;base64," + base64.b64encode(b"%PDF-1.7").decode(),
            InvalidMediaError,
            "not a readable",
        ),
        (
            "data:image/tiff;base64," + base64.b64encode(b"II*\x00" + bytes(100)).decode(),
            InvalidMediaError,
            "not a readable PNG, JPEG, GIF or WebP",
        ),
    ],
)
def test_broken_embedded_pictures_are_named(payload: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        prepare(svg(f'<image href="{payload}" width="1" height="1"/>'))


def test_embedded_pictures_count_against_the_pixel_limit() -> None:
    body = "".join(f'<image href="{png_data_uri((100, 100))}" width="1" height="1"/>' for _ in range(3))
    prepare(svg(body), MediaLimits(max_image_pixels=30_000))
    with pytest.raises(MediaTooLargeError, match="embeds pictures of more than 29,999 pixels"):
        prepare(svg(body), MediaLimits(max_image_pixels=29_999))


def test_an_embedded_svg_is_cleaned_like_the_file_and_nesting_is_bounded() -> None:
    inner = svg('<script>alert(1)</script><rect width="5" height="5"/>')
    uri = "data:image/svg+xml;base64," + base64.b64encode(inner).decode()
    out = prepare(svg(f'<image href="{uri}" width="10" height="10"/>'))
    [encoded] = re.findall(r'href="data:image/svg\+xml;base64,([^"]+)"', out)
    cleaned = base64.b64decode(encoded).decode()
    assert "rect" in cleaned and "alert" not in cleaned
    # An embedded SVG may not reach outside either (resvg would read the file for it).
    outside = svg('<image href="/etc/passwd" width="1" height="1"/>')
    escaping = "data:image/svg+xml;utf8," + quote(outside.decode())
    with pytest.raises(UnsupportedMediaError, match="outside the file"):
        prepare(svg(f'<image href="{escaping}" width="10" height="10"/>'))
    nested = svg('<rect width="1" height="1"/>')
    for _ in range(3):
        nested = svg(f'<image href="data:image/svg+xml;base64,{base64.b64encode(nested).decode()}"/>')
    with pytest.raises(MediaTooLargeError, match="nests SVG pictures inside SVG pictures"):
        prepare(nested)


# ---- bounds


LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
    b'<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">'
    b'<!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">]>'
    b'<svg xmlns="http://www.w3.org/2000/svg"><text>&h;</text></svg>'
)


@pytest.mark.parametrize(
    "data",
    [
        LAUGHS,
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>',
        b'<!DOCTYPE svg [<!ENTITY big "'
        + b"A" * 50_000
        + b'">]><svg xmlns="http://www.w3.org/2000/svg">'
        + b"<text>&big;</text>" * 1000
        + b"</svg>",  # quadratic blow-up: one big entity, referenced many times
        b'<!DOCTYPE svg [<!ENTITY % p SYSTEM "http://evil.example/x.dtd"> %p;]><svg/>',
    ],
    ids=["billion-laughs", "external-entity", "quadratic-blowup", "parameter-entity"],
)
def test_entities_are_refused_before_any_expansion(data: bytes) -> None:
    started = time.monotonic()
    with pytest.raises(UnsupportedMediaError, match=r"declares XML entities.*Plain SVG"):
        prepare(data)
    assert time.monotonic() - started < 1.0


def test_use_amplification_is_counted_before_drawing() -> None:
    defs = '<rect id="l0" width="1" height="1"/>'
    for level in range(1, 7):
        defs += f'<g id="l{level}">' + f'<use href="#l{level - 1}"/>' * 10 + "</g>"
    data = svg(f'<defs>{defs}</defs><use href="#l6"/>')
    assert len(data) < 2000
    with pytest.raises(MediaTooLargeError, match=rf"the limit is {MAX_SVG_DRAWN:,}"):
        prepare(data)
    # The same shape used 1,000 times (a scatter plot) is fine.
    plot = svg('<defs><circle id="m" r="1"/></defs>' + '<use href="#m" x="3"/>' * 1000)
    assert prepare_svg(plot, "plot.svg", MediaLimits()).drawn < 3000


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<g>" * (MAX_SVG_DEPTH + 1) + "</g>" * (MAX_SVG_DEPTH + 1), "nests its elements more than"),
        (
            '<rect id="u0" width="1" height="1"/>'
            + "".join(f'<use id="u{i}" href="#u{i - 1}"/>' for i in range(1, MAX_SVG_DEPTH + 2)),
            "chains references",
        ),
    ],
    ids=["nesting", "use-chain"],
)
def test_nesting_that_crashes_resvg_is_refused(body: str, message: str) -> None:
    with pytest.raises(MediaTooLargeError, match=message):
        prepare(svg(body))


def test_100000_levels_of_nesting_are_refused_without_recursion() -> None:
    depth = 100_000
    with pytest.raises(MediaTooLargeError, match="nests its elements"):
        prepare(svg("<g>" * depth + "</g>" * depth))


@pytest.mark.parametrize(
    "body",
    [
        '<g id="a"><use href="#a"/></g>',
        '<g id="a"><use href="#b"/></g><g id="b"><use href="#a"/></g>',
        '<pattern id="p"><rect fill="url(#p)" width="1" height="1"/></pattern>',
    ],
)
def test_reference_cycles_are_refused(body: str) -> None:
    with pytest.raises(InvalidMediaError, match="refers to itself"):
        prepare(svg(body))


def test_element_count_and_file_size_are_bounded(tmp_path: Path) -> None:
    with pytest.raises(MediaTooLargeError, match=f"more than {MAX_SVG_ELEMENTS:,} elements"):
        prepare(svg("<rect/>" * (MAX_SVG_ELEMENTS + 1)))
    big = tmp_path / "big.svg"
    big.write_bytes(svg("<!--" + "x" * MAX_SVG_BYTES + "-->"))
    with pytest.raises(MediaTooLargeError, match=r"big\.svg is 21\.0 MB; an SVG may be at most 21 MB"):
        read_svg(big, big.name)
    bomb = tmp_path / "bomb.svgz"
    bomb.write_bytes(gzip.compress(svg("<!--" + " " * (MAX_SVG_BYTES + 10) + "-->")))
    assert bomb.stat().st_size < 100_000
    with pytest.raises(MediaTooLargeError, match=r"bomb\.svgz inflates to more than"):
        read_svg(bomb, bomb.name)
    small = tmp_path / "ok.svgz"
    small.write_bytes(gzip.compress(svg("<rect/>")))
    assert read_svg(small, small.name) == svg("<rect/>")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'><rect", "not a readable SVG"),
        (b"<html><body/></html>", "its root element is <html>"),
        (svg("", 'width="0" height="10"'), "has no size"),
        (svg("", 'width="10" height="-5"'), "has no size"),
    ],
)
def test_broken_or_sizeless_svg_is_invalid(data: bytes, message: str) -> None:
    with pytest.raises(InvalidMediaError, match=message):
        prepare(data)


def test_svg_without_a_namespace_is_the_same_drawing() -> None:
    prepared = prepare_svg(
        b'<svg width="20" height="10"><rect width="5" height="5"/></svg>', "d.svg", MediaLimits()
    )
    assert "rect" in prepared.markup and prepared.size == (20.0, 10.0)


@pytest.mark.parametrize(
    ("attrs", "size"),
    [
        ('width="400" height="200"', (400, 200)),
        ('width="400px" height="200px"', (400, 200)),
        ('width="10cm" height="5cm"', (377.95, 188.98)),
        ('width="100pt" height="50pt"', (133.33, 66.67)),
        ('width="2in" height="1in"', (192, 96)),
        ('width="10em" height="5em"', (160, 80)),
        ('viewBox="0 0 300 150"', (300, 150)),
        ('viewBox="0,0,300,150" width="auto"', (300, 150)),
        ('width="400" viewBox="0 0 300 150"', (400, 200)),
        ('height="300" viewBox="0 0 300 150"', (600, 300)),
        ('width="50%" viewBox="0 0 300 150"', (150, 75)),
        # Without a viewBox and an absolute width and height, resvg sizes the drawing by its content.
        ("", None),
        ('width="400"', None),
        ('width="100%" height="100%"', None),
    ],
)
def test_intrinsic_size_follows_the_svg_rules(attrs: str, size: tuple[float, float] | None) -> None:
    prepared = prepare_svg(svg("<rect/>", attrs), "d.svg", MediaLimits())
    if size is None:
        assert prepared.size is None
    else:
        assert prepared.size == pytest.approx(size, abs=0.01)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<svg xmlns='http://www.w3.org/2000/svg'/>", True),
        ("\ufeff\n<?xml version='1.0'?><!-- a -- b --><!DOCTYPE svg [<!ENTITY x '>'>]>\n<svg/>", True),
        ("<svg:svg xmlns:svg='http://www.w3.org/2000/svg'/>", True),
        ("<!DOCTYPE html><html><svg/></html>", False),
        ("<svgx/>", False),
        ("plain text", False),
        ("<?xml version='1.0'?><!-- unfinished", None),
    ],
)
def test_root_is_svg(text: str, expected: bool | None) -> None:
    assert root_is_svg(text) is expected
