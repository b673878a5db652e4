"""Hostile SVG (issue 14: "none of at least 20 payloads survives in anything published").

Each payload goes through the real image path (clean, draw in the child, WebP). It is either refused with a
named error, or published as WebP pictures only, in which: no byte of the payload's markers, no pixel of a
file planted on this machine (a magenta PNG, the file a payload points at by absolute path, relative path,
``file:`` URL, ``<feImage>``, nested SVG, ``<use>``), and no request reached the loopback server the
payloads name. A first test shows what resvg does on its own, without the cleaning: it reads local files
(the reason for the cleaning) and fetches no URL."""

from __future__ import annotations

import base64
import functools
import gzip
import io
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import pytest
import resvg_py
from PIL import Image

from pipeline.config import MediaLimits
from pipeline.errors import InvalidMediaError, MediaTooLargeError, UnsupportedMediaError
from pipeline.media.images import make_variants
from tests.integration.image_fixtures import png_chunk

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
MAGENTA = (255, 0, 255)
BASE = '<rect x="0" y="0" width="50" height="100" fill="#3366cc"/>'


class Loopback:
    """An HTTP server on 127.0.0.1 that serves a magenta PNG and counts what reaches it."""

    def __init__(self, png: bytes) -> None:
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()
                self.wfile.write(png)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def magenta_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (100, 100), MAGENTA).save(buf, "PNG")
    return buf.getvalue()


@dataclass(frozen=True)
class Planted:
    dir: str
    url: str
    requests: list[str]


