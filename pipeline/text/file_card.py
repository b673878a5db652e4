"""Download cards: a handout a lesson links on a line of its own, and the course index's Downloads list.

Built after the sanitizer's last pass (like players), from the resolver's data, every value escaped and
every URL checked by ``safe_url``: a card is a plain link with the ``download`` attribute, so it works
without script, and the file itself is served as an attachment whatever the browser does with the link.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from pipeline.text.urls import safe_url

if TYPE_CHECKING:
    from pipeline.text.links import FileCard


def file_card_html(card: FileCard, title: str = "") -> str:
    """``<a class="cp-file">``: preview (PDFs), the link's own text (else the file's name), name and facts."""
    href = safe_url(card.href)
    if href is None:
        return escape(title or card.name)
    preview = ""
    candidates = [(url, width) for url, width in card.preview if safe_url(url)]
    if candidates:
        srcset = ", ".join(f"{escape(url, quote=True)} {width}w" for url, width in candidates)
        preview = (
            f'<img class="cp-file-preview" src="{escape(candidates[0][0], quote=True)}" srcset="{srcset}" '
            'sizes="6rem" alt="" loading="lazy" decoding="async">'
        )
    heading = escape(title or card.name)
    name = f'<span class="cp-file-name">{escape(card.name)}</span>' if title and title != card.name else ""
    return (
        f'<a class="cp-file" href="{escape(href, quote=True)}" download>{preview}'
        f'<span class="cp-file-body"><span class="cp-file-title">{heading}</span>{name}'
        f'<span class="cp-file-about">{escape(card.about)}</span></span></a>'
    )


def downloads_section_html(cards: tuple[FileCard, ...]) -> str:
    """The course index's "Downloads": every published handout, by name."""
    if not cards:
        return ""
    items = "".join(f"<li>{file_card_html(card)}</li>" for card in cards)
    return f'<section class="cp-files-section"><h2>Downloads</h2><ul class="cp-files">{items}</ul></section>'
