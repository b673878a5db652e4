"""SVG diagrams, made safe to draw: parsed without entities, bounded, and cleaned of everything that reaches
outside the file, before ``pipeline.media.svg_render`` draws them into pixels.

An SVG is a program more than a picture: script and event handlers, links to other files and URLs, and
shapes that reference shapes (``<use>``), so a few kilobytes can ask for billions of drawn elements. The
pipeline never publishes an SVG (pages get WebP variants, see README "Images"), so script cannot reach a
learner; what remains dangerous is what the renderer does while drawing:

- resvg reads local files: ``<image href="/etc/…">`` (a picture or another SVG), a relative path (against
  the working directory), ``<feImage>``. It fetches no URL, reads no ``file:`` URL and resolves no
  external ``<use>`` (all verified in tests/integration/test_svg_hostile.py), but a file of the function's
  own filesystem drawn into a published picture is a disclosure, and ``/dev/zero`` a hang.
  Every ``href`` is therefore rewritten: a local ``#id``, or an embedded raster image that Pillow has
  identified and whose declared size is within the pixel limit (re-encoded as a canonical ``data:`` URL of
  the format Pillow saw), or a nested SVG cleaned by this same module. A drawing that *shows* something
  outside the file (``<image>``, ``<feImage>``, ``<use>``) is refused with a message; a link (``<a>``) or a
  gradient's external template is dropped.
- Entity expansion (billion laughs, quadratic blow-up, external entities): defusedxml refuses any entity
  declaration before anything is expanded.
- Amplification: elements are counted, nesting is bounded (resvg overflows its stack, a segfault, near 250
  levels), and the elements drawn once every ``<use>`` and ``url(#…)`` is followed are counted before the
  renderer sees the file (a 60-byte ``<use>`` chain can ask for 10^6 rectangles).

Script, ``on*`` handlers, ``<foreignObject>``, animation, ``javascript:`` links, CSS ``@import`` and
``url()`` to anything but a local ``#id`` are removed as well: resvg ignores them, and a picture that does
not depend on what a renderer ignores is one less thing to trust.
"""

from __future__ import annotations

import base64
import io
import re
import warnings
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import unquote_to_bytes

import defusedxml
import defusedxml.ElementTree as SafeET
from PIL import Image

from pipeline.errors import InvalidMediaError, MediaTooLargeError, UnsupportedMediaError

if TYPE_CHECKING:
    from pathlib import Path

    from pipeline.config import MediaLimits

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"

MAX_SVG_BYTES = 20 * 1024 * 1024
"""The uploaded file, or an .svgz once inflated: draw.io and Inkscape files with embedded photos are a few
MB; 300,000 elements (a dense scatter plot) are 10 MB and take ~7 s to draw."""
MAX_SVG_ELEMENTS = 250_000
MAX_SVG_DRAWN = 1_000_000
"""Elements drawn once every ``<use>`` and ``url(#…)`` reference is followed (a reference counts what it
points at each time)."""
MAX_SVG_DEPTH = 64
"""Nesting, counting each reference followed as a level: resvg crashes near 250 (its stack); Inkscape and
draw.io files stay under 20."""
MAX_NESTED_SVG = 2
"""An SVG embedded as an image in an SVG embedded as an image: deeper is refused."""

# Elements whose content is never part of the picture resvg draws, or only runs in a browser.
_DROPPED = frozenset(
    {
        "script",
        "foreignObject",
        "handler",
        "listener",
        "set",
        "animate",
        "animateMotion",
        "animateTransform",
        "animateColor",
        "discard",
        "iframe",
        "embed",
        "object",
        "audio",
        "video",
        "canvas",
    }
)
# Elements that draw what their href points at: an external target is refused, not silently left out.
_DRAWS_HREF = frozenset({"image", "feImage", "use"})
_RASTER_MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)""", re.IGNORECASE | re.DOTALL)
_URL_OPEN = re.compile(r"url\(", re.IGNORECASE)
_LOCAL_REF = re.compile(r"#[^\s'\"()]+")
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_CSS_ESCAPE = re.compile(r"\\(?:[0-9a-fA-F]{1,6}\s?|[^0-9a-fA-F])", re.DOTALL)
_CSS_AT_RULE = re.compile(r"@(?:import|namespace)\b[^;{}]*;?|@font-face\s*\{[^}]*\}?", re.IGNORECASE)
_LENGTH = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(px|in|cm|mm|pt|pc|em|ex|%)?\s*$")
# CSS px per unit at 96 dpi (the SVG and CSS reference), as resvg converts them.
_UNITS = {None: 1.0, "px": 1.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4, "pt": 4 / 3, "pc": 16.0}
_FONT_PX = 16.0  # em/ex of the root (resvg's default font size)
_SAFE_NAME = re.compile(r"[\w./ -]{1,80}")


@dataclass(frozen=True)
class PreparedSvg:
    """A cleaned SVG, ready for the renderer: no DTD, no entity, no reference outside the document."""

    markup: str
    size: tuple[float, float] | None
    """Intrinsic size in CSS px (what a browser would draw it at, before any scaling); None when the file
    sets none (no viewBox, no absolute width and height), and the renderer fits its content."""
    elements: int
    drawn: int
    removed: dict[str, int]
    """What the cleaning took out, by kind (``<script>``, ``on* handlers``...), for the author's warning."""