@pytest.fixture
def planted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Planted]:
    """Secrets on this machine (magenta pictures), the working directory next to them, a loopback server."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "secret.png").write_bytes(magenta_png())
    (secrets / "secret.svg").write_text(
        f'<svg {NS} width="100" height="100"><rect id="r" width="100" height="100" fill="#ff00ff"/></svg>'
    )
    (secrets / "evil.css").write_text("rect { fill: #ff00ff !important }")
    monkeypatch.chdir(secrets)  # a relative reference would resolve here if anything used the cwd
    server = Loopback(magenta_png())
    try:
        yield Planted(str(secrets), server.url, server.requests)
    finally:
        server.close()


def doc(body: str, attrs: str = 'width="100" height="100"') -> str:
    return f"<svg {NS} {attrs}>{BASE}{body}</svg>"


def data_svg(markup: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(markup.encode()).decode()


def bomb_png_uri() -> str:
    """A PNG that declares 100,000 x 100,000 pixels in a few bytes."""
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    png = (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b""))
        + png_chunk(b"IEND", b"")
    )
    return "data:image/png;base64," + base64.b64encode(png).decode()


@functools.cache
def svgz_bomb() -> bytes:
    """25 MB of SVG in ~25 KB of gzip."""
    return gzip.compress(doc("<!--" + " " * (25 * 1024 * 1024) + "-->").encode(), 9)


def payloads(d: str, url: str) -> dict[str, str | bytes]:
    """name -> the SVG (text, or bytes for the compressed one). Markers to look for: alert, evil, secret."""
    laughs = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10 if i else "lol"}">' for i in range(9))
    reads_file = doc(f'<image href="{d}/secret.png" width="100" height="100"/>')
    uses = '<rect id="u0" width="1" height="1"/>' + "".join(
        f'<g id="u{i}">' + f'<use href="#u{i - 1}"/>' * 10 + "</g>" for i in range(1, 8)
    )
    return {
        "script": doc("<script>alert('script')</script>"),
        "script-cdata": doc("<script><![CDATA[alert('cdata')]]></script>"),
        "external-script": doc(f'<script xlink:href="{url}/evil.js"/>'),
        "onload-onclick": doc(
            '<rect onclick="alert(1)" width="9" height="9"/>', 'width="100" height="100" onload="alert(2)"'
        ),
        "javascript-link": doc('<a xlink:href="javascript:alert(3)"><rect width="9" height="9"/></a>'),
        "data-html-link": doc(
            '<a href="data:text/html,&lt;script&gt;alert(4)&lt;/script&gt;"><circle r="5"/></a>'
        ),
        "foreignObject": doc(
            '<foreignObject width="100" height="100"><div xmlns="http://www.w3.org/1999/xhtml">'
            f'<img src="{url}/evil.png"/><script>alert(5)</script></div></foreignObject>'
        ),
        "smil-href": doc(
            '<a><set attributeName="href" to="javascript:alert(6)"/><rect width="9" height="9"/></a>'
            '<animate attributeName="xlink:href" values="javascript:alert(7)"/>'
        ),
        "image-absolute-path": doc(f'<image href="{d}/secret.png" width="100" height="100"/>'),
        "image-file-url": doc(f'<image xlink:href="file://{d}/secret.png" width="100" height="100"/>'),
        "image-relative-path": doc('<image href="secret.png" width="100" height="100"/>'),
        "image-dev-zero": doc('<image href="/dev/zero" width="100" height="100"/>'),
        "image-http": doc(f'<image href="{url}/evil.png" width="100" height="100"/>'),
        "image-metadata-ip": doc(
            '<image href="http://169.254.169.254/latest/meta-data/" width="9" height="9"/>'
        ),
        "feImage-file": doc(
            f'<filter id="f"><feImage href="{d}/secret.png"/></filter>'
            '<rect width="100" height="100" filter="url(#f)"/>'
        ),
        "use-external-file": doc(f'<use href="{d}/secret.svg#r"/>'),
        "use-external-relative": doc('<use xlink:href="secret.svg#r"/>'),
        "use-external-http": doc(f'<use href="{url}/evil.svg#r"/>'),
        "nested-svg-reads-file": doc(f'<image href="{data_svg(reads_file)}" width="100" height="100"/>'),
        "nested-svg-script": doc(
            f'<image href="{data_svg(doc("<script>alert(8)</script>"))}" width="100" height="100"/>'
        ),
        "css-url-style-attribute": doc(
            f'<rect width="100" height="100" style="fill: url({url}/evil.svg#p)"/>'
        ),
        "css-url-presentation": doc(f'<rect width="100" height="100" fill="url({d}/secret.svg#r) #ff00ff"/>'),
        "css-import": doc(f"<style>@import url({url}/evil.css); @import '{d}/evil.css';</style>"),
        "css-url-stylesheet": doc(
            f"<style>rect {{ fill: url({url}/evil.svg#p); mask: url({d}/secret.svg#r) }}</style>"
        ),
        "css-escaped-url": doc(f"<style>rect {{ fill: \\75 rl({url}/evil.svg#p) }}</style>"),
        "css-font-face": doc(f"<style>@font-face {{ font-family: evil; src: url({url}/evil.woff) }}</style>"),
        "gradient-external-template": doc(
            f'<linearGradient id="g" xlink:href="{url}/evil.svg#g"/>'
            '<rect fill="url(#g)" width="9" height="9"/>'
        ),
        "xml-stylesheet-pi": f'<?xml-stylesheet type="text/css" href="{url}/evil.css"?>' + doc(""),
        "xml-base": doc(f'<g xml:base="{url}/"><image href="evil.png" width="9" height="9"/></g>'),
        "xxe-file": '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        + doc("<text>&x;</text>"),
        "xxe-http": f'<!DOCTYPE svg [<!ENTITY % p SYSTEM "{url}/evil.dtd"> %p;]>' + doc(""),
        "billion-laughs": f"<!DOCTYPE svg [{laughs}]>" + doc("<text>&l8;</text>"),
        "use-bomb": doc(f'<defs>{uses}</defs><use href="#u7"/>'),
        "nesting-crash": doc("<g>" * 300 + "</g>" * 300),
        "reference-cycle": doc('<g id="a"><use href="#b"/></g><g id="b"><use href="#a"/></g>'),
        "embedded-png-bomb": doc(f'<image href="{bomb_png_uri()}" width="9" height="9"/>'),
        "huge-canvas": doc("", 'width="1000000" height="1000000"'),
        "svgz-bomb": svgz_bomb(),
    }


REFUSED = {
    "image-absolute-path": UnsupportedMediaError,
    "image-file-url": UnsupportedMediaError,
    "image-relative-path": UnsupportedMediaError,
    "image-dev-zero": UnsupportedMediaError,
    "image-http": UnsupportedMediaError,
    "image-metadata-ip": UnsupportedMediaError,
    "feImage-file": UnsupportedMediaError,
    "use-external-file": UnsupportedMediaError,
    "use-external-relative": UnsupportedMediaError,
    "use-external-http": UnsupportedMediaError,
    "nested-svg-reads-file": UnsupportedMediaError,
    "xml-base": UnsupportedMediaError,
    "xxe-file": UnsupportedMediaError,
    "xxe-http": UnsupportedMediaError,
    "billion-laughs": UnsupportedMediaError,
    "use-bomb": MediaTooLargeError,
    "nesting-crash": MediaTooLargeError,
    "reference-cycle": InvalidMediaError,
    "embedded-png-bomb": MediaTooLargeError,
    "svgz-bomb": MediaTooLargeError,
}
MARKERS = (b"alert", b"evil", b"secret", b"javascript", b"script", b"passwd", b"169.254", b"127.0.0.1")
NAMES = sorted(payloads("/x", "http://127.0.0.1:1"))


def test_there_are_at_least_twenty_payloads() -> None:
    assert len(NAMES) >= 20


def magenta_pixels(img: Image.Image) -> int:
    rgba = img.convert("RGBA")
    return sum(
        1
        for p in rgba.get_flattened_data()
        if isinstance(p, tuple) and p[3] > 0 and p[0] > 200 and p[1] < 80 and p[2] > 200
    )


@pytest.mark.parametrize("name", NAMES)
def test_no_payload_survives_in_anything_published(name: str, planted: Planted, tmp_path: Path) -> None:
    payload = payloads(planted.dir, planted.url)[name]
    src = tmp_path / ("hostile.svgz" if isinstance(payload, bytes) else "hostile.svg")
    src.write_bytes(payload if isinstance(payload, bytes) else payload.encode())
    out = tmp_path / "out"
    if name in REFUSED:
        with pytest.raises(REFUSED[name]) as info:
            make_variants(src, out, widths=(320, 640), limits=MediaLimits())
        assert str(info.value).startswith(src.name)  # named, for the author
        for marker in (b"alert", b"javascript", planted.dir.encode(), planted.url.encode()):
            assert marker.decode() not in str(info.value)  # the message echoes no payload
    else:
        made = make_variants(src, out, widths=(320, 640), limits=MediaLimits())
        assert [v.path for v in made.variants] == ["320.webp", "640.webp"]
    published = sorted(out.iterdir()) if out.exists() else []
    assert all(p.suffix == ".webp" for p in published)
    for path in published:
        data = path.read_bytes()
        assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
        for marker in MARKERS:
            assert marker not in data, (name, path.name, marker)
        with Image.open(path) as img:
            assert img.format == "WEBP"
            assert magenta_pixels(img) == 0, (name, "a planted file was drawn")
    assert planted.requests == [], "the renderer fetched a URL"


def test_what_resvg_does_without_the_cleaning(planted: Planted) -> None:
    """The evidence behind svg.py's rules: resvg draws local files named by absolute or relative path, in
    <image> (a picture or an SVG file) and in <feImage>; it fetches no http URL, reads no file: URL,
    resolves no external <use> or CSS @import. (If a resvg upgrade changes any of this, this test says
    which, and the cleaning still stands.)"""
    d, url = planted.dir, planted.url
    reads_file = doc(f'<image href="{d}/secret.png" width="100" height="100"/>')

    def drawn(body: str) -> int:
        png = bytes(resvg_py.svg_to_bytes(svg_string=doc(body), dpi=96.0))
        return magenta_pixels(Image.open(io.BytesIO(png)))

    reads = {
        "absolute": f'<image href="{d}/secret.png" width="100" height="100"/>',
        "relative to the cwd": '<image href="secret.png" width="100" height="100"/>',
        "feImage": f'<filter id="f"><feImage href="{d}/secret.png"/></filter>'
        '<rect width="100" height="100" filter="url(#f)"/>',
        "an SVG file": f'<image href="{d}/secret.svg" width="100" height="100"/>',
    }
    for what, body in reads.items():
        assert drawn(body) > 1000, f"resvg no longer reads a local file ({what})"
    ignores = {
        "http": f'<image href="{url}/evil.png" width="100" height="100"/>',
        "file URL": f'<image href="file://{d}/secret.png" width="100" height="100"/>',
        "external use": f'<use href="{d}/secret.svg#r"/>',
        "css import": f"<style>@import url({d}/evil.css);</style><rect width='100' height='100'/>",
        # (cleaned all the same: svg.py treats an embedded SVG as a file of its own)
        "a file named in an embedded SVG": f'<image href="{data_svg(reads_file)}" width="100" height="100"/>',
    }
    for what, body in ignores.items():
        assert drawn(body) == 0, f"resvg now follows {what}"
    assert planted.requests == []
