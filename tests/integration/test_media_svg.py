"""SVG diagrams through the real image path: cleaned (pipeline/media/svg.py), drawn by resvg in its child
process (svg_render.py) and written as lossless WebP at every width, text included."""

from __future__ import annotations

import gzip
import io
import subprocess
from typing import TYPE_CHECKING, Any

import pytest
import resvg_py
from PIL import Image

from pipeline.config import MediaLimits
from pipeline.errors import InvalidMediaError, MediaTooLargeError
from pipeline.media import svg_render
from pipeline.media.images import WEBP_MAX_SIDE, make_variants
from pipeline.media.svg import prepare_svg
from pipeline.media.svg_render import render_svg

if TYPE_CHECKING:
    from pathlib import Path

NS = 'xmlns="http://www.w3.org/2000/svg"'
DIAGRAM = f"""<?xml version="1.0" encoding="UTF-8"?>
<svg {NS} width="400" height="200" viewBox="0 0 400 200">
  <rect x="0" y="0" width="200" height="200" fill="#3366cc"/>
  <text x="210" y="60" font-family="Helvetica, Arial, sans-serif" font-size="40">Label</text>
  <text x="210" y="150" font-family="monospace" font-size="30">f(x)</text>
</svg>
"""


def ink(img: Image.Image, box: tuple[int, int, int, int]) -> int:
    """Opaque pixels in ``box``: drawn text shows up as ink."""
    alpha = img.convert("RGBA").getchannel("A").crop(box)
    return sum(1 for a in alpha.get_flattened_data() if isinstance(a, int) and a > 128)


def test_a_diagram_is_drawn_at_every_width_text_included(tmp_path: Path) -> None:
    src = tmp_path / "diagram.svg"
    src.write_text(DIAGRAM)
    made = make_variants(src, tmp_path / "out", widths=(320, 640, 1280))
    assert made.info == {
        "format": "SVG",
        "mode": "RGBA",
        "frames": 1,
        "width": 400,
        "height": 200,
        "elements": 4,
    }
    # Vectors scale: 1280 wide from a 400 px drawing, sharp.
    assert [(v.path, v.width, v.height) for v in made.variants] == [
        ("320.webp", 320, 160),
        ("640.webp", 640, 320),
        ("1280.webp", 1280, 640),
    ]
    assert made.warnings == []
    with Image.open(tmp_path / "out/1280.webp") as out:
        assert out.format == "WEBP" and out.mode == "RGBA"
        pixel = out.getpixel((100, 100))
        assert isinstance(pixel, tuple) and pixel[:3] == (0x33, 0x66, 0xCC)  # lossless: exact colour
        assert out.getpixel((1270, 630)) == (0, 0, 0, 0)  # the drawing's background stays transparent
        # Text is drawn with the shipped fonts (a Lambda has none of its own).
        assert ink(out, (660, 40, 1280, 200)) > 2000
        assert ink(out, (660, 380, 1280, 500)) > 1000
    assert (tmp_path / "out/1280.webp").read_bytes()[12:16] == b"VP8L"  # lossless WebP


def test_svgz_is_inflated_and_drawn(tmp_path: Path) -> None:
    src = tmp_path / "diagram.svgz"
    src.write_bytes(gzip.compress(DIAGRAM.encode()))
    made = make_variants(src, tmp_path / "out", widths=(320,))
    assert [(v.width, v.height) for v in made.variants] == [(320, 160)]


@pytest.mark.parametrize(
    "attrs",
    [
        'width="400" height="200"',
        'width="10cm" height="5cm"',
        'width="100pt" height="50pt"',
        'width="3in" height="1in"',
        'viewBox="0 0 300 150"',
        'width="400" viewBox="0 0 300 150"',
        'height="300" viewBox="0 0 300 150"',
        'width="50%" viewBox="0 0 300 150"',
    ],
)
def test_the_size_we_compute_is_the_size_resvg_draws(attrs: str) -> None:
    data = f'<svg {NS} {attrs}><rect width="10" height="10"/></svg>'
    prepared = prepare_svg(data.encode(), "d.svg", MediaLimits())
    drawn = Image.open(io.BytesIO(bytes(resvg_py.svg_to_bytes(svg_string=data, dpi=96.0))))
    assert prepared.size is not None
    assert drawn.size == tuple(round(v) for v in prepared.size), attrs