@dataclass
class _Budget:
    """Shared by an SVG and the SVGs embedded in it, so nesting cannot multiply the limits."""

    name: str
    max_pixels: int
    elements: int = 0
    drawn: int = 0
    embedded_pixels: int = 0
    removed: dict[str, int] = field(default_factory=dict)

    def note(self, what: str) -> None:
        self.removed[what] = self.removed.get(what, 0) + 1


def root_is_svg(text: str) -> bool | None:
    """Whether the XML document that ``text`` starts has an ``<svg>`` root element (any prefix); ``None``
    when ``text`` ends before the prolog (declaration, comments, DOCTYPE) does, so the caller can decide by
    the file's name. Used by the sniffer on the first bytes of an upload."""
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos] in "\ufeff \t\r\n":
            pos += 1
        if pos >= end:
            return None
        if text.startswith("<?", pos):
            close, skip = text.find("?>", pos), 2
        elif text.startswith("<!--", pos):
            close, skip = text.find("-->", pos), 3
        elif text.startswith(("<!DOCTYPE", "<!doctype"), pos):
            subset, close, skip = text.find("[", pos), text.find(">", pos), 1
            if subset != -1 and (close == -1 or subset < close):
                # An internal subset may hold ">" (in entity values): its "]" first, then the ">".
                end_subset = text.find("]", subset)
                close = -1 if end_subset == -1 else text.find(">", end_subset)
        elif text.startswith("<", pos):
            match = re.match(r"<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)", text[pos : pos + 200])
            return match is not None and match.group(1) == "svg"
        else:
            return False
        if close == -1:
            return None
        pos = close + skip


def read_svg(path: Path, name: str) -> bytes:
    """The SVG's bytes, inflated when it is an .svgz, within MAX_SVG_BYTES either way."""
    size = path.stat().st_size
    if size > MAX_SVG_BYTES:
        raise MediaTooLargeError(
            f"{name} is {size / 1e6:.1f} MB; an SVG may be at most {MAX_SVG_BYTES / 1e6:.0f} MB. Simplify "
            "the drawing or link smaller embedded pictures, or export it as PNG and upload that."
        )
    data = path.read_bytes()
    if not data.startswith(b"\x1f\x8b"):
        return data
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, MAX_SVG_BYTES + 1)
    except zlib.error as exc:
        raise InvalidMediaError(f"{name} is not a readable compressed SVG ({exc}). Export it again.") from exc
    if len(out) > MAX_SVG_BYTES:
        raise MediaTooLargeError(
            f"{name} inflates to more than {MAX_SVG_BYTES / 1e6:.0f} MB of SVG. Simplify the drawing, or "
            "export it as PNG and upload that."
        )
    return out


def prepare_svg(data: bytes, name: str, limits: MediaLimits) -> PreparedSvg:
    """Parse, bound and clean ``data`` (an uploaded SVG), or raise the error its author needs to see."""
    budget = _Budget(name, limits.max_image_pixels)
    markup, size = _prepare(data, budget, nesting=0)
    return PreparedSvg(markup, size, budget.elements, budget.drawn, dict(budget.removed))


def _prepare(data: bytes, budget: _Budget, *, nesting: int) -> tuple[str, tuple[float, float] | None]:
    root = _parse(data, budget.name)
    _check_tree(root, budget)
    _clean(root, budget, nesting)
    budget.drawn += _drawn(root, budget)
    if budget.drawn > MAX_SVG_DRAWN:
        raise MediaTooLargeError(
            f"{budget.name} draws {budget.drawn:,} elements once its <use> and url(#…) references are "
            f"followed; the limit is {MAX_SVG_DRAWN:,}. Simplify the drawing (fewer copies of repeated "
            "shapes), or export it as PNG and upload that."
        )
    size = intrinsic_size(root, budget.name)
    # Prefixed names (ns0:svg): resvg, like every XML parser, matches elements by namespace, not prefix.
    return ET.tostring(root, encoding="unicode"), size


