"""How ``coursepipe`` writes: rich consoles for people, plain JSON documents for programs, one error line.

Tables go to a console that is as wide as the terminal, or a fixed width when stdout is piped (so a log or
a test sees the same layout on every machine); progress and hints go to stderr so ``--json`` output stays
exactly one document.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from rich.console import Console

if TYPE_CHECKING:
    from collections.abc import Callable


def stdout_console(piped_width: int) -> Console:
    """A console for stdout: the terminal's width, or ``piped_width`` columns when not a terminal."""
    return Console(highlight=False, width=None if sys.stdout.isatty() else piped_width)


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False)


def write_json(
    doc: Any,
    *,
    indent: int | None = None,
    ensure_ascii: bool = True,
    default: Callable[[Any], Any] | None = None,
    flush: bool = False,
) -> None:
    """One JSON document and a newline on stdout; the keywords are ``json.dumps``' (and its defaults), so
    each command keeps the exact bytes its contract documents."""
    sys.stdout.write(json.dumps(doc, indent=indent, ensure_ascii=ensure_ascii, default=default) + "\n")
    if flush:
        sys.stdout.flush()


def print_error(message: object) -> None:
    """``coursepipe: error: ...`` on stderr, the line every usage error ends with."""
    print(f"coursepipe: error: {message}", file=sys.stderr)
