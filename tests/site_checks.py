"""Crawl an exported course site the way a browser would follow it: every URL in every page must resolve
to a file of the export (or be an anchor on its target page)."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from pathlib import Path

_URL_ATTRS = {"href", "src", "poster", "data-hls-src"}


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[tuple[str, str, str]] = []  # (tag, attribute, url)
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name == "id":
                self.ids.add(value)
            elif name in _URL_ATTRS:
                self.urls.append((tag, name, value))
            elif name == "srcset":
                for candidate in value.split(","):
                    if candidate.strip():
                        self.urls.append((tag, name, candidate.strip().split()[0]))


def parse(page: Path) -> _Collector:
    collector = _Collector()
    collector.feed(page.read_text(encoding="utf-8"))
    return collector


def broken_links(site: Path) -> list[str]:
    """``page: url`` for every internal URL that does not resolve; external URLs are not followed."""
    problems: list[str] = []
    pages = {page.resolve(): parse(page) for page in site.rglob("*.html")}
    for page, found in pages.items():
        for tag, attr, url in found.urls:
            parts = urlsplit(url)
            if parts.scheme or parts.netloc:
                if parts.scheme not in ("http", "https", "mailto"):
                    problems.append(f"{page.name}: <{tag} {attr}> has a {parts.scheme}: URL")
                continue
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if not target.is_file() or site.resolve() not in target.parents:
                problems.append(f"{page.relative_to(site.resolve())}: <{tag} {attr}={url!r}> -> missing file")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else parse(target).ids
                if unquote(parts.fragment) not in ids:
                    problems.append(f"{page.relative_to(site.resolve())}: {url!r} -> no such anchor")
    return problems