@pytest.mark.parametrize("attrs", ["", 'width="250"', 'width="100%" height="100%"'])
def test_a_drawing_without_a_size_is_fitted_by_its_content(tmp_path: Path, attrs: str) -> None:
    src = tmp_path / "bare.svg"
    src.write_text(f'<svg {NS} {attrs}><rect x="5" y="5" width="10" height="30" fill="red"/></svg>')
    made = make_variants(src, tmp_path / "out", widths=(320, 640))
    # resvg's size for it is its content's box (15x35 from the origin), drawn at each width.
    assert [(v.width, v.height) for v in made.variants] == [(320, 747), (640, 1494)]
    assert (made.info["width"], made.info["height"]) == (640, 1494)


def test_a_tall_strip_is_drawn_within_webp_and_the_pixel_limit(tmp_path: Path) -> None:
    src = tmp_path / "strip.svg"
    src.write_text(f'<svg {NS} viewBox="0 0 10 10000"><rect width="10" height="10000" fill="red"/></svg>')
    made = make_variants(src, tmp_path / "out", widths=(320, 1280))
    for variant in made.variants:
        assert variant.height <= WEBP_MAX_SIDE and variant.width == 16
    square = tmp_path / "square.svg"
    square.write_text(f'<svg {NS} viewBox="0 0 10 10"><rect width="10" height="10" fill="red"/></svg>')
    made = make_variants(
        square, tmp_path / "out2", widths=(1280,), limits=MediaLimits(max_image_pixels=100_000)
    )
    [variant] = made.variants
    assert (variant.width, variant.height) == (316, 316)  # sqrt(100,000): within the limit


def test_what_was_cleaned_out_is_told_to_the_author(tmp_path: Path) -> None:
    src = tmp_path / "clickable.svg"
    src.write_text(
        f'<svg {NS} width="10" height="10" onload="init()"><script>init()</script>'
        '<a href="https://example.com"><rect width="5" height="5"/></a></svg>'
    )
    [warning] = make_variants(src, tmp_path / "out", widths=(320,)).warnings
    assert warning.startswith("clickable.svg: left out of the picture")
    assert (
        "<script> (1)" in warning
        and "on* event handlers (1)" in warning
        and "links outside the file (1)" in warning
    )


def test_a_renderer_crash_is_the_files_error_not_the_functions(tmp_path: Path) -> None:
    # resvg overflows its stack (a segfault) near 250 levels; the cleaner refuses far earlier, and if
    # anything else crashes it, only the child dies.
    deep = f"<svg {NS} width='10' height='10'>" + "<g>" * 400 + "<rect width='5' height='5'/>" + "</g>" * 400
    with pytest.raises(InvalidMediaError, match=r"deep\.svg made the SVG renderer stop"):
        render_svg(deep + "</svg>", [(100, 100)], "deep.svg", tmp_path)


def test_a_drawing_that_takes_too_long_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Ten octaves of turbulence over a million pixels: ~1.6 s here (a 4000x4000 one takes 26 s).
    slow = (
        f"<svg {NS} width='1000' height='1000'><filter id='t'><feTurbulence baseFrequency='0.01' "
        "numOctaves='10'/></filter><rect width='1000' height='1000' filter='url(#t)'/></svg>"
    )
    monkeypatch.setattr(svg_render, "RENDER_TIMEOUT_S", 0.5)
    with pytest.raises(MediaTooLargeError, match=r"slow\.svg takes more than 0\.5 s to draw"):
        render_svg(slow, [(1000, 1000)], "slow.svg", tmp_path)


def test_the_renderer_gets_no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "do-not-leak")
    seen: list[dict[str, str]] = []
    real_run = subprocess.run

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(dict(kwargs["env"]))
        return real_run(*args, **kwargs)

    monkeypatch.setattr(subprocess, "run", spy)  # the one module svg_render runs the child with
    pngs = render_svg(f"<svg {NS} width='10' height='10'/>", [(20, 20)], "d.svg", tmp_path)
    assert Image.open(pngs[(20, 20)]).size == (20, 20)
    [env] = seen
    assert set(env) == {"PYTHONPATH", "LD_LIBRARY_PATH", "PYTHONDONTWRITEBYTECODE", "LANG"}
    assert "do-not-leak" not in str(env)