def _parse(data: bytes, name: str) -> ET.Element:
    try:
        root: ET.Element = SafeET.fromstring(
            data, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except defusedxml.EntitiesForbidden as exc:
        raise UnsupportedMediaError(
            f"{name} declares XML entities (<!ENTITY> in its DOCTYPE), which can expand a few bytes into "
            "gigabytes, so they are never read. Export it as plain SVG (Inkscape: Save As > Plain SVG; "
            "Illustrator: Export As > SVG) and upload it again."
        ) from exc
    except (defusedxml.DefusedXmlException, ET.ParseError) as exc:
        raise InvalidMediaError(
            f"{name} is not a readable SVG: {exc}. It may be truncated; export it again and upload it again."
        ) from exc
    if root.tag == "svg":
        # Copied out of an HTML page (where xmlns is implied): the same drawing.
        for element in root.iter():
            if isinstance(element.tag, str) and not element.tag.startswith("{"):
                element.tag = f"{{{SVG_NS}}}{element.tag}"
    if root.tag != f"{{{SVG_NS}}}svg":
        raise InvalidMediaError(
            f"{name} is not an SVG image: its root element is <{_local(root.tag)}>, not <svg>. Export the "
            "drawing as SVG and upload it again."
        )
    return root


def _check_tree(root: ET.Element, budget: _Budget) -> None:
    """Count elements and measure nesting without recursion (the file may nest 100,000 levels)."""
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        budget.elements += 1
        if depth > MAX_SVG_DEPTH:
            raise MediaTooLargeError(
                f"{budget.name} nests its elements more than {MAX_SVG_DEPTH} levels deep. Ungroup the "
                "drawing (Inkscape: Edit > Select All, Object > Ungroup) and upload it again."
            )
        if budget.elements > MAX_SVG_ELEMENTS:
            raise MediaTooLargeError(
                f"{budget.name} has more than {MAX_SVG_ELEMENTS:,} elements. Simplify the drawing, or export "
                "it as PNG and upload that."
            )
        stack.extend((child, depth + 1) for child in element)


def _clean(root: ET.Element, budget: _Budget, nesting: int) -> None:
    # The parser keeps no comments or processing instructions (an <?xml-stylesheet?> is gone already).
    for parent in list(root.iter()):
        for child in list(parent):
            ns, local = _split(child.tag)
            if ns != SVG_NS or local in _DROPPED:
                budget.note(f"<{local}>" if ns == SVG_NS else "elements of other vocabularies")
                parent.remove(child)
    for element in root.iter():
        local = _local(element.tag)
        if local == "style" and element.text:
            element.text = _clean_css(element.text, budget)
        for key in list(element.attrib):
            value = element.attrib.pop(key)
            kept = _clean_attribute(element, local, key, value, budget, nesting)
            if kept is not None:
                element.set(kept[0], kept[1])


def _clean_attribute(
    element: ET.Element, local: str, key: str, value: str, budget: _Budget, nesting: int
) -> tuple[str, str] | None:
    """The attribute as it may stay (possibly renamed or rewritten), or None to drop it."""
    ns, attr = _split(key)
    if ns == XML_NS and attr == "base":
        budget.note("xml:base")
        return None
    if ns not in ("", XLINK_NS, XML_NS):
        return None  # editor metadata (inkscape:, sodipodi:), XML Events
    if attr.lower().startswith("on"):
        budget.note("on* event handlers")
        return None
    if attr == "href" and ns in ("", XLINK_NS):
        href = _clean_href(local, value.strip(), budget, nesting)
        return None if href is None else ("href", href)
    if attr == "style":
        return key, _clean_css(value, budget)
    if "url(" in value.lower():
        rewritten = _local_urls_only(value, budget)
        # A paint with a fallback (``url(x.svg#g) red``) rewritten to ``none red`` is no paint: drop it.
        return (key, value) if rewritten == value else None
    return key, value


def _clean_href(local: str, href: str, budget: _Budget, nesting: int) -> str | None:
    if _LOCAL_REF.fullmatch(href):
        return None if local == "image" else href
    if local in ("image", "feImage") and href[:5].lower() == "data:":
        return _embedded(href, budget, nesting)
    if local in _DRAWS_HREF and href:
        # The author's own reference names the picture to embed; an absolute or climbing path is shown by
        # its file name only (the directories of someone's disk help nobody, and tests plant secrets there).
        name = href.rsplit("/", 1)[-1] if href.startswith("/") or ".." in href else href
        shown = (
            name if name and _SAFE_NAME.fullmatch(name) and ":" not in name else "an address outside the file"
        )
        raise UnsupportedMediaError(
            f"{budget.name} shows content from outside the file in a <{local}> ({shown}); nothing outside "
            "an upload is ever read. Embed it (Inkscape: Extensions > Images > Embed Images; or paste the "
            "picture into the drawing) and upload the SVG again."
        )
    if href:
        budget.note("links outside the file")
    return None


def _embedded(href: str, budget: _Budget, nesting: int) -> str:
    """An embedded picture, checked by Pillow (or cleaned, when it is an SVG) and re-encoded canonically."""
    header, _, payload = href.partition(",")
    mime = header[5:].split(";", 1)[0].strip().lower()
    try:
        raw = (
            base64.b64decode(re.sub(r"\s+", "", payload), validate=True)
            if ";base64" in header.lower()
            else unquote_to_bytes(payload)
        )
    except ValueError as exc:
        raise InvalidMediaError(
            f"{budget.name} embeds a picture whose data is not valid base64. Export the drawing again."
        ) from exc
    if mime == "image/svg+xml" or root_is_svg(raw[:4096].decode("utf-8", "replace")):
        if nesting >= MAX_NESTED_SVG:
            raise MediaTooLargeError(
                f"{budget.name} nests SVG pictures inside SVG pictures more than {MAX_NESTED_SVG} levels "
                "deep. Paste the inner drawings in as shapes, or export it as PNG and upload that."
            )
        inner, _size = _prepare(raw, budget, nesting=nesting + 1)
        return "data:image/svg+xml;base64," + base64.b64encode(inner.encode()).decode()
    return _embedded_raster(raw, budget)


def _embedded_raster(raw: bytes, budget: _Budget) -> str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the sum below decides
            with Image.open(io.BytesIO(raw), formats=list(_RASTER_MIME)) as img:
                width, height = img.size
                fmt = str(img.format)
    except Image.DecompressionBombError as exc:
        raise _embedded_too_large(budget) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidMediaError(
            f"{budget.name} embeds a picture that is not a readable PNG, JPEG, GIF or WebP ({exc}). Replace "
            "it with one of those in the drawing and upload it again."
        ) from exc
    budget.embedded_pixels += width * height
    if budget.embedded_pixels > budget.max_pixels:
        raise _embedded_too_large(budget)
    return f"data:{_RASTER_MIME[fmt]};base64," + base64.b64encode(raw).decode()


def _embedded_too_large(budget: _Budget) -> MediaTooLargeError:
    return MediaTooLargeError(
        f"{budget.name} embeds pictures of more than {budget.max_pixels:,} pixels in all. Resize the "
        "embedded pictures and upload it again."
    )


def _clean_css(css: str, budget: _Budget) -> str:
    """CSS as resvg may read it: comments gone and escapes decoded (``\\75 rl(`` is ``url(``), then no
    @import or @font-face, and no url() but a local ``#id``."""
    cleaned = _CSS_ESCAPE.sub(_unescape, _CSS_COMMENT.sub(" ", css))
    cleaned, at_rules = _CSS_AT_RULE.subn("", cleaned)
    if at_rules:
        budget.note("CSS @import/@font-face")
    return _local_urls_only(cleaned, budget)


def _unescape(match: re.Match[str]) -> str:
    escape = match.group(0)[1:].rstrip()
    if len(escape) == 1 and not escape.isalnum():
        return escape
    try:
        code = int(escape, 16)
    except ValueError:
        return escape
    return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd"


def _local_urls_only(text: str, budget: _Budget) -> str:
    """``text`` with every ``url(...)`` that is not a local ``url(#id)`` replaced by ``none`` (an unclosed
    one takes the rest of the text with it)."""
    out: list[str] = []
    pos = 0
    for match in _URL_OPEN.finditer(text):
        if match.start() < pos:
            continue
        close = text.find(")", match.end())
        stop = len(text) if close == -1 else close + 1
        target = text[match.end() : stop - 1 if close != -1 else stop].strip().strip("'\"").strip()
        out.append(text[pos : match.start()])
        if close != -1 and _LOCAL_REF.fullmatch(target):
            out.append(text[match.start() : stop])
        else:
            budget.note("url() outside the file")
            out.append("none")
        pos = stop
    out.append(text[pos:])
    return "".join(out)


def _drawn(root: ET.Element, budget: _Budget) -> int:
    """How many elements resvg draws: each element once, plus what each reference of it points at, every
    time (memoised, so the count is linear in the file; a reference cycle is refused)."""
    ids = {el.get("id"): el for el in root.iter() if el.get("id")}
    memo: dict[int, tuple[int, int]] = {}  # id(element) -> (drawn, height below it)
    visiting: set[int] = set()

    def refs(element: ET.Element) -> list[ET.Element]:
        targets = [t.strip() for v in element.attrib.values() for _q, t in _URL.findall(v)]
        href = element.get("href")
        if href:
            targets.append(href)
        return [ids[t[1:]] for t in targets if t.startswith("#") and t[1:] in ids]

    def walk(element: ET.Element, depth: int) -> tuple[int, int]:
        key = id(element)
        if key in memo:
            count, height = memo[key]
        else:
            if key in visiting:
                raise InvalidMediaError(
                    f"{budget.name} has an element that refers to itself (a <use> or url(#…) cycle, "
                    f"id {element.get('id')!r}). Remove the loop and upload it again."
                )
            if depth > MAX_SVG_DEPTH:
                raise MediaTooLargeError(
                    f"{budget.name} chains references (<use> of a group that uses another...) more than "
                    f"{MAX_SVG_DEPTH} levels deep. Flatten the drawing and upload it again."
                )
            visiting.add(key)
            count, height = 1, 0
            for below in [*element, *refs(element)]:
                below_count, below_height = walk(below, depth + 1)
                count += below_count
                height = max(height, below_height + 1)
                if count > MAX_SVG_DRAWN:
                    break  # the caller reports the total
            visiting.discard(key)
            memo[key] = (count, height)
        if depth + height > MAX_SVG_DEPTH:
            raise MediaTooLargeError(
                f"{budget.name} chains references (<use> of a group that uses another...) more than "
                f"{MAX_SVG_DEPTH} levels deep. Flatten the drawing and upload it again."
            )
        return count, height

    return walk(root, 1)[0]


def intrinsic_size(root: ET.Element, name: str) -> tuple[float, float] | None:
    """The size resvg gives the document at 96 dpi: width/height in absolute units or as percentages of the
    viewBox, the viewBox's aspect for a missing side; None without a viewBox and an absolute width and
    height, where resvg sizes the drawing by its content's bounding box."""
    box = _view_box(root.get("viewBox"))
    width, height = _length(root.get("width")), _length(root.get("height"))
    if box is None:
        if width is None or height is None or width[1] or height[1]:
            return None
        size = (width[0], height[0])
    else:
        w, h = _resolve(width, box[0]), _resolve(height, box[1])
        if w is None and h is None:
            size = box
        elif w is None and h is not None:
            size = (h * box[0] / box[1], h)
        elif h is None and w is not None:
            size = (w, w * box[1] / box[0])
        else:
            size = (w or 0.0, h or 0.0)
    if not (size[0] > 0 and size[1] > 0):
        raise InvalidMediaError(
            f"{name} has no size (its width, height or viewBox is zero or negative). Set the document size "
            "in the editor and upload it again."
        )
    return size


def _resolve(length: tuple[float, bool] | None, reference: float) -> float | None:
    if length is None:
        return None
    number, percent = length
    return reference * number / 100 if percent else number


def _length(value: str | None) -> tuple[float, bool] | None:
    """(number in px, or a percentage; is it a percentage) for a width/height; None when absent/auto."""
    if value is None:
        return None
    match = _LENGTH.match(value)
    if match is None:
        return None
    number, unit = float(match.group(1)), match.group(2)
    if unit == "%":
        return number, True
    if unit in ("em", "ex"):
        return number * _FONT_PX * (0.5 if unit == "ex" else 1.0), False
    return number * _UNITS[unit], False


def _view_box(value: str | None) -> tuple[float, float] | None:
    if not value:
        return None
    try:
        parts = [float(p) for p in value.replace(",", " ").split()]
    except ValueError:
        return None
    if len(parts) != 4 or parts[2] <= 0 or parts[3] <= 0:
        return None
    return parts[2], parts[3]


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _local(tag: object) -> str:
    return _split(tag)[1] if isinstance(tag, str) else ""


def inflate_head(head: bytes) -> bytes:
    """The start of a gzip stream's content (for sniffing an .svgz), or b"" when it is not gzip."""
    try:
        return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS).decompress(head, 4096)
    except zlib.error:
        return b""


__all__ = [
    "MAX_SVG_BYTES",
    "MAX_SVG_DEPTH",
    "MAX_SVG_DRAWN",
    "MAX_SVG_ELEMENTS",
    "PreparedSvg",
    "inflate_head",
    "intrinsic_size",
    "prepare_svg",
    "read_svg",
    "root_is_svg",
]
