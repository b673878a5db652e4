"""The security boundary of a lesson: what HTML and which URLs may reach the page.

Python-Markdown passes raw HTML and ``javascript:`` links through by design, and extensions such as
attr_list let an author put any attribute on any element. So nothing Markdown produces is trusted: the
whole fragment goes through nh3 with an allow-list of exactly what our extensions emit. nh3 finds every
relative URL (after entity decoding, as a browser reads them) and hands it to a callback; URLs with a
scheme are kept only if the scheme is in ``URL_SCHEMES``.

A render cleans twice (``pipeline/text/lesson/references.py`` drives both passes):

- ``author_cleaner`` over Markdown's output: unsafe relative URLs are dropped, safe ones go to the caller
  (which may swap them for placeholders), and the only attributes beyond the allow-list's rules are the
  renderer's own markers.
- ``final_cleaner`` over the result with the resolver's URLs written in: they are data like any other, so
  they are checked again, and only the renderer's own ``srcset``/``sizes`` survive.

This module imports nothing from the pipeline but the URL rule (``pipeline/text/urls.py``), so it can be
audited with that file alone. What is inserted after the last clean (players) is checked by the player.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import nh3

from pipeline.text.urls import safe_url

if TYPE_CHECKING:
    from collections.abc import Callable

# What our Markdown extensions generate, and nothing else. Tags not listed are dropped (their text
# kept); CLEAN_CONTENT_TAGS are dropped with everything inside them.
ALLOWED_TAGS = frozenset(
    {
        *(f"h{n}" for n in range(1, 7)),
        *("p", "br", "hr", "div", "span", "blockquote", "pre", "code", "kbd", "samp", "var"),
        *("em", "strong", "b", "i", "u", "s", "del", "ins", "mark", "small", "sub", "sup", "q", "cite"),
        *("a", "img", "figure", "figcaption", "abbr", "details", "summary"),
        *("ul", "ol", "li", "dl", "dt", "dd"),
        *("table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td"),
    }
)
CLEAN_CONTENT_TAGS = frozenset(
    {"script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math", "textarea"}
)
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"class", "lang", "dir"},
    **{f"h{n}": {"id"} for n in range(1, 7)},
    "a": {"href", "title", "id"},
    # srcset/sizes: only the renderer's own (see author_cleaner); loading and decoding are set on every
    # image by the cleaner.
    "img": {"src", "alt", "title", "width", "height", "srcset", "sizes"},
    "div": {"id"},
    "p": {"id"},  # only the renderer's own markers survive the attribute filters
    "li": {"id"},
    "sup": {"id"},
    "abbr": {"title"},
    "th": {"align", "colspan", "rowspan"},
    "td": {"align", "colspan", "rowspan"},
    "ol": {"start", "reversed"},
    "details": {"open"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer"
# The one ``sizes`` an image may carry: the one the renderer writes next to its own srcset.
IMG_SIZES = "(min-width: 50rem) 46rem, 100vw"


def author_cleaner(on_relative: Callable[[str], str], *, marker: re.Pattern[str]) -> nh3.Cleaner:
    """The first clean, over what Markdown made of the author's text.

    ``on_relative`` gets each relative URL that is safe (stripped; anchors never reach it) and returns what
    to write instead; unsafe ones are dropped. ``marker`` matches the ids the renderer put on paragraphs:
    no other paragraph id survives. An author's ``srcset``/``sizes`` list unresolved, unchecked URLs: the
    renderer writes its own after this pass.
    """

    def relative(url: str) -> str | None:
        value = url.strip()
        if value.startswith("#"):
            return value
        if safe_url(value) is None:
            return None
        return on_relative(value)

    def attribute(tag: str, attribute: str, value: str) -> str | None:
        if tag == "p" and attribute == "id":
            return value if marker.match(value) else None
        if tag == "img" and attribute in ("srcset", "sizes"):
            return None
        return value

    return _cleaner(relative, attribute)


def final_cleaner() -> nh3.Cleaner:
    """The second clean, after the resolver's URLs (and the renderer's srcset) were written in."""
    return _cleaner(_keep_safe_relative, _second_pass_attribute)


def _keep_safe_relative(url: str) -> str | None:
    return url if url.strip().startswith("#") or safe_url(url) is not None else None


def _second_pass_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "p" and attribute == "id":
        return None
    if tag == "img" and attribute == "srcset":
        return value if _safe_srcset(value) else None
    if tag == "img" and attribute == "sizes":
        return value if value == IMG_SIZES else None
    return value


def _safe_srcset(value: str) -> bool:
    for candidate in value.split(","):
        parts = candidate.split()
        if len(parts) != 2 or safe_url(parts[0]) is None or not re.fullmatch(r"\d+w", parts[1]):
            return False
    return True


def _cleaner(
    url_relative: Callable[[str], str | None], attribute_filter: Callable[[str, str, str], str | None]
) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(CLEAN_CONTENT_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=attribute_filter,
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
        set_tag_attribute_values={"img": {"loading": "lazy", "decoding": "async"}},
        url_relative=url_relative,
    )
