"""Which URLs a lesson page may carry in ``href``/``src``: one rule for the sanitizer and the player.

The sanitizer (``pipeline/text/lesson/sanitize.py``) applies it to every relative URL an author wrote and
to every URL the resolver hands back; the player (``pipeline/text/player.py``) to the URLs it puts into the
page after sanitizing. It lives on its own, importing nothing from the pipeline, so both read the same rule
and an audit of the sanitizer needs only this file besides its own.
"""

from __future__ import annotations

import re

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
_SAFE_SCHEMES = frozenset({"http", "https"})
# Browsers drop tabs and newlines anywhere in a URL, so "/\t/evil" is "//evil" to them: refuse every control
# character rather than guess what a browser makes of it.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def safe_url(url: str) -> str | None:
    """``url`` if it may appear in a lesson's ``href``/``src``, else None.

    Allowed: a relative path (``../images/a.webp``, ``#anchor``, ``?q``) or an absolute http(s) URL. Refused:
    any other scheme (``javascript:``, ``data:``, ``vbscript:``...), protocol-relative URLs (``//host``,
    ``\\\\host``: they leave the course for a host nobody checked), and control characters.
    """
    value = url.strip(" ")
    if not value or _CONTROL.search(value):
        return None
    # Browsers read a backslash as a slash in http(s) URLs: two backslashes also mean "another host".
    normalized = value.replace("\\", "/")
    if normalized.startswith("//"):
        return None
    scheme = _SCHEME.match(normalized)
    if scheme is not None and scheme.group(1).lower() not in _SAFE_SCHEMES:
        return None
    return value
